"""Exact finite-size ERM with an unpenalised intercept (Gaussian mixture; classification.md section 5).

Every estimator solves, on ``A = X/sqrt(d)`` and labels ``y = +-1``,

    (w, b) = argmin sum_mu l(y_mu ((A w)_mu + b)) + (ridge/2) |w|^2        (b unpenalised),

scikit-learn: ``LogisticRegression(C=1/ridge, fit_intercept=True)`` and ``SVC(kernel="linear",
C=1/ridge)`` on the features ``x/sqrt(d)`` (tests/test_mixtures_simulation.py checks both).
Without an intercept the estimators of :mod:`overparam_theory.glm` are used (they are the same
problems with ``b = 0``).  All functions are JAX-native (``jit``/``vmap`` over seeds) and run in
the dtype of ``X`` (call under ``jax.enable_x64(True)``).

- square: a bordered linear solve, ``(d + 1)`` unknowns when ``n >= d``, kernel form ``w = A^T c``
  with ``[[K + ridge I, 1], [1^T, 0]] [c; b] = [y; 0]`` when ``n < d`` (``ridge = 0``: the
  min-norm interpolator with free intercept);
- logistic: Newton on ``(w, b)`` with the exact Hessian and Armijo backtracking;
- hinge (``ridge > 0``) and hard-margin (``ridge = 0``): a Mehrotra predictor-corrector
  interior-point method on the dual ``min a^T Q a/2 - 1^T a`` with ``Q = diag(y) K diag(y)/ridge``
  (hard margin: ``ridge = 1``), ``0 <= a <= 1`` (hard margin: ``a >= 0``) and the intercept's
  equality ``y^T a = 0``, whose multiplier is ``b``.  ``residual`` is the relative duality gap of
  the returned primal point (soft margin: ``(P(w, b) - D(a))/P(w, b)``; hard margin: of the
  rescaled feasible point), a rigorous accuracy certificate.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from jax import lax
from jax.scipy.linalg import cho_factor, cho_solve

from ..glm import FitResult, fit_hinge, fit_logistic, fit_max_margin, fit_square


def _A(X):
    return X / jnp.sqrt(jnp.asarray(X.shape[1], X.dtype))


# --------------------------------------------------------------------------- square


@jax.jit
def _square_intercept(A, y, ridge):
    n, d = A.shape
    ones = jnp.ones((n,), A.dtype)
    if n >= d:
        M = jnp.zeros((d + 1, d + 1), A.dtype)
        M = M.at[:d, :d].set(A.T @ A + ridge * jnp.eye(d, dtype=A.dtype))
        M = M.at[:d, d].set(A.T @ ones).at[d, :d].set(ones @ A).at[d, d].set(n)
        sol = jnp.linalg.solve(M, jnp.concatenate([A.T @ y, jnp.sum(y)[None]]))
        w, b = sol[:d], sol[d]
    else:
        M = jnp.zeros((n + 1, n + 1), A.dtype)
        M = M.at[:n, :n].set(A @ A.T + ridge * jnp.eye(n, dtype=A.dtype))
        M = M.at[:n, n].set(ones).at[n, :n].set(ones)
        sol = jnp.linalg.solve(M, jnp.concatenate([y, jnp.zeros((1,), A.dtype)]))
        w, b = A.T @ sol[:n], sol[n]
    r = A @ w + b - y
    gw, gb = A.T @ r + ridge * w, jnp.sum(r)
    res = jnp.sqrt(gw @ gw + gb * gb) / jnp.maximum(jnp.linalg.norm(A.T @ y) + jnp.abs(jnp.sum(y)), 1e-300)
    ok = jnp.isfinite(res) & (res <= 1e-8)
    return w, b, ok, jnp.int32(1), res, jnp.bool_(True)


# --------------------------------------------------------------------------- logistic


@jax.jit
def _logistic_intercept(A, y, ridge, tol, max_iter):
    n, d = A.shape
    B = jnp.concatenate([A, jnp.ones((n, 1), A.dtype)], axis=1)  # (w, b) -> A w + b
    pen = jnp.concatenate([jnp.full((d,), ridge, A.dtype), jnp.zeros((1,), A.dtype)])
    jitter = jnp.where(ridge > 0, 0.0, 1e-13)
    l0 = lambda t: jnp.logaddexp(0.0, -t)
    l1 = lambda t: -jax.nn.sigmoid(-t)
    l2 = lambda t: jax.nn.sigmoid(t) * jax.nn.sigmoid(-t)
    g0 = 0.5 * jnp.linalg.norm(B.T @ y)

    def evaluate(x):
        t = y * (B @ x)
        F = jnp.sum(l0(t)) + 0.5 * jnp.sum(pen * x * x)
        g = B.T @ (y * l1(t)) + pen * x
        return t, F, g

    def cond(state):
        x, it, status, res = state
        return (status == 0) & (it < max_iter)

    def body(state):
        x, it, _, _ = state
        t, F, g = evaluate(x)
        Hm = B.T @ (l2(t)[:, None] * B) + jnp.diag(pen + jitter)
        p = -cho_solve(cho_factor(Hm), g)
        dt = y * (B @ p)
        slope = g @ p

        def phi(s):
            xs = x + s * p
            return jnp.sum(l0(t + s * dt)) + 0.5 * jnp.sum(pen * xs * xs)

        def bad(s):
            return ~(phi(s) <= F + 1e-4 * s * slope + 16 * jnp.finfo(F.dtype).eps * jnp.abs(F)) & (s >= 2.0**-40)

        s = lax.while_loop(bad, lambda s: 0.5 * s, jnp.ones_like(F))
        ok = (s >= 2.0**-40) & jnp.isfinite(slope) & (slope < 0)
        x_new = jnp.where(ok, x + s * p, x)
        t_new, _, g_new = evaluate(x_new)
        res = jnp.linalg.norm(g_new) / g0
        unbounded = (ridge <= 0) & jnp.all(t_new > 0)
        status = jnp.where(unbounded, 2, jnp.where(res <= tol, 1, jnp.where(ok, 0, 3)))
        return x_new, it + 1, status.astype(jnp.int32), res

    x0 = jnp.zeros((d + 1,), A.dtype)
    x, it, status, res = lax.while_loop(cond, body, (x0, jnp.int32(0), jnp.int32(0), jnp.asarray(jnp.inf, A.dtype)))
    return x[:d], x[d], status == 1, it, res, status != 2


# --------------------------------------------------------------------------- hinge / hard margin (IPM)


def _to_boundary(x, dx):
    ratio = jnp.where(dx < 0, -x / jnp.where(dx < 0, dx, -1.0), jnp.inf)
    return jnp.minimum(1.0, jnp.min(ratio))


@partial(jax.jit, static_argnames=("box",))
def _svm_intercept(A, y, lam, tol, max_iter, *, box):
    """Dual IPM ``min a^T Q a/2 - 1^T a``, ``y^T a = 0``, ``0 <= a (<= 1 if box)``; ``Q = diag(y) A A^T diag(y)/lam``."""
    n, d = A.shape
    K = A @ A.T
    Q = (y[:, None] * K * y[None, :]) / lam
    eye = jnp.eye(n, dtype=A.dtype)
    n_pos = jnp.sum(y > 0)
    n_neg = n - n_pos
    n_min = jnp.minimum(n_pos, n_neg).astype(A.dtype)
    n_y = jnp.where(y > 0, n_pos, n_neg).astype(A.dtype)
    scale = 0.5 * (jnp.minimum(1.0, lam) if box else 1.0)
    a0 = scale * n_min / n_y
    t0 = Q @ a0
    z0 = 0.1 + jnp.maximum(t0 - 1.0, 0.0)
    s0 = 0.1 + jnp.maximum(1.0 - t0, 0.0) if box else jnp.zeros_like(a0)
    v0 = 1.0 - a0 if box else jnp.ones_like(a0)

    def primal(a, nu):
        w = A.T @ (y * a) / lam
        t = y * (A @ w)  # margins without bias
        if box:
            P = jnp.sum(jnp.maximum(0.0, 1.0 - t - y * nu)) + 0.5 * lam * (w @ w)
            D = jnp.sum(jnp.clip(a, 0.0, 1.0)) - 0.5 * lam * (w @ w)
            gap = (P - D) / jnp.maximum(P, 1e-300)
            return w, nu, gap, jnp.bool_(True)
        big = jnp.asarray(jnp.inf, A.dtype)
        min_pos = jnp.min(jnp.where(y > 0, t, big))
        min_neg = jnp.min(jnp.where(y < 0, t, big))
        k = 0.5 * (min_pos + min_neg)
        b = 0.5 * (min_neg - min_pos)
        ww = w @ w
        feasible = k > 0
        gap = jnp.where(feasible, 1.0 - (jnp.sum(a) * k / ww) ** 2, jnp.inf)
        ks = jnp.where(feasible, k, 1.0)
        return w / ks, b / ks, gap, feasible

    def step(state):
        a, v, z, s, nu = state
        rd = Q @ a - 1.0 - z + s + nu * y
        rp = y @ a
        if box:
            mu = (a @ z + v @ s) / (2 * n)
            theta = z / a + s / v
        else:
            mu = (a @ z) / n
            theta = z / a
        fac = cho_factor(Q + theta * eye, lower=True)
        x_y = cho_solve(fac, y)

        def directions(sigma_mu, cz, cs):
            r = -rd + (sigma_mu - a * z - cz) / a
            if box:
                r = r - (sigma_mu - v * s + cs) / v
            x1 = cho_solve(fac, r)
            dnu = (y @ x1 + rp) / (y @ x_y)
            da = x1 - dnu * x_y
            dz = (sigma_mu - a * z - cz - z * da) / a
            ds = (sigma_mu - v * s + cs + s * da) / v if box else jnp.zeros_like(a)
            return da, dz, ds, dnu

        def max_step(da, dz, ds):
            out = jnp.minimum(_to_boundary(a, da), _to_boundary(z, dz))
            if box:
                out = jnp.minimum(out, jnp.minimum(_to_boundary(v, -da), _to_boundary(s, ds)))
            return out

        zero = jnp.zeros_like(a)
        da, dz, ds, _ = directions(0.0, zero, zero)
        al = max_step(da, dz, ds)
        if box:
            mu_aff = ((a + al * da) @ (z + al * dz) + (v - al * da) @ (s + al * ds)) / (2 * n)
        else:
            mu_aff = ((a + al * da) @ (z + al * dz)) / n
        sigma = jnp.clip(mu_aff / mu, 0.0, 1.0) ** 3
        da, dz, ds, dnu = directions(sigma * mu, da * dz, da * ds)
        al = 0.995 * max_step(da, dz, ds)
        new = (a + al * da, v - al * da if box else v, z + al * dz, s + al * ds if box else s, nu + al * dnu)
        ok = jnp.all(jnp.isfinite(da)) & jnp.isfinite(dnu)
        return tuple(jnp.where(ok, x1, x0) for x1, x0 in zip(new, state)), ok

    def cond(c):
        state, it, gap, ok = c
        return ok & (gap > tol) & (it < max_iter)

    def body(c):
        state, it, _, _ = c
        state, ok = step(state)
        _, _, gap, _ = primal(state[0], state[4])
        gap = jnp.where(jnp.isfinite(gap), gap, jnp.inf)
        return state, it + 1, gap, ok & (jnp.sum(state[0]) < 1e12)

    init = (a0, v0, z0, s0, jnp.zeros((), A.dtype))
    state, it, gap, _ = lax.while_loop(cond, body, (init, jnp.int32(0), jnp.asarray(jnp.inf, A.dtype), jnp.bool_(True)))
    w, b, gap, feasible = primal(state[0], state[4])
    return w, b, gap <= tol, it, gap, feasible


# --------------------------------------------------------------------------- public dispatcher


def fit(X, y, ridge, *, loss, intercept, hard_margin=False, tol=1e-10):
    """``(w, b, converged, iterations, residual, feasible)`` of the estimator (module docstring).

    ``loss`` is ``"square"``, ``"logistic"`` or ``"hinge"``; ``hard_margin=True`` (hinge, ``ridge = 0``)
    is the hard-margin SVM.  Without ``intercept``, ``b = 0`` and the ``glm`` estimators are used.
    """
    A = _A(X)
    y = jnp.asarray(y, A.dtype)
    zero = jnp.zeros((), A.dtype)
    if not intercept:
        if hard_margin:
            r = fit_max_margin(X, y, tol=tol)
        elif loss == "square":
            r = fit_square(X, y, ridge, tol=1e-8)
        elif loss == "logistic":
            r = fit_logistic(X, y, ridge, tol=tol)
        else:
            r = fit_hinge(X, y, ridge, tol=tol)
        return r.weights, zero, r.converged, r.iterations, r.residual, r.feasible
    if hard_margin:
        return _svm_intercept(A, y, jnp.ones((), A.dtype), jnp.asarray(tol, A.dtype), jnp.int32(200), box=False)
    if loss == "square":
        return _square_intercept(A, y, jnp.asarray(ridge, A.dtype))
    if loss == "logistic":
        return _logistic_intercept(A, y, jnp.asarray(ridge, A.dtype), jnp.asarray(tol, A.dtype), jnp.int32(100))
    return _svm_intercept(A, y, jnp.asarray(ridge, A.dtype), jnp.asarray(tol, A.dtype), jnp.int32(200), box=True)


__all__ = ["FitResult", "fit"]
