"""Capacity, separability thresholds, logistic-MLE boundary and max-margin asymptotics
(overparam_theory.glm: capacity, separability, max-margin; docs/theory/glm.md).

Every known value is checked against an independent computation: closed forms, SciPy
quadrature + optimisation written here from the spec's formulas, Cover's exact combinatorics,
linear-programming separability at n = 400 and the exact max-margin QP (Lawson-Hanson least
distance programming through NNLS) at d = 400.
"""

import math
from fractions import Fraction

import jax
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy import integrate, optimize, special, stats

from overparam_theory.glm import (
    NotSeparableWarning,
    cover_separability_probability,
    gardner_capacity,
    logistic_mle_boundary,
    max_margin,
    separability_threshold,
)
from overparam_theory.numerics.fixed_point import ConvergenceWarning

QUAD = dict(epsabs=1e-14, epsrel=1e-13, limit=200)
# Calls below use batch size 2 (4 for the logistic threshold kernel) only: batches are padded to
# a power of two, and every new size is a new XLA compilation (seconds each on CPU).
_MLE_GAMMAS = np.array([0.0, 0.5, 2.0, 5.0])
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _phi(x):
    return _INV_SQRT_2PI * math.exp(-0.5 * x * x)


def _g(a):
    """E[(Z - a)_+^2] (closed form)."""
    return (1.0 + a * a) * 0.5 * math.erfc(a / math.sqrt(2.0)) - a * _phi(a)


def _expit(x):
    return 0.5 * (1.0 + math.tanh(0.5 * x))


# --------------------------------------------------------------------------------------------
# Gardner capacity and Cover's formula
# --------------------------------------------------------------------------------------------


def test_gardner_capacity_zero_margin_and_quadrature():
    res = gardner_capacity(margin=0.0)
    assert abs(float(res.alpha_c) - 2.0) < 1e-12
    assert float(res.support_vector_fraction) == 0.5
    kappas = np.array([0.05, 0.3, 1.0, 2.0, 4.0])
    res = gardner_capacity(margin=kappas)
    for kappa, alpha_c in zip(kappas, res.alpha_c):
        moment = integrate.quad(lambda t: (t + kappa) ** 2 * _phi(t), -kappa, np.inf, **QUAD)[0]
        assert alpha_c == pytest.approx(1.0 / moment, rel=1e-11)
    assert np.all(np.diff(res.alpha_c) < 0)


def _cover_exact(n, d):
    return Fraction(sum(math.comb(n - 1, k) for k in range(min(d, n))), 2 ** (n - 1))


def test_cover_probability_exact_values():
    d = np.array([1, 2, 7, 50, 1000])
    res = cover_separability_probability(n_samples=2 * d, dim=d)
    assert np.all(res.probability == 0.5)  # exactly, not to rounding
    assert np.allclose(res.log_probability, -math.log(2.0), rtol=0, atol=1e-15)
    res = cover_separability_probability(n_samples=[1, 5, 10], dim=10)
    assert np.all(res.probability == 1.0) and np.all(res.log_probability == 0.0)
    for n, dim in [(30, 7), (30, 23), (400, 150), (400, 250), (3000, 40), (20000, 100)]:
        exact = _cover_exact(n, dim)
        res = cover_separability_probability(n_samples=n, dim=dim)
        log_exact = math.log(exact.numerator) - math.log(exact.denominator)
        assert float(res.log_probability) == pytest.approx(log_exact, rel=1e-12, abs=1e-13)
        if log_exact > -700:
            assert float(res.probability) == pytest.approx(float(exact), rel=1e-12)
        else:  # underflows; the log stays finite
            assert float(res.probability) == 0.0 and np.isfinite(res.log_probability)


# --------------------------------------------------------------------------------------------
# Separability threshold
# --------------------------------------------------------------------------------------------


def _threshold_reference(p_plus):
    """1 / alpha_s = min_t 2 E_V[P_+(V) g(t V)] with SciPy quad + bounded Brent."""

    def F(t):
        f = lambda v: _phi(v) * p_plus(v) * _g(t * v)  # noqa: E731
        return 2.0 * (integrate.quad(f, -12, 0, **QUAD)[0] + integrate.quad(f, 0, 12, **QUAD)[0])

    res = optimize.minimize_scalar(F, bounds=(0.0, 30.0), method="bounded", options=dict(xatol=1e-11))
    return res.fun, res.x


