"""Finite-size Monte Carlo simulation of random-features ridge regression (same parameters as ``theory``).

For each parameter point and seed (the model of Mei & Montanari 2022; ``docs/theory/random_features.md``):

- ``n = round(alpha * dim) >= 1`` inputs and ``N = round(width * dim) >= 1`` weights, i.i.d.
  uniform on the sphere of radius ``sqrt(dim)`` (normalised Gaussian vectors);
- features ``Z = sigma(X Theta^T / sqrt(dim))`` (``n x N``, the activation's ``fn``);
- target ``f(x) = sqrt(signal) <b, x> + sqrt(nonlinear_signal) q(<u, x>)`` with independent
  uniform unit vectors ``b, u`` and ``q(t) = (t^2 - 1) / sqrt(2 (dim - 1)/(dim + 2))``; on the
  sphere ``q(<u, x>)`` has mean zero, variance one and is orthogonal to every linear function
  (``E <u, x>^4 = 3 dim/(dim + 2)``), so ``||beta_1||^2 = signal`` and ``E f_NL^2 = nonlinear_signal``
  exactly at every ``dim``;
- labels ``y = f(x) + sqrt(noise) eps``, ``eps ~ N(0, 1)``;
- estimator :func:`fit_random_features`, ``argmin_a (1/n)||y - Z a||^2 + (N ridge/dim)||a||^2``.

The fit is linear in the labels, so one solve with the three right-hand sides
``[<b, x_i>, q(<u, x_i>), eps_i]`` gives the fits ``a_lin, a_nl, a_eps`` to the unit linear target,
the unit nonlinear target and unit pure noise; the noiseless fit is
``a_0 = sqrt(signal) a_lin + sqrt(nonlinear_signal) a_nl`` and the noisy one
``a = a_0 + sqrt(noise) a_eps``.  On ``n_test`` fresh test points (per seed) we report

    excess_risk = E_test (f - a^T z)^2,      bias = E_test (f - a_0^T z)^2,
    variance = E_test ((a - a_0)^T z)^2 = noise * variance_factor,
    bias_factor = E_test (<b, x> - a_lin^T z)^2,   variance_factor = E_test (a_eps^T z)^2,

whose seed means estimate ``R``, ``F_1^2 B + F_*^2 (V + 1)``, ``tau^2 V``, ``B`` and ``V`` of
:func:`~overparam_theory.random_features.theory` (``bias_factor`` estimates ``B`` even at
``signal = 0``).  The test average is a Monte Carlo estimate too: its noise is part of the
seed-to-seed spread (so standard errors stay honest).  Both the training-draw spread and the
test noise have relative size ``O(1/sqrt(dim))`` when ``n_test`` is proportional to ``dim``; with
the default ``n_test = max(2000, 10 dim)`` the test-sampling variance was measured at about a
quarter of the training-draw variance at the least noisy point of a ReLU grid (``alpha = 3``,
``width = 1``, ``ridge = 1e-3``, ``d = 200``: it inflates the standard error by about 13%), and
less at the other points.
"""

from __future__ import annotations

import math
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._montecarlo import resolve_devices, run_grid, seed_batched
from .._precision import precision
from .._results import Estimate, estimate
from .._spec import validated
from ..numerics.linalg import ridge_solve
from ._activations import resolve_activation
from ._params import PARAMS

FIELDS = ("excess_risk", "bias", "variance", "bias_factor", "variance_factor")
TEST_CHUNK = 1024  # test points evaluated at once per seed (memory: TEST_CHUNK x N per seed)


class RandomFeaturesSimulation(NamedTuple):
    """Monte Carlo estimates (seed mean and standard error) of the random-features quantities.

    ``alpha`` and ``width`` hold the realised ``n/dim`` and ``N/dim`` of each point
    (``n = round(alpha * dim)``, ``N = round(width * dim)``); compare with the theory evaluated
    there (:func:`~overparam_theory.compare` does).
    """

    excess_risk: Estimate
    bias: Estimate
    variance: Estimate
    bias_factor: Estimate
    variance_factor: Estimate
    alpha: np.ndarray
    width: np.ndarray
    n_samples: np.ndarray
    n_features: np.ndarray
    dim: int


