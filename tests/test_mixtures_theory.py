"""mixtures.theory / thresholds: closed forms, limits, solver agreement, properties (docs/theory/mixtures.md; Mignacco et al. 2020)."""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import ndtr

from overparam_theory import mixtures

ALPHAS = np.array([0.3, 0.8, 1.7, 4.0])


def H(x):
    return ndtr(-np.asarray(x))


# ------------------------------------------------------------------------------------ square loss


@pytest.mark.parametrize(
    "kw",
    [
        dict(intercept=True, imbalance=0.3, ridge=0.2, noise=0.7),
        pytest.param(dict(intercept=False, imbalance=0.5, ridge=1e-3, noise=1.0), marks=pytest.mark.slow),
        pytest.param(dict(intercept=False, imbalance=0.8, ridge=3.0, noise=0.3), marks=pytest.mark.slow),
        pytest.param(dict(intercept=True, imbalance=0.5, ridge=0.05, noise=2.0), marks=pytest.mark.slow),
    ],
)
def test_square_closed_form_equals_fixed_point_solver(kw):
    """Square loss: the closed form (docs/mixtures.md section 2, derived here with intercept and
    imbalance) equals the general solver (quadrature + Anderson + bias root) to 1e-8."""
    closed = mixtures.theory(alpha=ALPHAS, loss="square", **kw)
    general = mixtures.theory(alpha=ALPHAS, loss="square", solver="fixed_point", **kw)
    assert closed.converged.all() and general.converged.all()
    for f in ("m", "q", "V", "bias", "m_hat", "q_hat", "V_hat", "test_error", "train_loss", "train_error", "support_fraction"):
        np.testing.assert_allclose(getattr(general, f), getattr(closed, f), rtol=1e-8, atol=1e-10, err_msg=f)


def test_square_closed_form_values_balanced():
    """The spec's balanced square-loss hats (section 5) at one point, solved by hand."""
    alpha, lam, delta = 2.0, 0.5, 0.8
    # V from V = 1/(lam + alpha delta/(1 + delta V)): quadratic lam delta V^2 + (lam + alpha delta - delta) V - 1 = 0
    a, b, c = lam * delta, lam + alpha * delta - delta, -1.0
    V = (-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)
    V_hat = alpha * delta / (1 + delta * V)
    # m = m_hat/(lam + V_hat), m_hat = alpha (1 - m)/(1 + delta V)
    k = alpha / (1 + delta * V) / (lam + V_hat)
    m = k / (1 + k)
    m_hat = alpha * (1 - m) / (1 + delta * V)
    # q (lam + V_hat)^2 = m_hat^2 + alpha delta ((1 - m)^2 + delta q)/(1 + delta V)^2
    c2 = alpha * delta / (1 + delta * V) ** 2
    q = (m_hat**2 + c2 * (1 - m) ** 2) / ((lam + V_hat) ** 2 - c2 * delta)
    th = mixtures.theory(alpha=alpha, ridge=lam, loss="square", noise=delta)
    np.testing.assert_allclose([th.V, th.m, th.q], [V, m, q], rtol=1e-13)
    np.testing.assert_allclose(th.test_error, H(m / math.sqrt(delta * q)), rtol=1e-13)
    assert th.bias == 0


def test_square_ridgeless_min_norm_branch():
    """ridge = 0: alpha < 1 is the min-norm interpolator (train loss 0, every margin 1), alpha > 1
    least squares; both are the ridge -> 0+ limits."""
    a = np.array([0.4, 0.9, 1.5, 3.0])
    for ic, imb in [(False, 0.5), (True, 0.25)]:
        th0 = mixtures.theory(alpha=a, ridge=0.0, loss="square", noise=0.6, imbalance=imb, intercept=ic)
        th1 = mixtures.theory(alpha=a, ridge=1e-9, loss="square", noise=0.6, imbalance=imb, intercept=ic)
        np.testing.assert_allclose(th0.q, th1.q, rtol=1e-6)
        np.testing.assert_allclose(th0.test_error, th1.test_error, rtol=1e-7)
        np.testing.assert_allclose(th0.bias, th1.bias, rtol=1e-6, atol=1e-12)
        assert np.all(th0.train_loss[a < 1] == 0) and np.all(th0.support_fraction[a < 1] == 1)
        assert np.isinf(th0.V[a < 1]).all()


def test_bad_input_raises():
    with pytest.raises(ValueError, match="noise"):
        mixtures.theory(alpha=1.0, noise=0.0)
    with pytest.raises(ValueError, match="imbalance"):
        mixtures.theory(alpha=1.0, imbalance=1.0)
    with pytest.raises(ValueError, match="alpha"):
        mixtures.theory(alpha=-1.0)
    with pytest.raises(ValueError, match="max_margin"):
        mixtures.theory(alpha=1.0, ridge=0.0, loss="hinge")
    with pytest.raises(ValueError, match="separable"):
        mixtures.theory(alpha=1.0, ridge=0.0, loss="logistic", noise=1.0)
    with pytest.raises(ValueError, match="intercept"):
        mixtures.theory(alpha=1.0, intercept="yes")
    with pytest.raises(ValueError, match="loss"):
        mixtures.theory(alpha=1.0, loss="cauchy")
    with pytest.raises(ValueError, match="incompatible"):
        mixtures.theory(alpha=[1.0, 2.0], ridge=[0.1, 0.2, 0.3])


