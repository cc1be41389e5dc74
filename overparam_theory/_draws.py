"""The random draws of a simulator's seed, all from one ``jax.random.normal`` call.

Every ``jax.random`` call compiles its own copy of the counter-based generator (threefry) into
the program, and these copies dominated the compile time of a small simulation (three draws
compiled about three times as long as one draw of the same total size).  A seed therefore draws
one vector of standard Gaussians, sliced into the shapes it needs; other distributions are exact
transforms of a Gaussian ``g`` (inverse-CDF sampling with ``U = Phi(g)``): uniform ``Phi(g)``,
Bernoulli(``p``) ``Phi(g) < p``, a random sign ``sign(g)``, standard logistic
``log(U/(1 - U)) = log Phi(g) - log Phi(-g)`` (no cancellation in the tails).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax.scipy.special import log_ndtr, ndtr


def standard_normals(key, *shapes, dtype=None):
    """Independent standard Gaussian arrays of the given ``shapes`` from one draw."""
    sizes = [math.prod(s) for s in shapes]
    z = jax.random.normal(key, (sum(sizes),), dtype) if dtype is not None else jax.random.normal(key, (sum(sizes),))
    out, start = [], 0
    for shape, size in zip(shapes, sizes):
        out.append(z[start : start + size].reshape(shape))
        start += size
    return out


def signs(g):
    """Independent fair random signs ``+-1`` from Gaussians ``g``."""
    return jnp.where(g < 0, -1.0, 1.0).astype(g.dtype)


def bernoulli(g, p):
    """Bernoulli(``p``) booleans from Gaussians ``g``: ``Phi(g) < p``."""
    return ndtr(g) < p


def logistic(g):
    """Standard logistic variables (CDF ``1/(1 + e^-x)``) from Gaussians ``g``."""
    return log_ndtr(g) - log_ndtr(-g)
