"""Ridge / min-norm theory against exact closed forms, limits and properties.

References: docs/theory/ridge.md sections 1-2 (HMRT 2022 Thms 1-2 and the Marchenko-Pastur
formulas; the deterministic equivalent).  Closed forms are evaluated with NumPy from the
textbook formulas; tiny-ridge references use mpmath at 50 digits.
"""

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from overparam_theory import ridge, spectra

RTOL = 1e-10


def spec_mp(alpha, lam, r2, s2):
    """The textbook Marchenko-Pastur forms of docs/theory/ridge.md (HMRT 2022 Thm 2) verbatim (float64; accurate for moderate lam)."""
    g = 1 / alpha
    a = 1 - g + lam
    D = np.sqrt(a * a + 4 * g * lam)
    m = 2 / (D + a) if a > 0 else (D - a) / (2 * g * lam)
    mp = m * (1 + g * m) / D
    return r2 * lam**2 * mp, s2 * g * (m - lam * mp), m


def mp_reference(alpha, lam, r2, s2):
    """The same formulas in 50-digit arithmetic (reference for tiny ridge)."""
    with mpmath.workdps(50):
        g, lam = 1 / mpmath.mpf(alpha), mpmath.mpf(lam)
        a = 1 - g + lam
        D = mpmath.sqrt(a * a + 4 * g * lam)
        m = (D - a) / (2 * g * lam)
        mp = m * (1 + g * m) / D
        return float(r2 * lam**2 * mp), float(s2 * g * (m - lam * mp))


@pytest.mark.parametrize("alpha", [0.2, 0.5, 0.9, 1.0, 1.1, 2.0, 10.0])
@pytest.mark.parametrize("lam", [1e-3, 0.1, 1.0, 30.0])
def test_isotropic_matches_spec_closed_form(alpha, lam):
    th = ridge.theory(alpha=alpha, ridge=lam, signal=1.3, noise=0.4)
    bias, var, m = spec_mp(alpha, lam, 1.3, 0.4)
    np.testing.assert_allclose(th.bias, bias, rtol=RTOL)
    np.testing.assert_allclose(th.variance, var, rtol=RTOL)
    np.testing.assert_allclose(th.excess_risk, bias + var, rtol=RTOL)
    # lam m(-lam) = kappa / (1 + kappa)
    kappa = float(th.effective_ridge)
    np.testing.assert_allclose(lam * m, kappa / (1 + kappa), rtol=RTOL)
    assert th.bias.dtype == np.float64


@pytest.mark.parametrize("alpha", [0.3, 0.5, 0.8])
@pytest.mark.parametrize("lam", [1e-6, 1e-10, 1e-13])
def test_tiny_ridge_is_free_of_cancellation(alpha, lam):
    """gamma = 1/alpha > 1: m - lam m' cancels in the spec's form; ours must stay exact."""
    th = ridge.theory(alpha=alpha, ridge=lam, signal=1.0, noise=1.0)
    bias, var = mp_reference(alpha, lam, 1.0, 1.0)
    np.testing.assert_allclose(th.bias, bias, rtol=RTOL)
    np.testing.assert_allclose(th.variance, var, rtol=RTOL)


def test_naive_formula_would_fail_at_tiny_ridge():
    """Documents the pitfall: the spec's form loses digits at lam = 1e-10 (so the test above bites)."""
    _, var_naive, _ = spec_mp(0.3, 1e-10, 1.0, 1.0)
    _, var_ref = mp_reference(0.3, 1e-10, 1.0, 1.0)
    assert abs(var_naive / var_ref - 1) > 1e-6  # measured 8e-6 (gamma = 3.3)


@pytest.mark.parametrize("alpha", [0.25, 0.5, 0.8, 1.25, 2.0, 5.0])
def test_ridgeless_branch_hmrt(alpha):
    r2, s2 = 1.7, 0.3
    g = 1 / alpha
    th = ridge.theory(alpha=alpha, ridge=0.0, signal=r2, noise=s2)
    if g < 1:
        bias, var, train = 0.0, s2 * g / (1 - g), s2 * (1 - g)
    else:
        bias, var, train = r2 * (1 - 1 / g), s2 / (g - 1), 0.0
    np.testing.assert_allclose([th.bias, th.variance, th.train_error], [bias, var, train], rtol=RTOL, atol=1e-15)
    # continuity: ridge -> 0+
    tiny = ridge.theory(alpha=alpha, ridge=1e-13, signal=r2, noise=s2)
    np.testing.assert_allclose(tiny.excess_risk, th.excess_risk, rtol=1e-9)
    np.testing.assert_allclose(tiny.train_error, th.train_error, rtol=1e-9, atol=1e-12)


