"""Random-features theory (Mei & Montanari 2022; docs/theory/random_features.md): activation
coefficients, the spec's independent analytic checks, the Gaussian-equivalent cross-check,
properties, gradients, optimal ridge and bad input."""

import argparse
import inspect
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from overparam_theory import random_features as rf
from overparam_theory import ridge, spectra

RELU_MU_STAR2 = 0.25 - 1 / (2 * math.pi)
RELU_ZETA2 = 0.25 / RELU_MU_STAR2


# --- activation coefficients ------------------------------------------------------------------


def test_relu_coefficients_match_spec():
    a = rf.activation("relu")
    np.testing.assert_allclose([a.mu0, a.mu1, a.mu_star, a.zeta], [0.39894228, 0.5, 0.30140514, 1.65889674], atol=1e-8)


@pytest.mark.parametrize("name", ["relu", "erf", "quadratic", "linear"])
def test_closed_forms_equal_quadrature(name):
    closed = rf.activation(name)
    kink = 0.0 if name == "relu" else None
    numeric = rf.activation(rf.activation(name).fn, kink=kink)  # the callable path (quadrature)
    np.testing.assert_allclose([numeric.mu0, numeric.mu1, numeric.mu_star], [closed.mu0, closed.mu1, closed.mu_star], atol=1e-12)


def test_quadrature_activations_against_scipy():
    from scipy.integrate import quad

    phi = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    from scipy.special import expit

    for name, f in [("tanh", math.tanh), ("sigmoid", lambda z: float(expit(z)))]:
        a = rf.activation(name)
        m0 = quad(lambda z: f(z) * phi(z), -40, 40, epsabs=1e-14)[0]
        m1 = quad(lambda z: z * f(z) * phi(z), -40, 40, epsabs=1e-14)[0]
        m2 = quad(lambda z: f(z) ** 2 * phi(z), -40, 40, epsabs=1e-14)[0]
        np.testing.assert_allclose([a.mu0, a.mu1, a.mu_star**2], [m0, m1, m2 - m0**2 - m1**2], atol=1e-12)


def test_callable_with_kink():
    a = rf.activation(lambda x: jnp.abs(x), kink=0.0)
    np.testing.assert_allclose([a.mu0, a.mu1, a.mu_star**2], [math.sqrt(2 / math.pi), 0.0, 1 - 2 / math.pi], atol=1e-13)


# --- the spec's independent analytic checks ---------------------------------------------------


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_ridgeless_variance_factor_least_squares(activation):
    """psi1 < psi2, ridge 0: V = psi1/(psi2 - psi1) exactly (N/(n - N))."""
    psi1 = np.array([0.1, 0.5, 1.0, 2.0, 2.9])
    th = rf.theory(alpha=3.0, width=psi1, ridge=0.0, activation=activation)
    np.testing.assert_allclose(th.variance_factor, psi1 / (3.0 - psi1), rtol=1e-12)


def test_interpolation_threshold_is_inf():
    th = rf.theory(alpha=[0.5, 2.0], width=[0.5, 2.0], ridge=0.0, signal=0.0, noise=0.0)
    assert np.all(np.isinf(th.bias_factor)) and np.all(np.isinf(th.variance_factor))
    near = rf.theory(alpha=2.0, width=2.0 * (1 + 1e-9), ridge=0.0)
    assert np.isfinite(near.variance_factor) and near.variance_factor > 1e6


@pytest.mark.parametrize("lam", [0.0, 1e-2, 1.0])
@pytest.mark.parametrize("psi2", [0.5, 2.0])
def test_kernel_limit_width_to_infinity(lam, psi2):
    """psi1 -> inf: isotropic ridge with gamma = 1/psi2, ridge' = (1/psi2 + ridge_bar)/zeta^2,
    for B and V separately; the gap shrinks like 1/psi1."""
    iso = ridge.theory(alpha=psi2, ridge=(1 / psi2 + lam / RELU_MU_STAR2) / RELU_ZETA2, signal=1.0, noise=1.0)
    gaps = []
    for psi1 in (1e4, 1e6):
        th = rf.theory(alpha=psi2, width=psi1, ridge=lam)
        gaps.append(max(abs(th.bias_factor / iso.bias - 1), abs(th.variance_factor / iso.variance - 1)))
    assert gaps[1] < 1e-5
    assert gaps[1] < gaps[0] / 50  # ~1/psi1


