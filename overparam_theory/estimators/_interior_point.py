"""Soft-margin (hinge) and hard-margin SVMs by one primal-dual interior-point method, with or
without an unpenalised intercept.

Every problem is a convex QP in dual variables ``a`` (one per sample),

    min_a  a^T H a / 2 - c^T a,   H = B B^T / lam,   B = diag(y) X / sqrt(d),
    a >= 0,   (box:) a <= 1,   E^T a = e0   (0, 1 or 2 equality rows),

solved by a Mehrotra predictor-corrector method:

====================================  ======  =====  ===================  ==============================
problem                                 ``c``  box    equality rows        primal point recovered
====================================  ======  =====  ===================  ==============================
hinge, no intercept                       1     yes    --                   ``w = B^T a / lam``
hinge, intercept                          1     yes    ``y^T a = 0``        ``w = B^T a / lam``, ``b = nu``
max-margin, no intercept (``lam = 1``)    0     no     ``1^T a = 1``        ``w = u / min_mu (B u)_mu``
max-margin, intercept (``lam = 1``)       0     no     ``sum_{y=+-1} a = 1``  ``w = u / kappa``, ``b = beta / kappa``
====================================  ======  =====  ===================  ==============================

(``u = B^T a``).  The max-margin problems are minimum-norm points: of the convex hull of the
``b_mu = y_mu x_mu / sqrt(d)`` (no intercept), or of the difference of the two class hulls
(intercept: the classic "closest points of the convex hulls"); both are bounded whether or not
the data are separable, which they detect (``||u|| -> 0``).  The multiplier of the hinge
intercept's equality is the bias ``b``.

Each Newton system ``(H + Theta) da + E dnu = r``, ``E^T da = -r_p`` (``Theta`` diagonal) is
solved with one factorisation and ``1 + rows`` right-hand sides: by Cholesky of the ``n x n``
matrix when ``n <= d``; when ``n > d`` preconditioned by the Woodbury form through the
``d x d`` matrix ``lam I + B^T Theta^{-1} B`` (cost ``n d^2`` per iteration) and refined by
conjugate gradients on the ``n x n`` system; if that stalls (nearly degenerate problems, e.g.
max-margin close to the separability threshold) the iteration continues from its best point
with the ``n x n`` Cholesky.  ``residual`` is the rigorous relative duality gap of the
returned (primal-feasible) point.  Typical cost: 10-20 iterations.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from jax import lax
from jax.scipy.linalg import cho_factor, cho_solve

from ._common import CONVERGED, RUNNING, STALLED, UNBOUNDED, FitResult, checked_ridge, relative, scaled

__all__ = ["fit_hinge", "fit_max_margin"]


def fit_hinge(X, y, ridge, *, intercept=False, tol=1e-9, max_iter=200) -> FitResult:
    """Soft-margin SVM ``argmin sum_mu max(0, 1 - t_mu) + (ridge/2)||w||^2`` (``ridge > 0``),
    ``t_mu = y_mu (x_mu . w / sqrt(d) + b)`` with ``b`` an unpenalised intercept (``intercept``)
    or ``0``.

    Solved by the interior-point method on the dual box QP (module docstring) until the relative
    duality gap ``(P(w, b) - D(a)) / P(w, b) <= tol``; ``P`` is the primal objective of the
    returned ``w = B^T a / ridge`` and ``D(a) = 1^T a - (ridge/2)||w||^2 <= min P``, so with
    ``gap = P - D = residual P``: ``P(w) - min P <= gap`` and ``||w - w_hat||^2 <= 2 gap / ridge``.
    scikit-learn: ``LinearSVC(C=1/ridge, loss="hinge", fit_intercept=False)`` on ``X / sqrt(d)``
    (no intercept); ``SVC(kernel="linear", C=1/ridge)`` (intercept).

    Args:
        X: ``(n, d)`` inputs; y: ``(n,)`` labels ``+-1``.
        ridge: penalty ``> 0`` (``ValueError`` otherwise, unless traced).
        intercept: fit an unpenalised intercept (both labels must occur).
        tol: relative duality gap to reach.  The attainable floor is ~1e-12 (roundoff in the
            hinge sum at margins near 1); ``converged`` is False if it is not reached.
        max_iter: interior-point iterations at most (both phases together, module docstring).
    """
    A, y = scaled(X, y)
    B = y[:, None] * A
    ridge = checked_ridge(ridge, B.dtype, positive=True)
    return _box_qp(B, y, ridge, jnp.asarray(tol, B.dtype), jnp.asarray(max_iter, jnp.int32), intercept=bool(intercept))


def fit_max_margin(X, y, *, intercept=False, tol=1e-9, max_iter=200, margin_tol=1e-9) -> FitResult:
    """Hard-margin SVM ``argmin ||w||^2  s.t.  y_mu (x_mu . w / sqrt(d) + b) >= 1`` (``b = 0``
    without ``intercept``).

    Solved as a minimum-norm point (module docstring): of the convex hull of
    ``b_mu = y_mu x_mu / sqrt(d)``, ``min_{a in simplex} (1/2) ||B^T a||^2`` (no intercept), or
    of the difference of the two class hulls (intercept: ``a`` sums to one on each class).
    With ``u = B^T a`` and ``t = B u`` the returned weights are primal feasible: ``w = u /
    min_mu t_mu`` (``min_mu y_mu x_mu . w / sqrt(d) = 1`` exactly), or with an intercept
    ``w = u / kappa``, ``b = beta / kappa``, ``kappa = (m_+ + m_-)/2``, ``beta = (m_- - m_+)/2``
    (``m_+-`` the smallest ``t`` of each class).  ``a`` rescaled is dual feasible, so
    ``residual = 1 - (k kappa / ||u||^2)^2`` (``k`` = number of hulls, ``kappa = min t``
    without intercept) is the rigorous relative duality gap of the problem as stated, and
    ``||w - w_hat||^2 <= residual ||w||^2`` (strong convexity).

    Separability: ``||B^T a|| >= k kappa_hat`` for every feasible ``a``, where ``kappa_hat =
    1 / ||w_hat||`` is the normalised margin (inputs scaled by ``1 / sqrt(d)``).  The fit stops
    with ``feasible = False`` once ``||B^T a|| < margin_tol``: the data are then not separable
    with normalised margin ``~margin_tol`` or more; for non-separable data ``||B^T a|| -> 0``.
    Separable data are certified by the returned feasible ``w`` itself (every margin ``>= 1``).

    Args:
        X: ``(n, d)`` inputs; y: ``(n,)`` labels ``+-1``.
        intercept: fit an unpenalised intercept (both labels must occur).
        tol: relative duality gap to reach (floor ~1e-12; ~1e-11 for data close to the
            separability threshold, where ``q`` is ``O(10^4)``).
        max_iter: interior-point iterations at most (both phases together).
        margin_tol: normalised margin below which the data are reported non-separable.

    Known issue: under ``jax.vmap`` over seeds at ``d = 500, n = 1000`` (jax 0.10.2, CPU) this
    solve did not finish within 4 minutes for 2 seeds, while one seed takes ~3 s and
    ``jax.lax.map`` over the seeds works; the simulators therefore map hard-margin fits
    sequentially.  Small problems vmap correctly (tests/test_glm_estimators.py).
    """
    A, y = scaled(X, y)
    B = y[:, None] * A
    tol, margin_tol = jnp.asarray(tol, B.dtype), jnp.asarray(margin_tol, B.dtype)
    return _hull_qp(B, y, tol, jnp.asarray(max_iter, jnp.int32), margin_tol, intercept=bool(intercept))


# --------------------------------------------------------------------------- linear algebra


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


# --------------------------------------------------------------------------- equality rows


class _Rows:
    """The equality rows ``E^T a = e0`` of a problem: ``"none"``, ``"ones"`` (``1^T a = 1``),
    ``"labels"`` (``y^T a = 0``) or ``"classes"`` (``sum_{y = +1} a = sum_{y = -1} a = 1``).
    ``dot(x)`` is ``E^T x`` (a tuple), ``combine(nu)`` is ``E nu`` (an ``(n,)`` array or a
    scalar), ``e0`` the right-hand sides."""

    def __init__(self, kind, y):
        self.kind = kind
        self.y = y
        self.count = {"none": 0, "ones": 1, "labels": 1, "classes": 2}[kind]
        self.e0 = jnp.full((self.count,), 0.0 if kind == "labels" else 1.0, y.dtype)

    def columns(self):
        y = self.y
        one, zero = jnp.ones_like(y), jnp.zeros_like(y)
        return {
            "none": (),
            "ones": (one,),
            "labels": (y,),
            "classes": (jnp.where(y > 0, one, zero), jnp.where(y < 0, one, zero)),
        }[self.kind]

    def dot(self, x):
        if self.kind == "ones":
            return (jnp.sum(x),)
        if self.kind == "labels":
            return (self.y @ x,)
        if self.kind == "classes":
            return (jnp.sum(jnp.where(self.y > 0, x, 0.0)), jnp.sum(jnp.where(self.y < 0, x, 0.0)))
        return ()

    def combine(self, nu):
        if self.kind == "ones":
            return nu[0]
        if self.kind == "labels":
            return nu[0] * self.y
        if self.kind == "classes":
            return jnp.where(self.y > 0, nu[0], nu[1])
        return 0.0


# --------------------------------------------------------------------------- the method


def _mehrotra(B, lam, rows, *, c, box):
    """``make_step(solver)`` for the QP of the module docstring; the state is
    ``(a, v, z, s, nu)``: dual variables, their upper slack ``v = 1 - a`` (box only, kept
    separately: accurate near ``a = 1``), the multipliers ``z >= 0`` of ``a >= 0`` and ``s >= 0``
    of ``v >= 0``, and the ``rows.count`` equality multipliers ``nu``.  Stationarity:
    ``H a - c - z + s + E nu = 0`` with ``H a = B w`` the margin vector."""
    n = B.shape[0]
    k = rows.count

    def margins(a):
        return B @ (B.T @ a) / lam

    def make_step(solver):
        factor, solve = solver

        def step(state):
            a, v, z, s, nu = state
            rd = margins(a)
            if c:
                rd = rd - 1.0
            rd = rd - z
            if box:
                rd = rd + s
            if k:
                rd = rd + rows.combine(nu)
                rp = jnp.stack(rows.dot(a)) - rows.e0
            if box:
                mu = (a @ z + v @ s) / (2 * n)
                theta = z / a + s / v
            else:
                mu = (a @ z) / n
                theta = z / a
            fac = factor(theta)
            x_cols = [solve(fac, col) for col in rows.columns()]

            def directions(sigma_mu, cz, cs):
                # (H + Theta) da + E dnu = -rd + (sigma mu - a z - cz) / a [- (sigma mu - v s + cs) / v],
                # E^T da = -rp
                r = -rd + (sigma_mu - a * z - cz) / a
                if box:
                    r = r - (sigma_mu - v * s + cs) / v
                x1 = solve(fac, r)
                if k == 0:
                    da, dnu = x1, nu
                elif k == 1:
                    dnu0 = (rows.dot(x1)[0] + rp[0]) / rows.dot(x_cols[0])[0]
                    da, dnu = x1 - dnu0 * x_cols[0], jnp.stack([dnu0])
                else:
                    G = jnp.stack([jnp.stack(rows.dot(col)) for col in x_cols], axis=1)  # G_ij = e_i . x_j
                    dnu = jnp.linalg.solve(G, jnp.stack(rows.dot(x1)) + rp)
                    da = x1 - sum(dnu[j] * x_cols[j] for j in range(k))
                dz = (sigma_mu - a * z - cz - z * da) / a
                ds = (sigma_mu - v * s + cs + s * da) / v if box else s
                return da, dz, ds, dnu

            def max_step(da, dz, ds):
                out = jnp.minimum(_step_to_boundary(a, da), _step_to_boundary(z, dz))
                if box:
                    out = jnp.minimum(out, jnp.minimum(_step_to_boundary(v, -da), _step_to_boundary(s, ds)))
                return out

            zero = jnp.zeros_like(a)
            da, dz, ds, _ = directions(0.0, zero, zero)
            alpha = max_step(da, dz, ds)
            if box:
                mu_aff = ((a + alpha * da) @ (z + alpha * dz) + (v - alpha * da) @ (s + alpha * ds)) / (2 * n)
            else:
                mu_aff = ((a + alpha * da) @ (z + alpha * dz)) / n
            sigma = jnp.clip(mu_aff / mu, 0.0, 1.0) ** 3
            da, dz, ds, dnu = directions(sigma * mu, da * dz, da * ds)
            alpha = _FRACTION_TO_BOUNDARY * max_step(da, dz, ds)
            new = (
                a + alpha * da,
                v - alpha * da if box else v,
                z + alpha * dz,
                s + alpha * ds if box else s,
                nu + alpha * dnu if k else nu,
            )
            ok = jnp.all(jnp.isfinite(da))
            if k:
                ok = ok & jnp.all(jnp.isfinite(dnu))
            return tuple(jnp.where(ok, x1, x0) for x1, x0 in zip(new, state)), ok

        return step

    return margins, make_step


def _ipm_phase(step, certificate, init, tol, max_iter):
    """Iterate ``step`` until the certificate ``gap <= tol``, unboundedness, or stagnation.

    Returns the iterate with the best certificate (the current one when unbounded or when no
    finite certificate was reached), its certificate, the iteration counter and the status.  A
    phase stagnates when ``step`` fails or ``_PATIENCE`` iterations bring no better certificate
    once it is below ``_STALL_GAP``.
    """
    state0, it0, status0 = init
    gap0, _ = certificate(state0)

    def cond(carry):
        return (carry[4] == RUNNING) & (carry[3] < max_iter)

    def body(carry):
        state, best, best_gap, it, _, it_best = carry
        state, ok = step(state)
        gap, unbounded = certificate(state)
        better = gap < best_gap
        best = tuple(jnp.where(better, x, y) for x, y in zip(state, best))
        best_gap = jnp.minimum(gap, best_gap)
        it_best = jnp.where(better, it + 1, it_best)
        stuck = ~ok | ((it + 1 - it_best >= _PATIENCE) & (best_gap < _STALL_GAP))
        status = jnp.where(
            gap <= tol, CONVERGED, jnp.where(unbounded, UNBOUNDED, jnp.where(stuck, STALLED, RUNNING))
        )
        return state, best, best_gap, it + 1, status.astype(jnp.int32), it_best

    carry = (state0, state0, gap0, it0, status0, it0)
    state, best, best_gap, it, status, _ = lax.while_loop(cond, body, carry)
    current = (status == UNBOUNDED) | ~jnp.isfinite(best_gap)
    final = tuple(jnp.where(current, x, y) for x, y in zip(state, best))
    return final, jnp.where(status == UNBOUNDED, jnp.inf, best_gap), it, status


def _interior_point(B, lam, make_step, certificate, init, tol, max_iter, kernel):
    """Run ``make_step(solver)`` with the ``n x n`` solver (``kernel``) or, for ``n > d``, the
    Woodbury solver, continued with the ``n x n`` solver from the best iterate if that stalls."""
    start = (init, jnp.int32(0), jnp.int32(RUNNING))
    if kernel:
        Q = B @ B.T / lam
        return _ipm_phase(make_step(_kernel_solver(B, lam, Q)), certificate, start, tol, max_iter)
    state, gap, it, status = _ipm_phase(make_step(_woodbury_solver(B, lam)), certificate, start, tol, max_iter)
    again = jnp.where(status == STALLED, RUNNING, status).astype(jnp.int32)
    return _ipm_phase(make_step(_kernel_solver(B, lam)), certificate, (state, it, again), tol, max_iter)


def _class_counts(y):
    n_pos = jnp.sum(y > 0).astype(y.dtype)
    return n_pos, y.shape[0] - n_pos


@partial(jax.jit, static_argnames=("intercept", "kernel"))
def _box_qp(B, y, lam, tol, max_iter, *, intercept=False, kernel=None):
    """The hinge dual ``min ||B^T a||^2 / (2 lam) - 1^T a``, ``0 <= a <= 1`` (and ``y^T a = 0``)."""
    n, d = B.shape
    rows = _Rows("labels" if intercept else "none", y)
    margins, make_step = _mehrotra(B, lam, rows, c=True, box=True)

    def primal_dual(state):
        a = jnp.clip(state[0], 0.0, 1.0)
        w = B.T @ a / lam
        t = B @ w
        b = state[4][0] if intercept else jnp.zeros((), B.dtype)
        if intercept:
            t = t + y * b
        ww = w @ w
        primal = jnp.sum(jnp.maximum(0.0, 1.0 - t)) + 0.5 * lam * ww
        dual = jnp.sum(a) - 0.5 * lam * ww
        return w, b, relative(primal - dual, primal)

    def certificate(state):
        return primal_dual(state)[2], jnp.bool_(False)

    # Start: a = min(1, lam) / 2 (then w = B^T 1 / 2 for lam <= 1: margins O(1)), balanced over
    # the classes with an intercept (y^T a = 0), multipliers z = 0.1 + (t - 1)_+,
    # s = 0.1 + (1 - t)_+ so that the dual residual vanishes.
    a0 = jnp.full((n,), 0.5, B.dtype) * jnp.minimum(1.0, lam)
    if intercept:
        n_pos, n_neg = _class_counts(y)
        a0 = a0 * jnp.minimum(n_pos, n_neg) / jnp.where(y > 0, n_pos, n_neg)
    t0 = margins(a0)
    nu0 = jnp.zeros((rows.count,), B.dtype)
    init = (a0, 1.0 - a0, 0.1 + jnp.maximum(t0 - 1.0, 0.0), 0.1 + jnp.maximum(1.0 - t0, 0.0), nu0)
    kernel = n <= d if kernel is None else kernel
    state, gap, it, status = _interior_point(B, lam, make_step, certificate, init, tol, max_iter, kernel)
    w, b, _ = primal_dual(state)
    return FitResult(w, status == CONVERGED, it, gap, status != UNBOUNDED, b)


@partial(jax.jit, static_argnames=("intercept", "kernel"))
def _hull_qp(B, y, tol, max_iter, margin_tol, *, intercept=False, kernel=None):
    """``min ||B^T a||^2 / 2`` over the simplex ``a >= 0, 1^T a = 1`` (or, with an intercept,
    over ``a >= 0`` summing to one on each class)."""
    n, d = B.shape
    one = jnp.ones((), B.dtype)
    rows = _Rows("classes" if intercept else "ones", y)
    margins, make_step = _mehrotra(B, one, rows, c=False, box=False)

    def primal_dual(state):
        a = jnp.maximum(state[0], 0.0)
        if intercept:
            n_pos, n_neg = rows.dot(a)
            a = a / jnp.where(y > 0, n_pos, n_neg)
        else:
            a = a / jnp.sum(a)
        u = B.T @ a
        t = B @ u
        uu = u @ u
        if intercept:
            big = jnp.asarray(jnp.inf, B.dtype)
            m_pos = jnp.min(jnp.where(y > 0, t, big))
            m_neg = jnp.min(jnp.where(y < 0, t, big))
            kappa = 0.5 * (m_pos + m_neg)
            beta = 0.5 * (m_neg - m_pos)
            ratio = 2.0 * kappa / uu
        else:
            kappa = jnp.min(t)
            beta = jnp.zeros((), B.dtype)
            ratio = kappa / uu
        separable = kappa > 0
        # primal ||u||^2 / (2 kappa^2) at w = u / kappa; dual k^2 / (2 ||u||^2) at k a / ||u||^2
        gap = jnp.where(separable, 1.0 - ratio**2, jnp.inf)
        scale = jnp.where(separable, kappa, 1.0)
        return u / scale, beta / scale, gap, ~separable & (jnp.sqrt(uu) < margin_tol)

    def certificate(state):
        return primal_dual(state)[2:]

    # Start: the barycentre(s), with nu, z making the dual residual vanish (z >= 1/n).
    if intercept:
        n_pos, n_neg = _class_counts(y)
        a0 = jnp.where(y > 0, 1.0 / n_pos, 1.0 / n_neg).astype(B.dtype)
    else:
        a0 = jnp.ones((n,), B.dtype) / n
    t0 = margins(a0)
    if intercept:
        big = jnp.asarray(jnp.inf, B.dtype)
        floor = jnp.stack([jnp.min(jnp.where(y > 0, t0, big)), jnp.min(jnp.where(y < 0, t0, big))])
    else:
        floor = jnp.min(t0)[None]
    nu0 = -(floor - 1.0 / n)
    kernel = n <= d if kernel is None else kernel
    init = (a0, jnp.ones_like(a0), t0 + rows.combine(nu0), jnp.zeros_like(a0), nu0)
    state, gap, it, status = _interior_point(B, one, make_step, certificate, init, tol, max_iter, kernel)
    w, b, _, _ = primal_dual(state)
    return FitResult(w, status == CONVERGED, it, gap, status != UNBOUNDED, b)