def test_separability_special_values():
    res = separability_threshold(flip=[0.0, 0.5])
    assert res.alpha_s[0] == np.inf and res.t_opt[0] == np.inf and res.cosine[0] == 1.0
    assert abs(res.alpha_s[1] - 2.0) < 1e-12 and res.t_opt[1] == 0.0 and res.cosine[1] == 0.0
    assert np.all(res.converged)
    noise, signal = np.array([0.0, 0.3, 1.2, 0.0]), np.array([1.0, 1.0, 4.0, 3.0])
    for teacher in ("probit", "logistic"):
        if teacher == "probit":  # two batches of 2 (the size the other probit calls use)
            parts = [separability_threshold(teacher=teacher, noise=noise[i : i + 2], signal=signal[i : i + 2])
                     for i in (0, 2)]
            alpha_s = np.concatenate([r.alpha_s for r in parts])
            assert all(np.all(r.converged) for r in parts)
        else:
            res = separability_threshold(teacher=teacher, noise=noise, signal=signal)
            alpha_s = res.alpha_s
            assert np.all(res.converged)
        assert alpha_s[0] == np.inf and alpha_s[3] == np.inf  # noiseless
        assert alpha_s[1] == pytest.approx(alpha_s[2], rel=1e-13)  # only noise / signal matters
        assert 2.0 < alpha_s[1] < np.inf


def test_separability_threshold_against_scipy():
    flip, delta = 0.1, 0.3
    res = separability_threshold(flip=[flip, 0.5])
    value, t = _threshold_reference(lambda v: flip + (1 - 2 * flip) * (v > 0))
    assert res.alpha_s[0] == pytest.approx(1.0 / value, rel=1e-10)
    assert res.t_opt[0] == pytest.approx(t, rel=1e-5)
    res = separability_threshold(teacher="probit", noise=[delta, 0.0])
    value, t = _threshold_reference(lambda v: 0.5 * math.erfc(-v / math.sqrt(2.0 * delta)))
    assert res.alpha_s[0] == pytest.approx(1.0 / value, rel=1e-10)
    assert res.cosine[0] == pytest.approx(t / math.sqrt(1 + t * t), rel=1e-5)


# flips below ~1e-280 underflow (reported as not converged, see the docstring)
_FLIPS = st.one_of(st.just(0.0), st.floats(1e-250, 0.5))


@given(_FLIPS, _FLIPS)
@settings(max_examples=25)
def test_separability_threshold_decreases_with_flip(f1, f2):
    lo, hi = min(f1, f2), max(f1, f2)
    res = separability_threshold(flip=[lo, hi])
    assert np.all(res.converged)
    assert res.alpha_s[0] >= res.alpha_s[1] * (1 - 1e-12)
    assert res.alpha_s[1] >= 2.0 - 1e-12


# --------------------------------------------------------------------------------------------
# Logistic MLE existence boundary (Candès & Sur)
# --------------------------------------------------------------------------------------------


def test_logistic_mle_boundary_no_intercept():
    gammas = _MLE_GAMMAS
    res = logistic_mle_boundary(signal=gammas**2)
    assert np.all(res.converged)
    assert abs(res.kappa[0] - 0.5) < 1e-10 and res.alpha[0] == pytest.approx(2.0, abs=1e-10)
    for gamma, kappa in zip(gammas[1:], res.kappa[1:]):
        value, _ = _threshold_reference(lambda v: _expit(gamma * v))
        assert kappa == pytest.approx(value, rel=1e-10)
    assert np.all(np.diff(res.kappa) < 0)
    # same as the logistic teacher sigma(gamma V) of separability_threshold, in both scalings
    # (gamma = 2: noise = pi^2 / 12 at signal 1, or noise = pi^2 / 3 at signal = gamma^2 = 4)
    s = separability_threshold(teacher="logistic", noise=[math.pi**2 / 12, math.pi**2 / 3, 0, 0], signal=[1, 4, 1, 1])
    assert res.alpha[2] == pytest.approx(s.alpha_s[0], rel=1e-13)
    assert s.alpha_s[1] == pytest.approx(s.alpha_s[0], rel=1e-13)