@pytest.mark.parametrize("psi1", [0.3, 1.0, 2.5])
def test_infinite_sample_limit(psi1):
    """psi2 -> inf, ridge -> 0: B -> E[1/(1 + zeta^2 s)], s ~ spectrum of Theta^T Theta/d
    (MP with ratio 1/psi1 and scale psi1)."""
    th = rf.theory(alpha=1e9, width=psi1, ridge=0.0)
    with jax.enable_x64(True):
        ref = float(spectra.marchenko_pastur(1 / psi1, scale=psi1).stieltjes(1 / RELU_ZETA2)) / RELU_ZETA2
    np.testing.assert_allclose(th.bias_factor, ref, rtol=1e-7)


@pytest.mark.parametrize("psi1,psi2", [(0.5, 2.0), (2.0, 0.5), (1.0, 3.0)])
@pytest.mark.parametrize("lam", [1e-3, 0.1, 2.0])
def test_zero_linear_component_is_pure_noise_ridge(psi1, psi2, lam):
    """mu1 = 0 (quadratic activation): V = (psi1/psi2)[m(-psi1 l) - psi1 l m'(-psi1 l)] with
    MP ratio psi1/psi2 and l = ridge/mu_star^2; B = 1 + V."""
    th = rf.theory(alpha=psi2, width=psi1, ridge=lam, activation="quadratic")
    lb = lam / 2.0  # mu_star^2 = 2 for sigma(x) = x^2
    with jax.enable_x64(True):
        mp = spectra.marchenko_pastur(psi1 / psi2)
        m, mprime = float(mp.stieltjes(psi1 * lb)), float(mp.stieltjes_derivative(psi1 * lb))
    v = (psi1 / psi2) * (m - psi1 * lb * mprime)
    np.testing.assert_allclose(th.variance_factor, v, rtol=1e-10)
    np.testing.assert_allclose(th.bias_factor, 1 + v, rtol=1e-10)


# --- Gaussian equivalent -----------------------------------------------------------------------


@pytest.mark.parametrize("activation", ["relu", "tanh", "erf"])
@pytest.mark.parametrize("width", [0.4, 2.5])
@pytest.mark.parametrize("lam", [0.0, 1e-3, 0.5])
def test_gaussian_equivalent_ridge_reproduces_theory(activation, width, lam):
    """Anisotropic ridge on the Gaussian-equivalent spectrum (discretised MP law) equals
    Theorem 1: an independent route through a different solver."""
    alpha = np.array([0.2, 0.9, 1.7, 6.0])
    kw = dict(activation=activation, signal=1.3, nonlinear_signal=0.4, noise=0.2)
    params, offset = rf.to_ridge_parameters(alpha=alpha, width=width, ridge=lam, **kw)
    via_ridge = ridge.theory(**params).excess_risk + offset
    direct = rf.theory(alpha=alpha, width=width, ridge=lam, **kw).excess_risk
    np.testing.assert_allclose(via_ridge, direct, rtol=1e-10)


def test_finite_gaussian_equivalent_approaches_limit():
    """One draw of Theta and beta_1 at dimension d; averaged over 8 draws the approximation error
    approaches the proportional limit (measured: -0.026 +- 0.019 at d = 100, 0.006 +- 0.005 at
    d = 1600)."""
    limit = rf.gaussian_equivalent(width=0.5, signal=1.0)
    draws = [rf.gaussian_equivalent(width=0.5, signal=1.0, dim=800, seed=s).approximation_error for s in range(8)]
    assert abs(np.mean(draws) - limit.approximation_error) < 4 * np.std(draws) / np.sqrt(8) + 0.005
    ge = rf.gaussian_equivalent(width=0.5, dim=100, seed=0)
    assert ge.spectrum.eigenvalues.shape == (50,) and ge.teacher_power.shape == (50,)
    np.testing.assert_allclose(ge.spectrum.weights.sum(), 1.0)


# --- properties ---------------------------------------------------------------------------------

ratios = st.floats(0.05, 20.0)


@given(ratios, ratios, st.floats(0.0, 10.0))
def test_chi_is_symmetric_in_psi1_psi2(psi1, psi2, lam):
    """The fixed-point equation F(x) = (psi1 - h)(psi2 - h) - y^2 x is symmetric, so chi is."""
    a = rf.theory(alpha=psi2, width=psi1, ridge=lam)
    b = rf.theory(alpha=psi1, width=psi2, ridge=lam)
    np.testing.assert_allclose(a.chi, b.chi, rtol=1e-12)


