"""Finite-size Monte Carlo simulation of ridge regression (same parameters as ``theory``).

For each parameter point, ``n = round(alpha * dim)`` samples ``x_i = Sigma^{1/2} z_i`` with
``z_i ~ N(0, I_dim)`` (``Sigma`` diagonal with the spectrum's eigenvalues, each level repeated
``weight * dim`` times), a teacher ``beta`` (isotropic: uniform direction with
``||beta||^2 = signal``; with ``teacher_power``: ``beta_j = +-sqrt(teacher_power_k / mult_k)``
with random signs on the coordinates of level ``k``) and labels ``y = X beta + eps``,
``eps ~ N(0, noise)``.  The estimator is computed explicitly (:func:`fit_ridge`) from the noisy
labels and, for the bias/variance split, from the noiseless labels ``X beta`` with the same
design:

    excess_risk = ||beta_hat - beta||_Sigma^2,  bias = ||beta_hat_0 - beta||_Sigma^2,
    variance = ||beta_hat - beta_hat_0||_Sigma^2,  train_error = (1/n)||y - X beta_hat||^2,

whose means over designs and noise are the quantities of :func:`~overparam_theory.ridge.theory`
(exactly so for bias and variance, whose cross term averages to zero).  Sample sizes are rounded
up to buckets (:func:`~overparam_theory.ridge._sampling.sample_buckets`) and the design is padded
with masked zero rows, so that one compiled program serves every ``n`` of a bucket; the estimator
is exactly the unpadded one.  With
``conditional=True`` each seed instead reports the exact conditional expectations given the
design (see :func:`simulate`).
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._montecarlo import resolve_devices, run_grid
from .._precision import precision
from .._results import Estimate, estimate
from .._spec import validated
from ..numerics.linalg import dual_gram, padded_rows, ridge_solve
from ._params import PARAMS
from ._sampling import draw, finite_design, map_points, sample_buckets
from ._theory import resolve_teacher


class RidgeSimulation(NamedTuple):
    """Monte Carlo estimates (seed mean and standard error) of the ridge quantities.

    ``alpha`` holds the realised ``n/dim`` of each point (``n = round(alpha * dim)``); compare
    with the theory evaluated there.
    """

    excess_risk: Estimate
    bias: Estimate
    variance: Estimate
    train_error: Estimate
    alpha: np.ndarray
    n_samples: np.ndarray
    dim: int


def fit_ridge(X, y, ridge, n_rows=None):
    """Ridge estimator ``argmin_b (1/n)||y - X b||^2 + ridge ||b||^2`` (min-norm at ``ridge=0``).

    Uses the smaller Gram matrix (:func:`overparam_theory.numerics.linalg.ridge_solve`).
    ``y`` may hold several right-hand sides as columns.  scikit-learn's
    ``Ridge(alpha=n * ridge, fit_intercept=False)`` is the same estimator.  ``n_rows``: the
    number of real samples when ``X`` and ``y`` are padded with zero rows past it.
    """
    return ridge_solve(X, y, ridge, n_rows)


def fit_matrix(X, ridge, n_rows=None):
    """The linear map ``A`` with ``beta_hat = A y`` (``d x n``) for :func:`fit_ridge`
    (``n_rows``: real samples of a zero-padded ``X``, as in
    :func:`~overparam_theory.numerics.linalg.ridge_solve`)."""
    n_pad, d = X.shape
    n = n_pad if n_rows is None else n_rows
    if n_pad >= d:
        gram = X.T @ X / n + ridge * jnp.eye(d, dtype=X.dtype)
        return jnp.linalg.solve(gram, X.T / n)
    return X.T @ jnp.linalg.solve(dual_gram(X, ridge, n_rows), jnp.eye(n_pad, dtype=X.dtype) / n)


def _one_seed(key, n, ridge, noise, signal, sqrt_eig, teacher_amp, *, n_pad, isotropic_teacher, conditional):
    # n real samples in an (n_pad, d) design whose rows past n are zero (sample_buckets).
    X, beta, beta2, eps = draw(key, signal, sqrt_eig, teacher_amp, n_pad, isotropic_teacher)
    rows = padded_rows(n, n_pad)
    X, eps = X * rows[:, None], eps * rows
    eig = sqrt_eig**2
    if conditional:
        # Exact expectations over the label noise and the teacher's random direction/signs
        # given X: E beta beta^T = diag(beta2), E eps eps^T = noise I.
        A = fit_matrix(X, ridge, n)
        M = A @ X - jnp.eye(X.shape[1], dtype=X.dtype)  # beta_hat_0 - beta = M beta
        bias = jnp.sum(beta2 * jnp.sum(eig[:, None] * M * M, axis=0))
        variance = noise * jnp.sum(eig[:, None] * A * A)
        R = (jnp.eye(n_pad, dtype=X.dtype) - X @ A) * rows[:, None]  # residual map y -> y - X beta_hat
        RX = R @ X
        train = (jnp.sum(beta2 * jnp.sum(RX * RX, axis=0)) + noise * jnp.sum(R * R)) / n
        return {"excess_risk": bias + variance, "bias": bias, "variance": variance, "train_error": train}
    clean = X @ beta
    y = clean + jnp.sqrt(noise) * eps
    b = fit_ridge(X, jnp.stack([y, clean], axis=1), ridge, n)
    b_noisy, b_clean = b[:, 0], b[:, 1]
    sigma_norm = lambda v: jnp.sum(eig * v * v)
    return {
        "excess_risk": sigma_norm(b_noisy - beta),
        "bias": sigma_norm(b_clean - beta),
        "variance": sigma_norm(b_noisy - b_clean),
        "train_error": jnp.sum((y - X @ b_noisy) ** 2) / n,  # padded rows: y = 0, X b = 0
    }


@partial(jax.jit, static_argnames=("size", "isotropic_teacher", "conditional", "devices"))
def _run_group(keys, n, ridge, noise, signal, sqrt_eig, teacher_amp, *, size, isotropic_teacher, conditional, devices):
    one = partial(_one_seed, n_pad=size, isotropic_teacher=isotropic_teacher, conditional=conditional)
    return map_points(one, keys, (n, ridge, noise, signal), (sqrt_eig, teacher_amp), devices)


@validated(PARAMS, "simulate")
def simulate(
    *, alpha, ridge, signal, noise, spectrum, teacher_power, dim, n_seeds, seed, conditional, devices, progress
) -> RidgeSimulation:
    """Monte Carlo counterpart of :func:`~overparam_theory.ridge.theory` at dimension ``dim``.

    Args:
        alpha, ridge, signal, noise, spectrum, teacher_power: as in ``theory`` (broadcast).
        dim: input dimension ``d``; each point uses ``n = round(alpha * dim) >= 1`` samples.
        n_seeds: independent repetitions (design, teacher, noise) per point, ``>= 2``.
        seed: integer seed or JAX key.  Every grid point gets independent seeds (the seed keys
            folded with the point's flat index), so z-scores of different points are independent.
        conditional: ``False`` (default): every seed draws design, teacher and noise and fits
            the estimator.  ``True``: every seed draws the design ``X`` and reports the exact
            expectation over the label noise and the teacher's random direction (isotropic) or
            signs (``teacher_power``) given ``X`` -- a Rao-Blackwellised estimator with the same
            mean and a seed-to-seed spread of relative order ``1/d`` instead of
            ``1/sqrt(d)``, which makes finite-size biases measurable.
        devices: ``None`` (one device, ``vmap`` over seeds), ``"all"`` or a list of JAX devices
            to shard the seed axis over (``n_seeds`` a multiple of their number).
        progress: print progress to stderr.

    Returns:
        :class:`RidgeSimulation`; every observable is an :class:`~overparam_theory.Estimate`.
    """
    signal, spectrum, teacher_power = resolve_teacher(signal, spectrum, teacher_power)
    shape = np.broadcast_shapes(*(np.shape(v) for v in (alpha, ridge, signal, noise) if v is not None))
    devices = resolve_devices(devices)
    design = finite_design(alpha, signal, spectrum, teacher_power, shape, dim)
    ridge_b = np.broadcast_to(ridge, shape).ravel()
    noise_b = np.broadcast_to(noise, shape).ravel()

    with precision("float64"):
        out = run_grid(
            partial(_run_group, sqrt_eig=jnp.asarray(design.sqrt_eig), teacher_amp=jnp.asarray(design.teacher_amp)),
            sample_buckets(design.n_samples.ravel(), dim),
            (design.n_samples.ravel(), ridge_b, noise_b, design.signal.ravel()),
            seed=seed,
            n_seeds=n_seeds,
            label="ridge.simulate",
            progress=progress,
            static=dict(
                isotropic_teacher=design.isotropic,
                conditional=bool(conditional),
                devices=None if devices is None else tuple(devices),
            ),
        )
    fields = ("excess_risk", "bias", "variance", "train_error")
    ests = {f: estimate(out[f].reshape(shape + (-1,)), axis=-1) for f in fields}
    return RidgeSimulation(**ests, alpha=design.n_samples / dim, n_samples=design.n_samples, dim=dim)
