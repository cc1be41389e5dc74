"""Recovery thresholds of noiseless Bayes-optimal GLMs.

- :func:`it_threshold`: the information-theoretic threshold of exact recovery in a noiseless
  continuous channel, ``alpha_IT = sparsity / kappa`` (``kappa = 1`` for ``linear`` and ``abs``,
  ``1/2`` for ``relu``; module docstring of :mod:`._theory`).  For compressed sensing this is
  the Renyi information dimension of the prior (Wu & Verdu, IEEE TIT 56 (2010) 3721); for
  phase retrieval with a Gaussian prior it is 1 (BKMMZ Table 1).
- :func:`algorithmic_threshold`: where AMP (the uninformed SE) starts to recover exactly in
  noiseless compressed sensing.  With ``E_{t+1} = mmse(alpha/E_t)`` there is no fixed point
  ``E > 0`` iff ``alpha > s mmse(s)`` for every SNR ``s``, so

      alpha_AMP(eps) = sup_{s > 0} s mmse(s)

  (Krzakala, Mezard, Sausset, Sun & Zdeborova, PRX 2 (2012) 021005, section IV; Donoho,
  Javanmard & Montanari, IEEE TIT 59 (2013)).  ``s mmse(s) -> eps`` as ``s -> inf``, so
  ``alpha_AMP >= alpha_IT = eps``; the Gaussian prior gives ``alpha_AMP = 1``.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._spec import validated
from ..numerics.diagnostics import Diagnostics, diagnostics
from ..numerics.grid import evaluate
from ..numerics.minimize import grid_then_newton
from ._channels import PINNED_FRACTION
from ._params import ALGORITHMIC_THRESHOLD_PARAMS, IT_THRESHOLD_PARAMS
from ._priors import prior_moments

_LOG_SNR_GRID = np.linspace(np.log(1e-4), np.log(1e12), 321)


@validated(IT_THRESHOLD_PARAMS, "theory")
def it_threshold(*, channel, sparsity):
    """``alpha_IT = sparsity / kappa`` of a noiseless continuous channel (``linear``, ``relu``,
    ``abs``; module docstring)."""
    return np.asarray(sparsity / PINNED_FRACTION[channel], float)


def _neg_snr_mmse(log_snr, args):
    eps, v = args
    s = jnp.exp(log_snr)
    _, mmse, _ = prior_moments(s, eps, v)
    return -s * mmse


class _Supremum(NamedTuple):
    alpha: jax.Array
    snr: jax.Array
    diagnostics: Diagnostics


def _sup_kernel(eps, v):
    def one(e, var):
        grid = jnp.asarray(_LOG_SNR_GRID, e.dtype)
        res = grid_then_newton(_neg_snr_mmse, grid, (e, var), xtol=1e-12)
        interior = -res.value
        # supremum at s -> inf (no interior maximum above the limit eps)
        alpha = jnp.where(res.at_upper | (interior < e), e, interior)
        return alpha, jnp.exp(res.u), res.converged | res.at_upper, res.iterations, res.residual

    alpha, snr, converged, iterations, residual = jax.vmap(one)(eps, v)
    return _Supremum(alpha, snr, diagnostics(converged, iterations, residual))


@validated(ALGORITHMIC_THRESHOLD_PARAMS, "theory")
def algorithmic_threshold(*, sparsity, nonzero_variance, return_snr):
    """AMP threshold ``alpha_AMP(eps) = sup_s s mmse(s)`` of noiseless compressed sensing.

    Args:
        sparsity: ``eps`` in ``(0, 1]`` (broadcast with ``nonzero_variance``).
        nonzero_variance: ``v > 0`` (``alpha_AMP`` does not depend on it: scaling ``w`` scales
            ``s`` and ``mmse`` inversely).
        return_snr: also return the maximising SNR ``s*`` (the plateau ``E* = alpha/s*`` of
            SE at threshold).

    Returns:
        ``alpha_AMP`` (array), or ``(alpha_AMP, s*)``.  Raises
        :class:`~overparam_theory.numerics.diagnostics.ConvergenceError` (a ``RuntimeError``)
        if the maximisation did not converge at some point.
    """
    out = evaluate(
        _sup_kernel,
        (sparsity, nonzero_variance),
        on_failure="raise",
        what="algorithmic_threshold: the maximisation over the SNR",
    )
    return (out.alpha, out.snr) if return_snr else out.alpha
