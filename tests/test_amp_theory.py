"""Bayes-optimal GLM state evolution (overparam_theory.amp): closed forms, known values,
independent SciPy references, properties and input validation."""

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize, special, stats

from overparam_theory import amp, ridge
from overparam_theory.amp import _theory
from overparam_theory.amp._channels import Channel, log_z_out
from overparam_theory.amp._priors import prior_moments
from overparam_theory.numerics.gaussian import erfcx, log_normal_cdf


def _sign_overlap_reference(alpha):
    """Gaussian-prior perceptron (BKMMZ eqs. (9)-(11)): q = q_hat/(1 + q_hat) by bracketing, quad in log space."""

    def q_hat(q):
        c = np.sqrt(q / (1 - q))

        def f(x):
            a = c * x
            return np.exp(2 * stats.norm.logpdf(a) - special.log_ndtr(a) - special.log_ndtr(-a)) * stats.norm.pdf(x)

        return alpha / (1 - q) * integrate.quad(f, -np.inf, np.inf, epsabs=0, epsrel=1e-13, limit=200)[0]

    return optimize.brentq(lambda q: q - q_hat(q) / (1 + q_hat(q)), 1e-12, 1 - 1e-12, xtol=1e-15)


def test_sign_perceptron_matches_spec_bracketing():
    alphas = [0.5, 1.0, 2.0, 4.0]
    res = amp.theory(alpha=alphas, channel="sign")
    ref = np.array([_sign_overlap_reference(a) for a in alphas])
    np.testing.assert_allclose(res.overlap, ref, rtol=1e-9)
    np.testing.assert_allclose(res.test_error, np.arccos(np.sqrt(ref)) / np.pi, rtol=1e-9)
    assert res.converged.all() and not res.coexistence.any()  # unique fixed point (spec)
    np.testing.assert_allclose(res.mmse, res.mse, rtol=0, atol=0)


def test_sign_perceptron_large_alpha_constant():
    """alpha * eps_BO -> 0.4417 (Gyorgyi & Tishby 1990; Opper & Haussler 1991)."""
    res = amp.theory(alpha=[100.0, 300.0, 1000.0], channel="sign")
    scaled = np.array([100.0, 300.0, 1000.0]) * res.test_error
    assert np.all(np.diff(scaled) > 0)  # approached from below
    assert abs(scaled[-1] - 0.4417) < 1e-4


@pytest.mark.parametrize("noise", [0.0, 0.25])
def test_flip_half_and_noise_are_consistent(noise):
    res = amp.theory(alpha=[1.0, 3.0], channel="sign", noise=noise, flip=[0.0, 0.5])
    # flip = 1/2: labels carry no information: q = 0, error 1/2
    assert res.overlap[1] == 0 and res.test_error[1] == 0.5
    assert res.converged.all()


def test_gaussian_linear_channel_is_bayes_optimal_ridge():
    """Gaussian prior N(0, v) + y = z + noise: the posterior mean is ridge with ridge = noise/(alpha v)
    in ridge.theory's convention; the MMSE equals its excess risk (closed form)."""
    alphas = np.array([0.3, 0.9, 1.0, 1.7, 4.0])
    for noise, v in [(0.1, 1.0), (0.5, 2.0), (1e-3, 0.7)]:
        res = amp.theory(alpha=alphas, channel="linear", noise=noise, nonzero_variance=v)
        ref = ridge.theory(alpha=alphas, ridge=noise / (alphas * v), signal=v, noise=noise)
        np.testing.assert_allclose(res.mse, ref.excess_risk, rtol=1e-10)
        np.testing.assert_allclose(res.test_error, ref.excess_risk + noise, rtol=1e-10)


def test_gradient_is_implicit_derivative():
    def mse(a):
        return amp.theory(alpha=a, channel="linear", noise=0.2).mse

    with jax.enable_x64(True):
        a = jax.numpy.asarray(1.3)
        g = float(jax.grad(mse)(a))
        h = 1e-5
        fd = (float(mse(a + h)) - float(mse(a - h))) / (2 * h)
    assert abs(g - fd) < 1e-6 * abs(fd)