def fit_random_features(Z, y, ridge, dim):
    """Random-features ridge fit ``argmin_a (1/n)||y - Z a||^2 + (N ridge/dim)||a||^2``.

    ``Z`` is the ``n x N`` feature matrix, ``y`` the labels (a vector or several right-hand
    sides as columns).  Note the paper's factor ``N/dim`` on the penalty: this is ridge
    regression (:func:`overparam_theory.numerics.linalg.ridge_solve`) on the features with ridge
    ``N ridge/dim``, solved with the smaller Gram matrix (the ``n x n`` dual form when ``n < N``)
    and the min-norm interpolator ``Z^+ y`` at ``ridge = 0``.  scikit-learn's
    ``Ridge(alpha=n * N * ridge / dim, fit_intercept=False)`` is the same estimator.
    """
    N = Z.shape[1]
    return ridge_solve(Z, y, N * ridge / dim)


def _fit_padded(Z, Y, mask, n, ridge, dim, *, dual):
    """:func:`fit_random_features` on the rows of ``Z, Y`` where ``mask`` holds (``n`` of them,
    ``n`` traced); the other (padding) rows are ignored.  ``dual`` picks the ``n_pad x n_pad``
    form (padding rows get a unit diagonal, which decouples them: their dual weights are zero)."""
    N = Z.shape[1]
    lam = N * ridge / dim
    Z = jnp.where(mask[:, None], Z, 0.0)
    Y = jnp.where(mask[:, None], Y, 0.0)
    if dual:
        gram = Z @ Z.T / n + jnp.diag(jnp.where(mask, lam, 1.0))
        return Z.T @ jnp.linalg.solve(gram, Y / n)
    gram = Z.T @ Z / n + lam * jnp.eye(N, dtype=Z.dtype)
    return jnp.linalg.solve(gram, Z.T @ Y / n)


def _to_sphere(g):
    """Rows of ``g`` scaled onto the sphere of radius ``sqrt(dim)``."""
    return g * (math.sqrt(g.shape[-1]) / jnp.linalg.norm(g, axis=-1, keepdims=True))