def test_logistic_mle_boundary_intercept_against_scipy():
    beta0, gamma = 1.0, 2.0
    res = logistic_mle_boundary(signal=[0.0, gamma**2], intercept=beta0)
    assert np.all(res.converged)

    def F(t):
        t0, t1 = t
        f = lambda v: _phi(v) * (  # noqa: E731
            _expit(beta0 + gamma * v) * _g(t0 + t1 * v) + _expit(-beta0 - gamma * v) * _g(-t0 - t1 * v)
        )
        return integrate.quad(f, -12, 12, points=[-beta0 / gamma], **QUAD)[0]

    ref = optimize.minimize(F, [0.3, 0.7], method="Nelder-Mead", options=dict(xatol=1e-10, fatol=1e-15, maxiter=2000))
    assert float(res.kappa[1]) == pytest.approx(ref.fun, rel=1e-9)
    assert float(res.t_intercept[1]) == pytest.approx(ref.x[0], abs=1e-5)
    assert float(res.t_slope[1]) == pytest.approx(ref.x[1], abs=1e-5)
    # gamma = 0: min over t0 of p g(t0) + (1 - p) g(-t0), with t1 = 0
    p = special.expit(beta0)
    ref0 = optimize.minimize_scalar(lambda t0: p * _g(t0) + (1 - p) * _g(-t0), bounds=(-5, 5), method="bounded",
                                    options=dict(xatol=1e-11))
    assert float(res.kappa[0]) == pytest.approx(ref0.fun, rel=1e-10)
    assert float(res.t_slope[0]) == pytest.approx(0.0, abs=1e-14)  # zero up to rounding (1.5e-33 seen)
    # intercept = 0 entries of an intercept call agree with the no-intercept formula
    both = logistic_mle_boundary(signal=gamma**2, intercept=[0.0, beta0])
    plain = logistic_mle_boundary(signal=_MLE_GAMMAS**2)
    assert both.kappa[0] == pytest.approx(plain.kappa[2], rel=1e-12)
    assert abs(both.t_intercept[0]) < 1e-10


def _lp_separable(X, y, intercept):
    """Strictly separable (by a hyperplane through the origin, or with a bias)?  LP (HiGHS):
    max t s.t. y (x.w + b) >= t, |w_j| <= 1, |b| <= 1e3, t <= 1; separable iff t* > 0."""
    n, p = X.shape
    A = np.hstack([X, np.ones((n, 1))]) if intercept else X
    k = A.shape[1]
    c = np.zeros(k + 1)
    c[-1] = -1.0
    A_ub = np.hstack([-(y[:, None] * A), np.ones((n, 1))])
    bounds = [(-1.0, 1.0)] * p + ([(-1e3, 1e3)] if intercept else []) + [(None, 1.0)]
    res = optimize.linprog(c, A_ub=A_ub, b_ub=np.zeros(n), bounds=bounds, method="highs")
    assert res.status == 0, res.message
    return -res.fun > 1e-7


@pytest.mark.parametrize("beta0", [0.0, 1.0])
def test_logistic_mle_boundary_matches_lp_separability(beta0):
    """The MLE exists iff the data are not separable: at n = 400 the fraction of separable
    data sets goes from ~0 to ~1 across p / n = h (+/- 0.06), which fixes the conventions
    (intercept enters as t0 * Y, gamma^2 = Var(x . beta))."""
    gamma, n, reps = 2.0, 400, 8
    if beta0 == 0:
        h = float(logistic_mle_boundary(signal=_MLE_GAMMAS**2).kappa[2])
    else:
        h = float(logistic_mle_boundary(signal=[0.0, gamma**2], intercept=beta0).kappa[1])
    rng = np.random.default_rng(7)
    fractions = []
    for kappa in (h - 0.06, h + 0.06):
        p = int(round(kappa * n))
        count = 0
        for _ in range(reps):
            X = rng.standard_normal((n, p))
            y = np.where(rng.random(n) < special.expit(beta0 + gamma * X[:, 0]), 1.0, -1.0)
            count += _lp_separable(X, y, intercept=beta0 != 0)
        fractions.append(count / reps)
    assert fractions[0] <= 0.25 and fractions[1] >= 0.75, (h, fractions)


# --------------------------------------------------------------------------------------------
# Max-margin classifier
# --------------------------------------------------------------------------------------------


