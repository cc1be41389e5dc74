"""Separability threshold of the Gaussian mixture, and the Gordon-type functions it shares with the
max-margin classifier (:mod:`._max_margin`).

Derivation (Gordon / CGMT, as for Gardner's capacity; ``docs/theory/mixtures.md``): write a unit
student ``|w|^2/d = 1`` as ``w = R v* + sqrt(1 - R^2) w_perp``; the margins are ``t_mu = R + y_mu b +
sqrt(Delta) g_mu . w/sqrt(d)`` where the component of ``g_mu`` along ``v*`` is a fixed Gaussian and
the orthogonal part is free.  Gordon's comparison gives: margins ``t_mu >= kappa`` are feasible
for some ``w`` at overlap ``R`` and bias ``b`` iff

    alpha E_{y, g}[(kappa - R - y b - sqrt(Delta) g)_+^2] <= Delta (1 - R^2),

i.e. ``alpha S(a) <= 1 - R^2`` with ``a = (R - kappa)/sqrt(Delta)``,
``S(a) = min_{b'} [rho_+ Psi(a + b') + (1 - rho_+) Psi(a - b')]`` (``b' = b/sqrt(Delta)``; ``b' = 0``
without intercept) and ``Psi(a) = E[(g - a)_+^2] = (1 + a^2) H(a) - a phi(a)``.  Hence

- separability threshold (``kappa = 0``): ``1/alpha_s = min_{0 <= R < 1} S(R/sqrt Delta)/(1 - R^2)``;
- max-margin: ``kappa* = max_R [R - sqrt(Delta) S^{-1}((1 - R^2)/alpha)]``, stationary where
  ``alpha S'(a) + 2 R sqrt(Delta) = 0``; in the normalisation ``min |w|^2 s.t. margins >= 1``:
  ``q = 1/kappa^2``, ``m = R/kappa``, ``b = sqrt(Delta) b'/kappa``; test error
  ``rho_+ H(R/sqrt(Delta) + b') + (1 - rho_+) H(R/sqrt(Delta) - b')``; support-vector fraction (samples
  on the margin) ``rho_+ Phi(-a - b') + (1 - rho_+) Phi(-a + b')``.

This is the ``lambda -> 0+`` limit of the hinge saddle point (:func:`~overparam_theory.mixtures.theory`)
and reproduces Cover's ``alpha_s = 2`` as ``Delta -> infinity``.  Reference: Mignacco et al., ICML
2020 (arXiv:2002.11544), appendix (max-margin); Deng, Kammoun, Thrampoulidis, *A model of double
descent for high-dimensional binary linear classification*, 2019 (arXiv:1911.05822), separability.

All solves are nested bisections with fixed iteration counts
(:func:`~overparam_theory.numerics.roots.bisect`, vmapped over points by
:func:`~overparam_theory.numerics.grid.evaluate`); every function involved is monotone on its
bracket.  The results carry :class:`~overparam_theory.numerics.diagnostics.Diagnostics` for the
common contract: ``iterations`` is the bisection count per level (52 halvings: the float64
resolution of each bracket), no residual is computed (0).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._spec import validated
from ..numerics.diagnostics import Diagnostics, Status, with_diagnostics
from ..numerics.grid import evaluate
from ..numerics.roots import bisect
from ._common import dpsi, psi
from ._params import SEPARABILITY_PARAMS

__all__ = ["MixtureSeparabilityThreshold", "SeparabilityThreshold", "separability_threshold"]

ITERS = 52  # bisection steps per level: bracket / 2^52 ~ 1e-14 relative
THETA_MAX = 12.0  # R = tanh(theta): 1 - R ~ 8e-11 at the top of the bracket


@with_diagnostics
class MixtureSeparabilityThreshold(NamedTuple):
    """``alpha_s`` (data separable iff ``alpha < alpha_s``) and the overlap ``R`` of the separating
    direction (``mixtures.SeparabilityThreshold`` is the same class).

    ``diagnostics``: status OK, ``iterations`` the bisection count (module docstring)."""

    alpha_s: np.ndarray
    cosine: np.ndarray
    diagnostics: Diagnostics


SeparabilityThreshold = MixtureSeparabilityThreshold


def bisection_diagnostics(shape, failed=None) -> Diagnostics:
    """Diagnostics of fixed-count bisections: ``OK`` (``INFEASIBLE`` where ``failed``), ``ITERS``
    iterations, residual 0 (not computed)."""
    status = jnp.zeros(shape, jnp.int32) if failed is None else jnp.where(failed, Status.INFEASIBLE, Status.OK)
    return Diagnostics(status.astype(jnp.int32), jnp.full(shape, ITERS, jnp.int32), jnp.zeros(shape))


def inner_b(a, rho, intercept):
    """Minimiser ``b'`` of ``rho Psi(a + b') + (1 - rho) Psi(a - b')`` (``0`` without intercept)."""
    if not intercept:
        return jnp.zeros_like(a)
    L = 20.0 + 2.0 * jnp.abs(a)
    return bisect(lambda b: rho * dpsi(a + b) - (1.0 - rho) * dpsi(a - b), -L, L, ITERS)


def S(a, rho, intercept):
    """``(S(a), S'(a), b'(a))`` (module docstring)."""
    b = inner_b(a, rho, intercept)
    return rho * psi(a + b) + (1.0 - rho) * psi(a - b), rho * dpsi(a + b) + (1.0 - rho) * dpsi(a - b), b


def _threshold_point(noise, rho, intercept):
    s = jnp.sqrt(noise)

    def slope(theta):  # sign of dJ/dR, J = S(R/s)/(1 - R^2)
        R = jnp.tanh(theta)
        S_, dS, _ = S(R / s, rho, intercept)
        return dS / s * (1.0 - R * R) + 2.0 * R * S_

    theta = bisect(slope, jnp.zeros_like(s), jnp.full_like(s, THETA_MAX), ITERS)
    R = jnp.tanh(theta)
    S_, _, _ = S(R / s, rho, intercept)
    return (1.0 - R * R) / S_, R


def _threshold_kernel(noise, imbalance, *, intercept):
    alpha_s, R = jax.vmap(lambda n, r: _threshold_point(n, r, intercept))(noise, imbalance)
    return MixtureSeparabilityThreshold(alpha_s, R, bisection_diagnostics(alpha_s.shape))


@validated(SEPARABILITY_PARAMS, "theory")
def separability_threshold(*, noise, imbalance, intercept) -> MixtureSeparabilityThreshold:
    """Linear separability threshold ``alpha_s``: the training set is separable (by ``w``, and ``b`` when
    ``intercept``) with probability -> 1 for ``alpha < alpha_s`` and -> 0 above (module docstring).

    Args:
        noise: cluster variance ``Delta > 0``.
        imbalance: ``rho_+`` in ``(0, 1)`` (irrelevant without intercept).
        intercept: allow a bias.
    """
    return evaluate(
        _threshold_kernel,
        (noise, imbalance),
        static=dict(intercept=intercept),
        on_failure="raise",
        what="mixture separability threshold",
    )
