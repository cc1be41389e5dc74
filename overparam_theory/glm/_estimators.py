"""Finite-size empirical-risk minimisers of the teacher-student GLM (classification.md sections 0-2).

Every estimator follows the convention of classification.md section 0: pre-activations
``x . w / sqrt(d)`` (inputs ``x ~ N(0, I_d)``, so fields are ``O(1)``) and the **sum** of the
losses plus an l2 penalty,

    w_hat = argmin_w  sum_mu loss(y_mu, x_mu . w / sqrt(d)) + (ridge / 2) ||w||^2,

with labels ``y in {-1, +1}`` and margin ``t = y x . w / sqrt(d)`` for the classification losses:
square ``0.5 (1 - t)^2`` (``= 0.5 (y - x.w/sqrt(d))^2``, also for real-valued ``y``), logistic
``log(1 + e^{-t})``, hinge ``max(0, 1 - t)``; and the hard-margin SVM of section 2,
``min ||w||^2  s.t.  y_mu x_mu . w / sqrt(d) >= 1`` (then ``q = ||w||^2 / d = 1 / kappa^2``).
A code minimising the *mean* loss plus ``(ridge_mean / 2)||w||^2`` has ``ridge = n ridge_mean``.

scikit-learn equivalences, all on the features ``x / sqrt(d)`` (``fit_intercept=False``):

* :func:`fit_square`: ``Ridge(alpha=ridge, fit_intercept=False)``;
* :func:`fit_logistic` (= :func:`fit_smooth` with :func:`logistic_loss`):
  ``LogisticRegression(C=1/ridge, fit_intercept=False)``;
* :func:`fit_hinge`: ``LinearSVC(C=1/ridge, loss="hinge", fit_intercept=False)``, i.e. the
  intercept-free ``SVC(kernel="linear", C=1/ridge)``;
* :func:`fit_max_margin`: the ``C -> infinity`` limit of the above (for separable data it
  coincides exactly with :func:`fit_hinge` once ``ridge <= 1 / max_mu a_mu``, ``a`` its dual).

All functions are JAX-native: fixed shapes, ``lax.while_loop`` iterations, no host callbacks,
so they ``jit`` and ``vmap`` over a leading seed axis of ``X, y`` (and ``ridge``).  They run in
the dtype of ``X``; call them under ``jax.enable_x64(True)`` for the accuracies quoted below.
Each returns a :class:`FitResult` with an accuracy certificate:

* smooth losses (:func:`fit_square`, :func:`fit_smooth`): Newton's method with an Armijo
  backtracking line search on the exact Hessian ``A^T diag(l'') A + ridge I`` (``A = X /
  sqrt(d)``), solved through the ``d x d`` matrix when ``n >= d`` and through the ``n x n``
  kernel form ``w = A^T c`` when ``n < d``; ``residual`` is the gradient norm relative to its
  value at ``w = 0``.
* hinge: a Mehrotra predictor-corrector primal-dual interior-point method on the dual box QP
  ``min_a a^T Q a / (2 ridge) - 1^T a``, ``0 <= a <= 1``, ``Q_{mu nu} = y_mu y_nu x_mu . x_nu /
  d``, ``w = (1/ridge) sum_mu a_mu y_mu x_mu / sqrt(d)``.  ``residual`` is the *rigorous*
  relative duality gap ``(P(w) - D(a)) / P(w)`` of the returned ``w`` and the current
  (always dual-feasible) ``a``.
* max-margin: the same method on the equivalent minimum-norm-point problem
  ``min_{a in simplex} ||sum_mu a_mu y_mu x_mu||^2 / (2 d)`` (bounded also for non-separable
  data, which it detects); the returned ``w`` is rescaled to be exactly primal feasible and
  ``residual`` is again the rigorous relative duality gap.

Each interior-point Newton system ``(Q / ridge + Theta) da = r`` (``Theta`` diagonal) is solved
by Cholesky of the ``n x n`` matrix when ``n <= d``.  When ``n > d`` it is preconditioned by the
Woodbury form through the ``d x d`` matrix ``ridge I + B^T Theta^{-1} B`` (``B = diag(y) X /
sqrt(d)``; cost ``n d^2`` per iteration) and refined by conjugate gradients on the ``n x n``
system; if that stalls (nearly degenerate problems, e.g. max-margin close to the separability
threshold) the iteration continues from its best point with the ``n x n`` Cholesky.  Typical
cost: 10-20 iterations, each dominated by the ``n d^2`` product (``n > d``) or the ``n x n``
Cholesky (``n <= d``).
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jax.scipy.linalg import cho_factor, cho_solve

from .._validation import real_array
from ..numerics.linalg import ridge_solve

__all__ = [
    "FitResult",
    "fit_hinge",
    "fit_logistic",
    "fit_max_margin",
    "fit_smooth",
    "fit_square",
    "hinge_loss",
    "logistic_loss",
    "square_loss",
]


class FitResult(NamedTuple):
    """Result of one fit (every field gains a leading axis under ``vmap``).

    Attributes:
        weights: ``(d,)`` estimator ``w_hat`` (pre-activation ``x . w_hat / sqrt(d)``).
        converged: ``residual <= tol`` was reached (and the problem is feasible).
        iterations: Newton / interior-point iterations used (``int32``).
        residual: accuracy certificate: relative gradient norm ``||grad F(w)|| / ||grad F(0)||``
            for the smooth losses; relative duality gap ``(P - D) / P`` for hinge and
            max-margin (``inf`` when no primal-feasible point is available).
        feasible: ``False`` only when the minimiser does not exist: max-margin on
            non-separable data, or ``ridge = 0`` with a loss that keeps decreasing (logistic)
            on separable data (the iterates would diverge).  ``weights`` is then the last
            iterate, not an estimator.
    """

    weights: jax.Array
    converged: jax.Array
    iterations: jax.Array
    residual: jax.Array
    feasible: jax.Array


# --------------------------------------------------------------------------- margin losses


def square_loss(t):
    """``0.5 (1 - t)^2`` as a function of the margin ``t = y x . w / sqrt(d)``."""
    return 0.5 * (1.0 - t) ** 2


@jax.custom_jvp
def logistic_loss(t):
    """``log(1 + exp(-t))``, overflow-free (``logaddexp``), derivative ``-sigmoid(-t)``."""
    return jnp.logaddexp(0.0, -t)


@logistic_loss.defjvp
def _logistic_loss_jvp(primals, tangents):
    (t,), (dt,) = primals, tangents
    return logistic_loss(t), -jax.nn.sigmoid(-t) * dt


def hinge_loss(t):
    """``max(0, 1 - t)`` (for evaluating objectives; :func:`fit_hinge` does not need it)."""
    return jnp.maximum(0.0, 1.0 - t)


def _scaled(X, y):
    X = jnp.asarray(X)
    if not jnp.issubdtype(X.dtype, jnp.floating):
        X = X.astype(jnp.result_type(float))
    y = jnp.asarray(y, X.dtype)
    if X.ndim != 2 or y.shape != X.shape[:1]:
        raise ValueError(f"expected X of shape (n, d) and y of shape (n,), got {X.shape} and {y.shape}")
    return X / jnp.sqrt(jnp.asarray(X.shape[1], X.dtype)), y


def _ridge(ridge, dtype, *, positive=False):
    """Validate a concrete ``ridge`` (``>= 0``, or ``> 0``); tracers pass through."""
    ridge = real_array("ridge", ridge, low=0.0, low_open=positive)
    return jnp.asarray(ridge, dtype)


def _relative(value, reference):
    return jnp.where(reference > 0, value / jnp.where(reference > 0, reference, 1.0), value)


# --------------------------------------------------------------------------- square loss


def fit_square(X, y, ridge, *, tol=1e-8) -> FitResult:
    """Ridge / least squares ``argmin_w 0.5 ||y - X w / sqrt(d)||^2 + (ridge/2) ||w||^2`` (closed form).

    ``ridge >= 0``; at ``ridge = 0`` and ``n < d`` the minimum-norm interpolator.  Solved with
    :func:`~overparam_theory.numerics.linalg.ridge_solve` on ``A = X / sqrt(d)`` with penalty
    ``ridge / n`` (smaller Gram matrix).  ``y`` may be ``+-1`` labels (square margin loss) or real.
    scikit-learn: ``Ridge(alpha=ridge, fit_intercept=False)`` on ``X / sqrt(d)``.
    ``converged`` means the relative gradient norm (``residual``) is below ``tol``.
    """
    A, y = _scaled(X, y)
    return _fit_square(A, y, _ridge(ridge, A.dtype), tol)


@jax.jit
def _fit_square(A, y, ridge, tol):
    n = A.shape[0]
    w = ridge_solve(A, y, ridge / n)
    grad = A.T @ (A @ w - y) + ridge * w
    residual = _relative(jnp.linalg.norm(grad), jnp.linalg.norm(A.T @ y))
    ok = jnp.isfinite(residual)
    return FitResult(w, ok & (residual <= tol), jnp.int32(1), residual, jnp.bool_(True))


# --------------------------------------------------------------------------- smooth losses (Newton)

_RUNNING, _CONVERGED, _UNBOUNDED, _STALLED = 0, 1, 2, 3


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


def fit_smooth(X, y, ridge, value_fn, *, tol=1e-10, max_iter=100) -> FitResult:
    """``argmin_w sum_mu value_fn(y_mu x_mu . w / sqrt(d)) + (ridge/2) ||w||^2`` by damped Newton.

    Args:
        X: ``(n, d)`` inputs; y: ``(n,)`` labels (``+-1``).
        ridge: penalty ``>= 0``.
        value_fn: scalar, convex, twice-differentiable margin loss ``l(t)`` written with ``jnp``
            (derivatives by ``jax.grad``), e.g. :func:`logistic_loss`.  Used as a static ``jit``
            argument: pass the same function object to avoid recompilation.
        tol: stop when ``||grad F(w)|| <= tol ||grad F(0)||``.
        max_iter: Newton iterations at most.

    Newton directions use the exact Hessian ``A^T diag(y^2 l''(t)) A + ridge I`` (``d x d``
    Cholesky when ``n >= d``; when ``n < d`` the iterates are kept as ``w = A^T c`` and the
    ``n x n`` system ``(diag(y^2 l'') A A^T + ridge I) dc = -(y l'(t) + ridge c)`` is solved);
    steps are backtracked to the Armijo condition.

    ``ridge = 0``: an iterate with every training margin positive proves the data separable;
    if moreover the loss is non-increasing at every margin and still strictly decreasing far
    out (``l'(t_mu) <= 0``, ``l'(30) < 0``: logistic, exponential; never for square loss) the
    objective decreases along ``s w``, ``s -> infinity``, and has no minimiser: the fit stops
    with ``feasible = False, converged = False``.  For logistic this happens as soon as the
    objective drops below ``log 2``, after a few Newton steps; it is checked before the
    gradient test, whose value underflows along a diverging sequence.
    """
    A, y = _scaled(X, y)
    ridge = _ridge(ridge, A.dtype)
    n, d = A.shape
    core = _newton_primal if n >= d else _newton_kernel
    return core(A, y, ridge, jnp.asarray(tol, A.dtype), jnp.asarray(max_iter, jnp.int32), value_fn=value_fn)


def fit_logistic(X, y, ridge, *, tol=1e-10, max_iter=100) -> FitResult:
    """Logistic regression :func:`fit_smooth` with :func:`logistic_loss` (``ridge >= 0``).

    scikit-learn: ``LogisticRegression(C=1/ridge, fit_intercept=False)`` on ``X / sqrt(d)``
    (``C=np.inf``, before scikit-learn 1.8 ``penalty=None``, for ``ridge = 0``, where the MLE
    exists only on non-separable data).
    """
    return fit_smooth(X, y, ridge, logistic_loss, tol=tol, max_iter=max_iter)


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
        return (state[2] == _RUNNING) & (state[1] < max_iter)

    def body(state):
        x, it, _, _ = state
        x_new, residual, unbounded, ok = step(x)
        status = jnp.where(
            unbounded,
            _UNBOUNDED,
            jnp.where(residual <= tol, _CONVERGED, jnp.where(ok, _RUNNING, _STALLED)),
        )
        return x_new, it + 1, status.astype(jnp.int32), residual

    return lax.while_loop(cond, body, init)


def _status_flags(x0_residual, tol, unbounded0):
    status = jnp.where(unbounded0, _UNBOUNDED, jnp.where(x0_residual <= tol, _CONVERGED, _RUNNING))
    return status.astype(jnp.int32)


@partial(jax.jit, static_argnames=("value_fn",))
def _newton_primal(A, y, ridge, tol, max_iter, *, value_fn):
    n, d = A.shape
    l0, l1, l2, dl = _loss_derivatives(value_fn)
    eye = jnp.eye(d, dtype=A.dtype)
    g0 = jnp.abs(dl(jnp.zeros((), A.dtype))) * jnp.linalg.norm(A.T @ y)

    def evaluate(w):
        t = y * (A @ w)
        F = jnp.sum(l0(t)) + 0.5 * ridge * (w @ w)
        g = A.T @ (y * l1(t)) + ridge * w
        return t, F, g

    def unbounded(t):
        return _unbounded(ridge, t, l1, dl)

    def step(w):
        t, F, g = evaluate(w)
        H = A.T @ ((y * y * l2(t))[:, None] * A) + ridge * eye
        p = -cho_solve(cho_factor(H), g)
        dt = y * (A @ p)
        wp, pp, slope = w @ p, p @ p, g @ p
        phi = lambda s: jnp.sum(l0(t + s * dt)) + 0.5 * ridge * (w @ w + 2 * s * wp + s * s * pp)
        s, ok = _armijo(phi, F, slope)
        ok = ok & jnp.isfinite(slope) & (slope < 0)
        w_new = jnp.where(ok, w + s * p, w)
        t_new, _, g_new = evaluate(w_new)
        return w_new, _relative(jnp.linalg.norm(g_new), g0), unbounded(t_new), ok

    w0 = jnp.zeros(d, A.dtype)
    t0, _, grad0 = evaluate(w0)
    r0 = _relative(jnp.linalg.norm(grad0), g0)
    init = (w0, jnp.int32(0), _status_flags(r0, tol, unbounded(t0)), r0)
    w, it, status, residual = _newton_loop(init, step, tol, max_iter)
    return FitResult(w, status == _CONVERGED, it, residual, status != _UNBOUNDED)


@partial(jax.jit, static_argnames=("value_fn",))
def _newton_kernel(A, y, ridge, tol, max_iter, *, value_fn):
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
        phi = lambda s: jnp.sum(l0(t + s * dt)) + 0.5 * ridge * (c @ Kc + 2 * s * wp + s * s * pp)
        s, ok = _armijo(phi, F, slope)
        ok = ok & jnp.isfinite(slope) & (slope < 0)
        c_new = jnp.where(ok, c + s * r, c)
        t_new, _, v_new, _ = evaluate(c_new)
        return c_new, _relative(grad_norm(v_new), g0), unbounded(t_new), ok

    c0 = jnp.zeros(n, A.dtype)
    t0, _, v0, _ = evaluate(c0)
    r0 = _relative(grad_norm(v0), g0)
    init = (c0, jnp.int32(0), _status_flags(r0, tol, unbounded(t0)), r0)
    c, it, status, residual = _newton_loop(init, step, tol, max_iter)
    return FitResult(A.T @ c, status == _CONVERGED, it, residual, status != _UNBOUNDED)


# --------------------------------------------------------------------------- hinge / max-margin (IPM)


def fit_hinge(X, y, ridge, *, tol=1e-9, max_iter=200) -> FitResult:
    """Soft-margin SVM ``argmin_w sum_mu max(0, 1 - t_mu) + (ridge/2)||w||^2`` (``ridge > 0``).

    Solved by a primal-dual interior-point method on the dual box QP (module docstring) until
    the relative duality gap ``(P(w) - D(a)) / P(w) <= tol``; ``P`` is the primal objective of the
    returned ``w = B^T a / ridge`` (``B = diag(y) X / sqrt(d)``) and ``D(a) = 1^T a -
    (ridge/2)||w||^2 <= min P``, so with ``gap = P - D = residual P``: ``P(w) - min P <= gap``
    and ``||w - w_hat||^2 <= 2 gap / ridge``.
    scikit-learn: ``LinearSVC(C=1/ridge, loss="hinge", fit_intercept=False)`` on ``X / sqrt(d)``.

    Args:
        X: ``(n, d)`` inputs; y: ``(n,)`` labels ``+-1``.
        ridge: penalty ``> 0`` (``ValueError`` otherwise, unless traced).
        tol: relative duality gap to reach.  The attainable floor is ~1e-12 (roundoff in the
            hinge sum at margins near 1); ``converged`` is False if it is not reached.
        max_iter: interior-point iterations at most (both phases together, module docstring).
    """
    A, y = _scaled(X, y)
    B = y[:, None] * A
    ridge = _ridge(ridge, B.dtype, positive=True)
    return _box_qp(B, ridge, jnp.asarray(tol, B.dtype), jnp.asarray(max_iter, jnp.int32))


def fit_max_margin(X, y, *, tol=1e-9, max_iter=200, margin_tol=1e-9) -> FitResult:
    """Hard-margin SVM ``argmin ||w||^2  s.t.  y_mu x_mu . w / sqrt(d) >= 1`` (classification.md section 2).

    Solved as the minimum-norm point of the convex hull of ``b_mu = y_mu x_mu / sqrt(d)``,
    ``min_{a in simplex} (1/2) ||B^T a||^2`` (bounded whether or not the data are separable), by
    a primal-dual interior-point method.  With ``u = B^T a`` and ``t = B u`` the returned weights
    ``w = u / min_mu t_mu`` are primal feasible (``min_mu y_mu x_mu . w / sqrt(d) = 1`` exactly)
    and ``a / ||u||^2`` is feasible for the dual ``max_{a >= 0} 1^T a - ||B^T a||^2 / 2``, so
    ``residual = 1 - (min t)^2 / ||u||^4`` is the rigorous relative duality gap of the problem
    as stated, and ``||w - w_hat||^2 <= residual ||w||^2`` (strong convexity).

    Separability: ``||B^T a|| >= kappa`` for every ``a`` in the simplex, where ``kappa =
    1 / ||w_hat||`` is the normalised margin ``max_{||w|| = 1} min_mu y_mu x_mu . w / sqrt(d)``
    (classification.md section 2 with inputs scaled by ``1 / sqrt(d)``).  The fit stops with
    ``feasible = False`` once ``||B^T a|| < margin_tol``: the data are then not separable with
    normalised margin ``margin_tol`` or more (``q = ||w_hat||^2 / d > 1 / (d margin_tol^2)``);
    for non-separable data ``||B^T a|| -> 0``.  Separable data are certified by the returned
    feasible ``w`` itself (every margin ``>= 1``).

    Args:
        X: ``(n, d)`` inputs; y: ``(n,)`` labels ``+-1``.
        tol: relative duality gap to reach (floor ~1e-12; ~1e-11 for data close to the
            separability threshold, where ``q`` is ``O(10^4)``).
        max_iter: interior-point iterations at most (both phases together).
        margin_tol: normalised margin below which the data are reported non-separable.

    Known issue: under ``jax.vmap`` over seeds at ``d = 500, n = 1000`` (jax 0.10.2, CPU) this
    solve did not finish within 4 minutes for 2 seeds, while one seed takes ~3 s and
    ``jax.lax.map`` over the seeds works; ``glm.simulate`` therefore maps hard-margin fits
    sequentially.  Small problems vmap correctly (tests/test_glm_estimators.py).
    """
    A, y = _scaled(X, y)
    B = y[:, None] * A
    tol, margin_tol = jnp.asarray(tol, B.dtype), jnp.asarray(margin_tol, B.dtype)
    return _simplex_qp(B, tol, jnp.asarray(max_iter, jnp.int32), margin_tol)


def _step_to_boundary(x, dx):
    """Largest ``alpha <= 1`` with ``x + alpha dx >= 0`` (``x > 0``)."""
    ratio = jnp.where(dx < 0, -x / jnp.where(dx < 0, dx, -1.0), jnp.inf)
    return jnp.minimum(1.0, jnp.min(ratio))


_FRACTION_TO_BOUNDARY = 0.995
_PATIENCE = 5  # interior-point iterations without a better certificate before a phase gives up
_CG_ITERATIONS = 10
_STALL_GAP = 1e-4  # stagnation is only declared once the certificate is this small


def _kernel_solver(B, lam, Q=None):
    """``(B B^T / lam + diag(theta)) x = r`` by Cholesky of the ``n x n`` matrix.

    Stable however wide the range of ``theta`` (Cholesky is invariant under the diagonal
    scaling that balances it).  ``Q = B B^T / lam`` is formed per factorisation when not given.
    """
    eye = jnp.eye(B.shape[0], dtype=B.dtype)

    def factor(theta):
        K = B @ B.T / lam if Q is None else Q
        return cho_factor(K + theta * eye, lower=True)

    def solve(fac, r):
        return cho_solve(fac, r)

    return factor, solve


def _woodbury_solver(B, lam):
    """``(B B^T / lam + diag(theta)) x = r`` through the ``d x d`` matrix ``lam I + B^T diag(1/theta) B``.

    ``x = (r - B dw) / theta`` with ``dw = M^{-1} B^T (r / theta)``.  When ``theta`` spans many
    orders of magnitude (late interior-point iterations, nearly degenerate problems) this loses
    accuracy, so the Woodbury solve only preconditions a conjugate-gradient iteration on the
    ``n x n`` system (``O(n d)`` per step).
    """
    d = B.shape[1]
    eye = jnp.eye(d, dtype=B.dtype)

    def factor(theta):
        inv = 1.0 / theta
        return cho_factor(lam * eye + B.T @ (inv[:, None] * B), lower=True), theta

    def precondition(fac, r):
        chol, theta = fac
        dw = cho_solve(chol, B.T @ (r / theta))
        return (r - B @ dw) / theta

    def apply(fac, x):
        return B @ (B.T @ x) / lam + fac[1] * x

    def solve(fac, r):
        x = precondition(fac, r)
        res = r - apply(fac, x)
        z = precondition(fac, res)
        rz = res @ z
        scale = jnp.abs(r @ x)

        def cond(c):
            k, rz = c[0], c[5]
            return (k < _CG_ITERATIONS) & (jnp.abs(rz) > (64 * jnp.finfo(r.dtype).eps) ** 2 * scale)

        def body(c):
            k, x, res, z, p, rz = c
            Ap = apply(fac, p)
            alpha = rz / (p @ Ap)
            x = x + alpha * p
            res = res - alpha * Ap
            z = precondition(fac, res)
            rz_new = res @ z
            return k + 1, x, res, z, z + (rz_new / rz) * p, rz_new

        return lax.while_loop(cond, body, (jnp.int32(0), x, res, z, z, rz))[1]

    return factor, solve


def _ipm_phase(step, certificate, init, tol, max_iter):
    """Iterate ``step`` until the certificate ``gap <= tol``, unboundedness, or stagnation.

    Returns the iterate with the best certificate (the current one when unbounded or when no
    finite certificate was reached), its certificate, the iteration counter and the status.  A
    phase stagnates when ``step`` fails or ``_PATIENCE`` iterations bring no better certificate
    once it is below ``_STALL_GAP``.
    """
    state0, it0, status0 = init
    gap0, _ = certificate(state0[0])

    def cond(carry):
        return (carry[4] == _RUNNING) & (carry[3] < max_iter)

    def body(carry):
        state, best, best_gap, it, _, it_best = carry
        state, ok = step(state)
        gap, unbounded = certificate(state[0])
        better = gap < best_gap
        best = tuple(jnp.where(better, x, y) for x, y in zip(state, best))
        best_gap = jnp.minimum(gap, best_gap)
        it_best = jnp.where(better, it + 1, it_best)
        stuck = ~ok | ((it + 1 - it_best >= _PATIENCE) & (best_gap < _STALL_GAP))
        status = jnp.where(
            gap <= tol, _CONVERGED, jnp.where(unbounded, _UNBOUNDED, jnp.where(stuck, _STALLED, _RUNNING))
        )
        return state, best, best_gap, it + 1, status.astype(jnp.int32), it_best

    carry = (state0, state0, gap0, it0, status0, it0)
    state, best, best_gap, it, status, _ = lax.while_loop(cond, body, carry)
    current = (status == _UNBOUNDED) | ~jnp.isfinite(best_gap)
    final = tuple(jnp.where(current, x, y) for x, y in zip(state, best))
    return final, jnp.where(status == _UNBOUNDED, jnp.inf, best_gap), it, status


def _interior_point(B, lam, make_step, certificate, init, tol, max_iter, kernel):
    """Run ``make_step(solver)`` with the ``n x n`` solver (``kernel``) or, for ``n > d``, the
    Woodbury solver, continued with the ``n x n`` solver from the best iterate if that stalls."""
    start = (init, jnp.int32(0), jnp.int32(_RUNNING))
    if kernel:
        Q = B @ B.T / lam
        return _ipm_phase(make_step(_kernel_solver(B, lam, Q)), certificate, start, tol, max_iter)
    state, gap, it, status = _ipm_phase(make_step(_woodbury_solver(B, lam)), certificate, start, tol, max_iter)
    again = jnp.where(status == _STALLED, _RUNNING, status).astype(jnp.int32)
    return _ipm_phase(make_step(_kernel_solver(B, lam)), certificate, (state, it, again), tol, max_iter)


def _accept(new, old, da):
    ok = jnp.all(jnp.isfinite(da))
    return tuple(jnp.where(ok, x1, x0) for x1, x0 in zip(new, old)), ok


def _result(w, gap, it, status):
    return FitResult(w, status == _CONVERGED, it, gap, status != _UNBOUNDED)


@partial(jax.jit, static_argnames=("kernel",))
def _box_qp(B, lam, tol, max_iter, *, kernel=None):
    """Mehrotra predictor-corrector IPM for the hinge dual ``min ||B^T a||^2 / (2 lam) - 1^T a``, ``0 <= a <= 1``.

    Variables ``a``, its upper slack ``v = 1 - a`` (kept separately: accurate near ``a = 1``) and
    the multipliers ``z >= 0`` of ``a >= 0``, ``s >= 0`` of ``v >= 0``.  Stationarity:
    ``H a - 1 - z + s = 0`` with ``H = B B^T / lam``; ``H a = B w`` (``w = B^T a / lam``) is the
    margin vector.
    """
    n, d = B.shape

    def margins(a):
        return B @ (B.T @ a) / lam

    def make_step(solver):
        factor, solve = solver

        def step(state):
            a, v, z, s = state
            rd = margins(a) - 1.0 - z + s
            mu = (a @ z + v @ s) / (2 * n)
            theta = z / a + s / v
            fac = factor(theta)

            def directions(sigma_mu, cz, cs):
                # (H + Theta) da = -rd + (sigma mu - a z - cz) / a - (sigma mu - v s + cs) / v
                da = solve(fac, -rd + (sigma_mu - a * z - cz) / a - (sigma_mu - v * s + cs) / v)
                dz = (sigma_mu - a * z - cz - z * da) / a
                ds = (sigma_mu - v * s + cs + s * da) / v
                return da, dz, ds

            def max_step(da, dz, ds):
                return jnp.minimum(
                    jnp.minimum(_step_to_boundary(a, da), _step_to_boundary(z, dz)),
                    jnp.minimum(_step_to_boundary(v, -da), _step_to_boundary(s, ds)),
                )

            zero = jnp.zeros_like(a)
            da, dz, ds = directions(0.0, zero, zero)
            alpha = max_step(da, dz, ds)
            mu_aff = ((a + alpha * da) @ (z + alpha * dz) + (v - alpha * da) @ (s + alpha * ds)) / (2 * n)
            sigma = jnp.clip(mu_aff / mu, 0.0, 1.0) ** 3
            da, dz, ds = directions(sigma * mu, da * dz, da * ds)
            alpha = _FRACTION_TO_BOUNDARY * max_step(da, dz, ds)
            return _accept((a + alpha * da, v - alpha * da, z + alpha * dz, s + alpha * ds), state, da)

        return step

    def primal_dual(a):
        a = jnp.clip(a, 0.0, 1.0)
        w = B.T @ a / lam
        t = B @ w
        ww = w @ w
        primal = jnp.sum(jnp.maximum(0.0, 1.0 - t)) + 0.5 * lam * ww
        dual = jnp.sum(a) - 0.5 * lam * ww
        return w, _relative(primal - dual, primal)

    def certificate(a):
        return primal_dual(a)[1], jnp.bool_(False)

    # Start: a = min(1, lam) / 2 (then w = B^T 1 / 2 for lam <= 1: margins O(1)), multipliers
    # z = 0.1 + (t - 1)_+, s = 0.1 + (1 - t)_+ so that the dual residual vanishes.
    a0 = jnp.full((n,), 0.5, B.dtype) * jnp.minimum(1.0, lam)
    t0 = margins(a0)
    init = (a0, 1.0 - a0, 0.1 + jnp.maximum(t0 - 1.0, 0.0), 0.1 + jnp.maximum(1.0 - t0, 0.0))
    kernel = n <= d if kernel is None else kernel
    state, gap, it, status = _interior_point(B, lam, make_step, certificate, init, tol, max_iter, kernel)
    return _result(primal_dual(state[0])[0], gap, it, status)


@partial(jax.jit, static_argnames=("kernel",))
def _simplex_qp(B, tol, max_iter, margin_tol, *, kernel=None):
    """Mehrotra predictor-corrector IPM for ``min ||B^T a||^2 / 2`` over the simplex ``a >= 0, 1^T a = 1``.

    Stationarity ``Q a - z - nu 1 = 0`` (``Q = B B^T``, ``z >= 0`` the multipliers of ``a >= 0``,
    ``nu`` that of ``1^T a = 1``); each Newton system is bordered by the equality row and solved
    with two right-hand sides of the same factorisation.
    """
    n, d = B.shape
    one = jnp.ones((), B.dtype)
    ones = jnp.ones((n,), B.dtype)

    def margins(a):
        return B @ (B.T @ a)

    def make_step(solver):
        factor, solve = solver

        def step(state):
            a, nu, z = state
            rd = margins(a) - z - nu
            rp = jnp.sum(a) - 1.0
            mu = (a @ z) / n
            fac = factor(z / a)
            x_ones = solve(fac, ones)

            def directions(sigma_mu, cz):
                # (Q + Theta) da - dnu 1 = -rd + (sigma mu - a z - cz) / a,  1^T da = -rp
                x_rhs = solve(fac, -rd + (sigma_mu - a * z - cz) / a)
                dnu = (-rp - jnp.sum(x_rhs)) / jnp.sum(x_ones)
                da = x_rhs + dnu * x_ones
                dz = (sigma_mu - a * z - cz - z * da) / a
                return da, dnu, dz

            def max_step(da, dz):
                return jnp.minimum(_step_to_boundary(a, da), _step_to_boundary(z, dz))

            da, _, dz = directions(0.0, jnp.zeros_like(a))
            alpha = max_step(da, dz)
            mu_aff = ((a + alpha * da) @ (z + alpha * dz)) / n
            sigma = jnp.clip(mu_aff / mu, 0.0, 1.0) ** 3
            da, dnu, dz = directions(sigma * mu, da * dz)
            alpha = _FRACTION_TO_BOUNDARY * max_step(da, dz)
            return _accept((a + alpha * da, nu + alpha * dnu, z + alpha * dz), state, da)

        return step

    def primal_dual(a):
        a = jnp.maximum(a, 0.0)
        a = a / jnp.sum(a)
        u = B.T @ a
        t = B @ u
        uu = u @ u
        tmin = jnp.min(t)
        separable = tmin > 0
        # primal ||u||^2 / (2 tmin^2) at w = u / tmin; dual 1 / (2 ||u||^2) at a / ||u||^2
        gap = jnp.where(separable, 1.0 - (tmin / uu) ** 2, jnp.inf)
        w = u / jnp.where(separable, tmin, 1.0)
        return w, gap, ~separable & (jnp.sqrt(uu) < margin_tol)

    def certificate(a):
        return primal_dual(a)[1:]

    # Start: the barycentre, with nu, z making the dual residual vanish (z >= 1/n).
    a0 = ones / n
    t0 = margins(a0)
    nu0 = jnp.min(t0) - 1.0 / n
    kernel = n <= d if kernel is None else kernel
    init = (a0, nu0, t0 - nu0)
    state, gap, it, status = _interior_point(B, one, make_step, certificate, init, tol, max_iter, kernel)
    return _result(primal_dual(state[0])[0], gap, it, status)
