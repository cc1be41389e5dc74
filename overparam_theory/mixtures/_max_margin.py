"""The max-margin classifier (hard-margin SVM) on the Gaussian mixture and support-vector abundance
(the Gordon-type derivation of :mod:`._separability`; ``docs/theory/mixtures.md``; Mignacco et al.,
ICML 2020, appendix).  Nested fixed-count bisections, as in :mod:`._separability`."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import ndtr

from .._spec import validated
from ..estimators import NotSeparableWarning
from ..numerics.diagnostics import Diagnostics, raise_or_warn, with_diagnostics
from ..numerics.grid import evaluate
from ..numerics.roots import bisect
from ._common import H
from ._params import ABUNDANCE_PARAMS, MAX_MARGIN_PARAMS
from ._separability import ITERS, THETA_MAX, S, bisection_diagnostics

__all__ = ["MixtureMaxMargin", "MaxMargin", "max_margin", "SupportVectorAbundance", "support_vector_abundance"]


@with_diagnostics
class MixtureMaxMargin(NamedTuple):
    """Hard-margin SVM in the normalisation ``min |w|^2/d s.t. y(x.w/sqrt d + b) >= 1``
    (``mixtures.MaxMargin`` is the same class).

    Attributes:
        kappa: margin of the unit-norm classifier (``|w|^2/d = 1``), ``q = 1/kappa^2``.
        m, q, bias, cosine: overlaps of the normalised hard-margin solution.
        test_error: population error.
        support_fraction: fraction of training samples on the margin (support vectors).
        separable: ``alpha < alpha_s``; elsewhere every other field is NaN.
        diagnostics: ``OK``, or ``INFEASIBLE`` where not separable; ``iterations`` the bisection
            count (:mod:`._separability`).
    """

    kappa: np.ndarray
    m: np.ndarray
    q: np.ndarray
    bias: np.ndarray
    cosine: np.ndarray
    test_error: np.ndarray
    support_fraction: np.ndarray
    separable: np.ndarray
    diagnostics: Diagnostics


MaxMargin = MixtureMaxMargin


def _a_star(target, rho, intercept):
    """``a`` with ``S(a) = target`` (``S`` decreasing)."""
    hi = 40.0 + jnp.sqrt(jnp.abs(target)) * 0.0
    lo = -(3.0 + 4.0 / jnp.sqrt(jnp.minimum(rho, 1.0 - rho))) * (1.0 + jnp.sqrt(target))
    return bisect(lambda a: target - S(a, rho, intercept)[0], lo, hi + 0 * lo, ITERS)


def _max_margin_point(alpha, noise, rho, intercept):
    s = jnp.sqrt(noise)

    def slope(theta):  # -(sign of dkappa/dR): negative while kappa(R) increases
        R = jnp.tanh(theta)
        a = _a_star((1.0 - R * R) / alpha, rho, intercept)
        _, dS, _ = S(a, rho, intercept)
        return alpha * dS + 2.0 * R * s

    theta = bisect(slope, jnp.zeros_like(s), jnp.full_like(s, THETA_MAX), ITERS)
    R = jnp.tanh(theta)
    a = _a_star((1.0 - R * R) / alpha, rho, intercept)
    _, _, b = S(a, rho, intercept)
    kappa = R - s * a
    test = rho * H(R / s + b) + (1.0 - rho) * H(R / s - b)
    support = rho * ndtr(-a - b) + (1.0 - rho) * ndtr(-a + b)
    return kappa, R, s * b, test, support


def _max_margin_kernel(alpha, noise, imbalance, *, intercept):
    kappa, R, b_unit, test, support = jax.vmap(lambda a, n, r: _max_margin_point(a, n, r, intercept))(
        alpha, noise, imbalance
    )
    separable = kappa > 0
    k = jnp.where(separable, kappa, jnp.nan)
    return MixtureMaxMargin(
        kappa=kappa,
        m=R / k,
        q=1.0 / k**2,
        bias=b_unit / k,
        cosine=jnp.where(separable, R, jnp.nan),
        test_error=jnp.where(separable, test, jnp.nan),
        support_fraction=jnp.where(separable, support, jnp.nan),
        separable=separable,
        diagnostics=bisection_diagnostics(kappa.shape, ~separable),
    )


@validated(MAX_MARGIN_PARAMS, "theory")
def max_margin(*, alpha, noise, imbalance, intercept, on_failure) -> MixtureMaxMargin:
    """Asymptotic hard-margin SVM (max-margin classifier) on the Gaussian mixture (:mod:`._separability`).

    Args:
        alpha: ``n/d > 0``; the solution exists for ``alpha < alpha_s`` (:func:`separability_threshold`).
        noise, imbalance, intercept: as in :func:`~overparam_theory.mixtures.theory`.
        on_failure: ``"warn"`` (default: a :class:`~overparam_theory.estimators.NotSeparableWarning`),
            ``"raise"`` (``ValueError``) or ``"ignore"`` for non-separable points (their fields are
            NaN, ``separable=False``).
    """
    res = evaluate(
        _max_margin_kernel,
        (alpha, noise, imbalance),
        static=dict(intercept=intercept),
        on_failure="ignore",
        what="mixture max-margin",
    )
    separable = np.asarray(res.separable)
    if not np.all(separable):
        raise_or_warn(
            f"max_margin: {int(np.sum(~separable))} point(s) with alpha >= alpha_s (data not separable, kappa <= 0): "
            "their fields are NaN",
            on_failure,
            error=ValueError,
            warning=NotSeparableWarning,
        )
    return res


class SupportVectorAbundance(NamedTuple):
    """Max-margin vs min-norm interpolation in the proportional limit (``alpha < 1``)."""

    support_fraction: np.ndarray
    max_margin_test_error: np.ndarray
    min_norm_test_error: np.ndarray


@validated(ABUNDANCE_PARAMS, "theory")
def support_vector_abundance(*, alpha, noise, imbalance, intercept) -> SupportVectorAbundance:
    """Support-vector fraction of the max-margin classifier and the test errors of max-margin and of the
    min-norm interpolator of the ``+-1`` labels (square loss, ``ridge = 0``), for ``alpha < min(1, alpha_s)``.

    The two classifiers coincide exactly when *every* training sample is a support vector
    (Muthukumar et al., JMLR 2021; Wang & Thrampoulidis 2021).  In the proportional limit the
    support fraction is ``< 1`` at every ``alpha > 0`` (it tends to 1 as ``alpha -> 0``), so the two
    asymptotic test errors differ, by an amount that vanishes as ``alpha -> 0``; support-vector
    abundance proper is a statement about ``d >> n log n`` (``alpha -> 0``), checked by
    :func:`~overparam_theory.mixtures.simulate` (field ``all_support_vectors``).
    """
    mm = max_margin(alpha=alpha, noise=noise, imbalance=imbalance, intercept=intercept)
    from ._theory import theory

    mn = theory(alpha=alpha, ridge=0.0, loss="square", noise=noise, imbalance=imbalance, intercept=intercept)
    return SupportVectorAbundance(mm.support_fraction, mm.test_error, mn.test_error)