def test_interpolation_threshold_is_inf_not_nan():
    th = ridge.theory(alpha=1.0, ridge=0.0, signal=1.0, noise=0.5)
    assert np.isinf(th.excess_risk) and np.isinf(th.variance) and th.bias == 0.0
    noiseless = ridge.theory(alpha=1.0, ridge=0.0, signal=1.0, noise=0.0)
    assert noiseless.excess_risk == 0.0
    aniso = ridge.theory(alpha=0.5, ridge=0.0, noise=0.5, spectrum=spectra.discrete([1.0, 0.0], weights=[0.5, 0.5]))
    assert np.isinf(aniso.excess_risk) and bool(aniso.converged)


def test_optimal_ridge_closed_form_and_minimum():
    alpha = np.array([0.3, 0.8, 1.0, 1.5, 4.0])
    r2, s2 = 1.2, 0.5
    opt = ridge.optimal_ridge(alpha=alpha, signal=r2, noise=s2)
    g = 1 / alpha
    lam_star = s2 * g / r2
    np.testing.assert_allclose(opt.ridge, lam_star, rtol=1e-15)
    m = np.array([spec_mp(a, l, r2, s2)[2] for a, l in zip(alpha, lam_star)])
    np.testing.assert_allclose(opt.excess_risk, s2 * g * m, rtol=RTOL)
    np.testing.assert_allclose(opt.excess_risk, r2 * lam_star * m, rtol=RTOL)
    for eps in (1e-3, -1e-3):
        other = ridge.theory(alpha=alpha, ridge=lam_star * (1 + eps), signal=r2, noise=s2)
        assert np.all(other.excess_risk > opt.excess_risk)
    with jax.enable_x64(True):
        slope = jax.vmap(jax.grad(lambda a, l: ridge.theory(alpha=a, ridge=l, signal=r2, noise=s2).excess_risk, 1))(
            jnp.asarray(alpha), jnp.asarray(lam_star)
        )
    assert np.max(np.abs(np.asarray(slope))) < 1e-12


def test_optimal_ridge_edge_cases():
    zero_signal = ridge.optimal_ridge(alpha=2.0, signal=0.0, noise=1.0)
    assert np.isinf(zero_signal.ridge) and zero_signal.excess_risk == 0.0 and zero_signal.train_error == 1.0
    zero_noise = ridge.optimal_ridge(alpha=0.5, signal=1.0, noise=0.0)
    assert zero_noise.ridge == 0.0
    np.testing.assert_allclose(zero_noise.excess_risk, 1 - 0.5, rtol=1e-14)


def test_numeric_optimum_matches_closed_form_on_identity_spectrum():
    alpha = np.array([0.4, 1.0, 3.0])
    exact = ridge.optimal_ridge(alpha=alpha, signal=1.0, noise=0.3)
    numeric = ridge.optimal_ridge(alpha=alpha, signal=1.0, noise=0.3, spectrum=spectra.identity())
    assert numeric.converged.all()
    np.testing.assert_allclose(numeric.ridge, exact.ridge, rtol=1e-7)
    np.testing.assert_allclose(numeric.excess_risk, exact.excess_risk, rtol=1e-12)


def test_numeric_optimum_is_a_minimum_for_anisotropic_teacher():
    sp = spectra.two_level(0.1, 10.0, 0.5)
    tp = np.array([0.9, 0.1])
    alpha = np.array([0.3, 2.0, 5.0])
    opt = ridge.optimal_ridge(alpha=alpha, noise=0.2, spectrum=sp, teacher_power=tp)
    assert opt.converged.all()
    # alpha = 0.3: the risk increases with ridge from ridge = 0 (checked on the grid below)
    assert opt.ridge[0] == 0.0 and np.all(opt.ridge[1:] > 0)
    grid = ridge.theory(alpha=alpha[:, None], ridge=np.logspace(-6, 3, 400), noise=0.2, spectrum=sp, teacher_power=tp)
    assert np.all(grid.excess_risk.min(axis=1) >= opt.excess_risk * (1 - 1e-12))
    for eps in (1e-2, -1e-2):
        other = ridge.theory(alpha=alpha[1:], ridge=opt.ridge[1:] * (1 + eps), noise=0.2, spectrum=sp, teacher_power=tp)
        assert np.all(other.excess_risk > opt.excess_risk[1:])


