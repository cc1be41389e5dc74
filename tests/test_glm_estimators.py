"""Finite-size ERM estimators without intercept (``overparam_theory.estimators``, used by ``glm.simulate``).

References used here, all on the features ``A = X / sqrt(d)`` and for the *sum* of the losses
(docs/theory/glm.md section 2, so scikit-learn's ``C = 1 / ridge``):

* square: ``sklearn.linear_model.Ridge(alpha=ridge, fit_intercept=False)`` (direct solve) and
  ``numpy.linalg.lstsq`` (minimum-norm least squares) at ``ridge = 0``;
* logistic: ``LogisticRegression(C=1/ridge, fit_intercept=False, solver="newton-cholesky")`` --
  an exact Newton solver, so it can be run to a gradient tolerance of ``1e-12``;
* hinge: ``LinearSVC(C=1/ridge, loss="hinge", fit_intercept=False, dual=True)``, liblinear's
  dual coordinate descent on exactly our (intercept-free) problem, run to ``tol=1e-10``
  (fast at these sizes; it agrees to ~1e-10).  libsvm (``SVC``) is *not* used: it always fits
  an intercept (removable by fitting the mirrored data ``{(x, y)} u {(-x, -y)}`` with
  ``C = 1/(2 ridge)``) but caches the kernel in single precision, which limits it to ~1e-5
  relative at ``C = 1e3``;
* max-margin: for separable data it equals the hinge solution for any ``ridge <= 1 / max_mu
  a_mu`` (``a`` its dual), so it is compared with both ``fit_hinge`` and ``LinearSVC`` at
  ``C = 2 max_mu a_mu``.

The hinge / max-margin solutions are also checked against an *exact* reference independent of
any solver: the KKT system solved on the active sets read off the solution (free support
vectors put exactly on the margin), after verifying that it satisfies every KKT condition.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sklearn
from scipy.optimize import linprog, nnls
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.svm import LinearSVC

from overparam_theory.estimators import (
    FitResult,
    fit_hinge,
    fit_logistic,
    fit_max_margin,
    fit_smooth,
    fit_square,
    logistic_loss,
    square_loss,
)

WIDE = (40, 80)  # n < d: kernel (n x n) forms
TALL = (160, 40)  # n > d: d x d Hessian / Woodbury-preconditioned interior point
RIDGES = np.array([1e-4, 1e-3, 1e-1, 1.0, 10.0])


@pytest.fixture(autouse=True)
def _float64():
    with jax.enable_x64(True):
        yield


def _problem(shape, labels="noisy", seed=0):
    n, d = shape
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w_star = rng.standard_normal(d)
    z = X @ w_star / np.sqrt(d)
    if labels == "sign":
        y = np.sign(z)
    elif labels == "noisy":  # probit teacher: not separable for n >> d
        y = np.sign(z + 0.7 * rng.standard_normal(n))
    else:
        y = rng.choice([-1.0, 1.0], n)
    return X, y


def _rel(a, b):
    return np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(np.asarray(b))


# One jitted function per estimator, single and vmapped over (X, y, ridge): every test reuses
# them, so each compiles once per shape and batch size (the file's run time is mostly compilation).
SINGLE = {
    "square": jax.jit(lambda X, y, r: fit_square(X, y, r)),
    "logistic": jax.jit(lambda X, y, r: fit_logistic(X, y, r, tol=1e-12)),
    "hinge": jax.jit(lambda X, y, r: fit_hinge(X, y, r, tol=1e-11)),
    "max_margin": jax.jit(lambda X, y, r: fit_max_margin(X, y, tol=1e-10)),
}
BATCHED = {name: jax.jit(jax.vmap(fit)) for name, fit in SINGLE.items()}


def _over_ridges(name, X, y, ridges):
    """One data set, a batch of ridges."""
    k = len(ridges)
    return BATCHED[name](np.broadcast_to(X, (k, *X.shape)), np.broadcast_to(y, (k, *y.shape)), np.asarray(ridges))


def _liblinear_hinge(A, y, ridge):
    svm = LinearSVC(C=1 / ridge, loss="hinge", fit_intercept=False, dual=True, tol=1e-10, max_iter=10**6)
    return svm.fit(A, y).coef_[0]


def _hinge_kkt_polish(A, y, ridge, w, band=1e-6):
    """Exact hinge solution on the active sets of ``w``, and a check of every KKT condition.

    Margins ``t < 1 - band`` get dual ``a = 1``, ``t > 1 + band`` get ``a = 0``; the free
    support vectors in between are put exactly on the margin, ``B_F w = 1`` with
    ``w = B^T a / ridge``, by a dense solve.  Returns the polished weights after asserting
    ``0 <= a_F <= 1`` and that no margin crosses 1 in the wrong direction.
    """
    B = y[:, None] * A
    t = B @ w
    upper, free = t < 1 - band, np.abs(t - 1) <= band
    base = B[upper].sum(axis=0)
    BF = B[free]
    a_free = np.linalg.solve(BF @ BF.T, ridge * np.ones(free.sum()) - BF @ base) if free.any() else np.zeros(0)
    w_exact = (base + BF.T @ a_free) / ridge
    t_exact = B @ w_exact
    assert np.all(a_free >= -1e-8) and np.all(a_free <= 1 + 1e-8), "dual variables of free SVs outside [0, 1]"
    assert np.all(t_exact[upper] <= 1 + 1e-9) and np.all(t_exact[~upper & ~free] >= 1 - 1e-9)
    np.testing.assert_allclose(t_exact[free], 1.0, atol=1e-9)
    return w_exact


# --------------------------------------------------------------------------- square loss


@pytest.mark.parametrize("shape", [WIDE, TALL])
def test_square_matches_sklearn_ridge_and_lstsq(shape):
    X, y = _problem(shape)
    A = X / np.sqrt(shape[1])
    res = _over_ridges("square", X, y, RIDGES)
    assert np.all(np.asarray(res.converged)) and np.all(np.asarray(res.feasible))
    assert np.max(np.asarray(res.residual)) < 1e-10
    # ridge = 0: minimum-norm least squares (interpolator for n < d)
    np.testing.assert_allclose(SINGLE["square"](X, y, 0.0).weights, np.linalg.lstsq(A, y, rcond=None)[0], atol=1e-9)
    for k, ridge in enumerate(RIDGES):
        ref = Ridge(alpha=ridge, fit_intercept=False, solver="cholesky").fit(A, y).coef_
        assert _rel(res.weights[k], ref) < 1e-10


@pytest.mark.parametrize("shape", [WIDE, TALL])
def test_newton_with_square_loss_equals_closed_form(shape):
    """fit_smooth (Newton, both the d x d and the kernel form) reproduces fit_square, including
    the minimum-norm interpolator at ridge = 0, n < d (the kernel iterates stay in the row space)."""
    X, y = _problem(shape)
    for ridge in (0.0, 1e-3, 1.0):
        newton = fit_smooth(X, y, ridge, square_loss, tol=1e-12)
        closed = fit_square(X, y, ridge)
        assert bool(newton.converged) and bool(newton.feasible)
        assert _rel(newton.weights, closed.weights) < 1e-9


# --------------------------------------------------------------------------- logistic


def _sklearn_logistic(A, y, ridge):
    if ridge == 0:
        new_api = tuple(int(p) for p in sklearn.__version__.split(".")[:2]) >= (1, 8)
        penalty = {"C": np.inf} if new_api else {"penalty": None}
    else:
        penalty = {"C": 1 / ridge}
    model = LogisticRegression(fit_intercept=False, solver="newton-cholesky", tol=1e-12, max_iter=500, **penalty)
    return model.fit(A, y).coef_[0]


@pytest.mark.parametrize("shape", [WIDE, TALL])
def test_logistic_matches_sklearn(shape):
    X, y = _problem(shape)
    A = X / np.sqrt(shape[1])
    res = _over_ridges("logistic", X, y, RIDGES)
    assert np.all(np.asarray(res.converged)) and np.all(np.asarray(res.feasible))
    for k, ridge in enumerate(RIDGES):
        assert _rel(res.weights[k], _sklearn_logistic(A, y, ridge)) < 1e-8, ridge


def test_logistic_gradient_certificate():
    """The gradient of the objective at the returned weights, computed independently in NumPy."""
    X, y = _problem(TALL)
    A = X / np.sqrt(TALL[1])
    res = _over_ridges("logistic", X, y, RIDGES)
    g0 = np.linalg.norm(A.T @ y) / 2
    for k, ridge in enumerate(RIDGES):
        w = np.asarray(res.weights[k])
        t = y * (A @ w)
        grad = A.T @ (-y / (1 + np.exp(t))) + ridge * w
        assert np.linalg.norm(grad) / g0 < 1e-10
        assert float(res.residual[k]) < 1e-12


def test_logistic_unpenalised_nonseparable_converges_to_the_mle():
    X, y = _problem(TALL, labels="random", seed=3)  # n = 4d, random labels: not separable
    res = SINGLE["logistic"](X, y, 0.0)
    assert bool(res.converged) and bool(res.feasible)
    assert _rel(res.weights, _sklearn_logistic(X / np.sqrt(TALL[1]), y, 0.0)) < 1e-8


@pytest.mark.parametrize("shape", [WIDE, TALL])
def test_logistic_unpenalised_separable_is_infeasible(shape):
    X, y = _problem(shape, labels="sign")  # a sign teacher's labels are always separable
    res = SINGLE["logistic"](X, y, 0.0)
    assert not bool(res.feasible) and not bool(res.converged)
    # the certificate of separability: every training margin of the last iterate is positive
    assert np.min(y * (X @ np.asarray(res.weights))) > 0


def test_logistic_loss_is_overflow_free():
    t = jnp.array([-1e4, -50.0, 0.0, 50.0, 1e4])
    value = logistic_loss(t)
    slope = jax.vmap(jax.grad(logistic_loss))(t)
    curvature = jax.vmap(jax.grad(jax.grad(logistic_loss)))(t)
    np.testing.assert_allclose(value, [1e4, 50.0, np.log(2), np.exp(-50.0), 0.0], rtol=1e-14)
    np.testing.assert_allclose(slope, [-1.0, -1.0, -0.5, -np.exp(-50.0), 0.0], rtol=1e-14)
    assert np.all(np.isfinite(curvature)) and np.all(np.asarray(curvature) >= 0)


# --------------------------------------------------------------------------- hinge


@pytest.mark.parametrize("shape", [WIDE, TALL])
def test_hinge_matches_liblinear_and_exact_kkt_solution(shape):
    X, y = _problem(shape)
    A = X / np.sqrt(shape[1])
    res = _over_ridges("hinge", X, y, RIDGES)
    assert np.all(np.asarray(res.converged)) and np.all(np.asarray(res.feasible))
    assert np.max(np.asarray(res.residual)) <= 1e-10
    for k, ridge in enumerate(RIDGES):
        w = np.asarray(res.weights[k])
        assert _rel(w, _liblinear_hinge(A, y, ridge)) < 1e-8, ridge
        assert _rel(w, _hinge_kkt_polish(A, y, ridge, w)) < 1e-8, ridge


def test_hinge_duality_gap_is_a_certificate():
    """Primal objective of the returned weights vs the best dual bound from the KKT polish."""
    X, y = _problem(TALL)
    A = X / np.sqrt(TALL[1])
    res = _over_ridges("hinge", X, y, RIDGES)
    for k, ridge in enumerate(RIDGES):
        w = np.asarray(res.weights[k])
        primal = lambda v: np.sum(np.maximum(0, 1 - y * (A @ v))) + ridge / 2 * v @ v
        exact = primal(_hinge_kkt_polish(A, y, ridge, w))
        assert -1e-12 * exact <= primal(w) - exact <= float(res.residual[k]) * primal(w) + 1e-12 * exact


# --------------------------------------------------------------------------- max-margin


@pytest.mark.parametrize("shape, labels", [(WIDE, "random"), (TALL, "sign")])
def test_max_margin_matches_hinge_liblinear_and_kkt(shape, labels):
    X, y = _problem(shape, labels=labels)
    A = X / np.sqrt(shape[1])
    res = SINGLE["max_margin"](X, y, 0.0)
    assert bool(res.converged) and bool(res.feasible) and float(res.residual) <= 1e-10
    w = np.asarray(res.weights)
    t = y * (A @ w)
    assert abs(t.min() - 1) < 1e-12  # primal feasible, the closest points exactly on the margin
    # KKT: w is a non-negative combination of the support vectors (margin 1)
    support = t < 1 + 1e-7
    assert support.sum() <= shape[1]
    B = y[:, None] * A
    coef, resid = nnls(B[support].T, w)
    assert resid < 1e-8 * np.linalg.norm(w)
    # the hard-margin solution is the hinge solution for a small enough ridge (<= 1 / max a)
    ridge = 0.5 / coef.max()
    hinge = SINGLE["hinge"](X, y, ridge)
    assert _rel(hinge.weights, w) < 1e-8
    assert _rel(_liblinear_hinge(A, y, ridge), w) < 1e-8


def test_ridge_is_validated():
    X, y = _problem(WIDE)
    with pytest.raises(ValueError, match="ridge"):
        fit_hinge(X, y, 0.0)
    with pytest.raises(ValueError, match="ridge"):
        fit_logistic(X, y, -1.0)
    with pytest.raises(ValueError, match="shape"):
        fit_square(X, y[:-1], 1.0)


def test_max_margin_nonseparable_is_infeasible():
    X, y = _problem((120, 40), labels="random", seed=1)  # n = 3d random labels
    res = SINGLE["max_margin"](X, y, 0.0)
    assert not bool(res.feasible) and not bool(res.converged)
    assert np.isinf(float(res.residual))


def test_separability_detection_agrees_with_linear_programming():
    """Random labels at the capacity n = 2d (separable with probability 1/2, Cover): max-margin
    is feasible exactly for the seeds where the LP ``y x . w >= 1`` is, and unpenalised
    logistic regression has an MLE exactly for the others."""
    n, d, seeds = 40, 20, 12
    rng = np.random.default_rng(7)
    X = rng.standard_normal((seeds, n, d))
    y = rng.choice([-1.0, 1.0], (seeds, n))
    B = y[..., None] * X
    lp = [linprog(np.zeros(d), A_ub=-B[s], b_ub=-np.ones(n), bounds=(None, None)) for s in range(seeds)]
    separable = np.array([res.status == 0 for res in lp])
    assert 0 < separable.sum() < seeds
    zero = np.zeros(seeds)
    mm = BATCHED["max_margin"](X, y, zero)
    mle = BATCHED["logistic"](X, y, zero)
    np.testing.assert_array_equal(np.asarray(mm.feasible), separable)
    np.testing.assert_array_equal(np.asarray(mm.converged), separable)
    np.testing.assert_array_equal(np.asarray(mle.feasible), ~separable)
    np.testing.assert_array_equal(np.asarray(mle.converged), ~separable)


# --------------------------------------------------------------------------- vmap


def test_vmap_over_seeds_equals_separate_calls():
    """Five seeds (each with its own ridge) in one vmapped call vs five calls; max-margin on
    separable (sign teacher) and non-separable (random labels) seeds in the same batch."""
    labels = ["noisy"] * len(RIDGES)
    labels_mm = ["sign", "random", "sign", "random", "sign"]
    for name in SINGLE:
        names = labels_mm if name == "max_margin" else labels
        data = [_problem(TALL, labels=lab, seed=s) for s, lab in enumerate(names)]
        X, y = (np.stack(a) for a in zip(*data))
        batched = BATCHED[name](X, y, RIDGES)
        assert isinstance(batched, FitResult) and batched.weights.shape == (len(RIDGES), TALL[1])
        for s, ridge in enumerate(RIDGES):
            single = SINGLE[name](X[s], y[s], ridge)
            assert bool(batched.feasible[s]) == bool(single.feasible), name
            assert bool(batched.converged[s]) == bool(single.converged), name
            if bool(single.feasible):
                np.testing.assert_allclose(batched.weights[s], single.weights, rtol=1e-9, atol=1e-12, err_msg=name)
        if name == "max_margin":
            np.testing.assert_array_equal(np.asarray(batched.feasible), [lab == "sign" for lab in labels_mm])