def _max_margin_reference(alpha, flip=0.0, noise=0.0):
    """(kappa, R) from (1)-(2) with SciPy: brentq for kappa(R), then brentq on (2) in R."""

    def parts(R):
        s = math.sqrt(1 - R * R + noise)
        p_plus = lambda x: flip + (1 - 2 * flip) * 0.5 * math.erfc(-R * x / (s * math.sqrt(2.0)))  # noqa: E731
        d = lambda x: (1 - 2 * flip) * _phi(R * x / s) / s  # noqa: E731
        return p_plus, d

    def integral(f, k):
        pts = [-12.0] + ([0.0] if k > 0 else []) + [k]
        return sum(integrate.quad(lambda x: _phi(x) * f(x), a, b, **QUAD)[0] for a, b in zip(pts, pts[1:]))

    def kappa_of(R):
        p_plus, _ = parts(R)
        eq1 = lambda k: 2 * alpha * integral(lambda x: p_plus(x) * (k - x) ** 2, k) - (1 - R * R)  # noqa: E731
        return optimize.brentq(eq1, -8.0, 1.0 + 1.0 / math.sqrt(alpha), xtol=1e-15, rtol=1e-15)

    def eq2(R):
        k = kappa_of(R)
        _, d = parts(R)
        return 2 * alpha * integral(lambda x: d(x) * (k - x), k) - R

    R = optimize.brentq(eq2, 1e-4, 1 - 1e-4, xtol=1e-14, rtol=1e-14)
    return kappa_of(R), R


def test_max_margin_random_labels_is_gardner():
    alphas = np.array([0.25, 1.9])
    res = max_margin(alpha=alphas, flip=0.5)
    assert np.all(res.converged) and np.all(res.separable)
    assert np.all(res.cosine == 0.0)
    assert np.allclose(gardner_capacity(margin=res.margin).alpha_c, alphas, rtol=1e-8, atol=0)
    assert np.allclose(res.support_vector_fraction, stats.norm.cdf(res.margin), rtol=1e-10)
    assert np.allclose(res.clean_test_error, 0.5) and np.allclose(res.test_error, 0.5)


def test_max_margin_against_scipy_reference():
    res = max_margin(alpha=[2.0, 1.5], flip=[0.0, 0.05])
    res_probit = max_margin(alpha=[2.0, 1.5], teacher="probit", noise=0.2)
    for r, i, kw in [(res, 0, dict(alpha=2.0)), (res, 1, dict(alpha=1.5, flip=0.05)),
                     (res_probit, 1, dict(alpha=1.5, noise=0.2))]:
        kappa, R = _max_margin_reference(**kw)
        assert r.margin[i] == pytest.approx(kappa, rel=1e-9)
        assert r.cosine[i] == pytest.approx(R, rel=1e-8)
        assert r.residual[i] < 1e-10
    # observables in the section-1 normalisation
    assert np.allclose(res.q, 1 / res.margin**2) and np.allclose(res.m, res.cosine * np.sqrt(res.q))
    assert np.allclose(res.clean_test_error, np.arccos(res.cosine) / np.pi)
    assert res.test_error[1] == pytest.approx(0.05 + 0.9 * res.clean_test_error[1], rel=1e-14)
    rho = 0.2 / 1.0
    assert np.allclose(res_probit.test_error, np.arccos(res_probit.cosine / np.sqrt(1 + rho)) / np.pi, rtol=1e-13)


def test_max_margin_large_alpha_and_scalings():
    alphas = np.array([50.0, 100.0, 200.0, 1e4])
    res = [max_margin(alpha=alphas[i : i + 2]) for i in (0, 2)]
    res = jax.tree_util.tree_map(lambda a, b: np.concatenate([a, b]), *res)  # fields and diagnostics
    assert np.all(res.converged)
    assert np.allclose(res.clean_test_error * alphas, 0.5005, rtol=1e-2)
    assert np.allclose(res.clean_test_error * alphas, 0.5005, rtol=2e-3)  # measured: 0.50013-0.50049
    # probit / logistic: only noise / signal enters (kappa, R); m scales with sqrt(signal)
    for teacher in ("probit", "logistic"):
        r = max_margin(alpha=3.0, teacher=teacher, noise=[0.1, 0.4], signal=[1.0, 4.0])
        assert np.all(r.converged)
        assert r.margin[0] == pytest.approx(r.margin[1], rel=1e-12)
        assert r.cosine[0] == pytest.approx(r.cosine[1], rel=1e-12)
        assert r.m[1] == pytest.approx(2 * r.m[0], rel=1e-12)
        assert r.test_error[0] == pytest.approx(r.test_error[1], rel=1e-10)
        assert r.test_error[0] > r.clean_test_error[0]