def test_misaligned_teacher_can_prefer_zero_ridge():
    """Teacher only on the weak direction of a spiked covariance: interpolation is optimal
    (negative optimal ridge, Kobak et al. 2020); we report ridge 0."""
    sp = spectra.two_level(0.05, 100.0, 0.01)
    opt = ridge.optimal_ridge(alpha=0.5, noise=0.0, spectrum=sp, teacher_power=[0.0, 1.0])
    ridgeless = ridge.theory(alpha=0.5, ridge=0.0, noise=0.0, spectrum=sp, teacher_power=[0.0, 1.0])
    assert bool(opt.converged)
    assert float(opt.excess_risk) <= float(ridgeless.excess_risk) * (1 + 1e-12)


# --- anisotropic deterministic equivalent --------------------------------------------------


@pytest.mark.parametrize("lam", [0.0, 1e-9, 1e-3, 0.5, 20.0])
def test_identity_spectrum_equals_isotropic(lam):
    alpha = np.array([0.2, 0.7, 0.999, 1.001, 1.5, 6.0])
    iso = ridge.theory(alpha=alpha, ridge=lam, signal=1.3, noise=0.4)
    ani = ridge.theory(alpha=alpha, ridge=lam, signal=1.3, noise=0.4, spectrum=spectra.identity())
    assert ani.converged.all()
    for f in ("excess_risk", "bias", "variance", "train_error", "effective_ridge"):
        np.testing.assert_allclose(getattr(ani, f), getattr(iso, f), rtol=RTOL, atol=1e-14, err_msg=f)


def brentq_reference(alpha, lam, s2, eig, w, tpow):
    """Independent implementation of the deterministic equivalent of docs/theory/ridge.md (scipy brentq)."""
    from scipy.optimize import brentq

    if lam == 0:
        g = lambda k: 1 - np.sum(w * eig / (eig + k)) / alpha
        kappa = brentq(g, 1e-14, np.sum(w * eig) / alpha + 1, xtol=1e-300, rtol=1e-15)
    else:
        g = lambda k: 1 - lam / k - np.sum(w * eig / (eig + k)) / alpha
        kappa = brentq(g, lam, lam + np.sum(w * eig) / alpha, xtol=1e-300, rtol=1e-15)
    df2 = np.sum(w * eig**2 / (eig + kappa) ** 2) / alpha
    bias = kappa**2 * np.sum(eig * tpow / (eig + kappa) ** 2) / (1 - df2)
    var = s2 * df2 / (1 - df2)
    return bias, var, kappa


@pytest.mark.parametrize("alpha,lam", [(0.3, 0.0), (0.3, 1e-2), (2.0, 1e-2), (5.0, 1.0), (0.05, 0.0)])
def test_two_level_matches_independent_solver(alpha, lam):
    sp = spectra.two_level(0.2, 5.0, 0.5)
    tpow = np.array([0.6, 0.4])
    th = ridge.theory(alpha=alpha, ridge=lam, noise=0.25, spectrum=sp, teacher_power=tpow)
    bias, var, kappa = brentq_reference(alpha, lam, 0.25, sp.eigenvalues, sp.weights, tpow)
    np.testing.assert_allclose([th.bias, th.variance, th.effective_ridge], [bias, var, kappa], rtol=1e-9)


def test_anisotropic_underparameterised_ridgeless():
    sp = spectra.power_law(200, 1.5)
    th = ridge.theory(alpha=3.0, ridge=0.0, noise=0.5, spectrum=sp)
    np.testing.assert_allclose([th.bias, th.variance], [0.0, 0.5 / (3.0 - 1.0)], rtol=1e-14)
    tiny = ridge.theory(alpha=3.0, ridge=1e-12, noise=0.5, spectrum=sp)
    np.testing.assert_allclose(tiny.excess_risk, th.excess_risk, rtol=1e-6)


def test_power_law_overparameterised_ridgeless_continuity():
    sp = spectra.power_law(2000, 1.5)
    tpow = np.arange(1, 2001.0) ** -1.0
    th0 = ridge.theory(alpha=0.25, ridge=0.0, noise=0.1, spectrum=sp, teacher_power=tpow)
    th1 = ridge.theory(alpha=0.25, ridge=1e-13, noise=0.1, spectrum=sp, teacher_power=tpow)
    assert th0.effective_ridge > 0 and th0.converged
    np.testing.assert_allclose(th1.excess_risk, th0.excess_risk, rtol=1e-7)
    assert th0.train_error == 0.0


