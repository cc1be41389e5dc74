"""Gaussian pieces shared by the threshold computations (separability, logistic-MLE boundary,
max-margin; Gardner 1988 and Candes & Sur 2020 in the conventions of ``docs/theory/glm.md``).

Every Gaussian average is a composite Gauss-Legendre rule
(:func:`~overparam_theory.numerics.gaussian.normal_panel_rule`) with panel boundaries at the
kinks of the integrand and geometrically graded panels (factor 2, from 1/8 to 64 widths) around
every narrow feature: the teacher step ``P_+`` (width ``sqrt(noise/signal)`` for the threshold,
``sqrt(1 - R^2 + noise/signal) / R`` for the max-margin equations) and the decay scale ``1 / t``
of ``g(t V)``.  The breakpoints are held fixed under differentiation (``stop_gradient``); the
integrals are continuous in them.  Doubling the rule (20 nodes per panel, 48 uniform panels)
changes thresholds by <= 3e-16 and max-margin outputs by <= 3e-11 relative.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ..numerics.gaussian import normal_cdf, normal_panel_rule, normal_pdf

# Graded panels around a narrow feature of width w: boundaries at c +/- w * 2^k.
GRADES = 2.0 ** np.arange(-3, 7)


def g(a):
    """``E_Z[(Z - a)_+^2] = (1 + a^2) H(a) - a phi(a)``."""
    return (1.0 + a * a) * normal_cdf(-a) - a * normal_pdf(a)


def g_prime(a):
    """``g'(a) = -2 E_Z[(Z - a)_+] = -2 (phi(a) - a H(a))``."""
    return -2.0 * (normal_pdf(a) - a * normal_cdf(-a))


def graded(center, width):
    s = width * jnp.asarray(GRADES, jnp.float64)
    return jnp.concatenate([center - s, center + s])


def clip_width(w):
    return jnp.clip(jnp.where(jnp.isfinite(w), w, 1e3), 1e-300, 1e3)


def rule(*pieces):
    bp = jax.lax.stop_gradient(jnp.concatenate([jnp.atleast_1d(p) for p in pieces]))
    return normal_panel_rule(bp)


def kernel_kind(teacher):
    """The sign channel is the probit channel at zero noise (identical ``P_+``, ``D`` and
    errors), so both share one compiled kernel."""
    return "probit" if teacher == "sign" else teacher
