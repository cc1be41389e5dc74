"""mixtures.simulate and the finite-size estimators: exactness (scikit-learn), theory vs Monte Carlo (z-scores)."""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from overparam_theory import mixtures
from overparam_theory.compare import z_scores
from overparam_theory.estimators import fit

Z_MAX = 4.0


def _data(rng, n, d, noise, rho):
    y = np.where(rng.random(n) < rho, 1.0, -1.0)
    v = rng.standard_normal(d)
    v *= np.sqrt(d) / np.linalg.norm(v)
    X = y[:, None] * v[None, :] / np.sqrt(d) + np.sqrt(noise) * rng.standard_normal((n, d))
    return X, y


def _fit(X, y, ridge, **kw):
    with jax.enable_x64(True):
        kw.setdefault("tol", 1e-10)
        r = fit(jnp.asarray(X), jnp.asarray(y), ridge, **kw)
        return np.asarray(r.weights), float(r.bias), bool(r.converged), float(r.residual), bool(r.feasible)


def _z(sim, th, fields):
    return {f: z_scores(getattr(th, f), getattr(sim, f)) for f in fields}


# ------------------------------------------------------------------------------------ estimators


@pytest.mark.parametrize("n", [pytest.param(30, marks=pytest.mark.slow), 70])
def test_logistic_and_hinge_with_intercept_match_sklearn(n):
    """Unpenalised intercept: LogisticRegression(C=1/ridge, fit_intercept=True) and
    SVC(kernel='linear', C=1/ridge) on x/sqrt(d) (d = 40; n < d and n > d).  Observed agreement
    (relative, weights and bias): logistic 2e-16 (n=30) / 8e-12 (n=70) with sklearn's
    newton-cholesky at tol 1e-14; hinge 4e-8 / 5e-8, limited by libsvm's own tolerance (our
    relative duality gap is 2e-12 / 4e-12)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC

    rng = np.random.default_rng(n)
    d, lam = 40, 0.5
    X, y = _data(rng, n, d, 0.8, 0.3)
    A = X / np.sqrt(d)
    w, b, conv, _, _ = _fit(X, y, lam, loss="logistic", intercept=True)
    sk = LogisticRegression(C=1 / lam, fit_intercept=True, solver="newton-cholesky", tol=1e-14, max_iter=1000).fit(A, y)
    assert conv
    np.testing.assert_allclose(w, sk.coef_[0], rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(b, sk.intercept_[0], rtol=1e-9, atol=1e-10)
    w, b, conv, res, _ = _fit(X, y, lam, loss="hinge", intercept=True)
    sk = SVC(kernel="linear", C=1 / lam, tol=1e-12).fit(A, y)
    assert conv and res < 1e-9
    np.testing.assert_allclose(w, sk.coef_[0], rtol=1e-6, atol=1e-6 * np.abs(w).max())
    np.testing.assert_allclose(b, sk.intercept_[0], atol=1e-6)


def test_square_with_intercept_and_hard_margin_are_exact():
    """Square loss with free intercept equals the normal equations; the min-norm interpolator
    (ridge 0, n < d) interpolates; the hard-margin SVM with intercept equals SVC at huge C and has
    margin exactly 1 on its support vectors."""
    from sklearn.svm import SVC

    rng = np.random.default_rng(3)
    d, n, lam = 60, 35, 0.3
    X, y = _data(rng, n, d, 1.0, 0.4)
    A = X / np.sqrt(d)
    M = np.c_[A, np.ones(n)]
    sol = np.linalg.solve(M.T @ M + np.diag(np.r_[np.full(d, lam), 0.0]), M.T @ y)
    w, b, conv, _, _ = _fit(X, y, lam, loss="square", intercept=True)
    assert conv
    np.testing.assert_allclose(np.r_[w, b], sol, rtol=1e-10, atol=1e-12)
    w, b, conv, _, _ = _fit(X, y, 0.0, loss="square", intercept=True)
    np.testing.assert_allclose(A @ w + b, y, atol=1e-10)
    w, b, conv, res, feas = _fit(X, y, 0.0, loss="hinge", intercept=True, hard_margin=True)
    assert conv and feas and res < 1e-9
    margins = y * (A @ w + b)
    assert margins.min() > 1 - 1e-9
    sk = SVC(kernel="linear", C=1e8, tol=1e-12).fit(A, y)
    np.testing.assert_allclose(w, sk.coef_[0], rtol=1e-6, atol=1e-6 * np.abs(w).max())


def test_hard_margin_with_intercept_detects_non_separable_data():
    """The hull formulation of the hard-margin SVM with intercept is bounded on non-separable data
    (the class hulls intersect): it stops infeasible instead of diverging."""
    rng = np.random.default_rng(5)
    X, y = rng.standard_normal((120, 40)), np.where(rng.random(120) < 0.5, 1.0, -1.0)
    _, _, conv, res, feas = _fit(X, y, 0.0, loss="hinge", intercept=True, hard_margin=True)
    assert not feas and not conv and np.isinf(res)


def test_support_vector_abundance_max_margin_equals_min_norm():
    """Muthukumar et al. 2021: when every sample is a support vector the hard-margin SVM equals the
    min-norm interpolator of the +-1 labels (d = 2000, n = 12: d >> n log n)."""
    rng = np.random.default_rng(7)
    X, y = _data(rng, 12, 2000, 1.0, 0.5)
    w_mm, _, conv, _, feas = _fit(X, y, 0.0, loss="hinge", intercept=False, hard_margin=True)
    w_mn, _, _, _, _ = _fit(X, y, 0.0, loss="square", intercept=False)
    margins = y * (X @ w_mm / np.sqrt(2000))
    assert conv and feas and np.all(margins <= 1 + 1e-6)
    np.testing.assert_allclose(w_mm, w_mn, rtol=1e-7, atol=1e-9 * np.abs(w_mn).max())


# ------------------------------------------------------------------------------------ theory vs simulation


def test_theory_vs_simulation_square_intercept_d500():
    """d = 500, 8 seeds: square loss with intercept and imbalance 0.3 (|z| < 4 on every field)."""
    kw = dict(alpha=np.array([1.6]), ridge=0.1, loss="square", noise=0.5, imbalance=0.3, intercept=True)
    sim = mixtures.simulate(**kw, dim=500, n_seeds=8, seed=1)
    th = mixtures.theory(**kw)
    z = _z(sim, th, ("test_error", "train_loss", "m", "q", "bias", "cosine", "support_fraction"))
    assert all(np.all(np.abs(v) < Z_MAX) for v in z.values()), z


@pytest.mark.slow
def test_theory_vs_simulation_logistic_d500():
    """d = 500, 8 seeds: logistic, balanced, no intercept."""
    kw = dict(alpha=np.array([1.0]), ridge=0.1, loss="logistic", noise=0.5)
    sim = mixtures.simulate(**kw, dim=500, n_seeds=8, seed=2)
    th = mixtures.theory(**kw)
    z = _z(sim, th, ("test_error", "train_loss", "m", "q", "cosine"))
    assert all(np.all(np.abs(v) < Z_MAX) for v in z.values()), z
    assert np.all(sim.bias.mean == 0)


def test_simulate_bad_input():
    with pytest.raises(ValueError, match="dim"):
        mixtures.simulate(alpha=1.0, dim=1)
    with pytest.raises(ValueError, match="n_seeds"):
        mixtures.simulate(alpha=1.0, n_seeds=1)
    with pytest.raises(ValueError, match="ridge"):
        mixtures.simulate(alpha=[1.0, 2.0], ridge=[0.0, 0.1], loss="hinge")


@pytest.mark.slow
@pytest.mark.parametrize(
    "kw",
    [
        dict(loss="logistic", ridge=0.05, imbalance=0.3, intercept=True),
        dict(loss="hinge", ridge=0.05, imbalance=0.3, intercept=True),
        dict(loss="hinge", ridge=0.5, imbalance=0.5, intercept=False),
        dict(loss="square", ridge=1e-3, imbalance=0.7, intercept=False),
        dict(loss="logistic", ridge=0.0, imbalance=0.5, intercept=False),
    ],
)
def test_theory_vs_simulation_slow(kw):
    """d = 500, 16 seeds, two or three alphas per case (logistic ridge 0 only above alpha_s)."""
    if kw["ridge"] == 0:
        alpha = np.array([8.0, 12.0])  # above alpha_s(0.5) = 6.66: the MLE exists
    elif kw["loss"] == "hinge":
        alpha = np.array([0.5, 1.5])  # the n x n interior-point solves dominate the cost
    else:
        alpha = np.array([0.5, 1.5, 3.0])
    sim = mixtures.simulate(alpha=alpha, noise=0.5, dim=500, n_seeds=16, seed=5, **kw)
    th = mixtures.theory(alpha=alpha, noise=0.5, **kw)
    z = _z(sim, th, ("test_error", "train_loss", "m", "q", "bias", "cosine"))
    print(kw, {k: np.round(v, 2) for k, v in z.items()})
    assert all(np.all(np.abs(v[np.isfinite(v)]) < Z_MAX) for v in z.values()), z


@pytest.mark.slow
def test_max_margin_simulation_d500():
    """Hard-margin SVM (ridge 0) with intercept vs mixtures.max_margin, d = 500, 8 seeds."""
    alpha = np.array([0.5, 2.0])
    sim = mixtures.simulate(alpha=alpha, ridge=0.0, loss="hinge", noise=0.5, imbalance=0.3, intercept=True, dim=500, n_seeds=8, seed=9)
    mm = mixtures.max_margin(alpha=alpha, noise=0.5, imbalance=0.3, intercept=True)
    z = _z(sim, mm, ("test_error", "m", "q", "bias", "cosine", "support_fraction"))
    print(z)
    assert all(np.all(np.abs(v) < Z_MAX) for v in z.values()), z


@pytest.mark.slow
def test_finite_size_gap_shrinks_with_d():
    """Finite-size series (logistic with intercept, imbalance 0.3, alpha 2, ridge 0.05): the
    deviation of q from theory shrinks with d (O(1/d) bias plus O(1/sqrt(n_seeds d)) noise)."""
    kw = dict(alpha=2.0, ridge=0.05, loss="logistic", noise=0.5, imbalance=0.3, intercept=True)
    th = mixtures.theory(**kw)
    gaps, errs = [], []
    for d in (100, 200, 400, 800):
        sim = mixtures.simulate(**kw, dim=d, n_seeds=16, seed=d)
        gaps.append(abs(float(sim.q.mean) - float(th.q)))
        errs.append(float(sim.q.stderr))
    print("gaps", gaps, "stderr", errs)
    assert gaps[-1] < gaps[0] and gaps[-1] < 4 * errs[-1] + 1e-3


@pytest.mark.slow
def test_separability_threshold_vs_lp_feasibility():
    """Fraction of separable instances (LP feasibility of y(Aw + b) >= 1, HiGHS) crosses 1/2 near
    alpha_s: at d = 150, 20 instances, > 0.8 separable at 0.85 alpha_s and < 0.2 at 1.15 alpha_s."""
    from scipy.optimize import linprog

    rng = np.random.default_rng(11)
    noise, rho, d = 1.0, 0.3, 150
    for intercept in (False, True):
        a_s = float(mixtures.separability_threshold(noise=noise, imbalance=rho, intercept=intercept).alpha_s)
        frac = []
        for factor in (0.85, 1.15):
            n = int(round(factor * a_s * d))
            ok = 0
            for _ in range(20):
                X, y = _data(rng, n, d, noise, rho)
                M = y[:, None] * np.c_[X / np.sqrt(d), np.ones(n) if intercept else np.zeros(n)]
                r = linprog(np.zeros(d + 1), A_ub=-M, b_ub=-np.ones(n), bounds=[(None, None)] * (d + 1), method="highs")
                ok += r.status == 0
            frac.append(ok / 20)
        print(intercept, a_s, frac)
        assert frac[0] > 0.8 and frac[1] < 0.2


@pytest.mark.slow
def test_all_support_vectors_at_small_alpha():
    """simulate's all_support_vectors: 1 in every seed at alpha = 0.005 (d = 2000, n = 10), and the
    max-margin test error is the min-norm interpolator's."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mm = mixtures.simulate(alpha=0.005, ridge=0.0, loss="hinge", noise=1.0, dim=2000, n_seeds=8, seed=4)
        mn = mixtures.simulate(alpha=0.005, ridge=0.0, loss="square", noise=1.0, dim=2000, n_seeds=8, seed=4)
    assert float(mm.all_support_vectors.mean) == 1.0
    np.testing.assert_allclose(mm.test_error.mean, mn.test_error.mean, rtol=1e-6)
