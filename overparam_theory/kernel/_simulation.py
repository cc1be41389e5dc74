"""Finite-size simulation of kernel ridge regression with a synthetic kernel of given spectrum.

The synthetic kernel of ``docs/theory/kernel.md`` (Simon et al. 2023; Bordelon, Canatar & Pehlevan
2020, with Gaussian eigenfunctions): features ``phi_k(x) = z_k`` with
``z ~ N(0, I_M)`` (orthonormal under the data distribution), ``K(x, x') = sum_k eta_k z_k z'_k``,
target ``f*(x) = sum_k v_k z_k``, labels ``y = f*(x) + eps``, ``eps ~ N(0, noise)``.  The
predictor ``f_hat(x) = k(x)^T (K + ridge I_n)^{-1} y`` has coefficients
``c_k = eta_k z_{.k}^T (K + ridge I)^{-1} y`` in the eigenbasis, so the test error is exact:

    excess_risk = sum_k (c_k - v_k)^2,  bias from noiseless labels,  variance = ||c - c_0||^2,
    train_error = (1/n) ||y - K (K + ridge I)^{-1} y||^2,  test_error = excess_risk + noise.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import _draws as draws
from .._montecarlo import resolve_devices, run_grid, seed_batched
from .._precision import precision
from .._results import Estimate, estimate
from .._spec import validated
from ._params import PARAMS
from ._theory import check_target


class KernelSimulation(NamedTuple):
    """Monte Carlo estimates (seed mean, standard error) of the kernel quantities."""

    test_error: Estimate
    excess_risk: Estimate
    bias: Estimate
    variance: Estimate
    train_error: Estimate
    n_samples: np.ndarray


def fit_kernel_ridge(gram, y, ridge):
    """Dual coefficients ``(K + ridge I)^{-1} y`` (min-norm interpolant at ``ridge = 0``).

    scikit-learn's ``KernelRidge(alpha=ridge, kernel="precomputed")`` is the same estimator.
    """
    n = gram.shape[0]
    return jnp.linalg.solve(gram + ridge * jnp.eye(n, dtype=gram.dtype), y)


def _one_seed(key, ridge, noise, eig, v, *, n):
    Z, g_noise = draws.standard_normals(key, (n, eig.shape[0]), (n,))
    gram = (Z * eig) @ Z.T
    clean = Z @ v
    y = clean + jnp.sqrt(noise) * g_noise
    dual = fit_kernel_ridge(gram, jnp.stack([y, clean], axis=1), ridge)
    coef = eig[:, None] * (Z.T @ dual)
    c_noisy, c_clean = coef[:, 0], coef[:, 1]
    return {
        "excess_risk": jnp.sum((c_noisy - v) ** 2),
        "bias": jnp.sum((c_clean - v) ** 2),
        "variance": jnp.sum((c_noisy - c_clean) ** 2),
        "train_error": jnp.mean((y - gram @ dual[:, 0]) ** 2),
    }


@partial(jax.jit, static_argnames=("size", "devices"))
def _run_group(keys, ridge, noise, eig, v, *, size, devices):
    one = partial(_one_seed, n=size)
    return jax.lax.map(lambda p: seed_batched(one, p[0], (p[1], p[2], eig, v), devices), (keys, ridge, noise))


@validated(PARAMS, "simulate")
def simulate(
    *, n_samples, ridge, noise, eigenvalues, target, n_seeds, seed, devices, progress
) -> KernelSimulation:
    """Monte Carlo counterpart of :func:`~overparam_theory.kernel.theory` (same names).

    ``n_samples`` must be integers here.  ``n_seeds >= 2`` independent draws of the training
    set and noise per point; ``seed``, ``devices`` and ``progress`` as in
    :func:`overparam_theory.ridge.simulate`.  Cost per seed ``O(n^2 M + n^3)`` for ``M`` modes.
    """
    check_target(eigenvalues, target)
    n, eig, tgt = n_samples, eigenvalues, target
    # The theory takes real n; a simulation needs whole sample counts (not a PARAMS constraint).
    if np.any(n != np.rint(n)):
        raise ValueError(f"n_samples must be integers for simulation, got {n}")
    shape = np.broadcast_shapes(np.shape(n), np.shape(ridge), np.shape(noise))
    devices = resolve_devices(devices)
    n_flat = np.broadcast_to(n, shape).astype(int).ravel()
    ridge_b = np.broadcast_to(ridge, shape).ravel()
    noise_b = np.broadcast_to(noise, shape).ravel()
    with precision("float64"):
        out = run_grid(
            partial(_run_group, eig=jnp.asarray(eig), v=jnp.asarray(tgt)),
            n_flat,
            (ridge_b, noise_b),
            seed=seed,
            n_seeds=n_seeds,
            label="kernel.simulate",
            progress=progress,
            static=dict(devices=None if devices is None else tuple(devices)),
        )
    fields = ("excess_risk", "bias", "variance", "train_error")
    est = {f: estimate(out[f].reshape(shape + (-1,)), axis=-1) for f in fields}
    noise_full = np.broadcast_to(noise, shape)
    test = Estimate(est["excess_risk"].mean + noise_full, est["excess_risk"].stderr, est["excess_risk"].n_seeds)
    return KernelSimulation(test, est["excess_risk"], est["bias"], est["variance"], est["train_error"], n.astype(int) * np.ones(shape, int))