def test_max_margin_separability_transition():
    flip = 0.1
    thr = separability_threshold(flip=[flip, 0.5])
    alpha_s = float(thr.alpha_s[0])
    near = max_margin(alpha=alpha_s * np.array([0.99, 0.999]), flip=flip)
    assert np.all(near.separable) and np.all(near.converged)
    assert np.all(np.diff(near.margin) < 0) and near.margin[-1] < 1e-3
    assert near.cosine[-1] == pytest.approx(float(thr.cosine[0]), abs=1e-4)
    sv_per_dim = near.support_vector_fraction * alpha_s * np.array([0.99, 0.999])
    assert np.all(sv_per_dim < 1) and sv_per_dim[-1] > 0.999
    # above the threshold: no max-margin solution
    alphas = alpha_s * np.array([0.5, 1.01])
    with pytest.warns(NotSeparableWarning, match="1 of 2"):
        res = max_margin(alpha=alphas, flip=flip)
    assert list(res.separable) == [True, False] and list(res.converged) == [True, False]
    for field in ("margin", "cosine", "m", "q", "clean_test_error", "test_error", "support_vector_fraction"):
        values = getattr(res, field)
        assert np.isfinite(values[0]) and np.isnan(values[1]), field
    with pytest.raises(ValueError, match="not linearly separable"):
        max_margin(alpha=alphas, flip=flip, on_failure="raise")
    quiet = max_margin(alpha=alphas, flip=flip, on_failure="ignore")
    assert not quiet.separable[1]
    # noiseless data are separable at every alpha; beyond the R grid (1 - R < 1e-12) -> not converged
    with pytest.warns(ConvergenceWarning):
        far = max_margin(alpha=[1e4, 1e7])
    assert list(far.converged) == [True, False] and np.all(far.separable)


def _ldp_max_margin(X, y):
    """Exact hard-margin SVM without bias: min |w|^2 s.t. y x.w / sqrt(d) >= 1 by least distance
    programming (Lawson & Hanson 1974, ch. 23) through NNLS."""
    n, d = X.shape
    E = np.vstack([(y[:, None] * X / np.sqrt(d)).T, np.ones((1, n))])
    f = np.zeros(d + 1)
    f[-1] = 1.0
    u, _ = optimize.nnls(E, f, maxiter=50 * n)
    r = E @ u - f
    return -r[:d] / r[d]


@pytest.mark.parametrize("case", [0, 1])
def test_max_margin_matches_finite_size_qp(case):
    alpha, flip = [(2.0, 0.0), (1.5, 0.05)][case]
    d, seeds = 400, 8
    n = int(alpha * d)
    theory = max_margin(alpha=[2.0, 1.5], flip=[0.0, 0.05])
    theory = type(theory)(*(np.asarray(f)[case] for f in theory))
    rng = np.random.default_rng(11)
    kappas, cosines, sv = [], [], []
    for _ in range(seeds):
        X = rng.standard_normal((n, d))
        w_star = rng.standard_normal(d)
        y = np.sign(X @ w_star)
        y = np.where(rng.random(n) < flip, -y, y)
        w = _ldp_max_margin(X, y)
        margins = y * (X @ w) / np.sqrt(d)
        assert margins.min() > 1 - 1e-8  # feasible (KKT: the active set has margin 1)
        kappas.append(np.min(y * (X @ w)) / np.linalg.norm(w))
        cosines.append(w @ w_star / (np.linalg.norm(w) * np.linalg.norm(w_star)))
        sv.append(np.mean(margins < 1 + 1e-6))
    for values, target in [(kappas, theory.margin), (cosines, theory.cosine), (sv, theory.support_vector_fraction)]:
        values = np.asarray(values)
        stderr = values.std(ddof=1) / np.sqrt(seeds)
        # 4 standard errors plus an O(1/d) allowance for the finite-size bias of the minimum margin
        assert abs(values.mean() - float(target)) < 4 * stderr + 0.01, (values.mean(), float(target), stderr)