def test_gradients_match_finite_differences():
    sp = spectra.two_level(0.3, 3.0, 0.2)
    f = lambda a, l: ridge.theory(alpha=a, ridge=l, noise=0.3, spectrum=sp).excess_risk
    with jax.enable_x64(True):
        for a, l in [(0.4, 1e-2), (1.7, 0.3), (0.4, 0.0)]:
            ga, gl = jax.grad(f, argnums=(0, 1))(a, l)
            h = 1e-6
            fd_a = (f(a + h, l) - f(a - h, l)) / (2 * h)
            assert abs(float(ga) / float(fd_a) - 1) < 1e-6
            if l > 0:
                fd_l = (f(a, l + h * l) - f(a, l - h * l)) / (2 * h * l)
                assert abs(float(gl) / float(fd_l) - 1) < 1e-6


def test_train_error_identity():
    """train = (ridge/kappa)^2 (R + noise) (the kernel identity of docs/theory/kernel.md mapped to the deterministic equivalent)."""
    th = ridge.theory(alpha=[0.5, 2.0], ridge=0.1, signal=1.0, noise=0.2)
    np.testing.assert_allclose(th.train_error, (0.1 / th.effective_ridge) ** 2 * (th.excess_risk + 0.2), rtol=1e-13)


# --- properties (hypothesis) ----------------------------------------------------------------

alphas = st.floats(0.05, 20.0).filter(lambda a: abs(a - 1) > 1e-3)
ridges = st.floats(1e-6, 1e3)


@given(alphas, ridges, st.floats(1.001, 3.0))
def test_bias_increases_variance_decreases_with_ridge(alpha, lam, factor):
    a = ridge.theory(alpha=alpha, ridge=[lam, lam * factor], signal=1.0, noise=1.0)
    assert a.bias[1] >= a.bias[0] * (1 - 1e-12)
    assert a.variance[1] <= a.variance[0] * (1 + 1e-12)
    sp = spectra.two_level(0.25, 4.0, 0.5)
    b = ridge.theory(alpha=alpha, ridge=[lam, lam * factor], noise=1.0, spectrum=sp, teacher_power=[0.3, 0.7])
    assert b.bias[1] >= b.bias[0] * (1 - 1e-10)
    assert b.variance[1] <= b.variance[0] * (1 + 1e-10)


@given(alphas, st.floats(0.0, 5.0), st.floats(0.0, 5.0))
def test_risk_tends_to_signal_at_infinite_ridge(alpha, r2, s2):
    th = ridge.theory(alpha=alpha, ridge=1e9, signal=r2, noise=s2)
    assert abs(float(th.excess_risk) - r2) <= 1e-7 * max(r2, 1.0) + 1e-7 * s2


@given(alphas, st.floats(0.1, 5.0), st.floats(0.01, 5.0), st.floats(1e-3, 0.5))
def test_optimum_is_a_minimum(alpha, r2, s2, rel):
    opt = ridge.optimal_ridge(alpha=alpha, signal=r2, noise=s2)
    around = ridge.theory(alpha=alpha, ridge=float(opt.ridge) * np.array([1 - rel, 1 + rel]), signal=r2, noise=s2)
    assert np.all(around.excess_risk >= opt.excess_risk * (1 - 1e-13))


@given(st.floats(0.05, 0.95), st.floats(0.0, 3.0), st.floats(0.01, 3.0))
def test_ridgeless_below_threshold_has_no_bias(alpha_over, r2, s2):
    th = ridge.theory(alpha=alpha_over, ridge=0.0, signal=r2, noise=s2)
    g = 1 / alpha_over
    np.testing.assert_allclose(th.excess_risk, r2 * (1 - 1 / g) + s2 / (g - 1), rtol=1e-13)


def test_broadcasting_shapes():
    th = ridge.theory(alpha=np.linspace(0.1, 3, 7)[:, None], ridge=np.logspace(-3, 1, 5), signal=1.0, noise=[[0.1]])
    for leaf in jax.tree_util.tree_leaves(th):  # every field and every diagnostic
        assert np.shape(leaf) == (7, 5)
    sp = spectra.two_level(0.5, 2.0, 0.5)
    ta = ridge.theory(alpha=np.linspace(0.1, 3, 4)[:, None, None], ridge=[0.0, 0.1], noise=[[0.1], [0.2], [0.3]], spectrum=sp)
    assert ta.excess_risk.shape == (4, 3, 2)
    assert ridge.theory(alpha=2.0).excess_risk.shape == ()