# ---------------------------------------------------------------- noiseless compressed sensing


def _mmse_reference(s, eps):
    """Bernoulli-Gaussian (v = 1) MMSE at SNR s by SciPy quad (independent of the library)."""

    def posterior_mean_sq(r, comp_var):
        S = 1 / s
        log_slab = 0.5 * np.log(S / (S + 1)) + 0.5 * r * r / (S * (S + 1))
        pi = special.expit(np.log(eps) - np.log1p(-eps) + log_slab)
        return (pi * r / (1 + S)) ** 2 * stats.norm.pdf(r, 0, np.sqrt(comp_var))

    q = 0.0
    for weight, var in ((1 - eps, 1 / s), (eps, 1 + 1 / s)):
        sd = np.sqrt(var)
        q += weight * integrate.quad(posterior_mean_sq, -40 * sd, 40 * sd, args=(var,), epsabs=0, epsrel=1e-12, limit=400)[0]
    return eps - q


@pytest.mark.parametrize("eps", [0.1, 0.3])
def test_algorithmic_threshold_against_scipy(eps):
    ours, snr = amp.algorithmic_threshold(sparsity=eps, return_snr=True)
    res = optimize.minimize_scalar(
        lambda u: -np.exp(u) * _mmse_reference(np.exp(u), eps), bracket=(np.log(snr) - 1, np.log(snr), np.log(snr) + 1),
        tol=1e-12,
    )
    assert abs(float(ours) - (-res.fun)) < 1e-6
    assert float(ours) > eps  # a hard phase exists between alpha_IT = eps and alpha_AMP


def test_prior_moments_against_scipy():
    for eps in (0.1, 0.5):
        for s in (0.3, 30.0, 3e3):
            with jax.enable_x64(True):
                q, mmse, _ = prior_moments(np.float64(s), np.float64(eps), np.float64(1.0))
            assert abs(float(mmse) - _mmse_reference(s, eps)) < 1e-10 * eps
            assert abs(float(q) + float(mmse) - eps) < 1e-12  # Nishimori identity


def test_noiseless_compressed_sensing_phases():
    eps = 0.1
    a_amp = float(amp.algorithmic_threshold(sparsity=eps))
    assert float(amp.it_threshold(channel="linear", sparsity=eps)) == eps
    alphas = [0.5 * eps, 0.5 * (eps + a_amp), 1.05 * a_amp]
    res = amp.theory(alpha=alphas, channel="linear", sparsity=eps)
    assert res.converged.all()
    # below alpha_IT: no exact recovery at all
    assert res.mse[0] > 0 and res.informed_mse[0] > 0 and not res.coexistence[0]
    # hard phase: GAMP stuck, Bayes-optimal exact (free entropy +inf), explicit 0, not NaN
    assert res.mse[1] > 1e-3 and res.informed_mse[1] == 0 and res.mmse[1] == 0
    assert res.coexistence[1] and np.isinf(res.informed_free_entropy[1]) and np.isfinite(res.free_entropy[1])
    # easy phase: GAMP recovers exactly
    assert res.mse[2] == 0 and res.mmse[2] == 0
    assert np.all(np.isfinite(res.mse))


def test_gaussian_prior_linear_noiseless_threshold_is_one():
    assert float(amp.algorithmic_threshold(sparsity=1.0)) == 1.0
    res = amp.theory(alpha=[0.5, 0.99, 1.01, 2.0], channel="linear")
    np.testing.assert_allclose(res.mse[:2], [0.5, 0.01], rtol=1e-9)  # mmse = 1 - alpha
    assert np.all(res.mse[2:] == 0)


# ------------------------------------------------------------------- numerics of the channels


