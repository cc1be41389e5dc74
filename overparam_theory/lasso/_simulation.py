"""Finite-size LASSO simulation (same parameters and field names as :func:`~overparam_theory.lasso.theory`).

Per seed and grid point: ``N = dim`` unknowns, ``n = round(alpha N)`` measurements, a design
``A`` with i.i.d. ``N(0, 1/n)`` entries, ``x0_i = B_i G_i`` with ``B_i ~ Bernoulli(sparsity)``
and ``G_i ~ N(0, nonzero_variance)``, ``y = A x0 + w``, ``w ~ N(0, noise I_n)``, and the LASSO

    x_hat = argmin_x (1/2)||y - A x||^2 + l1_penalty ||x||_1

solved by :func:`fit_lasso` (FISTA).  Observables per seed:

    mse = ||x_hat - x0||^2 / N,   nnz_fraction = #{j: x_hat_j != 0} / N,   train_error = ||y - A x_hat||^2 / n.

scikit-learn's ``Lasso(alpha=l1_penalty / n, fit_intercept=False)`` is the same estimator.
"""

from __future__ import annotations

import math
import warnings
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
from ..numerics.diagnostics import ConvergenceError
from ._params import PARAMS
from ._theory import RESULT_FIELDS, resolve_penalty

SEED_BATCH_ELEMENTS = 1 << 25  # design entries held at once by the seed vmap (256 MiB in float64)


class LassoFit(NamedTuple):
    """Result of :func:`fit_lasso` (every field gains a leading axis under ``vmap``).

    Attributes:
        coef: ``(N,)`` LASSO solution; its zeros are exact (output of the soft threshold).
        converged: the stopping rule ``residual <= tol`` was met within ``max_iter``.
        iterations: FISTA iterations used.
        residual: relative proximal-gradient residual ``||x_{k+1} - z_k|| / max(||x_{k+1}||,
            ||z_k||)`` of the last step (``z_k`` the extrapolated point); it bounds the
            optimality violation, ``dist(0, dP(x_{k+1})) <= 2 L ||x_{k+1} - z_k||``.
        kkt: relative KKT violation of ``coef``: ``max_j`` of ``|c_j - lam sign(x_j)|`` on the
            support and ``(|c_j| - lam)_+`` off it, ``c = A^T (y - A x)``, divided by
            ``max(lam, ||A^T y||_inf)``.
        duality_gap: ``(P(x) - D(u)) / P(x)`` with the dual-feasible ``u = r min(1, lam /
            ||A^T r||_inf)``, ``r = y - A x`` (``nan`` when ``l1_penalty = 0``).
        lipschitz: the step constant ``L`` (1.01 x the Lanczos estimate of ``||A||_2^2``).
    """

    coef: jax.Array
    converged: jax.Array
    iterations: jax.Array
    residual: jax.Array
    kkt: jax.Array
    duality_gap: jax.Array
    lipschitz: jax.Array


class LassoSimulation(NamedTuple):
    """Monte Carlo estimates (seed mean, standard error) of the LASSO observables.

    ``alpha`` is the realised ``n / dim`` of each point (``n = round(alpha dim)``): compare
    with the theory evaluated there.  ``converged_fraction`` is the fraction of seeds whose
    FISTA solve met its tolerance (a point with a failed seed is NaN, with a warning or an
    error); ``iterations`` the largest iteration count over the seeds.
    """

    mse: Estimate
    nnz_fraction: Estimate
    train_error: Estimate
    alpha: np.ndarray
    n_samples: np.ndarray
    dim: int
    converged_fraction: np.ndarray
    iterations: np.ndarray


def _soft(u, t):
    return jnp.sign(u) * jnp.maximum(jnp.abs(u) - t, 0.0)


