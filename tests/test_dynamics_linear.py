"""GF / GD dynamics of linear least squares (overparam_theory.dynamics.linear).

Three kinds of checks: exact limits / closed forms (t = 0, small-t Taylor series, t -> inf equal
to ``ridge.theory(ridge=0)``, Sigma = I through the anisotropic contour route equal to the MP
quadrature, GD -> GF as lr -> 0 at rate O(lr)); Monte Carlo at finite dim (z-scores of seed
means, |z| < 4); hypothesis properties (monotonicity, Ali et al.'s GF-vs-ridge bounds).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from overparam_theory import ridge, spectra
from overparam_theory.dynamics import linear
from overparam_theory.numerics.fixed_point import ConvergenceError, ConvergenceWarning

TWO_LEVEL = spectra.two_level(0.3, 1.0, 0.02)
TP = np.array([0.5, 0.5])
# Epoch-wise double descent (docs/theory/linear_dynamics.md): 70% fast features (eigenvalue 1)
# with teacher power 0.05, 30% slow features (eigenvalue 0.01) with teacher power 3, alpha = 3.
EDD = dict(alpha=3.0, noise=0.1, spectrum=spectra.two_level(0.7, 1.0, 0.01), teacher_power=np.array([0.05, 3.0]))


# ------------------------------------------------------------------------------------------
# Limits and closed forms


@pytest.mark.parametrize("alpha", [0.4, 2.5])
def test_initial_values(alpha):
    t = np.array([0.0])
    for kw in (dict(signal=1.7), dict(spectrum=TWO_LEVEL, teacher_power=TP)):
        th = linear.theory(time=t, alpha=alpha, noise=0.3, **kw)
        b0 = 1.7 if "signal" in kw else float(np.sum(TP * TWO_LEVEL.eigenvalues))
        np.testing.assert_allclose(th.bias, b0, rtol=1e-12)
        np.testing.assert_allclose(th.variance, 0.0, atol=1e-14)
        np.testing.assert_allclose(th.risk, b0 + 0.3, rtol=1e-12)
        np.testing.assert_allclose(th.train_error, b0 + 0.3, rtol=1e-12)  # (1/n)|y|^2


@pytest.mark.parametrize("alpha", [0.3, 0.5, 0.9, 1.3, 3.0])
def test_small_time_taylor_series(alpha):
    """bias = r^2 int e^{-2ts} dmu = r^2 (1 - 2t E s + 2 t^2 E s^2 - 4/3 t^3 E s^3 + ...),
    MP moments E s = 1, E s^2 = 1 + gamma, E s^3 = 1 + 3 gamma + gamma^2."""
    g = 1.0 / alpha
    t = np.array([1e-3, 3e-3])
    th = linear.theory(time=t, alpha=alpha, noise=0.0, signal=1.0)
    m1, m2, m3 = 1.0, 1.0 + g, 1.0 + 3 * g + g * g
    ref = 1.0 - 2 * t * m1 + 2 * t**2 * m2 - (4.0 / 3.0) * t**3 * m3
    # next term (2/3) t^4 E s^4, with E s^4 <= (1 + sqrt gamma)^8
    assert np.all(np.abs(th.bias - ref) <= (2.0 / 3.0) * t**4 * (1 + np.sqrt(g)) ** 8 + 1e-14)


@pytest.mark.parametrize("alpha", [0.3, 0.7, 1.6, 4.0])
def test_infinite_time_is_min_norm_least_squares_isotropic(alpha):
    t = np.array([np.inf, 1e7])
    th = linear.theory(time=t, alpha=alpha, noise=0.4, signal=1.3)
    r = ridge.theory(alpha=alpha, ridge=0.0, noise=0.4, signal=1.3)
    for f in ("bias", "variance", "excess_risk", "train_error"):
        np.testing.assert_allclose(getattr(th, f), getattr(r, f), rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("alpha", [0.5, 0.8, 2.0])
def test_infinite_time_is_min_norm_least_squares_two_level(alpha):
    th = linear.theory(time=np.array([np.inf]), alpha=alpha, noise=0.3, spectrum=TWO_LEVEL, teacher_power=TP)
    r = ridge.theory(alpha=alpha, ridge=0.0, noise=0.3, spectrum=TWO_LEVEL, teacher_power=TP)
    for f in ("bias", "variance", "excess_risk", "train_error"):
        np.testing.assert_allclose(getattr(th, f)[..., 0], getattr(r, f), rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("learning_rate", [None, 0.25])
@pytest.mark.parametrize("alpha", [0.4, 2.0])
def test_identity_spectrum_contour_equals_mp_quadrature(alpha, learning_rate):
    t = np.array([0.0, 0.5, 2.0, 10.0, 100.0, np.inf])
    kw = dict(time=t, alpha=alpha, noise=0.3, learning_rate=learning_rate)
    iso = linear.theory(signal=1.0, **kw)
    con = linear.theory(spectrum=spectra.identity(), **kw)
    for f in linear.FIELDS:
        np.testing.assert_allclose(getattr(con, f), getattr(iso, f), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("spectrum", [None, TWO_LEVEL])
def test_gd_tends_to_gf_at_rate_lr(spectrum):
    t = np.array([0.5, 2.0, 8.0])
    kw = dict(time=t, alpha=0.8, noise=0.3) | (dict(spectrum=spectrum, teacher_power=TP) if spectrum else {})
    gf = linear.theory(**kw).excess_risk
    err = [np.max(np.abs(linear.theory(learning_rate=lr, **kw).excess_risk - gf)) for lr in (0.01, 0.005)]
    assert err[0] < 3e-3
    np.testing.assert_allclose(err[0] / err[1], 2.0, rtol=0.05)  # first-order convergence in lr


def test_gd_divergence_is_flagged_never_silent():
    t = np.array([0.0, 0.8, 1.6])
    # isotropic alpha = 2: s_max = (1 + sqrt(1/2))^2 = 2.914; lr = 0.8 gives lr s_max = 2.33 > 2
    with pytest.warns(ConvergenceWarning):
        th = linear.theory(time=t, alpha=2.0, noise=0.3, learning_rate=0.8)
    assert not th.stable.any() and not th.converged.any() and np.isnan(th.risk).all()
    np.testing.assert_allclose(th.max_eigenvalue, (1 + np.sqrt(0.5)) ** 2, rtol=1e-12)
    with pytest.raises(ConvergenceError):
        linear.theory(time=t, alpha=2.0, noise=0.3, learning_rate=0.8, on_failure="raise")
    with pytest.raises(ConvergenceError):
        linear.theory(time=2 * t, alpha=0.8, noise=0.3, learning_rate=1.6, spectrum=TWO_LEVEL, on_failure="raise")
    ok = linear.theory(time=t, alpha=2.0, noise=0.3, learning_rate=0.4)  # lr s_max = 1.17: stable
    assert ok.stable.all() and np.isfinite(ok.risk).all()


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(time=[0.1], alpha=0.0), "alpha"),
        (dict(time=[-1.0], alpha=1.0), "time"),
        (dict(time=[0.1], alpha=1.0, noise=-1), "noise"),
        (dict(time=[0.15], alpha=1.0, learning_rate=0.1), "time"),
        (dict(time=[0.1], alpha=1.0, learning_rate=-0.1), "learning_rate"),
        (dict(time=[0.1], alpha=1.0, learning_rate=[0.1, 0.2]), "learning_rate"),
        (dict(time=[0.1], alpha=1.0, teacher_power=[1.0]), "teacher_power"),
        (dict(time=[0.1], alpha=1.0, n_nodes=100), "n_nodes"),
        (dict(time=[0.1], alpha=1.0, spectrum=spectra.two_level(0.5, 1.0, 0.0)), "spectrum"),
    ],
)
def test_bad_input_names_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        linear.theory(**kwargs)


def test_shapes_float32_and_names():
    t = np.array([[0.1, 1.0, 10.0], [0.2, 2.0, 20.0]])
    th = linear.theory(time=t, alpha=np.array([[0.5], [2.0]]), noise=np.array([0.1, 0.2]))
    assert th.risk.shape == (2, 2, 2, 3) and th.max_eigenvalue.shape == (2, 2)
    np.testing.assert_allclose(th.risk[1, 0], linear.theory(time=t, alpha=2.0, noise=0.1).risk, rtol=1e-14)
    f32 = linear.theory(time=t[0], alpha=2.0, noise=0.3, dtype="float32")
    f64 = linear.theory(time=t[0], alpha=2.0, noise=0.3)
    assert f32.risk.dtype == np.float32 and f64.risk.dtype == np.float64
    np.testing.assert_allclose(f32.risk, f64.risk, rtol=1e-5)
    assert linear.FIELDS == ("risk", "excess_risk", "bias", "variance", "train_error")


def test_spec_and_command_line_options():
    """The declaration: simulate's dim default is the spec's; --spectrum / --teacher build the
    ridge data model's keywords (a power-law teacher takes signal out of the grid); a one-element
    learning rate (the command line's) equals the number."""
    import argparse

    from overparam_theory.numerics.spectra_cli import build_spectrum_teacher, parse_spectrum

    assert linear.SPEC.dim == 200 and linear.SPEC.param("dim").default == 200 and linear.SPEC.time_axis == "time"
    grid = {"alpha": np.array([0.5]), "signal": np.array([2.0])}
    kw = linear.SPEC.cli_build({"spectrum": parse_spectrum("two-level:0.25,4,0.5"), "teacher": "power-law:1"}, grid)
    assert "signal" not in grid and np.isclose(kw["teacher_power"].sum(), 2.0)
    th = linear.theory(time=[0.0, 1.0], alpha=0.5, noise=0.1, **kw)
    np.testing.assert_allclose(th.bias[0], np.sum(kw["teacher_power"] * kw["spectrum"].eigenvalues), rtol=1e-12)
    assert build_spectrum_teacher({"spectrum": "identity", "teacher": "isotropic"}, grid) == {}
    with pytest.raises(ValueError, match="anisotropic"):
        build_spectrum_teacher({"teacher": "power-law:1"}, {})
    with pytest.raises(argparse.ArgumentTypeError):
        parse_spectrum("two-level:0.5")
    t = np.array([0.0, 0.5, 2.0])
    one = linear.theory(time=t, alpha=2.0, noise=0.3, learning_rate=np.array([0.25]))
    np.testing.assert_array_equal(one.risk, linear.theory(time=t, alpha=2.0, noise=0.3, learning_rate=0.25).risk)


# ------------------------------------------------------------------------------------------
# Properties (hypothesis)

alphas = st.floats(0.2, 5.0).filter(lambda a: abs(a - 1.0) > 0.05)


@settings(max_examples=20)
@given(alpha=alphas, noise=st.floats(0.0, 2.0), signal=st.floats(0.1, 3.0))
def test_isotropic_monotonicity(alpha, noise, signal):
    t = np.geomspace(1e-2, 1e3, 40)
    th = linear.theory(time=t, alpha=alpha, noise=noise, signal=signal)
    scale = signal + noise
    assert np.all(np.diff(th.bias) <= 1e-12 * scale)  # phi^2 decreasing in t for every s
    assert np.all(np.diff(th.variance) >= -1e-12 * scale)  # chi increasing in t for every s
    assert np.all(np.diff(th.train_error) <= 1e-12 * scale)  # GF decreases the training loss
    assert np.all(th.train_error <= th.risk + 1e-12)


@settings(max_examples=20)
@given(alpha=alphas, noise=st.floats(0.01, 2.0), signal=st.floats(0.1, 3.0), t=st.floats(0.01, 100.0))
def test_ali_kolter_tibshirani_gf_within_1_69_of_ridge_at_lambda_1_over_t(alpha, noise, signal, t):
    """Ali et al. (2019), main relative-risk bound: with lambda = 1/t, Risk_GF(t) <= 1.6862 Risk_ridge(1/t)
    (isotropic prior on beta; the asymptotic statement for Sigma = I)."""
    gf = linear.theory(time=np.array([t]), alpha=alpha, noise=noise, signal=signal).excess_risk[0]
    rr = ridge.theory(alpha=alpha, ridge=1.0 / t, noise=noise, signal=signal).excess_risk
    assert gf <= 1.6862 * rr * (1 + 1e-9)


@settings(max_examples=5)
@given(alpha=alphas, noise=st.floats(0.05, 2.0), signal=st.floats(0.1, 3.0))
def test_early_stopping_vs_dense_grid_and_optimal_ridge(alpha, noise, signal):
    es = linear.early_stopping(alpha=alpha, noise=noise, signal=signal)
    t = np.geomspace(1e-3, 1e5, 1024)
    dense = linear.theory(time=t, alpha=alpha, noise=noise, signal=signal).excess_risk
    assert es.excess_risk <= dense.min() + 1e-10
    assert es.excess_risk >= dense.min() - 1e-3 * dense.min()  # the grid is 1.8% apart in t
    # Ali et al. (2019), MP asymptotics: optimal GF risk is between 1 and 1.22 x optimal ridge risk
    lam_star = noise / (alpha * signal)  # optimal ridge sigma^2 gamma / r^2 (Dobriban & Wager 2018; Hastie et al. 2022)
    opt = ridge.theory(alpha=alpha, ridge=lam_star, noise=noise, signal=signal).excess_risk
    assert opt * (1 - 1e-9) <= es.excess_risk <= 1.22 * opt


def test_early_stopping_edge_cases():
    for alpha, limit in ((0.5, 0.5), (3.0, 0.0)):
        es = linear.early_stopping(alpha=alpha, noise=0.0, signal=1.0)
        assert np.isinf(es.time)  # without noise the risk decreases for ever
        np.testing.assert_allclose(es.excess_risk, limit, atol=1e-10)  # bias atom 1 - 1/gamma
    es0 = linear.early_stopping(alpha=2.0, noise=1.0, signal=0.0)
    assert es0.time == 0.0 and es0.excess_risk == 0.0


# ------------------------------------------------------------------------------------------
# Simulation


def test_explicit_gd_iteration_matches_eigen_route():
    rng = np.random.default_rng(0)
    n, d, lr = 30, 50, 0.05
    X = rng.standard_normal((n, d))
    y = X @ rng.standard_normal(d) / np.sqrt(d) + 0.3 * rng.standard_normal(n)
    w = np.zeros(d)
    traj = []
    for k in range(1, 201):
        w = w - lr * (X.T @ (X @ w) / n - X.T @ y / n)
        if k in (1, 10, 200):
            traj.append(w.copy())
    ours = np.asarray(linear.fit_gd(X, y, time=np.array([1, 10, 200]) * lr, learning_rate=lr))
    np.testing.assert_allclose(ours, np.array(traj), rtol=1e-9, atol=1e-12)
    # gradient flow: w(t) -> min-norm interpolator X^+ y as t -> inf
    gf = np.asarray(linear.fit_gd(X, y, time=np.array([np.inf])))[0]
    np.testing.assert_allclose(gf, np.linalg.pinv(X) @ y, rtol=1e-8, atol=1e-10)


def _z(sim_field, th_field, floor=0.0):
    return (sim_field.mean - th_field) / np.sqrt(sim_field.stderr**2 + floor**2)


def _check_sim(th, sim):
    zs = {}
    for f in linear.FIELDS:
        z = _z(getattr(sim, f), getattr(th, f), floor=1e-12)
        zs[f] = z
        assert np.all(np.abs(z) < 4), (f, z)
    return zs


def test_isotropic_theory_vs_simulation_shapes_and_seeds():
    """Fast: dim = 120, alpha = 0.5 (n = 60: overparameterised, the kernel of S is never learned),
    noise in {0.2, 0.5}, n_seeds = 12, gradient flow at t = 0.3, 3, 30 (alpha = 2 and GD are
    simulated in the slow tests; the explicit GD iteration is checked above)."""
    kw = dict(time=np.array([0.3, 3.0, 30.0]), alpha=0.5, noise=np.array([0.2, 0.5]), signal=1.0)
    sim = linear.simulate(dim=120, n_seeds=12, seed=1, **kw)
    _check_sim(linear.theory(**kw), sim)
    assert sim.risk.mean.shape == (2, 3) and sim.risk.n_seeds == 12
    np.testing.assert_allclose(sim.risk.mean, sim.excess_risk.mean + np.array([0.2, 0.5])[:, None])
    again = linear.simulate(dim=120, n_seeds=12, seed=1, **kw)
    np.testing.assert_array_equal(sim.risk.mean, again.risk.mean)


def test_two_level_theory_vs_simulation():
    """Fast: dim = 120 (two-level spectrum 36 x 1.0 + 84 x 0.02), n_seeds = 12, alpha = 0.6."""
    kw = dict(time=np.array([1.0, 10.0, 100.0]), alpha=0.6, noise=0.3, spectrum=TWO_LEVEL, teacher_power=TP)
    _check_sim(linear.theory(**kw), linear.simulate(dim=120, n_seeds=12, seed=2, **kw))


# ------------------------------------------------------------------------------------------
# Epoch-wise double descent (Pezeshki et al. 2022)


def _local_minima(x):
    x = np.round(x, 12)  # ignore rounding-level wiggles on the final plateau
    return np.flatnonzero((x[1:-1] < x[:-2]) & (x[1:-1] <= x[2:])) + 1


def test_epochwise_double_descent_has_two_minima():
    t = np.geomspace(1e-2, 1e5, 200)
    r = linear.theory(time=t, **EDD).excess_risk  # same shape as risk = excess + noise
    m = _local_minima(r)
    assert len(m) == 2, t[m]
    peak = r[m[0] : m[1]].max()
    assert 0.5 < t[m[0]] < 5 and 50 < t[m[1]] < 500
    assert peak > 1.2 * r[m[0]] and peak > 1.2 * r[m[1]]  # a > 20% bump between the minima
    assert r[-1] > 1.1 * r[m[1]]  # and the late rise to the least-squares risk


# ------------------------------------------------------------------------------------------
# Slow statistical checks


@pytest.mark.slow
def test_finite_size_gap_shrinks_with_dim():
    """Isotropic, alpha = 0.7, noise = 0.5, t = 10, Rao-Blackwellised seeds (conditional=True):
    the seed mean minus theory at dim 20 (1600 seeds) vs dim 160 (200 seeds) shrinks like 1/d.
    Also: the conditional and realised estimators agree (dim 40, 400 seeds each)."""
    kw = dict(time=np.array([10.0]), alpha=0.7, noise=0.5, signal=1.0)
    th = linear.theory(**kw).excess_risk[0]
    gaps = {}
    for d, seeds in ((20, 1600), (160, 200)):
        sim = linear.simulate(dim=d, n_seeds=seeds, seed=11, conditional=True, **kw).excess_risk
        gaps[d] = (sim.mean[0] - th, sim.stderr[0])
    print("finite-size gaps (gap, stderr):", gaps)
    (g_s, e_s), (g_l, e_l) = gaps[20], gaps[160]
    assert abs(g_s) > 5 * e_s  # the O(1/d) bias is resolved at dim 20 ...
    assert abs(g_l) < abs(g_s) / 3  # ... and much smaller at dim 160
    assert abs(g_l - g_s * 20 / 160) < 4 * np.hypot(e_l, e_s * 20 / 160)  # consistent with 1/d
    real = linear.simulate(dim=40, n_seeds=400, seed=12, **kw).excess_risk
    cond = linear.simulate(dim=40, n_seeds=400, seed=13, conditional=True, **kw).excess_risk
    assert abs(real.mean[0] - cond.mean[0]) < 4 * np.hypot(real.stderr[0], cond.stderr[0])


@pytest.mark.slow
def test_isotropic_theory_vs_simulation_large():
    """dim = 500, n_seeds = 16, alpha in {0.5, 0.8, 2}, GF and GD (lr = 0.3), t = 0.3 .. 300
    (max |z| observed 3.17: the bias at alpha = 0.5, t = 0.3)."""
    t = np.array([0.3, 3.0, 30.0, 300.0])
    for lr in (None, 0.3):
        kw = dict(time=t, alpha=np.array([0.5, 0.8, 2.0]), noise=0.5, signal=1.0, learning_rate=lr)
        zs = _check_sim(linear.theory(**kw), linear.simulate(dim=500, n_seeds=16, seed=4, **kw))
        print("isotropic d=500 lr", lr, {f: np.round(z, 2).tolist() for f, z in zs.items()})


@pytest.mark.slow
def test_two_level_theory_vs_simulation_large():
    """dim = 500 (150 x 1.0 + 350 x 0.02), n_seeds = 16, alpha in {0.5, 0.8, 1.5}, t = 0.5 .. 500,
    gradient flow and gradient descent (lr = 0.5)."""
    t = np.array([0.5, 5.0, 50.0, 500.0])
    for lr in (None, 0.5):
        kw = dict(time=t, alpha=np.array([0.5, 0.8, 1.5]), noise=0.3, spectrum=TWO_LEVEL, teacher_power=TP,
                  learning_rate=lr)
        zs = _check_sim(linear.theory(**kw), linear.simulate(dim=500, n_seeds=16, seed=5, **kw))
        print("two-level d=500 lr", lr, {f: np.round(z, 2).tolist() for f, z in zs.items()})


@pytest.mark.slow
def test_epochwise_double_descent_simulation():
    t = np.array([1.1, 12.0, 170.0])
    th = linear.theory(time=t, **EDD)
    sim = linear.simulate(time=t, dim=500, n_seeds=16, seed=7, **EDD)
    z = _z(sim.risk, th.risk)
    assert np.all(np.abs(z) < 4), z
    assert sim.risk.mean[1] > sim.risk.mean[0] and sim.risk.mean[1] > sim.risk.mean[2]