def test_float32_vs_float64():
    alpha = np.linspace(0.2, 3.0, 50)
    th64 = ridge.theory(alpha=alpha, ridge=1e-2, signal=1.0, noise=0.5)
    th32 = ridge.theory(alpha=alpha, ridge=1e-2, signal=1.0, noise=0.5, dtype="float32")
    assert th64.excess_risk.dtype == np.float64 and th32.excess_risk.dtype == np.float32
    np.testing.assert_allclose(th32.excess_risk, th64.excess_risk, rtol=1e-5)
    a32 = ridge.theory(alpha=alpha, ridge=1e-2, noise=0.5, spectrum=spectra.identity(), dtype="float32")
    assert a32.converged.all()
    np.testing.assert_allclose(a32.excess_risk, th64.excess_risk, rtol=1e-4)
    # float32 cannot resolve ridge 1e-10 against 1: the closed form keeps the ridgeless limit
    np.testing.assert_allclose(
        ridge.theory(alpha=0.5, ridge=1e-10, dtype="float32", noise=1.0).excess_risk, 1.5, rtol=1e-5
    )


def test_user_process_precision_untouched():
    ridge.theory(alpha=2.0, ridge=0.1)
    assert jnp.zeros(1).dtype == jnp.float32  # x64 only enabled inside the library call


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs,name",
    [
        (dict(alpha=-1.0), "alpha"),
        (dict(alpha=0.0), "alpha"),
        (dict(alpha=float("nan")), "alpha"),
        (dict(alpha=1.0, ridge=-0.1), "ridge"),
        (dict(alpha=1.0, ridge=float("nan")), "ridge"),
        (dict(alpha=1.0, noise=-1.0), "noise"),
        (dict(alpha=1.0, signal=float("inf")), "signal"),
        (dict(alpha=[1.0, 2.0], ridge=[0.1, 0.2, 0.3]), "incompatible shapes"),
        (dict(alpha=1.0, dtype="float16"), "dtype"),
        (dict(alpha=1.0, on_failure="explode"), "on_failure"),
        (dict(alpha=1.0, spectrum=spectra.identity(), teacher_power=[1.0, 2.0]), "teacher_power"),
        (dict(alpha=1.0, teacher_power=[1.0]), "teacher_power"),
        (dict(alpha=1.0, spectrum=spectra.identity(), teacher_power=[1.0], signal=1.0), "signal or teacher_power"),
        (dict(alpha=1.0, spectrum=[1.0, 2.0]), "spectrum"),
        (dict(alpha=1.0, spectrum=spectra.marchenko_pastur(0.5)), "discretize"),
        (dict(alpha=1.0, spectrum=spectra.DiscreteSpectrum(np.array([1.0]), np.array([0.5]))), "sum to 1"),
    ],
)
def test_bad_input_raises_value_error(kwargs, name):
    with pytest.raises(ValueError, match=name):
        ridge.theory(**kwargs)


def test_bad_input_messages_state_range():
    with pytest.raises(ValueError, match=r"alpha must be in \(0, inf\), got -1"):
        ridge.theory(alpha=-1.0)
    with pytest.raises(ValueError, match=r"ridge must be in \[0, inf\)"):
        ridge.optimal_ridge(alpha=1.0, noise=-1) if False else ridge.theory(alpha=1.0, ridge=-2)
    with pytest.raises(ValueError, match="noise"):
        ridge.optimal_ridge(alpha=1.0, noise=-1.0)


@pytest.mark.parametrize("lam", [1e100, 1e155, 1e300])
def test_huge_ridge_has_no_overflow(lam):
    """b^2 and kappa^2 overflow above ridge ~ 1e154 unless the formulas avoid them."""
    th = ridge.theory(alpha=1.0, ridge=lam, signal=1.0, noise=1.0)
    np.testing.assert_allclose([th.excess_risk, th.train_error], [1.0, 2.0], rtol=1e-12)
    sp = spectra.two_level(0.3, 2.0, 1.0)
    ta = ridge.theory(alpha=1.0, ridge=lam, signal=1.0, noise=1.0, spectrum=sp)
    np.testing.assert_allclose(ta.excess_risk, 0.3 * 2.0 + 0.7 * 1.0, rtol=1e-9)
