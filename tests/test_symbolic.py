"""Tests for overparam_theory.symbolic: the SymPy form of the isotropic ridge asymptotics.

The SymPy expressions (textbook Marchenko-Pastur forms, docs/theory/ridge.md) are evaluated with 30 significant
digits and compared with the cancellation-free closed forms of ``overparam_theory.ridge.theory``;
the ridgeless limits and the optimal-ridge identities are derived symbolically.
"""

import functools
import math

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from overparam_theory import ridge as ridge_model
from overparam_theory import symbolic as S

FIELDS = ("bias", "variance", "excess_risk", "train_error")
RTOL, ATOL = 1e-10, 1e-12

alphas = st.floats(0.1, 10.0)
ridgeless_alphas = alphas.filter(lambda a: abs(a - 1.0) >= 0.05)
ridges = st.floats(-6.0, 2.0).map(lambda e: 10.0**e)  # log-uniform on [1e-6, 100]
moderate_ridges = st.floats(-2.0, 2.0).map(lambda e: 10.0**e)
signals = st.floats(0.0, 5.0)
noises = st.floats(0.0, 5.0)
# optimal ridge: lam* = noise/(alpha signal) must stay finite in float64 (see the note below)
optimal_signals = st.one_of(st.just(0.0), st.floats(1e-3, 5.0))


@functools.cache
def _expressions():
    return {
        "bias": S.ridge_bias(),
        "variance": S.ridge_variance(),
        "excess_risk": S.ridge_excess_risk(),
        "train_error": S.ridge_train_error(),
    }


@functools.cache
def _jax_functions():
    return {k: jax.jit(S.to_function(e)) for k, e in _expressions().items()}


def _subs(alpha, ridge=None, signal=None, noise=None):
    """Exact (binary-float) values at 40 digits for ``expr.evalf(30, subs=...)``."""
    values = {S.alpha: alpha, S.ridge: ridge, S.signal: signal, S.noise: noise}
    return {k: sympy.Float(float(v), 40) for k, v in values.items() if v is not None}


def _reference(expr, **values):
    return float(expr.evalf(30, subs=_subs(**values)))


def _close(got, ref, rtol=RTOL, atol=ATOL):
    got = float(got)
    assert math.isfinite(got), (got, ref)
    assert abs(got - ref) <= rtol * abs(ref) + atol, (got, ref, abs(got - ref) / max(abs(ref), 1e-300))


# ------------------------------------------------------------------------------- MP Stieltjes


def test_mp_stieltjes_root_and_derivative_closed_form():
    m, mp = S.mp_stieltjes()
    g, lam = S.gamma, S.ridge
    a = 1 - g + lam
    assert sympy.simplify(g * lam * m**2 + a * m - 1) == 0  # m solves the MP quadratic
    assert sympy.simplify(mp - m * (1 + g * m) / sympy.sqrt(a**2 + 4 * g * lam)) == 0  # spec's m'


@pytest.mark.parametrize("gamma_value", [0.3, 2.5])
@pytest.mark.parametrize("lam", [0.05, 1.7])
def test_mp_stieltjes_is_the_transform_of_the_mp_law(gamma_value, lam):
    """m(-lam) and m'(-lam) equal the integrals against the MP density (plus the atom at 0)."""
    mpmath.mp.dps = 30
    g = mpmath.mpf(gamma_value)
    lo, hi = (1 - mpmath.sqrt(g)) ** 2, (1 + mpmath.sqrt(g)) ** 2
    density = lambda s: mpmath.sqrt((hi - s) * (s - lo)) / (2 * mpmath.pi * g * s)
    atom = max(1 - 1 / g, 0)
    m_int = mpmath.quad(lambda s: density(s) / (s + lam), [lo, hi]) + atom / lam
    mp_int = mpmath.quad(lambda s: density(s) / (s + lam) ** 2, [lo, hi]) + atom / lam**2
    m, mp = S.mp_stieltjes()
    subs = _subs(alpha=1.0 / gamma_value, ridge=lam)
    assert float(m.evalf(30, subs=subs)) == pytest.approx(float(m_int), rel=1e-12)
    assert float(mp.evalf(30, subs=subs)) == pytest.approx(float(mp_int), rel=1e-12)


# ------------------------------------------------------------------------- ridge > 0 vs theory