def _z_out_reference(kind, y, omega, V, noise):
    phi = {"relu": lambda z: max(z, 0.0), "abs": abs}[kind]

    def f(z):
        return stats.norm.pdf(z, omega, np.sqrt(V)) * stats.norm.pdf(y - phi(z), 0, np.sqrt(noise))

    opts = dict(epsabs=0, epsrel=1e-13, limit=200)
    return integrate.quad(f, -np.inf, 0, **opts)[0] + integrate.quad(f, 0, np.inf, **opts)[0]


@pytest.mark.parametrize("kind", ["relu", "abs"])
def test_noisy_channel_partition_function_against_quad(kind):
    with jax.enable_x64(True):
        for y, omega, V in [(0.7, 0.2, 0.5), (1.5, -1.0, 0.2), (-0.4, 0.3, 1.0)]:
            ch = Channel(kind, np.float64(0.3), np.float64(0.0))
            log_z, g, _ = log_z_out(ch, np.float64(y), np.float64(omega), np.float64(V))
            h = 1e-5
            ref = np.log(_z_out_reference(kind, y, omega, V, 0.3))
            dref = (np.log(_z_out_reference(kind, y, omega + h, V, 0.3)) - np.log(_z_out_reference(kind, y, omega - h, V, 0.3))) / (2 * h)
            assert abs(float(log_z) - ref) < 1e-12
            assert abs(float(g) - dref) < 1e-8


def test_erfcx_gap_of_jax_is_patched():
    """jax.scipy.special.erfcx returns 0 on [26.543, 26.642] (jax 0.10.2); ours does not."""
    x = np.linspace(26.5, 26.7, 101)
    with jax.enable_x64(True):
        ours, log_cdf = np.asarray(erfcx(x)), np.asarray(log_normal_cdf(np.float64(-37.6)))
    np.testing.assert_allclose(ours, special.erfcx(x), rtol=1e-14)
    np.testing.assert_allclose(log_cdf, special.log_ndtr(-37.6), rtol=1e-13)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["relu", "abs"])
def test_noiseless_rule_converged(kind, monkeypatch):
    with jax.enable_x64(True):
        ch = Channel(kind, np.float64(0.0), np.float64(0.0))
        modes = _theory.Modes(noise="zero")
        points = [(0.3, 0.7), (0.9, 0.1), (0.999, 0.001)]
        base = [np.array(_theory.channel_average(ch, np.float64(q), np.float64(V), modes)) for q, V in points]
        monkeypatch.setitem(_theory._QUAD, "eta", 64)
        monkeypatch.setitem(_theory._QUAD, "xi_panel", 16)
        fine = [np.array(_theory.channel_average(ch, np.float64(q), np.float64(V), modes)) for q, V in points]
    for b, f in zip(base, fine):
        np.testing.assert_allclose(b, f, rtol=1e-8)


@pytest.mark.parametrize("kind,rtol", [("relu", 1e-5), ("abs", 1e-8)])
def test_noisy_rule_converged(kind, rtol):
    """The 2-D (xi, y) rule of noisy relu/abs against a much finer one (the _NOISY comment)."""
    with jax.enable_x64(True):
        for noise in (0.01, 0.1, 1.0):
            ch = Channel(kind, np.float64(noise), np.float64(0.0))
            for q in (0.05, 0.9, 0.9999):
                args = (ch, np.float64(q), np.float64(1.0 - q))
                base = np.array(_theory._noisy_average(*args, *_theory._NOISY[kind]))
                fine = np.array(_theory._noisy_average(*args, 96, 128, 96))
                np.testing.assert_allclose(base, fine, rtol=rtol)


def test_sign_rule_against_quad():
    """The Gauss-Hermite sign rule (flip = 0) against SciPy quad, sharp and wide ``phi(c xi)``."""
    for q, V, noise in [(0.3, 0.7, 0.0), (0.999, 0.001, 0.0), (1 - 1e-6, 1e-6, 0.0), (0.5, 0.5, 0.4), (1e-4, 1.0, 0.0)]:
        with jax.enable_x64(True):
            ch = Channel("sign", np.float64(noise), np.float64(0.0))
            info = float(_theory.channel_average(ch, np.float64(q), np.float64(V), _theory.Modes(flip="zero"))[0])
        c = np.sqrt(q / (V + noise))

        def f(xi):
            u = c * xi
            return sum(np.exp(2 * stats.norm.logpdf(u) - special.log_ndtr(y * u)) for y in (1, -1)) * stats.norm.pdf(xi)

        lim = min(12.0, 40.0 / c)
        ref = integrate.quad(f, -lim, lim, points=[0.0], epsabs=0, epsrel=1e-13, limit=400)[0] / (V + noise)
        assert abs(info / ref - 1) < 1e-12


