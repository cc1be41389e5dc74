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

import jax
import jax.numpy as jnp
import numpy as np

from .._precision import precision
from .._validation import choice, real_array
from ..numerics.minimize import grid_then_newton
from ._channels import CONTINUOUS_CHANNELS, PINNED_FRACTION
from ._priors import prior_moments

_LOG_SNR_GRID = np.linspace(np.log(1e-4), np.log(1e12), 321)


def it_threshold(*, channel="linear", sparsity=1.0):
    """``alpha_IT = sparsity / kappa`` of a noiseless continuous channel (module docstring)."""
    channel = choice("channel", channel, CONTINUOUS_CHANNELS)
    sparsity = real_array("sparsity", sparsity, low=0.0, high=1.0, low_open=True)
    return np.asarray(sparsity / PINNED_FRACTION[channel], float)


def _neg_snr_mmse(log_snr, args):
    eps, v = args
    s = jnp.exp(log_snr)
    _, mmse, _ = prior_moments(s, eps, v)
    return -s * mmse


@jax.jit
def _sup(eps, v):
    def one(e, var):
        grid = jnp.asarray(_LOG_SNR_GRID, e.dtype)
        res = grid_then_newton(_neg_snr_mmse, grid, (e, var), xtol=1e-12)
        interior = -res.value
        # supremum at s -> inf (no interior maximum above the limit eps)
        return jnp.where(res.at_upper | (interior < e), e, interior), jnp.exp(res.u), res.converged | res.at_upper

    return jax.vmap(one)(eps, v)


def algorithmic_threshold(*, sparsity, nonzero_variance=1.0, return_snr=False):
    """AMP threshold ``alpha_AMP(eps) = sup_s s mmse(s)`` of noiseless compressed sensing.

    Args:
        sparsity: ``eps`` in ``(0, 1]`` (broadcast with ``nonzero_variance``).
        nonzero_variance: ``v > 0`` (``alpha_AMP`` does not depend on it: scaling ``w`` scales
            ``s`` and ``mmse`` inversely).
        return_snr: also return the maximising SNR ``s*`` (the plateau ``E* = alpha/s*`` of
            SE at threshold).

    Returns:
        ``alpha_AMP`` (array), or ``(alpha_AMP, s*)``.  Raises ``RuntimeError`` if the
        maximisation did not converge at some point.
    """
    eps = real_array("sparsity", sparsity, low=0.0, high=1.0, low_open=True)
    v = real_array("nonzero_variance", nonzero_variance, low=0.0, low_open=True)
    shape = np.broadcast_shapes(np.shape(eps), np.shape(v))
    with precision("float64"):
        e = jnp.asarray(np.broadcast_to(eps, shape).ravel(), jnp.float64)
        var = jnp.asarray(np.broadcast_to(v, shape).ravel(), jnp.float64)
        alpha, snr, ok = (np.asarray(a) for a in _sup(e, var))
    if not ok.all():
        raise RuntimeError(f"algorithmic_threshold: the maximisation over the SNR did not converge at {int((~ok).sum())} point(s)")
    alpha, snr = alpha.reshape(shape), snr.reshape(shape)
    return (alpha, snr) if return_snr else alpha