def _one_seed(key, n, ridge, signal, nonlinear_signal, noise, n_test, *, n_pad, N, dim, dual, chunk, fn):
    k_train, k_test = jax.random.split(key)
    # One Gaussian draw for everything but the test set (every distinct random draw adds
    # ~0.5 s of XLA compile time on CPU): rows are X (n_pad rows, the first n used), Theta,
    # b, u, then the label noise.
    n_eps_rows = -(-n_pad // dim)
    g = jax.random.normal(k_train, (n_pad + N + 2 + n_eps_rows, dim))
    X = _to_sphere(g[:n_pad])
    theta = _to_sphere(g[n_pad : n_pad + N])
    b, u = _to_sphere(g[n_pad + N : n_pad + N + 2]) / math.sqrt(dim)  # independent uniform unit vectors
    eps = g[n_pad + N + 2 :].reshape(-1)[:n_pad]
    q_scale = 1.0 / math.sqrt(2.0 * (dim - 1) / (dim + 2)) if dim > 1 else 0.0  # dim = 1: q == 0

    def targets(X):
        t = X @ u
        return X @ b, (t * t - 1.0) * q_scale

    def features(X):
        return fn(X @ theta.T / math.sqrt(dim))

    lin, nl = targets(X)
    rows = jnp.arange(n_pad) < n
    A = _fit_padded(features(X), jnp.stack([lin, nl, eps], axis=1), rows, n, ridge, dim, dual=dual)  # N x 3
    s1, s2, tau = jnp.sqrt(signal), jnp.sqrt(nonlinear_signal), jnp.sqrt(noise)
    a_lin, a_nl, a_eps = A[:, 0], A[:, 1], A[:, 2]
    a_clean = s1 * a_lin + s2 * a_nl

    def body(c, acc):
        Xt = _to_sphere(jax.random.normal(jax.random.fold_in(k_test, c), (chunk, dim)))
        mask = (c * chunk + jnp.arange(chunk)) < n_test
        lin_t, nl_t = targets(Xt)
        Zt = features(Xt)
        p_lin, p_clean, p_eps = Zt @ a_lin, Zt @ a_clean, Zt @ a_eps
        r_clean = s1 * lin_t + s2 * nl_t - p_clean
        sq = jnp.stack([(r_clean - tau * p_eps) ** 2, r_clean**2, (lin_t - p_lin) ** 2, p_eps**2])
        return acc + jnp.sum(jnp.where(mask, sq, 0.0), axis=1)

    # n_test is traced: a while loop whose trip count XLA cannot unroll (unrolling short loops
    # multiplies the compile time), and one compiled program serves every n_test >= TEST_CHUNK.
    n_chunks = (n_test + chunk - 1) // chunk
    # zeros_like of a per-seed value: the carry must vary over the seed axis under shard_map
    acc = jax.lax.fori_loop(0, n_chunks, body, jnp.zeros_like(A[:1, 0], shape=(4,)))
    risk, bias, b_fac, v_fac = acc / n_test
    return {
        "excess_risk": risk,
        "bias": bias,
        "variance": noise * v_fac,
        "bias_factor": b_fac,
        "variance_factor": v_fac,
    }


@partial(jax.jit, static_argnames=("n_pad", "N", "dim", "dual", "chunk", "fn", "devices"))
def _run_group(keys, n, ridge, signal, nonlinear_signal, noise, n_test, *, n_pad, N, dim, dual, chunk, fn, devices):
    one = partial(_one_seed, n_pad=n_pad, N=N, dim=dim, dual=dual, chunk=chunk, fn=fn)

    def per_point(point):
        k, *params = point
        # Gaussian draws and inputs ((n_pad + N) x dim, twice), features and their masked copy
        # (n_pad x N, twice), the Gram matrix and one test chunk, in float64
        working_set = 8 * (2 * (n_pad + N) * dim + 2 * n_pad * N + min(n_pad, N) ** 2 + chunk * (dim + N))
        return seed_batched(one, k, (*params, n_test), devices, bytes_per_seed=working_set)

    return jax.lax.map(per_point, (keys, n, ridge, signal, nonlinear_signal, noise))


def size_groups(n, N, *, spread=4):
    """Compilation groups: points with the same ``N`` and the same form (dual iff ``n < N``) whose
    sample counts lie within a factor ``spread`` share one program, padded to the group's largest
    ``n``.  Returns ``(code, shapes)``: each point's group index and ``(n_pad, N, dual)`` per group."""
    n, N = np.asarray(n).ravel(), np.asarray(N).ravel()
    code = np.empty(n.size, int)
    shapes = []
    for width_n in np.unique(N):
        for dual in (True, False):
            idx = np.flatnonzero((N == width_n) & ((n < N) == dual))
            idx = idx[np.argsort(n[idx], kind="stable")]
            start = 0
            while start < idx.size:
                stop = start
                while stop < idx.size and n[idx[stop]] <= spread * n[idx[start]]:
                    stop += 1
                code[idx[start:stop]] = len(shapes)
                shapes.append((int(n[idx[stop - 1]]), int(width_n), dual))
                start = stop
    return code, shapes


@validated(PARAMS, "simulate")
def simulate(
    *, alpha, width, ridge, activation, signal, nonlinear_signal, noise, activation_kink, dim, n_seeds, seed, n_test, devices, progress
) -> RandomFeaturesSimulation:
    """Monte Carlo counterpart of :func:`~overparam_theory.random_features.theory` at dimension ``dim``.

    Args:
        alpha, width, ridge, activation, signal, nonlinear_signal, noise, activation_kink: as in
            ``theory`` (numeric ones broadcast together).
        dim: input dimension ``d``; each point uses ``n = round(alpha * dim) >= 1`` samples and
            ``N = round(width * dim) >= 1`` features.
        n_seeds: independent repetitions (inputs, weights, target directions, noise, test set)
            per point, ``>= 2``.
        seed: integer seed or JAX key.  Every grid point gets independent seeds (the seed keys
            folded with the point's flat index), so z-scores of different points are independent.
        n_test: fresh test points per seed (default ``max(2000, 10 * dim)``, which keeps the
            test-sampling variance a small fraction of the seed-to-seed variance; both scale
            like ``1/dim``).  Evaluated in chunks of 1024, so memory per seed is
            ``O((n + 1024) N)``.
        devices: ``None`` (one device, ``vmap`` over seeds), ``"all"`` or a list of JAX devices
            to shard the seed axis over (``n_seeds`` a multiple of their number).
        progress: print progress to stderr.

    Cost per seed ``O(n N d + min(n, N)^2 max(n, N) + n_test N d)``.  One program is compiled
    per group of points with the same ``N``, the same side of ``n = N`` and ``n`` within a factor
    4 (:func:`size_groups`); inside a group the training set is padded to the largest ``n``
    (padding rows are drawn and masked out), so a point's random draw depends on the grid it is
    simulated in (as it does anyway through its flat index), not its distribution.

    Returns:
        :class:`RandomFeaturesSimulation`; every observable is an :class:`~overparam_theory.Estimate`.
    """
    act = resolve_activation(activation, kink=activation_kink)
    shape = np.broadcast_shapes(*(np.shape(v) for v in (alpha, width, ridge, signal, nonlinear_signal, noise)))
    n_test = max(2000, 10 * dim) if n_test is None else n_test
    devices = resolve_devices(devices)
    n_b = np.rint(np.broadcast_to(alpha, shape) * dim).astype(int)
    N_b = np.rint(np.broadcast_to(width, shape) * dim).astype(int)
    if (n_b < 1).any():
        bad = np.broadcast_to(alpha, shape)[n_b < 1].ravel()[0]
        raise ValueError(f"alpha * dim must give at least one sample; got alpha={bad:g} with dim={dim}")
    if (N_b < 1).any():
        bad = np.broadcast_to(width, shape)[N_b < 1].ravel()[0]
        raise ValueError(f"width * dim must give at least one feature; got width={bad:g} with dim={dim}")
    flat = [n_b.ravel()] + [np.broadcast_to(p, shape).ravel() for p in (ridge, signal, nonlinear_signal, noise)]
    # run_grid groups points by one integer "size": here the index of a compilation group
    # (see size_groups), looked up to the static shapes of its program.
    code, shapes = size_groups(n_b, N_b)

    def run_shape(keys, *params, size, **static):
        n_pad, N, dual = shapes[size]
        return _run_group(keys, *params, np.int64(n_test), n_pad=n_pad, N=N, dual=dual, **static)

    with precision("float64"):
        out = run_grid(
            run_shape,
            code,
            flat,
            seed=seed,
            n_seeds=n_seeds,
            label="random_features.simulate",
            progress=progress,
            static=dict(dim=dim, chunk=min(n_test, TEST_CHUNK), fn=act.fn, devices=None if devices is None else tuple(devices)),
        )
    ests = {f: estimate(out[f].reshape(shape + (-1,)), axis=-1) for f in FIELDS}
    return RandomFeaturesSimulation(
        **ests, alpha=n_b / dim, width=N_b / dim, n_samples=n_b, n_features=N_b, dim=dim
    )