def test_accelerated_solver_matches_plain_iteration_at_spinodal():
    """Noiseless compressed sensing across alpha_AMP (eps = 0.1: 0.2076), where stable and
    unstable fixed points merge: the safeguarded secant solve reaches the same branch as plain
    SE iteration (state_evolution, 4,000 steps) and never jumps to perfect recovery early."""
    alpha = np.linspace(0.200, 0.215, 16)
    res = amp.theory(alpha=alpha, channel="linear", sparsity=0.1)
    plain = amp.state_evolution(alpha=alpha, channel="linear", sparsity=0.1, n_steps=4000)[:, -1]
    assert res.converged.all() and res.iterations.max() < 200
    np.testing.assert_allclose(res.mse, plain, rtol=1e-8, atol=1e-12)
    assert res.coexistence.any() and not res.coexistence.all()


# --------------------------------------------------------------------------------- properties


@settings(max_examples=8, deadline=None)
@given(
    noise=st.floats(0.0, 1.0),
    flip=st.floats(0.0, 0.3),
    alpha=st.floats(0.2, 5.0),
)
def test_sign_properties(noise, flip, alpha):
    alphas = np.array([alpha, 1.5 * alpha])
    res = amp.theory(alpha=alphas, channel="sign", noise=noise, flip=flip)
    more_noise = amp.theory(alpha=alphas, channel="sign", noise=noise + 0.2, flip=flip)
    assert res.converged.all()
    assert res.mse[1] < res.mse[0]  # more data helps
    assert np.all(more_noise.mse > res.mse)  # more noise hurts
    assert np.all((res.test_error >= res.clean_test_error - 1e-15) & (res.test_error <= 0.5))
    np.testing.assert_allclose(res.mse + res.overlap, 1.0, rtol=1e-12)  # Nishimori
    assert np.all(res.mmse <= res.mse)


@settings(max_examples=6, deadline=None)
@given(eps=st.floats(0.05, 0.9), noise=st.floats(1e-4, 0.5), alpha=st.floats(0.1, 3.0))
def test_linear_sparse_properties(eps, noise, alpha):
    res = amp.theory(alpha=[alpha, 2 * alpha], channel="linear", sparsity=eps, noise=noise)
    assert res.converged.all()
    assert np.all(res.mmse <= res.mse) and np.all(res.mse <= eps)
    assert res.mse[1] <= res.mse[0]
    # Bayes-optimal never loses to the Gaussian-prior (ridge) estimator of the same variance
    gauss = ridge.theory(alpha=np.array([alpha, 2 * alpha]), ridge=noise / (np.array([alpha, 2 * alpha]) * eps), signal=eps, noise=noise)
    assert np.all(res.mmse <= gauss.excess_risk * (1 + 1e-9))


# ------------------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    "kwargs,name",
    [
        (dict(sparsity=0.0), "sparsity"),
        (dict(sparsity=1.2), "sparsity"),
        (dict(noise=-0.1), "noise"),
        (dict(alpha=-1.0), "alpha"),
        (dict(alpha=np.nan), "alpha"),
        (dict(channel="tanh"), "channel"),
        (dict(flip=0.7), "flip"),
        (dict(channel="relu", flip=0.1), "flip"),
        (dict(nonzero_variance=0.0), "nonzero_variance"),
        (dict(initial_snr=-1.0), "initial_snr"),
        (dict(alpha=[1.0, 2.0], noise=[0.1, 0.2, 0.3]), "shape"),
    ],
)
def test_bad_input(kwargs, name):
    args = dict(alpha=1.0, channel="sign")
    args.update(kwargs)
    with pytest.raises(ValueError, match=name if name != "shape" else "broadcast|shape"):
        amp.theory(**args)
    with pytest.raises(ValueError):
        amp.simulate(**args, dim=50, n_seeds=2)


