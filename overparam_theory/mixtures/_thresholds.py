"""Separability threshold, max-margin classifier and support-vector abundance of the Gaussian mixture.

Derivation (Gordon / CGMT, as for Gardner's capacity; docs/mixtures.md section 4): write a unit
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

All solves are nested bisections with fixed iteration counts (vmapped over points; no Python
loops over grid points); every function involved is monotone on its bracket.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import ndtr

from .._precision import precision
from .._validation import broadcast, choice, real_array
from ._common import H, bisect, dpsi, psi

_ITERS = 52  # bisection steps per level: bracket / 2^52 ~ 1e-14 relative
_THETA_MAX = 12.0  # R = tanh(theta): 1 - R ~ 8e-11 at the top of the bracket


class NotSeparableWarning(RuntimeWarning):
    """max_margin was asked for at points where the data are not linearly separable."""


class SeparabilityThreshold(NamedTuple):
    """``alpha_s`` (data separable iff ``alpha < alpha_s``) and the overlap ``R`` of the separating direction."""

    alpha_s: np.ndarray
    cosine: np.ndarray


class MaxMargin(NamedTuple):
    """Hard-margin SVM in the normalisation ``min |w|^2/d s.t. y(x.w/sqrt d + b) >= 1``.

    Attributes:
        kappa: margin of the unit-norm classifier (``|w|^2/d = 1``), ``q = 1/kappa^2``.
        m, q, bias, cosine: overlaps of the normalised hard-margin solution.
        test_error: population error.
        support_fraction: fraction of training samples on the margin (support vectors).
        separable: ``alpha < alpha_s``; elsewhere every other field is NaN.
    """

    kappa: np.ndarray
    m: np.ndarray
    q: np.ndarray
    bias: np.ndarray
    cosine: np.ndarray
    test_error: np.ndarray
    support_fraction: np.ndarray
    separable: np.ndarray


def _inner_b(a, rho, intercept):
    """Minimiser ``b'`` of ``rho Psi(a + b') + (1 - rho) Psi(a - b')`` (``0`` without intercept)."""
    if not intercept:
        return jnp.zeros_like(a)
    L = 20.0 + 2.0 * jnp.abs(a)
    return bisect(lambda b: rho * dpsi(a + b) - (1.0 - rho) * dpsi(a - b), -L, L, _ITERS)


def _S(a, rho, intercept):
    b = _inner_b(a, rho, intercept)
    return rho * psi(a + b) + (1.0 - rho) * psi(a - b), rho * dpsi(a + b) + (1.0 - rho) * dpsi(a - b), b


def _threshold_point(noise, rho, intercept):
    s = jnp.sqrt(noise)

    def slope(theta):  # sign of dJ/dR, J = S(R/s)/(1 - R^2)
        R = jnp.tanh(theta)
        S, dS, _ = _S(R / s, rho, intercept)
        return dS / s * (1.0 - R * R) + 2.0 * R * S

    theta = bisect(slope, jnp.zeros_like(s), jnp.full_like(s, _THETA_MAX), _ITERS)
    R = jnp.tanh(theta)
    S, _, _ = _S(R / s, rho, intercept)
    return (1.0 - R * R) / S, R


def _a_star(target, rho, intercept):
    """``a`` with ``S(a) = target`` (``S`` decreasing)."""
    hi = 40.0 + jnp.sqrt(jnp.abs(target)) * 0.0
    lo = -(3.0 + 4.0 / jnp.sqrt(jnp.minimum(rho, 1.0 - rho))) * (1.0 + jnp.sqrt(target))
    return bisect(lambda a: target - _S(a, rho, intercept)[0], lo, hi + 0 * lo, _ITERS)


def _max_margin_point(alpha, noise, rho, intercept):
    s = jnp.sqrt(noise)

    def slope(theta):  # -(sign of dkappa/dR): negative while kappa(R) increases
        R = jnp.tanh(theta)
        a = _a_star((1.0 - R * R) / alpha, rho, intercept)
        _, dS, _ = _S(a, rho, intercept)
        return alpha * dS + 2.0 * R * s

    theta = bisect(slope, jnp.zeros_like(s), jnp.full_like(s, _THETA_MAX), _ITERS)
    R = jnp.tanh(theta)
    a = _a_star((1.0 - R * R) / alpha, rho, intercept)
    _, _, b = _S(a, rho, intercept)
    kappa = R - s * a
    test = rho * H(R / s + b) + (1.0 - rho) * H(R / s - b)
    support = rho * ndtr(-a - b) + (1.0 - rho) * ndtr(-a + b)
    return kappa, R, s * b, test, support


_JIT: dict = {}


def _compiled(kind, intercept):
    key = (kind, intercept)
    if key not in _JIT:
        if kind == "threshold":
            _JIT[key] = jax.jit(jax.vmap(lambda n, r: _threshold_point(n, r, intercept)))
        else:
            _JIT[key] = jax.jit(jax.vmap(lambda a, n, r: _max_margin_point(a, n, r, intercept)))
    return _JIT[key]


def _check_intercept(intercept):
    if not isinstance(intercept, (bool, np.bool_)):
        raise ValueError(f"intercept must be True or False, got {intercept!r}")
    return bool(intercept)


def separability_threshold(*, noise, imbalance=0.5, intercept=False) -> SeparabilityThreshold:
    """Linear separability threshold ``alpha_s``: the training set is separable (by ``w``, and ``b`` when
    ``intercept``) with probability -> 1 for ``alpha < alpha_s`` and -> 0 above (module docstring).

    Args:
        noise: cluster variance ``Delta > 0``.
        imbalance: ``rho_+`` in ``(0, 1)`` (irrelevant without intercept).
        intercept: allow a bias.
    """
    intercept = _check_intercept(intercept)
    noise = real_array("noise", noise, low=0.0, low_open=True)
    imbalance = real_array("imbalance", imbalance, low=0.0, high=1.0, low_open=True, high_open=True)
    shape = broadcast(noise=noise, imbalance=imbalance)
    flat = [np.broadcast_to(v, shape).reshape(-1).astype(np.float64) for v in (noise, imbalance)]
    with precision("float64"):
        alpha_s, R = _compiled("threshold", intercept)(*(jnp.asarray(v) for v in flat))
    return SeparabilityThreshold(np.asarray(alpha_s).reshape(shape), np.asarray(R).reshape(shape))


def max_margin(*, alpha, noise=1.0, imbalance=0.5, intercept=False, on_failure="warn") -> MaxMargin:
    """Asymptotic hard-margin SVM (max-margin classifier) on the Gaussian mixture (module docstring).

    Args:
        alpha: ``n/d > 0``; the solution exists for ``alpha < alpha_s`` (:func:`separability_threshold`).
        noise, imbalance, intercept: as in :func:`~overparam_theory.mixtures.theory`.
        on_failure: ``"warn"`` (default), ``"raise"`` or ``"ignore"`` for non-separable points
            (their fields are NaN, ``separable=False``).
    """
    choice("on_failure", on_failure, ("warn", "raise", "ignore"))
    intercept = _check_intercept(intercept)
    alpha = real_array("alpha", alpha, low=0.0, low_open=True)
    noise = real_array("noise", noise, low=0.0, low_open=True)
    imbalance = real_array("imbalance", imbalance, low=0.0, high=1.0, low_open=True, high_open=True)
    shape = broadcast(alpha=alpha, noise=noise, imbalance=imbalance)
    flat = [np.broadcast_to(v, shape).reshape(-1).astype(np.float64) for v in (alpha, noise, imbalance)]
    with precision("float64"):
        out = _compiled("max_margin", intercept)(*(jnp.asarray(v) for v in flat))
    kappa, R, b_unit, test, support = (np.asarray(v).reshape(shape) for v in out)
    separable = kappa > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.where(separable, kappa, np.nan)
        res = MaxMargin(
            kappa=kappa,
            m=R / k,
            q=1.0 / k**2,
            bias=b_unit / k,
            cosine=np.where(separable, R, np.nan),
            test_error=np.where(separable, test, np.nan),
            support_fraction=np.where(separable, support, np.nan),
            separable=separable,
        )
    if not np.all(separable) and on_failure != "ignore":
        msg = (
            f"max_margin: {int(np.sum(~separable))} point(s) with alpha >= alpha_s (data not separable, kappa <= 0): "
            "their fields are NaN"
        )
        if on_failure == "raise":
            raise ValueError(msg)
        warnings.warn(msg, NotSeparableWarning, stacklevel=2)
    return res


class SupportVectorAbundance(NamedTuple):
    """Max-margin vs min-norm interpolation in the proportional limit (``alpha < 1``)."""

    support_fraction: np.ndarray
    max_margin_test_error: np.ndarray
    min_norm_test_error: np.ndarray


def support_vector_abundance(*, alpha, noise=1.0, imbalance=0.5, intercept=False) -> SupportVectorAbundance:
    """Support-vector fraction of the max-margin classifier and the test errors of max-margin and of the
    min-norm interpolator of the ``+-1`` labels (square loss, ``ridge = 0``), for ``alpha < min(1, alpha_s)``.

    The two classifiers coincide exactly when *every* training sample is a support vector
    (Muthukumar et al., JMLR 2021; Wang & Thrampoulidis 2021).  In the proportional limit the
    support fraction is ``< 1`` at every ``alpha > 0`` (it tends to 1 as ``alpha -> 0``), so the two
    asymptotic test errors differ, by an amount that vanishes as ``alpha -> 0``; support-vector
    abundance proper is a statement about ``d >> n log n`` (``alpha -> 0``), checked by
    :func:`~overparam_theory.mixtures.simulate` (field ``all_support_vectors``).
    """
    alpha = real_array("alpha", alpha, low=0.0, high=1.0, low_open=True, high_open=True)
    mm = max_margin(alpha=alpha, noise=noise, imbalance=imbalance, intercept=intercept)
    from ._theory import theory

    mn = theory(alpha=alpha, ridge=0.0, loss="square", noise=noise, imbalance=imbalance, intercept=intercept)
    return SupportVectorAbundance(mm.support_fraction, mm.test_error, mn.test_error)