# ------------------------------------------------------------------------------------ Bayes / large ridge


def test_bayes_optimal_closed_form():
    bo = mixtures.bayes_optimal(alpha=[0.5, 2.0], noise=[1.0, 0.25])
    np.testing.assert_allclose(bo.overlap, [0.5 / 1.5, 2.0 / 2.25])
    np.testing.assert_allclose(bo.test_error, [H(math.sqrt(0.5 / 1.5)), H(math.sqrt(2.0 / (0.25 * 2.25)))])


@pytest.mark.parametrize("loss", ["square", pytest.param("logistic", marks=pytest.mark.slow), pytest.param("hinge", marks=pytest.mark.slow)])
def test_large_ridge_reaches_bayes_error(loss):
    """Spec: ridge, logistic and hinge at lambda -> infinity all reach the Bayes-optimal error
    (their weight becomes proportional to sum_mu y_mu x_mu)."""
    a = np.array([0.5, 1.5, 5.0])
    bo = mixtures.bayes_optimal(alpha=a, noise=0.8)
    th = mixtures.theory(alpha=a, ridge=1e5, loss=loss, noise=0.8)
    np.testing.assert_allclose(th.test_error, bo.test_error, rtol=1e-4)
    assert np.all(th.test_error >= bo.test_error - 1e-12)


@settings(max_examples=40)
@given(
    alpha=st.floats(0.05, 20.0),
    lam=st.floats(1e-4, 1e3),
    delta=st.floats(0.05, 5.0),
)
def test_square_error_is_at_least_bayes(alpha, lam, delta):
    """Property: no ERM beats the Bayes-optimal error (balanced classes)."""
    th = mixtures.theory(alpha=alpha, ridge=lam, loss="square", noise=delta)
    bo = mixtures.bayes_optimal(alpha=alpha, noise=delta)
    assert th.test_error >= bo.test_error * (1 - 1e-12) - 1e-15


@pytest.mark.parametrize("loss", ["hinge", pytest.param("logistic", marks=pytest.mark.slow)])
def test_logistic_and_hinge_errors_at_least_bayes_on_grid(loss):
    """Same property for logistic and hinge on a small grid."""
    a = np.array([0.3, 1.0, 3.0])
    lam = np.array([1e-3, 0.1, 30.0])
    bo = mixtures.bayes_optimal(alpha=a, noise=0.5)
    th = mixtures.theory(alpha=a, ridge=lam, loss=loss, noise=0.5)
    assert th.converged.all()
    assert np.all(th.test_error >= bo.test_error - 1e-12), loss


# ------------------------------------------------------------------------------------ max-margin, separability


def test_max_margin_equals_hinge_small_ridge():
    """The hinge limit (docs/theory/glm.md section 5), mixture version: the hinge saddle point at small
    ridge equals the Gordon max-margin solution (two independent solvers)."""
    a = np.array([0.5, 1.0, 3.0])
    mm = mixtures.max_margin(alpha=a, noise=0.5)
    th = mixtures.theory(alpha=a, ridge=1e-4, loss="hinge", noise=0.5)
    np.testing.assert_allclose(th.cosine, mm.cosine, rtol=1e-9)
    np.testing.assert_allclose(th.test_error, mm.test_error, rtol=1e-9)
    np.testing.assert_allclose(th.q, mm.q, rtol=1e-9)
    np.testing.assert_allclose(th.support_fraction, mm.support_fraction, rtol=1e-9)
    np.testing.assert_allclose(mm.q, 1 / mm.kappa**2, rtol=1e-14)
    assert np.all(th.train_loss == 0)


@pytest.mark.slow
def test_max_margin_equals_hinge_small_ridge_with_intercept():
    a = np.array([0.5, 1.0, 3.0])
    mm = mixtures.max_margin(alpha=a, noise=0.5, imbalance=0.3, intercept=True)
    th = mixtures.theory(alpha=a, ridge=1e-5, loss="hinge", noise=0.5, imbalance=0.3, intercept=True)
    for f in ("cosine", "test_error", "q", "bias", "support_fraction"):
        np.testing.assert_allclose(getattr(th, f), getattr(mm, f), rtol=1e-9, err_msg=f)


