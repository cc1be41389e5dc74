"""Gardner's storage capacity and Cover's finite-size separability probability (random labels,
no bias; ``docs/theory/glm.md``)."""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from scipy import special as sps

from .._precision import precision
from .._spec import validated
from .._validation import is_traced
from ..numerics.gaussian import normal_cdf, normal_pdf
from ._params import COVER_PARAMS, MARGIN_PARAMS

__all__ = ["GardnerCapacity", "CoverSeparability", "gardner_capacity", "cover_separability_probability"]


class GardnerCapacity(NamedTuple):
    """Gardner capacity of random (unbiased) labels at margin ``kappa``.

    Attributes:
        alpha_c: ``1 / [(1 + kappa^2) Phi(kappa) + kappa phi(kappa)]`` (``2`` at ``kappa = 0``).
        support_vector_fraction: ``Phi(kappa)``, the fraction of samples on the margin at capacity
            (``alpha_c * Phi(kappa) <= 1`` support vectors per dimension; ``= 1`` at ``kappa = 0``).
    """

    alpha_c: jax.Array
    support_vector_fraction: jax.Array


class CoverSeparability(NamedTuple):
    """Cover's probability that ``n`` points in general position with random labels are
    linearly separable through the origin in ``R^d``.

    Attributes:
        probability: ``2^{1-n} sum_{k<d} binom(n-1, k)`` (``1`` for ``n <= d``; ``1/2`` exactly at
            ``n = 2 d``).
        log_probability: its natural logarithm, finite even where ``probability`` underflows.
    """

    probability: np.ndarray
    log_probability: np.ndarray


@validated(MARGIN_PARAMS, "theory")
def gardner_capacity(*, margin) -> GardnerCapacity:
    """Gardner's storage capacity of a spherical perceptron (no bias) for random labels.

    ``alpha_c(kappa) = 1 / [(1 + kappa^2) Phi(kappa) + kappa phi(kappa)]``: for ``alpha < alpha_c``
    ``n = alpha d`` random labels can be realised with margin ``kappa`` (inputs ``N(0, I_d)``,
    ``min_mu y_mu x_mu . w / |w| >= kappa``).  ``alpha_c(0) = 2`` exactly (Cover).

    Args:
        margin: ``kappa >= 0`` (array).  Negative margins are rejected: there the problem is
            non-convex and this replica-symmetric formula is not exact.

    Returns:
        :class:`GardnerCapacity`.

    References: E. Gardner, J. Phys. A 21 (1988) 257, eq. (40); Engel & Van den Broeck,
    *Statistical Mechanics of Learning* (2001), eq. (6.14).
    """
    with precision("float64"):
        k = jnp.asarray(margin, jnp.float64)
        cdf = normal_cdf(k)
        result = GardnerCapacity(1.0 / ((1.0 + k * k) * cdf + k * normal_pdf(k)), cdf)
    if any(is_traced(leaf) for leaf in jax.tree_util.tree_leaves(result)):
        return result
    return jax.tree_util.tree_map(np.asarray, result)


def _log_binom_cdf_half(k, n):
    """``log P(Binomial(n, 1/2) <= k)`` for ``k < n / 2`` (lower tail) by the series of pmf ratios."""
    log_pmf = sps.gammaln(n + 1.0) - sps.gammaln(k + 1.0) - sps.gammaln(n - k + 1.0) - n * math.log(2.0)
    total, term, j = 1.0, 1.0, 0
    while j < k:
        term *= (k - j) / (n - k + 1.0 + j)
        total += term
        j += 1
        if term < 1e-17 * total:
            break
    return log_pmf + math.log(total)


@validated(COVER_PARAMS, "theory")
def cover_separability_probability(*, n_samples, dim) -> CoverSeparability:
    """Cover's (1965) probability that ``n`` random dichotomies of points in general position in
    ``R^d`` are separable by a hyperplane through the origin.

    ``P = 2^{1-n} sum_{k=0}^{d-1} binom(n-1, k) = P(Binomial(n-1, 1/2) <= d-1)``, evaluated with
    the regularised incomplete beta function on the smaller tail (relative accuracy in both
    tails; ``1 - P`` is never formed by cancellation for ``P < 1/2``), exactly ``1/2`` at
    ``n = 2 d`` and exactly ``1`` for ``n <= d``.  ``log_probability`` stays finite where ``P``
    underflows (a series of pmf ratios in log space).

    Args:
        n_samples: number of points ``n >= 1`` (integer array).
        dim: dimension ``d >= 1`` (integer array); broadcasts with ``n_samples``.

    Returns:
        :class:`CoverSeparability` of float64 arrays.

    References: T. M. Cover, IEEE Trans. Electron. Comput. EC-14 (1965) 326, Theorem 1.
    """
    n = np.asarray(n_samples).astype(np.int64)
    d = np.asarray(dim).astype(np.int64)
    shape = np.broadcast_shapes(n.shape, d.shape)
    nn = np.broadcast_to(n - 1, shape)  # Binomial size N = n - 1
    kk = np.broadcast_to(d - 1, shape)  # cdf at k = d - 1
    prob = np.empty(shape)
    logp = np.empty(shape)
    for idx in np.ndindex(*shape):
        N, k = int(nn[idx]), int(kk[idx])
        if k >= N:
            p, lp = 1.0, 0.0
        elif 2 * k + 1 == N:
            p, lp = 0.5, -math.log(2.0)
        elif 2 * k + 1 < N:  # lower tail: direct
            p = float(sps.bdtr(k, N, 0.5))
            lp = math.log(p) if p > 1e-290 else _log_binom_cdf_half(float(k), float(N))
        else:  # upper: 1 - P(B <= N - k - 1) by symmetry, the subtracted tail computed directly
            c = float(sps.bdtr(N - k - 1, N, 0.5))
            p = 1.0 - c
            lp = math.log1p(-c)
        prob[idx], logp[idx] = p, lp
    return CoverSeparability(prob, logp)
