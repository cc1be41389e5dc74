"""Shared pieces of the mixture family: parameter validation and Gaussian helper functions.

Conventions (``../shared/theory/classification.md`` section 5; docs/mixtures.md): labels
``y = +1`` with probability ``imbalance`` (``rho_+``), inputs ``x = y v*/sqrt(d) + sqrt(noise) z``
with ``|v*|^2/d = 1`` and ``z ~ N(0, I_d)``; estimator ``argmin_{w,b} sum_mu l(y_mu(x_mu.w/sqrt d
+ b)) + (ridge/2)|w|^2`` with ``b`` unpenalised (``b = 0`` without ``intercept``).
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
from jax.scipy.special import ndtr

from .._validation import broadcast, real_array
from ..numerics.prox import MarginLoss, resolve_loss

_INV_SQRT_2PI = 0.3989422804014327


class Problem(NamedTuple):
    alpha: np.ndarray
    ridge: np.ndarray
    noise: np.ndarray
    imbalance: np.ndarray
    loss: MarginLoss
    intercept: bool
    shape: tuple


def validate(alpha, ridge, loss, noise, imbalance, intercept) -> Problem:
    """Validate and broadcast (``ValueError`` naming the argument and its range)."""
    loss = resolve_loss(loss)
    if not isinstance(intercept, (bool, np.bool_)):
        raise ValueError(f"intercept must be True or False, got {intercept!r}")
    alpha = real_array("alpha", alpha, low=0.0, low_open=True)
    ridge = real_array("ridge", ridge, low=0.0)
    noise = real_array("noise", noise, low=0.0, low_open=True)
    imbalance = real_array("imbalance", imbalance, low=0.0, high=1.0, low_open=True, high_open=True)
    shape = broadcast(alpha=alpha, ridge=ridge, noise=noise, imbalance=imbalance)
    return Problem(alpha, ridge, noise, imbalance, loss, bool(intercept), shape)


def H(x):
    """Gaussian tail ``H(x) = P(N(0,1) > x)``."""
    return ndtr(-x)


def psi(a):
    """``Psi(a) = E[(g - a)_+^2] = (1 + a^2) H(a) - a phi(a)``, ``g ~ N(0, 1)`` (convex, decreasing)."""
    return (1.0 + a * a) * H(a) - a * _INV_SQRT_2PI * jnp.exp(-0.5 * a * a)


def dpsi(a):
    """``Psi'(a) = -2 E[(g - a)_+] = -2 (phi(a) - a H(a))``."""
    return -2.0 * (_INV_SQRT_2PI * jnp.exp(-0.5 * a * a) - a * H(a))


def bisect(f, lo, hi, n_iter=200):
    """Root of an increasing function ``f`` on ``[lo, hi]`` by plain bisection (``f(lo) <= 0 <= f(hi)``
    assumed; the midpoint of the final bracket is returned).  Fixed iteration count: vmappable."""
    import jax

    def body(_, state):
        lo, hi = state
        mid = 0.5 * (lo + hi)
        pos = f(mid) > 0
        return jnp.where(pos, lo, mid), jnp.where(pos, mid, hi)

    lo, hi = jax.lax.fori_loop(0, n_iter, body, (lo, hi))
    return 0.5 * (lo + hi)