def test_separability_threshold_limits():
    """Cover: alpha_s -> 2 as noise -> infinity (labels independent of the inputs); alpha_s decreases
    with noise; the intercept only helps (alpha_s larger); without intercept imbalance is irrelevant."""
    noise = np.array([0.1, 0.5, 1.0, 4.0, 1e4])
    s0 = mixtures.separability_threshold(noise=noise).alpha_s
    s1 = mixtures.separability_threshold(noise=noise, imbalance=0.3, intercept=True).alpha_s
    s2 = mixtures.separability_threshold(noise=noise, imbalance=0.3).alpha_s
    np.testing.assert_allclose(s0[-1], 2.0, rtol=1e-3)
    assert np.all(np.diff(s0) < 0) and np.all(s1 >= s0 - 1e-12)
    np.testing.assert_allclose(s2, s0, rtol=1e-14)
    # at alpha_s the max margin vanishes
    mm = mixtures.max_margin(alpha=s0[:4] * (1 - 1e-6), noise=noise[:4])
    assert np.all(mm.separable) and np.all(mm.kappa < 1e-3)
    with pytest.warns(mixtures.NotSeparableWarning):
        mm = mixtures.max_margin(alpha=s0[:4] * 1.01, noise=noise[:4])
    assert not np.any(mm.separable)


def test_support_vector_abundance_theory():
    """Max-margin support fraction -> 1 as alpha -> 0 (its deficit is ~ Phi(a*) with a* ~ -1/sqrt(alpha):
    exponentially small), and there the max-margin and min-norm (square loss, ridge 0) test errors
    coincide; at alpha = 0.5 the support fraction is well below 1 and the two errors differ."""
    a = np.array([1e-3, 0.01, 0.1, 0.5])
    sva = mixtures.support_vector_abundance(alpha=a, noise=1.0)
    assert np.all(np.diff(sva.support_fraction) <= 0) and sva.support_fraction[0] > 1 - 1e-12
    assert sva.support_fraction[-1] < 0.9
    gap = np.abs(sva.max_margin_test_error - sva.min_norm_test_error)
    assert np.all(gap[:2] < 1e-9) and gap[-1] > 1e-2 and np.all(np.diff(gap) >= -1e-12)


# ------------------------------------------------------------------------------------ properties, gradients


@pytest.mark.slow
def test_logistic_intercept_balanced_bias_is_zero_and_imbalance_symmetry():
    """Balanced classes: b = 0 by symmetry; rho -> 1 - rho flips the sign of b and keeps the rest."""
    a = np.array([0.5, 2.0])
    th = mixtures.theory(alpha=a, ridge=0.1, loss="logistic", noise=0.5, imbalance=np.array([[0.5], [0.3], [0.7]]), intercept=True)
    assert th.converged.all()
    np.testing.assert_allclose(th.bias[0], 0.0, atol=1e-12)
    np.testing.assert_allclose(th.bias[1], -th.bias[2], rtol=1e-9)
    np.testing.assert_allclose(th.test_error[1], th.test_error[2], rtol=1e-9)
    assert np.all(th.bias[1] < 0)  # majority class -1: the boundary moves towards the minority class


@pytest.mark.slow
def test_implicit_gradient_matches_finite_difference():
    import jax.numpy as jnp

    f = lambda a: mixtures.theory(alpha=a, ridge=0.1, loss="logistic", noise=0.5).test_error
    with jax.enable_x64(True):
        g = jax.grad(f)(jnp.asarray(1.3))
    h = 1e-5
    fd = (f(1.3 + h) - f(1.3 - h)) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-5)


def test_error_decreases_with_alpha_at_optimal_like_ridge():
    a = np.geomspace(0.2, 20, 8)
    th = mixtures.theory(alpha=a, ridge=1.0, loss="square", noise=1.0)
    assert np.all(np.diff(th.test_error) < 0)
    assert np.all(th.train_error <= th.test_error + 1e-12)


def test_separability_threshold_properties():
    """Properties on a (noise, imbalance) grid, one vectorised call each: alpha_s >= 2 (Cover's
    random-label value; the cluster signal only helps), the intercept never lowers it, and the
    max-margin classifier exists with 0 < support fraction < 1 at alpha = alpha_s / 2."""
    noise = np.geomspace(0.05, 50.0, 7)[:, None]
    rho = np.array([0.05, 0.3, 0.5, 0.8])[None, :]
    s0 = mixtures.separability_threshold(noise=noise, imbalance=rho).alpha_s
    s1 = mixtures.separability_threshold(noise=noise, imbalance=rho, intercept=True).alpha_s
    assert np.all(s0 >= 2.0 - 1e-9) and np.all(s1 >= s0 * (1 - 1e-12))
    assert np.all(np.diff(s0, axis=0) < 0)
    mm = mixtures.max_margin(alpha=0.5 * s1, noise=noise, imbalance=rho, intercept=True)
    assert np.all(mm.separable) and np.all(mm.kappa > 0)
    assert np.all((mm.support_fraction > 0) & (mm.support_fraction < 1))
