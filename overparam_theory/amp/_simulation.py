"""GAMP at finite size: the Monte Carlo counterpart of :func:`~overparam_theory.amp.theory`.

Each seed draws a teacher ``w*_i ~ P_0`` (Bernoulli-Gaussian, :mod:`._priors`), inputs
``X`` (``n x d``, i.i.d. ``N(0, 1)``, ``n = round(alpha d)``) and labels
``y ~ P_out(. | X w*/sqrt(d))`` (:mod:`._channels`), then runs the scalar-variance GAMP
(Rangan, ISIT 2011; Zdeborova & Krzakala, Adv. Phys. 65 (2016) 453, Algorithm 1) with
``F = X/sqrt(d)``:

    V^t      = v^t ||F||_F^2 / n,            omega^t = F w^t - V^t g^{t-1},
    g^t      = g(y, omega^t, V^t),            Sigma^t = 1 / (-mean(dg^t) ||F||_F^2 / d),
    R^t      = w^t + Sigma^t F^T g^t,         w^{t+1} = f_a(R^t, Sigma^t),  v^{t+1} = mean f_v(R^t, Sigma^t),

with ``g, dg`` from :func:`._channels.log_z_out` and ``f_a, f_v`` from :func:`._priors.posterior`.
The start carries the side information of :func:`~overparam_theory.amp.state_evolution`:
``w^0 = f_a(w* + xi/sqrt(initial_snr), 1/initial_snr)`` (``w^0 = 0`` for ``initial_snr = 0``),
``g^{-1} = 0``, so that ``|w^t - w*|^2/d`` follows ``state_evolution(...)[t]``.  No damping is
used (i.i.d. Gaussian inputs).  The variance ``V^t`` is floored at ``1e-13 rho`` so that exact
recovery in noiseless channels stays finite.

Reported per seed, at the last iterate: ``mse = |w - w*|^2/d``, ``overlap = w.w*/d`` and the
population test errors of the predictor built on ``w`` (:func:`._theory.population_errors` at
the realised overlaps ``m = w.w*/d``, ``q = |w|^2/d``, ``rho = |w*|^2/d``); and the whole
trajectory ``mse_trajectory`` (``n_iterations + 1`` values).
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._montecarlo import resolve_devices, run_grid, seed_batched
from .._precision import precision
from .._results import Estimate, estimate
from .._spec import validated
from ._channels import Channel, log_z_out, sample_labels
from ._params import PARAMS
from ._priors import posterior
from ._theory import _FLOOR, RESULT_FIELDS, check_flip, population_errors


class AMPSimulation(NamedTuple):
    """Monte Carlo estimates (seed mean, standard error) of GAMP at finite ``dim``.

    ``mse_trajectory`` has a trailing axis ``t = 0 .. n_iterations`` (compare with
    :func:`~overparam_theory.amp.state_evolution`); ``alpha`` holds the realised ``n/dim``.
    """

    mse: Estimate
    overlap: Estimate
    test_error: Estimate
    clean_test_error: Estimate
    mse_trajectory: Estimate
    alpha: np.ndarray
    n_samples: np.ndarray
    dim: int
    n_iterations: int


def gamp(F, y, channel: Channel, sparsity, nonzero_variance, w0, v0, n_iterations):
    """Run ``n_iterations`` GAMP steps (module docstring) from ``(w0, v0)``.

    Returns ``(w, estimates)``: the last estimate and the stack of all ``n_iterations + 1``
    estimates (rows).  ``F`` is ``n x d`` (already divided by ``sqrt(d)``).
    """
    n, d = F.shape
    rho = sparsity * nonzero_variance
    frob = jnp.sum(F * F)
    tiny = _FLOOR * rho

    def step(state, _):
        w, v, g_prev = state
        V = jnp.maximum(v * frob / n, tiny)
        omega = F @ w - V * g_prev
        _, g, dg = log_z_out(channel, y, omega, V)
        precision_ = jnp.maximum(-jnp.mean(dg) * frob / d, jnp.finfo(F.dtype).tiny)
        Sigma = 1.0 / precision_
        R = w + Sigma * (F.T @ g)
        w_new, f_v, _ = posterior(R, Sigma, sparsity, nonzero_variance)
        return (w_new, jnp.mean(f_v), g), w_new

    (w, _, _), ws = jax.lax.scan(step, (w0, v0, jnp.zeros_like(y)), None, length=n_iterations)
    return w, jnp.concatenate([w0[None], ws])


def _one_seed(key, alpha_unused, noise, flip, sparsity, nonzero_variance, initial_snr, *, n, dim, kind, n_iterations):
    del alpha_unused
    k_mask, k_w, k_x, k_y, k_side = jax.random.split(key, 5)
    mask = jax.random.uniform(k_mask, (dim,)) < sparsity
    w_star = jnp.where(mask, jnp.sqrt(nonzero_variance) * jax.random.normal(k_w, (dim,)), 0.0)
    X = jax.random.normal(k_x, (n, dim))
    F = X / jnp.sqrt(dim)
    channel = Channel(kind, noise, flip)
    y = sample_labels(channel, F @ w_star, k_y)
    informative = initial_snr > 0
    Sigma0 = 1.0 / jnp.where(informative, initial_snr, 1.0)
    r0 = w_star + jnp.sqrt(Sigma0) * jax.random.normal(k_side, (dim,))
    w0, f_v0, _ = posterior(r0, Sigma0, sparsity, nonzero_variance)
    w0 = jnp.where(informative, w0, 0.0)
    v0 = jnp.where(informative, jnp.mean(f_v0), sparsity * nonzero_variance)
    w, ws = gamp(F, y, channel, sparsity, nonzero_variance, w0, v0, n_iterations)
    m = jnp.dot(w, w_star) / dim
    q = jnp.dot(w, w) / dim
    rho = jnp.dot(w_star, w_star) / dim
    err, clean = population_errors(channel, m, q, rho)
    return {
        "mse": jnp.sum((w - w_star) ** 2) / dim,
        "overlap": m,
        "test_error": err,
        "clean_test_error": clean,
        "mse_trajectory": jnp.sum((ws - w_star) ** 2, axis=-1) / dim,
    }


@partial(jax.jit, static_argnames=("size", "dim", "kind", "n_iterations", "devices"))
def _run_group(keys, alpha, noise, flip, sparsity, nonzero_variance, initial_snr, *, size, dim, kind, n_iterations, devices):
    one = partial(_one_seed, n=size, dim=dim, kind=kind, n_iterations=n_iterations)

    def per_point(point):
        k, *params = point
        # X, F = X / sqrt(d) and F * F: three n x d float64 arrays
        return seed_batched(one, k, tuple(params), devices, bytes_per_seed=3 * size * dim * 8)

    return jax.lax.map(per_point, (keys, alpha, noise, flip, sparsity, nonzero_variance, initial_snr))


@validated(PARAMS, "simulate")
def simulate(
    *, alpha, channel, noise, flip, sparsity, nonzero_variance, initial_snr, dim, n_iterations, n_seeds, seed, devices, progress
) -> AMPSimulation:
    """GAMP on finite-size instances, batched over seeds (module docstring).

    Args:
        alpha, channel, noise, flip, sparsity, nonzero_variance, initial_snr: as in
            :func:`~overparam_theory.amp.theory` (broadcast).
        dim: dimension ``d``; each point uses ``n = round(alpha d) >= 1`` samples.
        n_iterations: GAMP steps (``>= 1``); the reported values are those of the last iterate.
        n_seeds: independent instances per point (``>= 2``).
        seed: integer seed or JAX key (independent seeds per grid point).
        devices: ``None`` (vmap over seeds), ``"all"`` or a list of JAX devices to shard seeds.
        progress: print progress to stderr.

    Returns:
        :class:`AMPSimulation`.
    """
    check_flip(channel, flip)
    grid = (alpha, noise, flip, sparsity, nonzero_variance, initial_snr)
    devices = resolve_devices(devices)
    shape = np.broadcast_shapes(*(np.shape(a) for a in grid))
    n_b = np.rint(np.broadcast_to(alpha, shape) * dim).astype(int)
    if (n_b < 1).any():
        raise ValueError(f"alpha * dim must give at least one sample; got alpha={alpha} with dim={dim}")
    params = tuple(np.broadcast_to(np.asarray(a, float), shape).ravel() for a in grid)
    with precision("float64"):
        out = run_grid(
            _run_group,
            n_b.ravel(),
            params,
            seed=seed,
            n_seeds=n_seeds,
            label="amp.simulate",
            progress=progress,
            static=dict(dim=dim, kind=channel, n_iterations=n_iterations, devices=None if devices is None else tuple(devices)),
        )
    ests = {f: estimate(out[f].reshape(shape + (-1,)), axis=-1) for f in RESULT_FIELDS}
    traj = out["mse_trajectory"]
    traj = estimate(np.moveaxis(traj.reshape(shape + traj.shape[1:]), len(shape), -1), axis=-1)
    return AMPSimulation(**ests, mse_trajectory=traj, alpha=n_b / dim, n_samples=n_b, dim=dim, n_iterations=n_iterations)
