"""Square loss (closed form) and smooth convex margin losses (damped Newton), with or without an
unpenalised intercept."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from jax import lax
from jax.scipy.linalg import cho_factor, cho_solve

from ..numerics.linalg import ridge_solve
from ._common import CONVERGED, RUNNING, STALLED, UNBOUNDED, FitResult, checked_ridge, relative, scaled
from ._losses import logistic_loss

__all__ = ["fit_square", "fit_smooth", "fit_logistic"]


# --------------------------------------------------------------------------- square loss


def fit_square(X, y, ridge, *, intercept=False, tol=1e-8) -> FitResult:
    """Ridge / least squares ``argmin 0.5 ||y - X w / sqrt(d) - b||^2 + (ridge/2) ||w||^2`` (closed form).

    ``ridge >= 0``; at ``ridge = 0`` and ``n < d`` the minimum-norm interpolator.  Without
    intercept (``b = 0``) solved with :func:`~overparam_theory.numerics.linalg.ridge_solve` on
    ``A = X / sqrt(d)`` with penalty ``ridge / n`` (smaller Gram matrix); with an unpenalised
    intercept by the bordered system in ``(w, b)`` (``n >= d``) or in ``(c, b)``, ``w = A^T c``
    (``n < d``: ``[[A A^T + ridge I, 1], [1^T, 0]] [c; b] = [y; 0]``, the min-norm interpolator
    with free intercept at ``ridge = 0``).  ``y`` may be ``+-1`` labels (square margin loss) or
    real.  scikit-learn: ``Ridge(alpha=ridge, fit_intercept=intercept)`` on ``X / sqrt(d)``.
    ``converged`` means the relative gradient norm (``residual``) is below ``tol``.
    """
    A, y = scaled(X, y)
    ridge = checked_ridge(ridge, A.dtype)
    return (_fit_square_intercept if intercept else _fit_square)(A, y, ridge, tol)


@jax.jit
def _fit_square(A, y, ridge, tol):
    n = A.shape[0]
    w = ridge_solve(A, y, ridge / n)
    grad = A.T @ (A @ w - y) + ridge * w
    residual = relative(jnp.linalg.norm(grad), jnp.linalg.norm(A.T @ y))
    ok = jnp.isfinite(residual)
    return FitResult(w, ok & (residual <= tol), jnp.int32(1), residual, jnp.bool_(True), jnp.zeros((), A.dtype))


@jax.jit
def _fit_square_intercept(A, y, ridge, tol):
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
    grad = jnp.concatenate([A.T @ r + ridge * w, jnp.sum(r)[None]])
    residual = relative(jnp.linalg.norm(grad), jnp.linalg.norm(jnp.concatenate([A.T @ y, jnp.sum(y)[None]])))
    ok = jnp.isfinite(residual)
    return FitResult(w, ok & (residual <= tol), jnp.int32(1), residual, jnp.bool_(True), b)


# --------------------------------------------------------------------------- smooth losses (Newton)


def _loss_derivatives(value_fn):
    d1 = jax.grad(value_fn)
    d2 = jax.grad(d1)
    return jax.vmap(value_fn), jax.vmap(d1), jax.vmap(d2), d1


def _armijo(phi, f0, slope, *, c=1e-4, min_step=2.0**-40):
    """Largest ``s = 2^-k <= 1`` with ``phi(s) <= f0 + c s slope`` (up to roundoff in ``f0``)."""
    slack = 16 * jnp.finfo(f0.dtype).eps * jnp.abs(f0)

    def bad(s):
        return ~(phi(s) <= f0 + c * s * slope + slack) & (s >= min_step)

    s = lax.while_loop(bad, lambda s: 0.5 * s, jnp.ones_like(f0))
    return s, s >= min_step


def fit_smooth(X, y, ridge, value_fn, *, intercept=False, tol=1e-10, max_iter=100) -> FitResult:
    """``argmin sum_mu value_fn(y_mu (x_mu . w / sqrt(d) + b)) + (ridge/2) ||w||^2`` by damped Newton.

    Args:
        X: ``(n, d)`` inputs; y: ``(n,)`` labels (``+-1``).
        ridge: penalty ``>= 0`` (on ``w`` only).
        value_fn: scalar, convex, twice-differentiable margin loss ``l(t)`` written with ``jnp``
            (derivatives by ``jax.grad``), e.g. :func:`logistic_loss`.  Used as a static ``jit``
            argument: pass the same function object to avoid recompilation.
        intercept: fit an unpenalised intercept ``b`` (else ``b = 0``).
        tol: stop when ``||grad F|| <= tol ||grad F(0)||``.
        max_iter: Newton iterations at most.

    Newton directions use the exact Hessian ``B^T diag(y^2 l''(t)) B + ridge P`` (``B = A`` or
    ``[A, 1]`` with an intercept, ``P`` the identity on ``w``; a Cholesky of the ``d x d``
    (``d + 1``) matrix when ``n >= d`` or with an intercept; without intercept and ``n < d``
    the iterates are kept as ``w = A^T c`` and the ``n x n`` system
    ``(diag(y^2 l'') A A^T + ridge I) dc = -(y l'(t) + ridge c)`` is solved); steps are
    backtracked to the Armijo condition.  With an intercept and ``ridge = 0`` a ``1e-13``
    diagonal keeps the Cholesky defined.

    ``ridge = 0``: an iterate with every training margin positive proves the data separable;
    if moreover the loss is non-increasing at every margin and still strictly decreasing far
    out (``l'(t_mu) <= 0``, ``l'(30) < 0``: logistic, exponential; never for square loss) the
    objective decreases along ``s (w, b)``, ``s -> infinity``, and has no minimiser: the fit
    stops with ``feasible = False, converged = False``.  For logistic this happens as soon as
    the objective drops below ``n log 2``, after a few Newton steps; it is checked before the
    gradient test, whose value underflows along a diverging sequence.
    """
    A, y = scaled(X, y)
    ridge = checked_ridge(ridge, A.dtype)
    n, d = A.shape
    tol, max_iter = jnp.asarray(tol, A.dtype), jnp.asarray(max_iter, jnp.int32)
    if intercept or n >= d:
        return _newton_primal(A, y, ridge, tol, max_iter, value_fn=value_fn, intercept=bool(intercept))
    return _newton_kernel(A, y, ridge, tol, max_iter, value_fn=value_fn)


def fit_logistic(X, y, ridge, *, intercept=False, tol=1e-10, max_iter=100) -> FitResult:
    """Logistic regression: :func:`fit_smooth` with :func:`logistic_loss` (``ridge >= 0``).

    scikit-learn: ``LogisticRegression(C=1/ridge, fit_intercept=intercept)`` on ``X / sqrt(d)``
    (``C=np.inf``, before scikit-learn 1.8 ``penalty=None``, for ``ridge = 0``, where the MLE
    exists only on non-separable data).
    """
    return fit_smooth(X, y, ridge, logistic_loss, intercept=intercept, tol=tol, max_iter=max_iter)


_FAR_MARGIN = 30.0


def _unbounded(ridge, t, l1, dl):
    """``ridge = 0``, every margin positive (the data are separable) and the loss non-increasing
    at every margin and still strictly decreasing far out (``l'(30) < 0``, e.g. logistic): then
    ``F(s w)`` decreases for all ``s > 1`` and no minimiser exists."""
    far = jnp.asarray(_FAR_MARGIN, t.dtype)
    return (ridge <= 0) & jnp.all(t > 0) & jnp.all(l1(t) <= 0) & (dl(far) < 0)


def _newton_loop(init, step, tol, max_iter):
    """Shared loop: ``state = (x, it, status, residual)``; ``step`` returns the next state's parts."""

    def cond(state):
        return (state[2] == RUNNING) & (state[1] < max_iter)

    def body(state):
        x, it, _, _ = state
        x_new, residual, unbounded, ok = step(x)
        status = jnp.where(
            unbounded,
            UNBOUNDED,
            jnp.where(residual <= tol, CONVERGED, jnp.where(ok, RUNNING, STALLED)),
        )
        return x_new, it + 1, status.astype(jnp.int32), residual

    return lax.while_loop(cond, body, init)


def _status_flags(x0_residual, tol, unbounded0):
    status = jnp.where(unbounded0, UNBOUNDED, jnp.where(x0_residual <= tol, CONVERGED, RUNNING))
    return status.astype(jnp.int32)


@partial(jax.jit, static_argnames=("value_fn", "intercept"))
def _newton_primal(A, y, ridge, tol, max_iter, *, value_fn, intercept=False):
    """Newton in ``x = w`` (or ``x = (w, b)``): features ``B = A`` (or ``[A, 1]``), the penalty
    on the first ``d`` coordinates."""
    n, d = A.shape
    l0, l1, l2, dl = _loss_derivatives(value_fn)
    if intercept:
        B = jnp.concatenate([A, jnp.ones((n, 1), A.dtype)], axis=1)
        mask = jnp.concatenate([jnp.ones((d,), A.dtype), jnp.zeros((1,), A.dtype)])
        penalised = lambda x: mask * x  # noqa: E731
        P = jnp.diag(mask)
        jitter = jnp.where(ridge > 0, 0.0, 1e-13) * jnp.eye(d + 1, dtype=A.dtype)
    else:
        B = A
        penalised = lambda x: x  # noqa: E731
        P = jnp.eye(d, dtype=A.dtype)
        jitter = None
    g0 = jnp.abs(dl(jnp.zeros((), A.dtype))) * jnp.linalg.norm(B.T @ y)

    def evaluate(x):
        t = y * (B @ x)
        xp = penalised(x)
        F = jnp.sum(l0(t)) + 0.5 * ridge * (xp @ xp)
        g = B.T @ (y * l1(t)) + ridge * xp
        return t, F, g

    def unbounded(t):
        return _unbounded(ridge, t, l1, dl)

    def step(x):
        t, F, g = evaluate(x)
        H = B.T @ ((y * y * l2(t))[:, None] * B) + ridge * P
        if jitter is not None:
            H = H + jitter
        p = -cho_solve(cho_factor(H), g)
        dt = y * (B @ p)
        xp, pp_ = penalised(x), penalised(p)
        wp, pp, slope = xp @ pp_, pp_ @ pp_, g @ p
        phi = lambda s: jnp.sum(l0(t + s * dt)) + 0.5 * ridge * (xp @ xp + 2 * s * wp + s * s * pp)  # noqa: E731
        s, ok = _armijo(phi, F, slope)
        ok = ok & jnp.isfinite(slope) & (slope < 0)
        x_new = jnp.where(ok, x + s * p, x)
        t_new, _, g_new = evaluate(x_new)
        return x_new, relative(jnp.linalg.norm(g_new), g0), unbounded(t_new), ok

    x0 = jnp.zeros(B.shape[1], A.dtype)
    t0, _, grad0 = evaluate(x0)
    r0 = relative(jnp.linalg.norm(grad0), g0)
    init = (x0, jnp.int32(0), _status_flags(r0, tol, unbounded(t0)), r0)
    x, it, status, residual = _newton_loop(init, step, tol, max_iter)
    bias = x[d] if intercept else jnp.zeros((), A.dtype)
    return FitResult(x[:d], status == CONVERGED, it, residual, status != UNBOUNDED, bias)


@partial(jax.jit, static_argnames=("value_fn",))
def _newton_kernel(A, y, ridge, tol, max_iter, *, value_fn):
    """Newton in ``c`` with ``w = A^T c`` (no intercept, ``n < d``)."""
    n, d = A.shape
    l0, l1, l2, dl = _loss_derivatives(value_fn)
    K = A @ A.T
    eye = jnp.eye(n, dtype=A.dtype)
    g0 = jnp.abs(dl(jnp.zeros((), A.dtype))) * jnp.sqrt(jnp.maximum(y @ K @ y, 0.0))

    def evaluate(c):
        Kc = K @ c
        t = y * Kc
        F = jnp.sum(l0(t)) + 0.5 * ridge * (c @ Kc)
        v = y * l1(t) + ridge * c  # grad_w F = A^T v
        return t, F, v, Kc

    def grad_norm(v):
        return jnp.sqrt(jnp.maximum(v @ (K @ v), 0.0))

    def unbounded(t):
        return _unbounded(ridge, t, l1, dl)

    def step(c):
        t, F, v, Kc = evaluate(c)
        r = jnp.linalg.solve((y * y * l2(t))[:, None] * K + ridge * eye, -v)  # w-step p = A^T r
        Kr = K @ r
        dt = y * Kr
        wp, pp, slope = c @ Kr, r @ Kr, v @ Kr
        phi = lambda s: jnp.sum(l0(t + s * dt)) + 0.5 * ridge * (c @ Kc + 2 * s * wp + s * s * pp)  # noqa: E731
        s, ok = _armijo(phi, F, slope)
        ok = ok & jnp.isfinite(slope) & (slope < 0)
        c_new = jnp.where(ok, c + s * r, c)
        t_new, _, v_new, _ = evaluate(c_new)
        return c_new, relative(grad_norm(v_new), g0), unbounded(t_new), ok

    c0 = jnp.zeros(n, A.dtype)
    t0, _, v0, _ = evaluate(c0)
    r0 = relative(grad_norm(v0), g0)
    init = (c0, jnp.int32(0), _status_flags(r0, tol, unbounded(t0)), r0)
    c, it, status, residual = _newton_loop(init, step, tol, max_iter)
    return FitResult(A.T @ c, status == CONVERGED, it, residual, status != UNBOUNDED, jnp.zeros((), A.dtype))