def lipschitz_estimate(A, steps: int = 32):
    """Largest eigenvalue of ``A^T A`` by ``steps`` Lanczos steps with full reorthogonalisation.

    Works on the smaller of ``A A^T`` / ``A^T A`` from a fixed start vector.  A Ritz value is
    a lower bound; measured relative error at Gaussian ``A`` (``n, N`` up to 4000): ``< 2e-6``
    at 30 steps, ``< 5e-9`` at 40.
    """
    n, N = A.shape
    if n < N:
        op, m = (lambda v: A @ (A.T @ v)), n
    else:
        op, m = (lambda v: A.T @ (A @ v)), N
    k = int(min(steps, m))
    v0 = jnp.ones(m, A.dtype) / math.sqrt(m)

    def body(i, state):
        V, diag, off, v = state
        V = V.at[i].set(v)
        w = op(v)
        a = jnp.vdot(v, w)
        w = w - V.T @ (V @ w)
        w = w - V.T @ (V @ w)
        b = jnp.linalg.norm(w)
        return V, diag.at[i].set(a), off.at[i].set(b), w / jnp.where(b > 0, b, 1.0)

    zeros = jnp.zeros(k, A.dtype)
    _, diag, off, _ = jax.lax.fori_loop(0, k, body, (jnp.zeros((k, m), A.dtype), zeros, zeros, v0))
    T = jnp.diag(diag) + jnp.diag(off[:-1], 1) + jnp.diag(off[:-1], -1)
    return jnp.linalg.eigvalsh(T)[-1]


def fit_lasso(A, y, l1_penalty, *, tol: float = 1e-10, max_iter: int = 20000, lanczos_steps: int = 32) -> LassoFit:
    """LASSO ``argmin_x (1/2)||y - A x||^2 + l1_penalty ||x||_1`` by FISTA with adaptive restart.

    Proximal gradient with Nesterov momentum (Beck & Teboulle 2009) and the gradient restart
    scheme of O'Donoghue & Candes (2015), from ``x = 0``, constant step ``1/L`` with
    ``L = 1.01 x`` the Lanczos estimate of ``||A||_2^2`` (:func:`lipschitz_estimate`; FISTA's
    momentum tolerates the small underestimates a Ritz value could give).  Stops when the
    relative proximal-gradient residual ``||x_{k+1} - z_k|| / max(||x_{k+1}||, ||z_k||) <= tol``
    (a bound on the optimality violation; see :class:`LassoFit`); ``x = 0`` is detected exactly.
    The returned ``coef`` is the last soft-threshold output, so its zeros are exact and
    ``nnz = count(coef != 0)``.

    scikit-learn equivalence: ``Lasso(alpha=l1_penalty / n, fit_intercept=False)``.  JAX-native
    (``jit``/``vmap`` over a leading seed axis); runs in the dtype of ``A`` (use float64 for
    ``tol`` below ~1e-6).  ``l1_penalty = 0`` is least squares (needs ``n > N`` for a unique
    solution; FISTA then converges at the linear rate set by the condition number).
    """
    A = jnp.asarray(A)
    return _fit_lasso(A, jnp.asarray(y, A.dtype), jnp.asarray(l1_penalty, A.dtype), jnp.asarray(tol, A.dtype),
                      jnp.asarray(max_iter, jnp.int32), lanczos_steps=int(lanczos_steps))


