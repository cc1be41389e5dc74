"""Gaussian helper functions shared by the mixture family's theory and thresholds.

Conventions (``docs/theory/mixtures.md``; Mignacco et al., ICML 2020, section 2): labels
``y = +1`` with probability ``imbalance`` (``rho_+``), inputs ``x = y v*/sqrt(d) + sqrt(noise) z``
with ``|v*|^2/d = 1`` and ``z ~ N(0, I_d)``; estimator ``argmin_{w,b} sum_mu l(y_mu(x_mu.w/sqrt d
+ b)) + (ridge/2)|w|^2`` with ``b`` unpenalised (``b = 0`` without ``intercept``).
"""

from __future__ import annotations

import jax.numpy as jnp
from jax.scipy.special import ndtr

_INV_SQRT_2PI = 0.3989422804014327


def H(x):
    """Gaussian tail ``H(x) = P(N(0,1) > x)``."""
    return ndtr(-x)


def psi(a):
    """``Psi(a) = E[(g - a)_+^2] = (1 + a^2) H(a) - a phi(a)``, ``g ~ N(0, 1)`` (convex, decreasing)."""
    return (1.0 + a * a) * H(a) - a * _INV_SQRT_2PI * jnp.exp(-0.5 * a * a)


def dpsi(a):
    """``Psi'(a) = -2 E[(g - a)_+] = -2 (phi(a) - a H(a))``."""
    return -2.0 * (_INV_SQRT_2PI * jnp.exp(-0.5 * a * a) - a * H(a))