# --------------------------------------------------------------------------------------------
# Input validation
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: gardner_capacity(margin=-0.1), "margin"),
        (lambda: gardner_capacity(margin=float("nan")), "margin"),
        (lambda: cover_separability_probability(n_samples=0, dim=3), "n_samples"),
        (lambda: cover_separability_probability(n_samples=10, dim=2.5), "dim"),
        (lambda: separability_threshold(flip=0.6), "flip"),
        (lambda: separability_threshold(teacher="probit", noise=-1.0), "noise"),
        (lambda: separability_threshold(noise=0.1), "noise must be 0 for the sign teacher"),
        (lambda: separability_threshold(teacher="gauss"), "teacher"),
        (lambda: separability_threshold(teacher="linear"), "teacher"),
        (lambda: separability_threshold(flip=0.1, signal=0.0), "signal"),
        (lambda: separability_threshold(flip=0.1, on_failure="maybe"), "on_failure"),
        (lambda: logistic_mle_boundary(signal=-1.0), "signal"),
        (lambda: logistic_mle_boundary(signal=1.0, intercept=float("inf")), "intercept"),
        (lambda: logistic_mle_boundary(signal=[1.0, 2.0], intercept=[0.0, 1.0, 2.0]), "broadcast"),
        (lambda: max_margin(alpha=0.0), "alpha"),
        (lambda: max_margin(alpha=-1.0), "alpha"),
        (lambda: max_margin(alpha=1.0, flip=-0.1), "flip"),
        (lambda: max_margin(alpha=1.0, teacher="probit", noise=float("inf")), "noise"),
    ],
)
def test_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.slow
def test_max_margin_logistic_and_probit_teachers_match_finite_size_qp():
    """Noisy pre-activation teachers (logistic in the sigma(beta z) form, probit) at d = 600."""
    d, seeds, alpha, noise = 600, 8, 2.0, 0.3
    n = int(alpha * d)
    rng = np.random.default_rng(5)
    for teacher in ("logistic", "probit"):
        theory = max_margin(alpha=alpha, teacher=teacher, noise=noise)
        kappas, cosines, errors = [], [], []
        for _ in range(seeds):
            X = rng.standard_normal((n, d))
            w_star = rng.standard_normal(d)
            w_star *= np.sqrt(d) / np.linalg.norm(w_star)  # signal = |w*|^2 / d = 1
            z = X @ w_star / np.sqrt(d)
            if teacher == "logistic":  # logistic noise of variance `noise`: scale sqrt(3 noise) / pi
                pre = z + math.sqrt(3 * noise) / math.pi * rng.logistic(size=n)
            else:
                pre = z + math.sqrt(noise) * rng.standard_normal(n)
            y = np.sign(pre)
            w = _ldp_max_margin(X, y)
            kappas.append(np.min(y * (X @ w)) / np.linalg.norm(w))
            cosines.append(w @ w_star / (np.linalg.norm(w) * np.linalg.norm(w_star)))
            # test error on fresh noisy labels
            Xt = rng.standard_normal((4000, d))
            zt = Xt @ w_star / np.sqrt(d)
            if teacher == "logistic":
                yt = np.sign(zt + math.sqrt(3 * noise) / math.pi * rng.logistic(size=4000))
            else:
                yt = np.sign(zt + math.sqrt(noise) * rng.standard_normal(4000))
            errors.append(np.mean(np.sign(Xt @ w) != yt))
        for values, target in [(kappas, theory.margin), (cosines, theory.cosine), (errors, theory.test_error)]:
            values = np.asarray(values)
            stderr = values.std(ddof=1) / np.sqrt(seeds)
            mean = values.mean()
            assert abs(mean - float(target)) < 4 * stderr + 0.01, (teacher, mean, float(target), stderr)


@pytest.mark.slow
def test_logistic_mle_boundary_lp_crossing_n600():
    """Finer finite-size check at n = 600: the separable fraction at p / n = h is near 1/2 and
    monotone across h +/- 0.04."""
    beta0, gamma, n, reps = 0.5, 1.0, 600, 12
    h = float(logistic_mle_boundary(signal=gamma**2, intercept=beta0).kappa)
    rng = np.random.default_rng(3)
    fractions = []
    for kappa in (h - 0.04, h, h + 0.04):
        p = int(round(kappa * n))
        count = 0
        for _ in range(reps):
            X = rng.standard_normal((n, p))
            y = np.where(rng.random(n) < special.expit(beta0 + gamma * X[:, 0]), 1.0, -1.0)
            count += _lp_separable(X, y, intercept=True)
        fractions.append(count / reps)
    assert fractions[0] < 0.3 and 0.15 < fractions[1] < 0.85 and fractions[2] > 0.7, (h, fractions)