@given(ratios, ratios, st.floats(0.0, 10.0), st.sampled_from(["relu", "tanh", "erf", "sigmoid", "quadratic"]))
def test_finite_and_nonnegative_off_threshold(psi1, psi2, lam, act):
    if lam == 0.0 and abs(psi1 - psi2) < 1e-3 * max(psi1, psi2):
        return
    th = rf.theory(alpha=psi2, width=psi1, ridge=lam, activation=act, signal=1.0, nonlinear_signal=0.5, noise=0.5)
    for f in rf.FIELDS:
        v = float(getattr(th, f))
        assert np.isfinite(v) and v >= -1e-12, (f, v)
    assert bool(th.converged)


@given(ratios, ratios, st.floats(0.0, 2.0), st.floats(0.0, 2.0))
def test_monotone_in_ridge_at_large_ridge_and_null_limit(psi1, psi2, f1, fstar):
    """At large ridge (y^2 = psi1 psi2 ridge/mu_star^2 >= 100) B increases and V decreases with
    ridge; ridge -> inf is the zero predictor.  (Not at moderate ridge: at psi1 = psi2 = 1/16,
    ridge = 50, B = 1.0005 > 1 and then dips to 0.998 -- confirmed by the Gaussian-equivalent
    route -- so B is not monotone everywhere.)"""
    lam = RELU_MU_STAR2 * 100.0 / (psi1 * psi2) * np.array([1.0, 4.0, 16.0, 64.0])
    th = rf.theory(alpha=psi2, width=psi1, ridge=lam, signal=f1, nonlinear_signal=fstar, noise=0.3)
    assert np.all(np.diff(th.bias_factor) >= -1e-12)
    assert np.all(np.diff(th.variance_factor) <= 1e-12)
    null = rf.theory(alpha=psi2, width=psi1, ridge=1e12, signal=f1, nonlinear_signal=fstar, noise=0.3)
    np.testing.assert_allclose(null.excess_risk, f1 + fstar, rtol=1e-6, atol=1e-9)


def test_tiny_ridge_at_threshold_is_not_a_failure():
    """ridge = 1e-176 at width = alpha: the root equals x_max to rounding; reported like the
    ridgeless point (inf), converged, not as a failed solve."""
    th = rf.theory(alpha=1.0, width=1.0, ridge=4.4e-176)
    assert bool(th.converged) and np.isinf(th.variance_factor)
    off = rf.theory(alpha=1.0, width=2.0, ridge=4.4e-176)
    np.testing.assert_allclose(off.variance_factor, rf.theory(alpha=1.0, width=2.0, ridge=0.0).variance_factor, rtol=1e-12)


def test_broadcasting_and_dtypes():
    th = rf.theory(alpha=np.linspace(0.2, 3, 5)[:, None], width=np.linspace(0.2, 3, 4), ridge=[[[0.0]], [[0.1]]])
    assert th.excess_risk.shape == (2, 5, 4) and th.excess_risk.dtype == np.float64
    th32 = rf.theory(alpha=[0.5, 2.0], width=1.0, ridge=0.1, dtype="float32")
    th64 = rf.theory(alpha=[0.5, 2.0], width=1.0, ridge=0.1)
    assert th32.excess_risk.dtype == np.float32 and th32.converged.all()
    np.testing.assert_allclose(th32.excess_risk, th64.excess_risk, rtol=1e-5)


def test_gradients_match_finite_differences():
    f = lambda a, w, l: rf.theory(alpha=a, width=w, ridge=l, noise=0.3, nonlinear_signal=0.2).excess_risk
    with jax.enable_x64(True):
        for a, w, l in [(0.7, 1.5, 1e-2), (3.0, 0.5, 0.3), (3.0, 0.5, 0.0)]:
            grads = jax.grad(f, argnums=(0, 1, 2))(a, w, l)
            for i, g in enumerate(grads):
                if i == 2 and l == 0:
                    continue
                h = 1e-6 * [a, w, l][i]
                args_p = [a, w, l]
                args_m = [a, w, l]
                args_p[i] += h
                args_m[i] -= h
                fd = (float(f(*args_p)) - float(f(*args_m))) / (2 * h)
                assert abs(float(g) / fd - 1) < 1e-6, (i, float(g), fd)


# --- optimal ridge ------------------------------------------------------------------------------