@partial(jax.jit, static_argnames=("lanczos_steps",))
def _fit_lasso(A, y, lam, tol, max_iter, *, lanczos_steps):
    dtype = A.dtype
    N = A.shape[1]
    L = 1.01 * lipschitz_estimate(A, lanczos_steps)
    step = 1.0 / L
    x0 = jnp.zeros(N, dtype)

    def cond(st):
        return (st[4] > tol) & (st[3] < max_iter)

    def body(st):
        x, z, t, k, _ = st
        grad = A.T @ (A @ z - y)
        x_new = _soft(z - step * grad, lam * step)
        scale = jnp.maximum(jnp.linalg.norm(x_new), jnp.linalg.norm(z))
        res = jnp.where(scale > 0, jnp.linalg.norm(x_new - z) / jnp.where(scale > 0, scale, 1.0), 0.0)
        t_new = 0.5 * (1.0 + jnp.sqrt(1.0 + 4.0 * t * t))
        z_new = x_new + ((t - 1.0) / t_new) * (x_new - x)
        restart = jnp.vdot(z - x_new, x_new - x) > 0
        t_new = jnp.where(restart, 1.0, t_new)
        z_new = jnp.where(restart, x_new, z_new)
        return x_new, z_new, t_new, k + 1, res

    one = jnp.asarray(1.0, dtype)
    x, _, _, k, res = jax.lax.while_loop(cond, body, (x0, x0, one, jnp.asarray(0, jnp.int32), jnp.asarray(jnp.inf, dtype)))

    r = y - A @ x
    c = A.T @ r
    on = x != 0
    viol = jnp.where(on, jnp.abs(c - lam * jnp.sign(x)), jnp.maximum(jnp.abs(c) - lam, 0.0))
    kkt = jnp.max(viol) / jnp.maximum(lam, jnp.max(jnp.abs(A.T @ y)))
    primal = 0.5 * jnp.vdot(r, r) + lam * jnp.sum(jnp.abs(x))
    c_inf = jnp.max(jnp.abs(c))
    u = r * jnp.minimum(1.0, lam / jnp.where(c_inf > 0, c_inf, 1.0))
    dual = jnp.vdot(u, y) - 0.5 * jnp.vdot(u, u)
    gap = jnp.where(lam > 0, (primal - dual) / jnp.where(primal > 0, primal, 1.0), jnp.nan)
    return LassoFit(x, res <= tol, k, res, kkt, gap, L)


def _one_seed(key, lam, eps, v, s2, tol, max_iter, *, n, dim):
    A, g_support, g_value, g_noise = draws.standard_normals(key, (n, dim), (dim,), (dim,), (n,))
    A = A / math.sqrt(n)
    x0 = jnp.where(draws.bernoulli(g_support, eps), jnp.sqrt(v) * g_value, 0.0)
    y = A @ x0 + jnp.sqrt(s2) * g_noise
    fit = _fit_lasso(A, y, lam, tol, max_iter, lanczos_steps=32)
    x = fit.coef
    err = x - x0
    resid = y - A @ x
    return {
        "mse": jnp.vdot(err, err) / dim,
        "nnz_fraction": jnp.sum(x != 0).astype(x.dtype) / dim,
        "train_error": jnp.vdot(resid, resid) / n,
        "converged": fit.converged.astype(x.dtype),
        "iterations": fit.iterations.astype(x.dtype),
    }


