"""Optimal ridge penalty and the risk there.

Isotropic data (``docs/theory/ridge.md``): ``ridge* = noise * gamma / signal`` with
``gamma = 1/alpha`` -- the posterior mean under the prior ``beta ~ N(0, (signal/d) I)`` -- and
``R(ridge*) = noise * gamma * m(-ridge*)``.  ``signal = 0`` gives ``ridge* = inf`` (the zero
estimator, risk 0); ``noise = 0`` gives ``ridge* = 0`` (min-norm interpolation).

Anisotropic data: the optimum is found numerically per point.  The risk is evaluated on a
log-spaced grid of 65 penalties spanning ``[1e-8, 1e4] x mean eigenvalue`` together with
``ridge = 0``; the best grid point is refined by a safeguarded Newton solve of
``dR/d log(ridge) = 0`` between its neighbours (derivatives by implicit differentiation through
the effective-regularisation root).  An optimum at ``ridge = 0`` (possible for misaligned
teachers, Kobak, Lomond & Sanchez, JMLR 2020) or at the upper end (``ridge = inf``, the zero
estimator) is reported as such.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._spec import validated
from ..numerics.batching import map_points
from ..numerics.minimize import grid_then_newton
from ..numerics.diagnostics import Diagnostics, diagnostics, with_diagnostics
from ..numerics.grid import evaluate, finalize
from ._params import PARAMS
from ._theory import _anisotropic_point, resolve_teacher, theory

_OPTIMAL_PARAMS = tuple(p for p in PARAMS if p.name != "ridge")


@with_diagnostics
class OptimalRidge(NamedTuple):
    """Optimal penalty and the ridge quantities there (fields as in ``RidgeTheory``)."""

    ridge: jax.Array
    excess_risk: jax.Array
    bias: jax.Array
    variance: jax.Array
    train_error: jax.Array
    diagnostics: Diagnostics


_GRID = np.linspace(np.log(1e-8), np.log(1e4), 65)


def _risk(log_lam, args):
    alpha, noise, eig, w, tpow = args
    bias, var, *_ = _anisotropic_point(alpha, jnp.exp(log_lam), noise, eig, w, tpow)
    return bias + var


def _optimum_point(alpha, noise, eig, w, tpow):
    grid = jnp.log(jnp.sum(w * eig)) + jnp.asarray(_GRID)
    best = grid_then_newton(_risk, grid, (alpha, noise, eig, w, tpow))
    r0 = _anisotropic_point(alpha, 0.0, noise, eig, w, tpow)
    at_zero = best.at_lower & (r0[0] + r0[1] <= best.value)
    at_inf = best.at_upper
    lam = jnp.where(at_zero, 0.0, jnp.exp(best.u))
    lam_eval = jnp.where(at_zero | at_inf, 1.0, lam)
    bias, var, train, _, conv_k, _, _ = _anisotropic_point(alpha, lam_eval, noise, eig, w, tpow)
    null_bias = jnp.sum(eig * tpow)  # beta_hat = 0
    bias = jnp.where(at_zero, r0[0], jnp.where(at_inf, null_bias, bias))
    var = jnp.where(at_zero, r0[1], jnp.where(at_inf, 0.0, var))
    train = jnp.where(at_zero, r0[2], jnp.where(at_inf, null_bias + noise, train))
    lam = jnp.where(at_inf, jnp.inf, lam)
    converged = (best.converged | at_zero | at_inf) & conv_k
    return lam, bias, var, train, converged, best.iterations, best.residual


def _optimum(alpha, noise, eig, w, tpow):
    # each point evaluates the risk on the 65-point grid: 65 x levels elements
    lam, bias, var, train, conv, its, res = map_points(
        _optimum_point, (alpha, noise), (eig, w, tpow), work_per_point=65 * eig.size
    )
    bias, var, train = (jnp.where(conv, v, jnp.nan) for v in (bias, var, train))
    return OptimalRidge(lam, bias + var, bias, var, train, diagnostics(conv, its, res))


@validated(_OPTIMAL_PARAMS, "theory")
def optimal_ridge(*, alpha, signal, noise, spectrum, teacher_power, dtype, on_failure) -> OptimalRidge:
    """The penalty ``ridge >= 0`` minimising the asymptotic excess risk, and the risk there.

    Parameters as in :func:`~overparam_theory.ridge.theory` (without ``ridge``).  Isotropic data
    use the exact ``ridge* = noise / (alpha * signal)``; with a spectrum the optimum is
    computed numerically (see the module docstring), with per-point diagnostics.
    """
    signal, spectrum, teacher_power = resolve_teacher(signal, spectrum, teacher_power)
    if spectrum is None:
        a, r2, s2 = np.broadcast_arrays(alpha, signal, noise)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            lam = np.where(r2 > 0, s2 / (a * np.where(r2 > 0, r2, 1.0)), np.inf)
        finite = np.isfinite(lam)
        th = theory(alpha=a, ridge=np.where(finite, lam, 1.0), signal=r2, noise=s2, dtype=dtype, on_failure="ignore")
        keep = lambda v, null: np.where(finite, v, null)
        result = OptimalRidge(
            lam,
            keep(th.excess_risk, 0.0),
            keep(th.bias, 0.0),
            keep(th.variance, 0.0),
            keep(th.train_error, s2),
            th.diagnostics,
        )
        return finalize(result, on_failure, "optimal ridge")
    return evaluate(
        _optimum,
        (alpha, noise),
        (spectrum.eigenvalues, spectrum.weights, teacher_power),
        dtype=dtype,
        on_failure=on_failure,
        what="optimal-ridge search",
    )
