"""Finite-size Monte Carlo of l2-penalised ERM in the teacher-student GLM (same names as ``theory``).

Per seed and grid point: ``n = round(alpha * dim)`` inputs ``x ~ N(0, Sigma)`` (``Sigma = I``, or
diagonal with the spectrum's eigenvalues, each level repeated ``weight * dim`` times), a teacher
``w*`` with ``|w*|^2/dim = signal`` exactly (uniform direction; with a spectrum the level-``k``
coordinates carry ``teacher_power_k`` with random signs, and teacher variance beyond
``sum_k eigenvalue_k teacher_power_k`` is added to ``z`` as an independent Gaussian the inputs do
not see), teacher fields ``z = x . w*/sqrt(dim)`` and labels from the channel.  The estimator is
computed exactly (:mod:`overparam_theory.estimators`: closed form for square loss, Newton for
logistic and custom smooth losses, an interior-point method for hinge; ``loss="hinge", ridge=0``
is the hard-margin SVM) and the observables are

- ``m``, ``q``, ``cosine`` from ``w_hat`` and ``w*`` (with ``Sigma``: ``w^T Sigma w*/d`` ...);
- ``test_error``, ``clean_test_error``, ``test_loss``: the *population* values of ``w_hat`` (for
  Gaussian inputs they are functions of ``(m, q, rho)`` only, evaluated by the same closed forms /
  quadrature as the theory), so no test-set noise is added;
- ``train_loss``, ``train_error``: on the training sample.

Seed means and standard errors are reported; a point where some fit did not converge (or the
hard-margin problem is infeasible) is NaN and counted in ``fit_failures`` with a warning.
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
from ._channels import Channel, sample_labels, test_errors
from ._params import PARAMS
from ._theory import check_problem, population_test_loss


class GLMSimulation(NamedTuple):
    """Monte Carlo estimates (seed mean, standard error) of the GLM observables.

    ``alpha`` holds the realised ``n/dim``; ``fit_failures`` counts seeds per point whose
    estimator did not converge (their point is NaN).
    """

    test_error: Estimate
    clean_test_error: Estimate
    test_loss: Estimate
    train_loss: Estimate
    train_error: Estimate
    m: Estimate
    q: Estimate
    cosine: Estimate
    alpha: np.ndarray
    n_samples: np.ndarray
    dim: int
    fit_failures: np.ndarray


_OBSERVABLES = ("test_error", "clean_test_error", "test_loss", "train_loss", "train_error", "m", "q", "cosine")


def _one_seed(key, alpha_unused, ridge, noise, flip, rho, sqrt_eig, level_amp, *, n, loss, teacher, hard_margin):
    d = sqrt_eig.shape[0]
    X, g, g_extra, g_noise, g_flip = draws.standard_normals(key, (n, d), (d,), (n,), (n,), (n,))
    X = X * sqrt_eig
    if level_amp is None:
        w_star = jnp.sqrt(rho * d) * g / jnp.linalg.norm(g)
        extra = jnp.zeros(())
    else:
        w_star = level_amp * draws.signs(g)
        extra = jnp.maximum(rho - jnp.sum((sqrt_eig * w_star) ** 2) / d, 0.0)
    z = X @ w_star / math.sqrt(d) + jnp.sqrt(extra) * g_extra
    y = sample_labels(teacher, z, noise, flip, g_noise, g_flip)
    fit_result = fit(X, y, ridge, loss=loss, hard_margin=hard_margin)
    w = fit_result.weights
    cov_w = sqrt_eig**2 * w
    m = jnp.dot(cov_w, w_star) / d
    q = jnp.dot(cov_w, w) / d
    rho_d = jnp.sum((sqrt_eig * w_star) ** 2) / d + extra
    pred = X @ w / math.sqrt(d)
    channel = Channel(teacher, noise, flip)
    if teacher == "linear":
        excess = rho_d - 2 * m + q
        test, clean = excess + noise, excess
        resid = jnp.mean((y - pred) ** 2)
        test_loss, train_loss, train_error = 0.5 * test, 0.5 * resid, resid
    else:
        test, clean = test_errors(channel, m, q, rho_d)
        test_loss = population_test_loss(loss, channel, m, q, rho_d)
        margins = y * pred
        train_loss = jnp.mean(loss.value(margins))
        train_error = jnp.mean(margins < 0)
    ok = fit_result.converged & fit_result.feasible
    values = (test, clean, test_loss, train_loss, train_error, m, q, m / jnp.sqrt(rho_d * q))
    return tuple(jnp.where(ok, v, jnp.nan) for v in values) + (~ok,)


@partial(jax.jit, static_argnames=("n", "loss", "teacher", "isotropic", "hard_margin", "devices"))
def _run_group(
    keys, alpha, ridge, noise, flip, rho, sqrt_eig, level_amp, *, n, loss, teacher, isotropic, hard_margin, devices
):
    one = partial(_one_seed, n=n, loss=loss, teacher=teacher, hard_margin=hard_margin)

    def point(point_keys, a, r, e, f, s):
        run = lambda k, *p: one(k, *p, sqrt_eig, None if isotropic else level_amp)  # noqa: E731
        if hard_margin and devices is None:
            # Seeds one after another: the vmapped hard-margin interior-point solve did not finish
            # in 4 minutes at d = 500, n = 1000 on jax 0.10.2 / CPU (2 seeds), while lax.map takes 3 s.
            return jax.lax.map(lambda k: run(k, a, r, e, f, s), point_keys)
        # the design and a scaled copy (n x d, twice) and the Newton system (d x d, twice), float64
        d = sqrt_eig.shape[0]
        return seed_batched(run, point_keys, (a, r, e, f, s), devices, bytes_per_seed=8 * (2 * n * d + 2 * d * d))

    out = jax.lax.map(lambda args: point(*args), (keys, alpha, ridge, noise, flip, rho))
    return dict(zip(_OBSERVABLES + ("failed",), out))


@validated(PARAMS, "simulate")
def simulate(
    *, alpha, ridge, loss, teacher, noise, flip, signal, spectrum, teacher_power, dim, n_seeds, seed, progress, devices
) -> GLMSimulation:
    """Finite-size ERM with the parameters of :func:`~overparam_theory.glm.theory` (module docstring).

    Args:
        alpha, ridge, loss, teacher, noise, flip, signal, spectrum, teacher_power: as in
            ``theory``; additionally ``loss="hinge", ridge=0`` is the hard-margin SVM (compare
            with :func:`~overparam_theory.glm.max_margin`).  With a spectrum, ``weight * dim``
            must be an integer for every level (``ValueError`` otherwise).
        dim: input dimension ``d >= 2``; ``n = round(alpha d)``.
        n_seeds: independent seeds per point (>= 2); seed: int or JAX key.
        progress: print one line per compiled sample size.
        devices: ``None`` (one device: ``vmap`` over seeds, or ``lax.map`` for hard-margin fits),
            ``"all"`` or a list of JAX devices to shard the seeds over (``n_seeds`` a multiple of
            their number; each device maps its seeds with ``lax.map``).

    Returns:
        :class:`GLMSimulation`.
    """
    loss, spectrum, teacher_power = check_problem(
        loss=loss, teacher=teacher, ridge=ridge, noise=noise, flip=flip, signal=signal,
        spectrum=spectrum, teacher_power=teacher_power, allow_hard_margin=True,
    )
    grid = erm_grid(loss, devices, dim, alpha, ridge, noise, flip, signal)
    if spectrum is None:
        sqrt_eig = np.ones(dim)
        level_amp = np.ones(dim)
    else:
        counts = level_counts(spectrum, dim)
        eig = np.repeat(np.asarray(spectrum.eigenvalues, float), counts)
        tp = np.asarray(teacher_power, float)
        per_coord = np.where(counts > 0, tp * dim / np.maximum(counts, 1), 0.0)
        sqrt_eig = np.sqrt(eig)
        level_amp = np.sqrt(np.repeat(per_coord, counts))

    def run_group(keys, *params, size):
        return _run_group(
            keys, *params, jnp.asarray(sqrt_eig), jnp.asarray(level_amp),
            n=size, loss=loss, teacher=teacher, isotropic=spectrum is None, hard_margin=grid.hard_margin,
            devices=grid.devices,
        )

    return simulate_grid(
        GLMSimulation, run_group, grid, _OBSERVABLES,
        what="glm.simulate", loss=loss, dim=dim, seed=seed, n_seeds=n_seeds, progress=progress,
    )


def level_counts(spectrum, dim):
    """Directions per spectrum level, ``weights * dim``, which must be integers (as in
    ``ridge.simulate``): ``ValueError`` naming ``dim`` and the multiplicities otherwise."""
    mult = np.asarray(spectrum.weights, float) * dim
    if np.max(np.abs(mult - np.round(mult))) > 1e-8:
        raise ValueError(
            f"dim={dim} does not give integer multiplicities weights*dim={mult}; choose dim so that every "
            "spectrum level has an integer number of directions"
        )
    return np.round(mult).astype(int)
