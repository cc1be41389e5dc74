"""Kernel ridge regression (eigenlearning) theory: identities, the ridge mapping, limits,
properties and bad input.  docs/theory/kernel.md (Simon et al. 2023; Bordelon et al. 2020)."""

import argparse

import jax
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from overparam_theory import kernel, ridge

K = np.arange(1, 501.0)
ETA = K**-1.5
V = K**-1.0


@pytest.mark.parametrize("lam", [0.0, 1e-6, 1e-3, 0.3])
def test_kernel_equals_anisotropic_ridge_under_mapping(lam):
    n = np.array([10, 50, 200, 499, 700, 2000])
    if lam == 0.0:
        n = n[n != 500]
    kt = kernel.theory(n_samples=n, ridge=lam, noise=0.04, eigenvalues=ETA, target=V)
    rt = ridge.theory(noise=0.04, **kernel.to_ridge_parameters(n_samples=n, ridge=lam, eigenvalues=ETA, target=V))
    np.testing.assert_allclose(kt.excess_risk, rt.excess_risk, rtol=1e-10)
    np.testing.assert_allclose(kt.bias, rt.bias, rtol=1e-10)
    np.testing.assert_allclose(kt.variance, rt.variance, rtol=1e-10)
    np.testing.assert_allclose(kt.train_error, rt.train_error, rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(kt.effective_ridge, rt.effective_ridge, rtol=1e-10)  # literally the same kappa


@pytest.mark.parametrize("n,lam", [(20, 0.0), (100, 1e-3), (300, 0.05)])
def test_equations_and_bordelon_form(n, lam):
    kt = kernel.theory(n_samples=n, ridge=lam, noise=0.1, eigenvalues=ETA, target=V)
    kappa, L = float(kt.effective_ridge), kt.learnability
    # defining equation and learnabilities (Simon et al.)
    np.testing.assert_allclose(np.sum(ETA / (ETA + kappa)) + (lam / kappa), n, rtol=1e-12)
    np.testing.assert_allclose(L, ETA / (ETA + kappa), rtol=1e-14)
    E0 = n / (n - np.sum(L**2))
    np.testing.assert_allclose(kt.overfitting_coefficient, E0, rtol=1e-10)
    test = E0 * (np.sum((1 - L) ** 2 * V**2) + 0.1)
    np.testing.assert_allclose(kt.test_error, test, rtol=1e-10)
    np.testing.assert_allclose(kt.train_error, (lam / (n * kappa)) ** 2 * test, rtol=1e-10, atol=1e-300)
    # Bordelon-Canatar-Pehlevan: kappa_BCP = n kappa, gamma = sum L^2 / n, v_k^2 = eta_k w_k^2
    kb = n * kappa
    np.testing.assert_allclose(kb, lam + kb * np.sum(ETA / (n * ETA + kb)), rtol=1e-12)
    gamma = np.sum(n * ETA**2 / (n * ETA + kb) ** 2)
    w2 = V**2 / ETA
    Eg = np.sum(ETA * w2 * kb**2 / (n * ETA + kb) ** 2) / (1 - gamma)
    np.testing.assert_allclose(kt.bias, Eg, rtol=1e-10)


def test_ridgeless_with_fewer_modes_than_samples_is_least_squares():
    eta, v = np.array([1.0, 0.5, 0.25, 0.0]), np.array([1.0, 1.0, 0.5, 0.3])
    kt = kernel.theory(n_samples=[10, 3, 2], ridge=0.0, noise=0.2, eigenvalues=eta, target=v)
    # 3 positive modes: n = 10 -> E0 = 10/7; the zero mode (v = 0.3) is never learned
    np.testing.assert_allclose(kt.overfitting_coefficient[0], 10 / 7, rtol=1e-14)
    np.testing.assert_allclose(kt.test_error[0], 10 / 7 * (0.09 + 0.2), rtol=1e-14)
    assert np.isinf(kt.test_error[1])  # n = number of modes: interpolation threshold
    assert kt.effective_ridge[2] > 0 and kt.converged.all()
    np.testing.assert_allclose(kt.learnability[0], [1, 1, 1, 0])


def test_noiseless_threshold_is_finite_and_learnability_conservation():
    kt = kernel.theory(n_samples=np.arange(5, 400, 7), ridge=1e-4, eigenvalues=ETA, target=V)
    # sum_k L_k + ridge/kappa = n (conservation law of Simon et al.)
    lhs = kt.learnability.sum(axis=-1) + 1e-4 / kt.effective_ridge
    np.testing.assert_allclose(lhs, np.arange(5, 400, 7), rtol=1e-11)
    assert np.all(np.diff(kt.effective_ridge) < 0)  # kappa decreases with n
    assert np.all(kt.overfitting_coefficient >= 1)


@given(st.floats(1.0, 5000.0), st.floats(1e-8, 10.0), st.floats(1.01, 4.0))
def test_bias_increases_and_variance_decreases_with_ridge(n, lam, factor):
    kt = kernel.theory(n_samples=n, ridge=[lam, lam * factor], noise=0.5, eigenvalues=ETA, target=V)
    assert kt.bias[1] >= kt.bias[0] * (1 - 1e-10)
    assert kt.variance[1] <= kt.variance[0] * (1 + 1e-10)


@given(st.floats(1.0, 1e4))
def test_infinite_ridge_learns_nothing(n):
    kt = kernel.theory(n_samples=n, ridge=1e12, noise=0.3, eigenvalues=ETA, target=V)
    np.testing.assert_allclose(kt.excess_risk, np.sum(V**2), rtol=1e-6)


def test_shapes_and_dtypes():
    kt = kernel.theory(n_samples=np.array([10, 20])[:, None], ridge=[0.0, 0.1, 1.0], eigenvalues=ETA, target=V)
    assert kt.test_error.shape == (2, 3) and kt.learnability.shape == (2, 3, 500)
    assert kt.test_error.dtype == np.float64
    k32 = kernel.theory(n_samples=[10, 20], ridge=0.01, eigenvalues=ETA, target=V, dtype="float32")
    assert k32.test_error.dtype == np.float32 and k32.converged.all()
    k64 = kernel.theory(n_samples=[10, 20], ridge=0.01, eigenvalues=ETA, target=V)
    np.testing.assert_allclose(k32.test_error, k64.test_error, rtol=1e-4)


def test_gradient_with_respect_to_ridge():
    f = lambda lam: kernel.theory(n_samples=100.0, ridge=lam, noise=0.1, eigenvalues=ETA, target=V).test_error
    with jax.enable_x64(True):
        g = float(jax.grad(f)(1e-2))
    h = 1e-7
    fd = (float(f(1e-2 + h)) - float(f(1e-2 - h))) / (2 * h)
    assert abs(g / fd - 1) < 1e-6


@pytest.mark.parametrize(
    "kwargs,name",
    [
        (dict(n_samples=0), "n_samples"),
        (dict(n_samples=-3), "n_samples"),
        (dict(n_samples=10, ridge=-1.0), "ridge"),
        (dict(n_samples=10, noise=float("nan")), "noise"),
        (dict(n_samples=10, eigenvalues=ETA[:10]), "target"),
        (dict(n_samples=10, eigenvalues=-ETA), "eigenvalues"),
        (dict(n_samples=10, eigenvalues=np.zeros(500)), "positive eigenvalue"),
        (dict(n_samples=10, on_failure="nope"), "on_failure"),
    ],
)
def test_bad_input(kwargs, name):
    base = dict(eigenvalues=ETA, target=V)
    base.update(kwargs)
    with pytest.raises(ValueError, match=name):
        kernel.theory(**base)


@pytest.mark.parametrize(
    "kwargs,name",
    [
        (dict(eigenvalues=-ETA), "eigenvalues"),
        (dict(target=V[:10]), "target"),
        (dict(n_samples=[10.0, float("inf")]), "n_samples"),
    ],
)
def test_to_ridge_parameters_bad_input(kwargs, name):
    base = dict(n_samples=10, ridge=0.1, eigenvalues=ETA, target=V) | kwargs
    with pytest.raises(ValueError, match=name):
        kernel.to_ridge_parameters(**base)


def test_declaration_and_diagnostics():
    assert kernel.PARAMETERS == ("n_samples", "ridge", "noise", "eigenvalues", "target")
    assert kernel.GRID_PARAMETERS == ("n_samples", "ridge", "noise")
    assert kernel.FIELDS == ("test_error", "excess_risk", "bias", "variance", "train_error")
    assert kernel.SPEC.dim is None
    kt = kernel.theory(n_samples=[10, 20], ridge=[[0.0], [0.1]], eigenvalues=ETA, target=V)
    for leaf in jax.tree_util.tree_leaves(kt.diagnostics):
        assert np.shape(leaf) == (2, 2)
    assert kt.converged.all() and np.all(kt.status == 0)


def test_cli_options_build_the_spectrum_and_target():
    options = {opt.name: opt.parse(opt.default) for opt in kernel.SPEC.cli_options}
    grid = {"n_samples": np.array([10.2, 9.8, 20.0, 30.4]), "ridge": np.array([1e-3])}
    kwargs = kernel.SPEC.cli_build(options, grid)
    k = np.arange(1, 2001.0)
    np.testing.assert_allclose(kwargs["eigenvalues"], k**-1.5, rtol=1e-15)
    np.testing.assert_allclose(kwargs["target"], 1 / k, rtol=1e-15)
    np.testing.assert_array_equal(grid["n_samples"], [10.0, 20.0, 30.0])  # integers, duplicates removed
    parse = {opt.name: opt.parse for opt in kernel.SPEC.cli_options}
    assert parse["kernel_spectrum"]("power-law:50,2") == ("power-law", 50, 2.0)
    for text in ("power-law:50.5,2", "power-law:50", "exponential:3"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse["kernel_spectrum"](text)
    with pytest.raises(argparse.ArgumentTypeError):
        parse["target"]("power-law:x")
