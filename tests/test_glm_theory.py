"""glm.theory: closed forms, limits, solver agreement, robustness, gradients and properties."""

from __future__ import annotations

import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from overparam_theory import glm, ridge
from overparam_theory.numerics import spectra
from overparam_theory.numerics.fixed_point import ConvergenceError, ConvergenceWarning
from overparam_theory.numerics.prox import margin_loss

ALPHAS = np.array([0.2, 0.7, 1.0, 1.6, 4.0])


# ------------------------------------------------------------------------------------ square loss


@pytest.mark.parametrize(
    "kw",
    [dict(teacher="sign"), dict(teacher="sign", flip=0.2), dict(teacher="probit", noise=0.5, flip=0.05),
     dict(teacher="logistic", noise=1.0), dict(teacher="linear", noise=0.3)],
)
@pytest.mark.parametrize("lam", [pytest.param(1e-3, marks=pytest.mark.slow), 0.3, pytest.param(5.0, marks=pytest.mark.slow)])
def test_square_closed_form_equals_fixed_point_solver(kw, lam):
    """Spec: square-loss classification equals its closed form; the general saddle-point solver
    (quadrature + Anderson) reproduces it to 1e-8."""
    closed = glm.theory(alpha=ALPHAS, ridge=lam, loss="square", **kw)
    general = glm.theory(alpha=ALPHAS, ridge=lam, loss="square", solver="fixed_point", **kw)
    assert closed.converged.all() and general.converged.all()
    for f in ("m", "q", "V", "m_hat", "q_hat", "V_hat", "test_error", "train_loss", "train_error", "test_loss"):
        a, b = getattr(closed, f), getattr(general, f)
        np.testing.assert_allclose(b, a, rtol=1e-8, atol=1e-10, err_msg=f)


def test_square_closed_form_values():
    """Direct check of the spec's formulas at one point (sign teacher, no flips)."""
    alpha, lam = 2.0, 0.5
    kappa1 = math.sqrt(2 / math.pi)
    V = (-(lam + alpha - 1) + math.sqrt((lam + alpha - 1) ** 2 + 4 * lam)) / (2 * lam)
    V_hat = alpha / (1 + V)
    m_hat = alpha * kappa1 / (1 + V)
    m = m_hat / (lam + V_hat)
    c = alpha / (1 + V) ** 2
    q = (m_hat**2 + c * (1 - 2 * kappa1 * m)) / ((lam + V_hat) ** 2 - c)
    th = glm.theory(alpha=alpha, ridge=lam, loss="square")
    np.testing.assert_allclose([th.V, th.m, th.q], [V, m, q], rtol=1e-13)
    np.testing.assert_allclose(th.test_error, math.acos(m / math.sqrt(q)) / math.pi, rtol=1e-13)


@pytest.mark.parametrize("alpha", [0.5, 1.5, 3.0])
def test_square_optimal_ridge_is_pi_over_2_minus_1(alpha):
    """Aubin et al. 2020: lambda_opt = pi/2 - 1 for the noiseless sign teacher, any alpha."""
    lam_opt = math.pi / 2 - 1
    lams = lam_opt * np.array([0.8, 0.9, 1.0, 1.1, 1.25])
    err = glm.theory(alpha=alpha, ridge=lams, loss="square").test_error
    assert np.argmin(err) == 2
    with jax.enable_x64(True):
        g = jax.grad(lambda r: glm.theory(alpha=alpha, ridge=r, loss="square").test_error)(jnp.float64(lam_opt))
    assert abs(float(g)) < 1e-12


@pytest.mark.parametrize("noise", [0.0, 0.4])
def test_linear_teacher_square_loss_is_ridge_regression(noise):
    """Sum-loss ridge with penalty lambda/2 |w|^2 is ridge.theory with ridge = lambda/alpha."""
    for lam in (0.0, 1e-2, 1.0):
        alphas = ALPHAS[ALPHAS != 1.0] if lam == 0 else ALPHAS
        g = glm.theory(alpha=alphas, ridge=lam, loss="square", teacher="linear", noise=noise, signal=1.3)
        r = ridge.theory(alpha=alphas, ridge=lam / alphas, signal=1.3, noise=noise)
        np.testing.assert_allclose(g.clean_test_error, r.excess_risk, rtol=1e-10)
        np.testing.assert_allclose(g.train_error, r.train_error, rtol=1e-10, atol=1e-15)