@partial(jax.jit, static_argnames=("size", "dim", "devices"))
def _run_group(keys, lam, eps, v, s2, *, tol, max_iter, size, dim, devices):
    # tol and max_iter are traced (one compiled program per (n, N) whatever the tolerances)
    one = partial(_one_seed, n=size, dim=dim)
    n_seeds = keys.shape[1]
    chunk = max(1, min(n_seeds, SEED_BATCH_ELEMENTS // (size * dim)))

    def per_point(point):
        k, *params = point
        params = (*params, tol, max_iter)
        if devices is not None or chunk >= n_seeds:
            return seed_batched(one, k, tuple(params), devices)
        # Bounded memory: vmap over chunks of seeds (each seed holds an n x N design).
        return jax.lax.map(lambda kk: one(kk, *params), k, batch_size=chunk)

    return jax.lax.map(per_point, (keys, lam, eps, v, s2))


@validated(PARAMS, "simulate")
def simulate(
    *, alpha, l1_penalty, sparsity, noise, nonzero_variance, threshold, dim, n_seeds, seed, solver, tol, max_iter, devices, progress, dtype, on_failure
) -> LassoSimulation:
    """Monte Carlo counterpart of :func:`~overparam_theory.lasso.theory` at ``N = dim`` unknowns.

    Args:
        alpha, l1_penalty, sparsity, noise, nonzero_variance: as in ``theory`` (broadcast);
            ``l1_penalty`` must be ``> 0`` unless ``alpha > 1`` (at ``l1_penalty = 0`` and
            ``alpha <= 1`` the minimiser is not unique: use a small positive penalty for the
            min-l1 limit).
        threshold: not accepted (a ``ValueError`` says so): the LASSO is defined by
            ``l1_penalty``; get it from ``theory(threshold=...).l1_penalty``.
        dim: number of unknowns ``N``; each point uses ``n = round(alpha N) >= 1`` measurements.
        n_seeds: independent repetitions (design, signal, noise) per point, ``>= 2``.
        seed: integer seed or JAX key; every grid point gets independent seeds.
        solver: ``"fista"`` (the only one: :func:`fit_lasso`).
        tol, max_iter: FISTA stopping rule (relative proximal-gradient residual) and cap.
        devices: ``None`` (one device; seeds vmapped in chunks of at most 2^25 design entries),
            ``"all"`` or a list of devices to shard the seeds over.
        progress: print progress to stderr.
        dtype: ``"float64"`` only (the tolerance needs it).
        on_failure: ``"warn"`` (default; a ``RuntimeWarning``) or ``"raise"``
            (``ConvergenceError``) when a FISTA solve did not converge; its point is NaN in
            every case (``"ignore"``: NaN, no warning).

    Returns:
        :class:`LassoSimulation`.
    """
    resolve_penalty(alpha, l1_penalty, threshold, simulate=True)
    shape = np.broadcast_shapes(*(np.shape(v) for v in (alpha, l1_penalty, sparsity, noise, nonzero_variance)))
    tol = float(tol)
    devices = resolve_devices(devices)
    a_b = np.broadcast_to(alpha, shape)
    lam_b = np.broadcast_to(l1_penalty, shape)
    bad = (lam_b == 0) & (a_b <= 1)
    if bad.any():
        raise ValueError(
            "l1_penalty must be > 0 when alpha <= 1 (got 0 at alpha="
            f"{a_b[bad].ravel()[0]:g}): the minimiser is not unique; use a small positive l1_penalty for the min-l1 limit"
        )
    n_b = np.rint(a_b * dim).astype(int)
    if (n_b < 1).any():
        raise ValueError(
            f"alpha * dim must give at least one measurement; got alpha={a_b[n_b < 1].ravel()[0]:g} with dim={dim}"
        )
    flat = [np.broadcast_to(p, shape).ravel() for p in (l1_penalty, sparsity, nonzero_variance, noise)]
    with precision("float64"):
        out = run_grid(
            partial(
                _run_group,
                tol=np.float64(tol),
                max_iter=np.int32(max_iter),
                dim=dim,
                devices=None if devices is None else tuple(devices),
            ),
            n_b.ravel(),
            flat,
            seed=seed,
            n_seeds=n_seeds,
            label=f"lasso.simulate (N={dim})",
            progress=progress,
        )
    converged = out["converged"] > 0.5
    fraction = converged.mean(axis=1)
    failed = fraction < 1
    if failed.any() and on_failure != "ignore":
        i = int(np.flatnonzero(failed)[0])
        msg = (
            f"lasso.simulate: {int((~converged).sum())} FISTA solve(s) at {int(failed.sum())} point(s) did not reach "
            f"tol={tol:g} in max_iter={max_iter} (e.g. alpha={a_b.ravel()[i]:.4g}, l1_penalty={lam_b.ravel()[i]:.4g}); "
            "those points are NaN"
        )
        if on_failure == "raise":
            raise ConvergenceError(msg)
        warnings.warn(msg, RuntimeWarning, stacklevel=2)
    ests = {}
    for f in RESULT_FIELDS:
        vals = np.where(failed[:, None], np.nan, out[f])
        e = estimate(vals, axis=1)
        ests[f] = Estimate(e.mean.reshape(shape), e.stderr.reshape(shape), e.n_seeds)
    return LassoSimulation(
        **ests,
        alpha=n_b / dim,
        n_samples=n_b,
        dim=dim,
        converged_fraction=fraction.reshape(shape),
        iterations=out["iterations"].max(axis=1).astype(int).reshape(shape),
    )
