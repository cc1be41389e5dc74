"""Finite-size Monte Carlo of ERM on the binary Gaussian mixture (same names as ``theory``).

Per seed and grid point: ``n = round(alpha dim)`` labels ``y = +1`` w.p. ``imbalance``, a mean
direction ``v*`` uniform on the sphere with ``|v*|^2/dim = 1`` exactly, inputs ``x = y v*/sqrt(dim)
+ sqrt(noise) z``; the estimator is computed exactly (:mod:`overparam_theory.estimators`, with or
without an unpenalised intercept: closed form for square loss, Newton for logistic and custom
smooth losses, an interior-point method for hinge; ``loss="hinge", ridge=0`` is the hard-margin
SVM) and the observables are

- ``m = w.v*/d``, ``q = |w|^2/d``, ``bias = b``, ``cosine = m/sqrt(q)``;
- ``test_error``: the *population* error of ``(w, b)``, ``rho_+ H((m + b)/sqrt(Delta q)) +
  (1 - rho_+) H((m - b)/sqrt(Delta q))`` (exact for Gaussian inputs; no test-set noise);
- ``train_loss``, ``train_error``, ``support_fraction`` (margin ``<= 1 + 1e-6``) on the training set;
- ``all_support_vectors``: per seed 1 if every training margin is ``<= 1 + 1e-6`` (every sample a
  support vector; for the hard-margin SVM this is exactly when it equals the min-norm
  interpolator of the labels), else 0 -- its seed mean is the fraction of such seeds.

A seed whose fit did not converge (or an infeasible hard-margin problem) makes its point NaN and
is counted in ``fit_failures`` with a warning.
"""

from __future__ import annotations

import math
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import _draws as draws
from .._montecarlo import seed_batched
from .._results import Estimate
from .._spec import validated
from ..estimators import fit
from ..estimators._simulate import erm_grid, simulate_grid
from ..numerics.prox import HINGE, resolve_loss
from ._common import H
from ._params import PARAMS

_SV_TOL = 1e-6
_FIT_TOL = 1e-10  # relative gradient norm / duality gap of the iterative fitters


class MixtureSimulation(NamedTuple):
    """Monte Carlo estimates (seed mean, standard error) of the mixture observables.

    ``alpha`` holds the realised ``n/dim``; ``fit_failures`` counts seeds per point whose estimator
    did not converge (their point is NaN).
    """

    test_error: Estimate
    train_loss: Estimate
    train_error: Estimate
    m: Estimate
    q: Estimate
    bias: Estimate
    cosine: Estimate
    support_fraction: Estimate
    all_support_vectors: Estimate
    alpha: np.ndarray
    n_samples: np.ndarray
    dim: int
    fit_failures: np.ndarray


_OBSERVABLES = ("test_error", "train_loss", "train_error", "m", "q", "bias", "cosine", "support_fraction", "all_support_vectors")


def _one_seed(key, ridge, noise, rho, *, n, d, loss, intercept, hard_margin):
    g_y, g, Z = draws.standard_normals(key, (n,), (d,), (n, d))
    y = jnp.where(draws.bernoulli(g_y, rho), 1.0, -1.0)
    v = math.sqrt(d) * g / jnp.linalg.norm(g)
    X = y[:, None] * v[None, :] / math.sqrt(d) + jnp.sqrt(noise) * Z
    res = fit(X, y, ridge, loss=loss, intercept=intercept, hard_margin=hard_margin, tol=_FIT_TOL)
    w, b = res.weights, res.bias
    m = w @ v / d
    q = w @ w / d
    test = rho * H((m + b) / jnp.sqrt(noise * q)) + (1.0 - rho) * H((m - b) / jnp.sqrt(noise * q))
    margins = y * (X @ w / math.sqrt(d) + b)
    train_loss = jnp.mean(loss.value(margins))
    train_error = jnp.mean(margins < 0)
    sv = margins <= 1.0 + _SV_TOL
    values = (test, train_loss, train_error, m, q, b, m / jnp.sqrt(q), jnp.mean(sv), jnp.all(sv).astype(m.dtype))
    ok = res.converged & res.feasible
    return tuple(jnp.where(ok, x, jnp.nan) for x in values) + (~ok,)


@partial(jax.jit, static_argnames=("n", "d", "loss", "intercept", "hard_margin", "devices"))
def _run_group(keys, alpha, ridge, noise, rho, *, n, d, loss, intercept, hard_margin, devices):
    one = partial(_one_seed, n=n, d=d, loss=loss, intercept=intercept, hard_margin=hard_margin)
    sequential = loss is HINGE and devices is None  # vmapped IPMs were slow on CPU (estimators.fit_max_margin)

    def point(point_keys, r, e, p):
        if sequential:
            return jax.lax.map(lambda k: one(k, r, e, p), point_keys)
        return seed_batched(one, point_keys, (r, e, p), devices)

    out = jax.lax.map(lambda args: point(*args), (keys, ridge, noise, rho))
    return dict(zip(_OBSERVABLES + ("failed",), out))


@validated(PARAMS, "simulate")
def simulate(
    *, alpha, ridge, loss, noise, imbalance, intercept, dim, n_seeds, seed, progress, devices
) -> MixtureSimulation:
    """Finite-size ERM with the parameters of :func:`~overparam_theory.mixtures.theory` (module docstring).

    Args:
        alpha, ridge, loss, noise, imbalance, intercept: as in ``theory``; additionally
            ``loss="hinge", ridge=0`` is the hard-margin SVM (compare with
            :func:`~overparam_theory.mixtures.max_margin`) and ``loss="logistic", ridge=0`` is the
            MLE (NaN with a warning on separable samples).
        dim: input dimension ``d >= 2``; ``n = round(alpha d)`` (at least 2).
        n_seeds: independent seeds per point (>= 2); seed: int or JAX key.
        progress: print one line per compiled sample size.
        devices: ``None``, ``"all"`` or a list of JAX devices to shard the seeds over.
    """
    loss = resolve_loss(loss)
    grid = erm_grid(loss, devices, dim, alpha, ridge, noise, imbalance, min_samples=2)

    def run_group(keys, *params, size):
        return _run_group(
            keys, *params, n=size, d=dim, loss=loss, intercept=intercept, hard_margin=grid.hard_margin,
            devices=grid.devices,
        )

    return simulate_grid(
        MixtureSimulation, run_group, grid, _OBSERVABLES,
        what="mixtures.simulate", loss=loss, dim=dim, seed=seed, n_seeds=n_seeds, progress=progress,
    )