def test_optimal_ridge_removes_the_peak_and_is_a_minimum():
    width = np.array([0.3, 0.6, 0.9, 1.0, 1.1, 1.5, 3.0])
    opt = rf.optimal_ridge(alpha=1.0, width=width, signal=1.0, nonlinear_signal=0.2, noise=0.3)
    assert opt.converged.all() and np.all(opt.ridge > 0)
    lams = np.logspace(-6, 3, 400)
    grid = rf.theory(alpha=1.0, width=width[:, None], ridge=lams, nonlinear_signal=0.2, noise=0.3)
    assert np.all(grid.excess_risk.min(axis=1) >= opt.excess_risk * (1 - 1e-12))
    peak = rf.theory(alpha=1.0, width=1.0, ridge=0.0, nonlinear_signal=0.2, noise=0.3).excess_risk
    assert np.isinf(peak) and np.all(np.diff(opt.excess_risk) < 0)  # monotone in width: no peak
    with jax.enable_x64(True):
        slope = jax.grad(lambda l: rf.theory(alpha=1.0, width=1.0, ridge=l, nonlinear_signal=0.2, noise=0.3).excess_risk)(
            float(opt.ridge[3])
        )
    assert abs(float(slope)) < 1e-8


def test_optimal_ridge_edges():
    # no signal to learn: the zero predictor (ridge = inf) is optimal
    none = rf.optimal_ridge(alpha=2.0, width=1.0, signal=0.0, nonlinear_signal=0.0, noise=1.0)
    assert np.isinf(none.ridge) and none.excess_risk == 0.0 and none.bias_factor == 1.0


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(alpha=0.0, width=1.0), "alpha"),
        (dict(alpha=1.0, width=-1.0), "width"),
        (dict(alpha=float("nan"), width=1.0), "alpha"),
        (dict(alpha=1.0, width=1.0, ridge=-1e-3), "ridge"),
        (dict(alpha=1.0, width=1.0, noise=-1.0), "noise"),
        (dict(alpha=1.0, width=1.0, nonlinear_signal=float("nan")), "nonlinear_signal"),
        (dict(alpha=1.0, width=1.0, activation="swish"), "activation must be one of"),
        (dict(alpha=1.0, width=1.0, activation=3.0), "activation must be a name"),
        (dict(alpha=1.0, width=1.0, activation=np.ones(3)), "activation must be a name"),
        (dict(alpha=1.0, width=1.0, activation_kink=[0.0, 1.0]), "activation_kink"),
        (dict(alpha=1.0, width=1.0, activation_kink="zero"), "activation_kink"),
        (dict(alpha=1.0, width=1.0, activation=lambda x: x if x > 0 else 0.0), "JAX-traceable"),
        (dict(alpha=1.0, width=1.0, activation="linear"), "mu_star = 0"),
        (dict(alpha=[1.0, 2.0], width=[1.0, 2.0, 3.0]), "incompatible shapes"),
    ],
)
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        rf.theory(**kwargs)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(alpha=0.0, width=1.0), "alpha"),
        (dict(alpha=1.0, width=1.0, noise=-1.0), "noise"),
        (dict(alpha=1.0, width=1.0, ridge=0.1), "unknown argument"),
        (dict(alpha=1.0, width=1.0, activation="swish"), "activation must be one of"),
        (dict(alpha=1.0, width=1.0, on_failure="nope"), "on_failure"),
    ],
)
def test_optimal_ridge_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        rf.optimal_ridge(**kwargs)


def test_declaration_lists_every_keyword():
    """PARAMETERS names every model keyword of theory and simulate (activation_kink included)."""
    theory_kw = set(inspect.signature(rf.theory).parameters) - {"dtype", "on_failure"}
    assert set(rf.PARAMETERS) == theory_kw and "activation_kink" in rf.PARAMETERS
    assert theory_kw <= set(inspect.signature(rf.simulate).parameters)
    assert rf.GRID_PARAMETERS == ("alpha", "width", "ridge", "signal", "nonlinear_signal", "noise")
    assert rf.FIELDS == ("excess_risk", "bias", "variance", "bias_factor", "variance_factor")


def test_activation_object_and_cli_option():
    by_name = rf.theory(alpha=[0.5, 2.0], width=1.5, ridge=0.01, activation="tanh")
    by_object = rf.theory(alpha=[0.5, 2.0], width=1.5, ridge=0.01, activation=rf.activation("tanh"))
    np.testing.assert_array_equal(by_name.excess_risk, by_object.excess_risk)
    (option,) = rf.SPEC.cli_options
    assert option.name == "activation" and option.parse(option.default) == "relu"
    assert rf.SPEC.cli_build({"activation": option.parse("Tanh")}, {}) == {"activation": "tanh"}
    with pytest.raises(argparse.ArgumentTypeError, match="relu"):
        option.parse("swish")