def test_square_ridgeless_branch_is_the_small_ridge_limit():
    alphas = np.array([0.3, 0.8, 1.3, 3.0])
    exact = glm.theory(alpha=alphas, ridge=0.0, loss="square", flip=0.1)
    near = glm.theory(alpha=alphas, ridge=1e-9, loss="square", flip=0.1)
    for f in ("m", "q", "test_error", "train_loss"):
        np.testing.assert_allclose(getattr(exact, f), getattr(near, f), rtol=1e-6, atol=1e-9, err_msg=f)
    assert np.all(exact.train_loss[:2] == 0) and np.all(np.isinf(exact.V[:2]))


# ------------------------------------------------------------------------------ covariate model


@pytest.mark.parametrize(
    "loss", ["square", pytest.param("logistic", marks=pytest.mark.slow), pytest.param("hinge", marks=pytest.mark.slow)]
)
def test_identity_spectrum_equals_isotropic(loss):
    iso = glm.theory(alpha=ALPHAS, ridge=0.1, loss=loss, flip=0.1)
    gcm = glm.theory(alpha=ALPHAS, ridge=0.1, loss=loss, flip=0.1, spectrum=spectra.identity())
    for f in ("m", "q", "V", "test_error", "train_loss"):
        np.testing.assert_allclose(getattr(gcm, f), getattr(iso, f), rtol=1e-9, err_msg=f)


def test_covariate_model_square_linear_equals_anisotropic_ridge():
    """GCM with square loss and a linear teacher = the anisotropic ridge deterministic equivalent."""
    spec = spectra.two_level(0.3, 4.0, 0.5)
    tp = np.array([0.6, 0.5])  # teacher power per level (|w*_k|^2/d), ridge.theory's convention
    signal = float(np.sum(spec.eigenvalues * tp))
    g = glm.theory(alpha=ALPHAS, ridge=0.2, loss="square", teacher="linear", noise=0.25,
                   spectrum=spec, teacher_power=tp, signal=signal, solver="fixed_point")
    r = ridge.theory(alpha=ALPHAS, ridge=0.2 / ALPHAS, noise=0.25, spectrum=spec, teacher_power=tp)
    np.testing.assert_allclose(g.clean_test_error, r.excess_risk, rtol=1e-9)
    np.testing.assert_allclose(g.train_error, r.train_error, rtol=1e-9)


def test_covariate_model_unexplained_teacher_variance_acts_like_noise():
    """Teacher variance outside the features lowers the achievable cosine: more signal than the
    features carry (rho > sum omega tp) gives a larger test error than rho = sum omega tp."""
    spec = spectra.two_level(0.5, 2.0, 0.5)
    tp = np.array([0.4, 0.4])
    explained = float(np.sum(spec.eigenvalues * tp))
    a = glm.theory(alpha=2.0, ridge=0.1, spectrum=spec, teacher_power=tp, signal=explained)
    b = glm.theory(alpha=2.0, ridge=0.1, spectrum=spec, teacher_power=tp, signal=2 * explained)
    assert b.test_error > a.test_error + 0.02


# ------------------------------------------------------------------------------ robustness


@pytest.mark.parametrize("loss", ["logistic", "hinge"])
def test_converges_over_the_documented_range(loss):
    """Spec: default initialisation converges for alpha in [0.05, 20], ridge in [1e-4, 10]."""
    A, L = np.meshgrid(np.geomspace(0.05, 20, 9), np.geomspace(1e-4, 10, 7), indexing="ij")
    th = glm.theory(alpha=A, ridge=L, loss=loss, flip=0.05)
    assert th.converged.all(), (A[~th.converged], L[~th.converged])
    assert np.all(th.residual <= 1e-11)
    assert np.all((th.test_error > 0.05) & (th.test_error < 0.5))


def test_non_convergence_is_flagged_per_point():
    """A point driven to failure (max_iter too small) is NaN and flagged; the others are not."""
    with pytest.warns(ConvergenceWarning, match="1 of 2 point.*iteration limit"):
        th = glm.theory(alpha=np.array([0.5, 20.0]), ridge=np.array([10.0, 1e-4]), loss="logistic", max_iter=12)
    assert th.converged.tolist() == [True, False]
    assert np.isfinite(th.test_error[0]) and np.isnan(th.test_error[1])
    assert th.iterations[1] == 12 and th.residual[1] > 1e-11
    with pytest.raises(ConvergenceError):
        glm.theory(alpha=20.0, ridge=1e-4, loss="logistic", max_iter=12, on_failure="raise")


# ------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(loss="huber"), "loss must be one of"),
        (dict(teacher="relu"), "teacher"),
        (dict(ridge=-1.0), "ridge"),
        (dict(alpha=0.0), "alpha"),
        (dict(alpha=float("nan")), "alpha"),
        (dict(flip=0.7), "flip"),
        (dict(noise=0.1), "teacher='sign' is noiseless"),
        (dict(loss="hinge", ridge=0.0), "max_margin"),
        (dict(teacher="linear", loss="logistic"), "square"),
        (dict(signal=0.0), "signal"),
        (dict(solver="newton"), "solver"),
    ],
)
def test_bad_input(kw, match):
    args = dict(alpha=1.0, ridge=0.1, loss="logistic")
    args.update(kw)
    with pytest.raises(ValueError, match=match):
        glm.theory(**args)