@given(alpha=alphas, ridge=ridges, signal=signals, noise=noises)
def test_theory_matches_symbolic_ridge(alpha, ridge, signal, noise):
    th = ridge_model.theory(alpha=alpha, ridge=ridge, signal=signal, noise=noise)
    for field, expr in _expressions().items():
        ref = _reference(expr, alpha=alpha, ridge=ridge, signal=signal, noise=noise)
        _close(getattr(th, field), ref)


# ------------------------------------------------------------------------------------ ridgeless


@given(alpha=ridgeless_alphas, signal=signals, noise=noises)
def test_theory_matches_symbolic_ridgeless(alpha, signal, noise):
    regime = "under" if alpha > 1 else "over"  # gamma = 1/alpha < 1 <=> alpha > 1
    risk = S.ridgeless_excess_risk(regime)
    th = ridge_model.theory(alpha=alpha, ridge=0.0, signal=signal, noise=noise)
    expected = {
        "excess_risk": risk,
        "bias": risk.subs(S.noise, 0),  # R is linear in (signal, noise)
        "variance": risk.subs(S.signal, 0),
        "train_error": S.ridgeless_train_error(regime),
    }
    for field, expr in expected.items():
        _close(getattr(th, field), _reference(expr, alpha=alpha, signal=signal, noise=noise))


@pytest.mark.parametrize("regime", S.REGIMES)
def test_ridgeless_limit_is_derived_by_sympy(regime):
    stated = S.ridgeless_excess_risk(regime)
    assert sympy.simplify(S.ridgeless_limit(regime) - stated) == 0
    # bias and variance separately, and the training error
    assert sympy.simplify(S.ridgeless_limit(regime, S.ridge_bias()) - stated.subs(S.noise, 0)) == 0
    assert sympy.simplify(S.ridgeless_limit(regime, S.ridge_variance()) - stated.subs(S.signal, 0)) == 0
    assert sympy.simplify(S.ridgeless_limit(regime, S.ridge_train_error()) - S.ridgeless_train_error(regime)) == 0


def test_ridgeless_train_error_under_is_noise_times_one_minus_gamma():
    assert sympy.simplify(S.ridgeless_limit("under", S.ridge_train_error()) - S.noise * (1 - S.gamma)) == 0
    # and numerically: the ridge expression at a tiny ridge approaches sigma^2 (1 - gamma)
    for alpha in (1.5, 3.0, 9.0):
        train = _reference(S.ridge_train_error(), alpha=alpha, ridge=1e-12, signal=2.0, noise=0.7)
        assert train == pytest.approx(0.7 * (1 - 1 / alpha), rel=1e-9)


def test_ridgeless_limit_rejects_unknown_regime():
    with pytest.raises(ValueError, match="regime"):
        S.ridgeless_excess_risk("critical")
    with pytest.raises(ValueError, match="regime"):
        S.ridgeless_limit("critical")


# -------------------------------------------------------------------------------- optimal ridge


def test_optimal_ridge_identities():
    lam_star = S.optimal_ridge()
    assert sympy.simplify(lam_star - S.noise * S.gamma / S.signal) == 0
    # R(lam*) = sigma^2 gamma m(-lam*) = r^2 lam* m(-lam*)
    assert sympy.simplify(S.ridge_excess_risk().subs(S.ridge, lam_star) - S.optimal_risk()) == 0
    m, _ = S.mp_stieltjes()
    assert sympy.simplify(S.optimal_risk() - S.signal * lam_star * m.subs(S.ridge, lam_star)) == 0
    # dR/dlam vanishes at lam*
    assert sympy.simplify(S.risk_slope_at_optimum()) == 0


@given(alpha=alphas, signal=optimal_signals, noise=noises)
def test_optimal_ridge_matches_symbolic(alpha, signal, noise):
    """signal = 0 exactly is the zero estimator; a subnormal signal (lam* ~ 1e308) is outside the
    float64 range of ridge.optimal_ridge / ridge.theory, so it is not drawn."""
    opt = ridge_model.optimal_ridge(alpha=alpha, signal=signal, noise=noise)
    if signal == 0:  # lam* = inf: the zero estimator, risk r^2 = 0
        assert np.isinf(opt.ridge) and float(opt.excess_risk) == 0.0
        return
    if noise == 0:  # lam* = 0: min-norm interpolation, R = r^2 max(0, 1 - 1/gamma)
        assert float(opt.ridge) == 0.0
        _close(opt.excess_risk, signal * max(0.0, 1.0 - alpha))
        return
    _close(opt.ridge, _reference(S.optimal_ridge(), alpha=alpha, signal=signal, noise=noise))
    _close(opt.excess_risk, _reference(S.optimal_risk(), alpha=alpha, signal=signal, noise=noise))