# ------------------------------------------------------------------------------ slow checks


@pytest.mark.slow
def test_noiseless_phase_retrieval_thresholds():
    """Real phase retrieval, Gaussian prior (BKMMZ Table 1): weak recovery at alpha = 1/2,
    alpha_IT = 1, alpha_AMP ~ 1.13 (here: between 1.12 and 1.13)."""
    res = amp.theory(alpha=[0.45, 0.55, 1.05, 1.10, 1.12, 1.14, 1.3], channel="abs")
    assert res.converged.all()
    assert res.overlap[0] == 0 and res.overlap[1] > 0  # weak recovery threshold 1/2
    # 1 < alpha < 1.13: hard phase (informed = exact, GAMP not)
    assert np.all(res.mse[2:5] > 1e-3) and np.all(res.mmse[2:5] == 0) and res.coexistence[2:5].all()
    assert np.all(res.mse[5:] == 0)



def test_bayes_optimal_beats_erm():
    """No estimator beats the Bayes-optimal error: logistic / hinge ERM (glm module) above it."""
    from overparam_theory import glm

    alphas = np.array([0.5, 2.0, 10.0])
    bo = amp.theory(alpha=alphas, channel="sign", flip=0.1).test_error
    for loss in ("logistic", "square"):
        erm = glm.theory(alpha=alphas, ridge=1e-2, loss=loss, flip=0.1).test_error
        assert np.all(bo < erm)


def test_relu_abs_points_run_one_at_a_time_and_agree_with_single_calls():
    """A grid mixing a point below alpha_IT = 1 (the informed branch leaves E ~ 0: ~300 plain
    SE steps at 0.9, 29 solver steps since the safeguarded secant solve) with others runs each
    point alone and its values do not depend on the other points."""
    from overparam_theory.numerics.batching import batch_size

    for kind in ("abs", "relu"):  # noiseless or possibly noiseless grids: one point at a time
        assert batch_size(40, _theory._work(kind, _theory.Modes(noise="zero"))) == 1
        assert batch_size(40, _theory._work(kind, _theory.Modes(noise="any"))) == 1
        assert batch_size(40, _theory._work(kind, _theory.Modes(noise="positive"))) == 4  # noisy: four lanes
    alpha = np.array([0.9, 1.3, 2.0])
    grid = amp.theory(alpha=alpha, channel="abs")
    assert np.all(grid.converged) and grid.iterations.max() < 100
    # the fast points alone (same shape bucket: no second compile; the slow point is not rerun)
    alone = amp.theory(alpha=alpha[[2, 1, 2]], channel="abs")
    for f in ("mse", "informed_mse", "iterations"):
        np.testing.assert_allclose(getattr(grid, f)[[2, 1, 2]], getattr(alone, f), rtol=1e-12, atol=1e-15)
    # above alpha_IT the informed branch is exact perfect recovery, not an iteration
    assert grid.informed_mse[1] == grid.informed_mse[2] == 0.0 and grid.informed_mse[0] > 0.1


def test_noisy_relu_abs_lanes_do_not_change_the_values():
    """Noisy relu/abs run four points side by side (_work); each value equals the point alone
    (abs; the four points take 13 to 18 steps, so lanes finish at different steps)."""
    alpha = np.array([0.4, 1.1, 2.5, 4.0])
    grid = amp.theory(alpha=alpha, channel="abs", noise=0.1)
    assert np.all(grid.converged) and np.ptp(grid.iterations) > 0
    for i, a in enumerate(alpha):
        alone = amp.theory(alpha=a, channel="abs", noise=0.1)
        np.testing.assert_allclose(grid.mse[i], alone.mse, rtol=1e-12)