def test_bad_spectrum_input():
    spec = spectra.two_level(0.5, 2.0, 0.5)
    with pytest.raises(ValueError, match="teacher_power"):
        glm.theory(alpha=1.0, spectrum=spec, teacher_power=np.ones(3))
    with pytest.raises(ValueError, match="signal"):
        glm.theory(alpha=1.0, spectrum=spec, teacher_power=np.ones(2), signal=0.5)
    with pytest.raises(ValueError, match="ridge must be > 0"):
        glm.theory(alpha=1.0, ridge=0.0, loss="square", spectrum=spec)


# ------------------------------------------------------------------------------ custom loss, dtype


@pytest.mark.slow
def test_custom_loss_matches_builtin_logistic():
    """A user loss through margin_loss (autodiff derivatives, generic Newton prox) reproduces the
    built-in logistic loss."""
    custom = margin_loss(lambda t: jnp.logaddexp(0.0, -t), name="my_logistic")
    a = glm.theory(alpha=np.array([0.5, 2.0]), ridge=0.05, loss=custom, flip=0.1)
    b = glm.theory(alpha=np.array([0.5, 2.0]), ridge=0.05, loss="logistic", flip=0.1)
    np.testing.assert_allclose(a.test_error, b.test_error, rtol=1e-10)
    np.testing.assert_allclose(a.train_loss, b.train_loss, rtol=1e-10)


def test_float32_agrees_with_float64():
    a = glm.theory(alpha=np.array([0.5, 2.0]), ridge=0.1, loss="logistic", dtype="float32")
    b = glm.theory(alpha=np.array([0.5, 2.0]), ridge=0.1, loss="logistic")
    assert a.test_error.dtype == np.float32
    np.testing.assert_allclose(a.test_error, b.test_error, rtol=2e-4)


# ------------------------------------------------------------------------------ gradients


@pytest.mark.parametrize("loss", [pytest.param("logistic", marks=pytest.mark.slow), "hinge"])
def test_implicit_gradients_match_finite_differences(loss):
    def err(lam, alpha):
        return glm.theory(alpha=alpha, ridge=lam, loss=loss, flip=0.1).test_error

    lam, alpha = 0.3, 1.7
    with jax.enable_x64(True):
        g_lam, g_alpha = jax.grad(err, argnums=(0, 1))(jnp.float64(lam), jnp.float64(alpha))
    h = 1e-5
    fd_lam = (err(lam + h, alpha) - err(lam - h, alpha)) / (2 * h)
    fd_alpha = (err(lam, alpha + h) - err(lam, alpha - h)) / (2 * h)
    np.testing.assert_allclose([g_lam, g_alpha], [fd_lam, fd_alpha], rtol=1e-5)


# ------------------------------------------------------------------------------ properties


@settings(max_examples=12, deadline=None)
@given(
    alpha=st.floats(0.1, 10.0),
    log_ridge=st.floats(-3.0, 1.0),
    flip=st.floats(0.0, 0.3),
    loss=st.sampled_from(["logistic", "hinge"]),
)
def test_property_training_beats_test_and_errors_in_range(alpha, log_ridge, flip, loss):
    th = glm.theory(alpha=alpha, ridge=10.0**log_ridge, loss=loss, flip=flip)
    assert th.converged
    assert 0.0 <= th.train_error <= th.test_error <= 0.5 + 1e-12
    assert th.train_loss <= th.test_loss + 1e-12
    assert flip - 1e-12 <= th.test_error
    np.testing.assert_allclose(th.test_error, flip + (1 - 2 * flip) * th.clean_test_error, rtol=1e-12)


@settings(max_examples=8, deadline=None)
@given(alpha=st.floats(0.2, 8.0), log_ridge=st.floats(-2.0, 1.0), loss=st.sampled_from(["logistic", "hinge", "square"]))
def test_property_error_decreases_with_alpha(alpha, log_ridge, loss):
    """More data at a fixed ridge helps (noiseless sign teacher)."""
    th = glm.theory(alpha=np.array([alpha, 1.2 * alpha]), ridge=10.0**log_ridge, loss=loss)
    assert th.test_error[1] < th.test_error[0]


def test_no_warnings_in_normal_use():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        glm.theory(alpha=ALPHAS, ridge=0.1, loss="hinge", teacher="probit", noise=0.2)