@functools.cache
def _risk_slope_mpmath():
    return sympy.lambdify(S.ARGUMENTS, sympy.diff(S.ridge_excess_risk(), S.ridge), modules="mpmath")


@given(alpha=alphas, signal=st.floats(0.1, 5.0), noise=st.floats(0.1, 5.0))
@settings(max_examples=20)
def test_optimal_ridge_is_a_minimum(alpha, signal, noise):
    """dR/dlam vanishes at lam* (50-digit mpmath; evalf of an exact zero would chase digits)
    and changes sign there, so lam* is the minimum along ridge."""
    slope = _risk_slope_mpmath()
    with mpmath.workdps(50):
        a, r2, s2 = (mpmath.mpf(v) for v in (alpha, signal, noise))
        lam_star = s2 / (a * r2)
        at_star = slope(a, lam_star, r2, s2)
        below, above = slope(a, lam_star / 1.01, r2, s2), slope(a, lam_star * 1.01, r2, s2)
    assert below < 0 < above
    assert abs(at_star) <= mpmath.mpf(10) ** -40 * min(-below, above)
    lam = float(lam_star)
    r0 = _reference(S.ridge_excess_risk(), alpha=alpha, ridge=lam, signal=signal, noise=noise)
    r_star = _reference(S.optimal_risk(), alpha=alpha, signal=signal, noise=noise)
    _close(r0, r_star, rtol=1e-14, atol=0)


# --------------------------------------------------------------------------- JAX / LaTeX helpers


@given(alpha=alphas, ridge=moderate_ridges, signal=signals, noise=noises)
def test_to_function_agrees_with_theory(alpha, ridge, signal, noise):
    """Float64 evaluation of the textbook forms.  They cancel at tiny ridge (relative error
    ~ eps * (1 + alpha)^2 / ridge^2 for the differentiated m'), hence ridge >= 1e-2 here."""
    th = ridge_model.theory(alpha=alpha, ridge=ridge, signal=signal, noise=noise)
    with jax.enable_x64(True):
        args = [jnp.asarray(v, jnp.float64) for v in (alpha, ridge, signal, noise)]
        values = {k: float(f(*args)) for k, f in _jax_functions().items()}
    for field in FIELDS:
        _close(values[field], float(getattr(th, field)), rtol=1e-9)


def test_to_function_is_traceable():
    """jit, vmap and grad through the lambdified expression (float64 inside enable_x64)."""
    risk = S.ridge_excess_risk()
    f = S.to_function(risk)
    alpha, lam, signal, noise = 0.7, 0.3, 1.3, 0.4
    with jax.enable_x64(True):
        grad = jax.jit(jax.grad(f, argnums=1))(alpha, lam, signal, noise)
        batch = jax.vmap(f, in_axes=(0, None, None, None))(jnp.linspace(0.5, 2.0, 4), lam, signal, noise)
        assert grad.dtype == jnp.float64
    ref = _reference(sympy.diff(risk, S.ridge), alpha=alpha, ridge=lam, signal=signal, noise=noise)
    _close(grad, ref, rtol=1e-9)
    th = ridge_model.theory(alpha=np.linspace(0.5, 2.0, 4), ridge=lam, signal=signal, noise=noise)
    np.testing.assert_allclose(np.asarray(batch), th.excess_risk, rtol=1e-12)
    # ridgeless expressions take the same four arguments (ridge unused)
    with jax.enable_x64(True):
        over = float(S.to_function(S.ridgeless_excess_risk("over"))(0.5, 0.0, 1.0, 1.0))
    assert over == pytest.approx(0.5 + 1.0, rel=1e-14)  # gamma = 2: r^2/2 + sigma^2/(gamma - 1)


def test_latex():
    text = S.latex(S.ridgeless_excess_risk("under"))
    assert isinstance(text, str) and "noise" in text and "alpha" in text
    assert S.latex(S.alpha) == r"\alpha"
