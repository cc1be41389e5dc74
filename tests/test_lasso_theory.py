"""LASSO state evolution (docs/theory/lasso.md) against closed forms, quadrature and limits.

References: Bayati & Montanari 2012 (Thm 1.4); Donoho, Maleki & Montanari, PNAS 2009 (the
parametric form of the phase transition used below as an independent reference).  Library
names: ``alpha = n/N`` (the spec's delta), ``threshold`` (the spec's alpha), ``l1_penalty``
(lam), ``noise`` (sigma^2), ``sparsity`` (eps), ``nonzero_variance`` (v).

Grids are kept at <= 8 points so that every call reuses one compiled program per mode
(the theory pads grids to power-of-two lengths >= 8).
"""

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize
from scipy.stats import norm

from overparam_theory import lasso
from overparam_theory.lasso import _theory as T

RTOL = 1e-10


def g_np(t):
    return (1 + t * t) * norm.sf(t) - t * norm.pdf(t)


def soft(u, t):
    return np.sign(u) * np.maximum(np.abs(u) - t, 0.0)


def quad_error_nonzero(theta, tau2, v):
    """E[(eta(X0 + tau Z; theta tau) - X0)^2], X0 ~ N(0, v), by 1-D quadrature over Y = X0 + tau Z.

    Given Y ~ N(0, s^2) (s^2 = v + tau^2), X0 | Y ~ N(v Y / s^2, v tau^2 / s^2), so the error is
    E_Y[(eta(Y) - v Y / s^2)^2] + v tau^2 / s^2 (no cancellation in the integrand)."""
    s2 = v + tau2
    s = np.sqrt(s2)
    t = theta * np.sqrt(tau2)
    f = lambda yy: (soft(yy, t) - v * yy / s2) ** 2 * norm.pdf(yy / s) / s
    pts = sorted({-t, t})
    lim = 40 * s
    parts = [(-lim, pts[0]), (pts[0], pts[-1]), (pts[-1], lim)]
    val = sum(integrate.quad(f, a, b, epsabs=0, epsrel=1e-13, limit=200)[0] for a, b in parts if b > a)
    return val + v * tau2 / s2


def quad_error_zero(theta, tau2):
    tau = np.sqrt(tau2)
    f = lambda z: soft(tau * z, theta * tau) ** 2 * norm.pdf(z)
    return 2 * integrate.quad(f, theta, 40, epsabs=0, epsrel=1e-13, limit=200)[0]


CASES = [(0.5, 1.0, 1.0), (1.5, 0.2, 1.0), (2.5, 3.0, 0.5), (1.2, 1e-6, 1.0), (0.8, 1e-10, 2.0), (4.0, 50.0, 1.0)]


def test_state_evolution_expectations_match_quadrature():
    """Psi (cancellation-free form), the spec's closed form and P(|X0 + tau Z| > theta tau) vs scipy.quad."""
    eps = 0.3
    th, t2, v = (np.array(c) for c in zip(*CASES))
    with jax.enable_x64(True):
        psi = np.asarray(t2 * T._psi_over_t(t2, th, eps, v))
        nnz = np.asarray(T._nnz(t2, th, eps, v))
    for i, (theta, tau2, var) in enumerate(CASES):
        zero = quad_error_zero(theta, tau2)
        nonzero = quad_error_nonzero(theta, tau2, var)
        np.testing.assert_allclose(zero, 2 * tau2 * g_np(theta), rtol=RTOL)
        ref = (1 - eps) * zero + eps * nonzero
        np.testing.assert_allclose(psi[i], ref, rtol=RTOL)
        if tau2 >= 1e-2:  # the spec's form 2 s^2 g(a) - 4 v Phi(-a) + v (cancels at small tau^2)
            s2 = var + tau2
            a = theta * np.sqrt(tau2 / s2)
            np.testing.assert_allclose(2 * s2 * g_np(a) - 4 * var * norm.sf(a) + var, nonzero, rtol=1e-9)
        a = theta * np.sqrt(tau2 / (var + tau2))
        p_ref = (1 - eps) * 2 * norm.sf(theta) + eps * 2 * norm.sf(a)
        np.testing.assert_allclose(nnz[i], p_ref, rtol=1e-13)


def test_threshold_min_solves_its_equation():
    alpha = np.array([0.05, 0.2, 0.5, 0.9, 0.999, 1.0, 1.5, 3.0])
    tmin = lasso.threshold_min(alpha)
    below = alpha < 1
    np.testing.assert_allclose(2 / alpha[below] * g_np(tmin[below]), 1.0, rtol=1e-13)
    assert np.all(tmin[~below] == 0)
    ref = [optimize.brentq(lambda t, a=a: 2 * g_np(t) - a, 0, 10, xtol=1e-15) for a in alpha[below]]
    np.testing.assert_allclose(tmin[below], ref, rtol=1e-11)


def test_least_squares_limit():
    """l1_penalty = 0, alpha > 1: OLS.  tau^2 = sigma^2 alpha/(alpha-1) and mse = alpha (tau^2 - sigma^2)
    = sigma^2 alpha/(alpha-1), which is sigma^2 tr((A^T A)^{-1}) / N = sigma^2 n/(n - N) for A_ij ~ N(0, 1/n)
    (not sigma^2/(alpha-1): that is the per-coordinate error for A_ij ~ N(0, 1/N))."""
    alpha = np.array([1.2, 1.5, 2.0, 4.0, 10.0, 1.0, 1.0, 3.0])
    noise = np.array([0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.0, 0.0])
    th = lasso.theory(alpha=alpha, l1_penalty=0.0, sparsity=0.2, noise=noise, nonzero_variance=1.7)
    ok = alpha > 1
    np.testing.assert_allclose(th.mse[ok], noise[ok] * alpha[ok] / (alpha[ok] - 1), rtol=RTOL, atol=0)
    np.testing.assert_allclose(th.tau2[ok], noise[ok] * alpha[ok] / (alpha[ok] - 1), rtol=RTOL, atol=0)
    np.testing.assert_allclose(th.train_error[ok], noise[ok] * (1 - 1 / alpha[ok]), rtol=RTOL, atol=0)
    assert np.all(th.threshold[ok] == 0)
    noisy = ok & (noise > 0)
    assert np.all(th.nnz_fraction[noisy] == 1)
    # alpha = 1: exact interpolation of a square system: mse = inf with noise (not NaN), 0 without.
    assert th.mse[5] == np.inf and th.tau2[5] == np.inf and th.train_error[5] == 0
    assert th.mse[6] == 0 and th.nnz_fraction[6] == 0.2
    assert th.mse[7] == 0  # noiseless, alpha > 1: exact recovery
    assert np.all(th.converged)
    # l1_penalty -> 0+ is continuous with the OLS branch.
    small = lasso.theory(alpha=2.0, l1_penalty=[1e-9, 1e-6], sparsity=0.2, noise=0.3, nonzero_variance=1.7)
    np.testing.assert_allclose(small.mse, 0.6, rtol=1e-5)
    assert small.mse[1] < small.mse[0] < 0.6 + 1e-12  # a little shrinkage helps


def test_calibration_roundtrip_and_admissible_root():
    """l1_penalty -> threshold lies above threshold_min and maps back to l1_penalty (1e-10)."""
    alpha = np.array([0.3, 0.3, 0.7, 0.7, 1.0, 1.5, 0.5, 0.5])
    lam = np.array([0.05, 1.0, 0.01, 0.4, 0.2, 0.7, 0.3, 0.0])
    noise = np.array([0.1, 0.1, 0.05, 0.05, 0.2, 0.2, 0.0, 0.0])  # noiseless with lam > 0: tau > 0
    kw = dict(sparsity=0.15, noise=noise, nonzero_variance=1.3)
    th = lasso.theory(alpha=alpha, l1_penalty=lam, **kw)
    assert np.all(th.converged)
    assert np.all(th.threshold > lasso.threshold_min(alpha))
    back = lasso.theory(alpha=alpha, threshold=th.threshold, **kw)
    np.testing.assert_allclose(back.l1_penalty, lam, rtol=RTOL, atol=1e-14)
    for f in ("mse", "nnz_fraction", "train_error", "tau2"):
        np.testing.assert_allclose(getattr(back, f), getattr(th, f), rtol=1e-12)
    # the SE residual relation mse = alpha (tau^2 - sigma^2) at the fixed point
    np.testing.assert_allclose(th.mse, alpha * (th.tau2 - noise), rtol=1e-9, atol=1e-15)
    assert np.all(th.tau2[6:7] > 0)  # noiseless with l1_penalty > 0 does not recover exactly


def test_lambda_increases_from_minus_infinity_above_threshold_min():
    """lam(threshold) on (threshold_min, inf): negative right above threshold_min (alpha < 1),
    increasing, so each l1_penalty >= 0 has one admissible root."""
    alpha = 0.4
    tmin = float(lasso.threshold_min(alpha))
    thresholds = tmin + np.array([1e-6, 1e-3, 0.05, 0.2, 0.5, 1.0, 2.0, 4.0])
    th = lasso.theory(alpha=alpha, threshold=thresholds, sparsity=0.1, noise=0.05)
    lam = th.l1_penalty
    assert lam[0] < -10 and np.all(np.diff(lam) > 0) and lam[-1] > 0
    assert np.all(np.diff(th.nnz_fraction) < 0)
    assert th.tau2[0] > 1e3  # the fixed point blows up at threshold_min


def test_noiseless_exact_recovery_below_the_transition():
    """noise = 0: tau = 0 exactly where slope0(threshold) <= alpha, a positive fixed point elsewhere."""
    alpha, eps = 0.5, 0.1
    thresholds = np.array([0.6, 1.0, 1.3, 1.6, 2.0, 2.4, 3.0, 4.0])
    th = lasso.theory(alpha=alpha, threshold=thresholds, sparsity=eps, noise=0.0)
    slope0 = (1 - eps) * 2 * g_np(thresholds) + eps * (1 + thresholds**2)
    inside = slope0 <= alpha
    assert inside.any() and (~inside).any()
    assert np.all(th.mse[inside] == 0) and np.all(th.train_error[inside] == 0)
    assert np.all(th.nnz_fraction[inside] == eps) and np.all(th.l1_penalty[inside] == 0)
    assert np.all(np.isfinite(th.mse)) and np.all(th.mse[~inside] > 0)
    assert np.all(th.converged)


def test_min_l1_noiseless_follows_the_phase_transition():
    """l1_penalty = 0, noise = 0, alpha < 1 (basis pursuit): mse = 0 iff sparsity/alpha < rho_SE(alpha)."""
    alpha = np.array([0.2, 0.2, 0.5, 0.5, 0.8, 0.8, 0.5, 0.5])
    rho = lasso.phase_transition(alpha)
    factor = np.array([0.999, 1.001, 0.999, 1.001, 0.999, 1.001, 0.5, 1.5])
    eps = factor * rho * alpha
    th = lasso.theory(alpha=alpha, l1_penalty=0.0, sparsity=eps, noise=0.0)
    below = factor < 1
    assert np.all(th.converged)
    assert np.all(th.mse[below] == 0) and np.all(th.nnz_fraction[below] == eps[below])
    assert np.all(th.mse[~below] > 0) and np.all(np.isfinite(th.mse))
    # above the transition basis pursuit keeps n non-zeros (a basic solution)
    np.testing.assert_allclose(th.nnz_fraction[~below], alpha[~below], rtol=1e-9)


def test_phase_transition_matches_parametric_form_and_scipy():
    """rho_SE(alpha) (maximisation) vs DMM's parametric form (1e-9) and a scipy maximisation (1e-6)."""
    alpha = np.array([0.1, 0.25, 0.5, 0.75, 0.9, 0.02, 0.99, 0.6])
    rho, zmax = lasso.phase_transition(alpha, return_maximizer=True)

    def delta_of_z(z):
        return 2 * norm.pdf(z) / (z + 2 * (norm.pdf(z) - z * norm.sf(z)))

    for a, r, zm in zip(alpha, rho, zmax):
        z = optimize.brentq(lambda t, a=a: delta_of_z(t) - a, 1e-9, 20, xtol=1e-15)
        rho_param = 1 - z * norm.sf(z) / norm.pdf(z)
        np.testing.assert_allclose(r, rho_param, rtol=1e-9, atol=0)
        np.testing.assert_allclose(zm, z, rtol=1e-7)
        res = optimize.minimize_scalar(
            lambda t, a=a: -(1 - 2 / a * g_np(t)) / (1 + t * t - 2 * g_np(t)),
            bounds=(1e-6, 10),
            method="bounded",
            options={"xatol": 1e-10},
        )
        np.testing.assert_allclose(r, -res.fun, rtol=1e-6)
    # rho_SE(1/2) = 0.38569 (both computations above agree on it to ~1e-15)
    assert abs(rho[2] - 0.38569) < 5e-6
    assert lasso.phase_transition(1.0) == 1.0 and lasso.phase_transition(2.0) == np.inf
    assert np.all(np.diff(lasso.phase_transition(np.linspace(0.05, 0.95, 8))) > 0)


def test_min_l1_double_descent_in_alpha():
    """noise > 0, l1_penalty = 0 (min-l1 interpolation for alpha < 1, OLS for alpha > 1).

    What the state evolution gives (sparsity 0.1, noise 0.01): the mse first *descends* through
    the Donoho-Tanner transition (alpha ~ 0.33 here, where the noiseless error vanishes), reaches a
    minimum between the transition and alpha = 1, then rises and diverges at the interpolation
    threshold alpha = 1 from both sides (min-l1 at 1-, OLS sigma^2 alpha/(alpha-1) at 1+); it is
    finite everywhere else.  No peak at the DT transition itself (checked on this grid)."""
    eps, s2 = 0.1, 0.01
    alpha = np.array([0.15, 0.3, 0.45, 0.7, 0.9, 0.99, 1.05, 2.0])
    th = lasso.theory(alpha=alpha, l1_penalty=0.0, sparsity=eps, noise=s2)
    assert np.all(th.converged) and np.all(np.isfinite(th.mse))
    m = th.mse
    assert m[0] > m[1] > m[2]  # first descent, through the DT transition
    assert m[2] < m[3] < m[4] < m[5]  # ascent to the interpolation peak
    assert m[5] > 50 * s2 and m[6] > 10 * s2
    assert m[6] > m[7]  # second descent (OLS)
    np.testing.assert_allclose(m[6:], s2 * alpha[6:] / (alpha[6:] - 1), rtol=RTOL)
    np.testing.assert_allclose(th.nnz_fraction[:6], alpha[:6], rtol=1e-9)  # basic solutions
    rho = lasso.phase_transition(alpha[:2])
    assert eps / alpha[0] > rho[0] and eps / alpha[1] < rho[1] * 1.2  # the grid straddles the transition


def test_gradient_matches_finite_differences():
    """Implicit gradients of mse w.r.t. alpha, l1_penalty, noise (through both roots)."""

    def mse(a, lam, s2):
        return lasso.theory(alpha=a, l1_penalty=lam, sparsity=0.1, noise=s2).mse

    with jax.enable_x64(True):
        grad = jax.jit(jax.grad(mse, argnums=(0, 1, 2)))(0.5, 0.3, 0.1)
    point = np.array([0.5, 0.3, 0.1])
    h = 1e-5
    for i in range(3):
        e = np.zeros(3)
        e[i] = h
        fd = (mse(*(point + e)) - mse(*(point - e))) / (2 * h)
        np.testing.assert_allclose(float(grad[i]), fd, rtol=1e-6)


def test_result_fields_dtype_and_shapes():
    th = lasso.theory(alpha=[[0.3], [1.5]], l1_penalty=[0.1, 0.5, 1.0], sparsity=0.2, noise=0.1)
    for leaf in jax.tree_util.tree_leaves(th):  # every field and every diagnostic
        assert np.shape(leaf) == (2, 3)
    assert th.mse.dtype == np.float64 and th.converged.dtype == bool
    assert set(lasso.FIELDS) <= set(th._fields)
    assert lasso.NAME == "lasso"


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(alpha=0.5, l1_penalty=0.1, sparsity=0.0), "sparsity"),
        (dict(alpha=0.5, l1_penalty=0.1, sparsity=1.5), "sparsity"),
        (dict(alpha=0.5, l1_penalty=0.1, sparsity=0.1, noise=-0.1), "noise"),
        (dict(alpha=0.5, l1_penalty=-1.0, sparsity=0.1), "l1_penalty"),
        (dict(alpha=0.0, l1_penalty=0.1, sparsity=0.1), "alpha"),
        (dict(alpha=-1.0, l1_penalty=0.1, sparsity=0.1), "alpha"),
        (dict(alpha=0.5, l1_penalty=0.1, sparsity=0.1, nonzero_variance=0.0), "nonzero_variance"),
        (dict(alpha=np.nan, l1_penalty=0.1, sparsity=0.1), "alpha"),
        (dict(alpha=0.5, l1_penalty=np.nan, sparsity=0.1), "l1_penalty"),
        (dict(alpha=0.5, l1_penalty=0.1, sparsity=0.1, noise=np.nan), "noise"),
        (dict(alpha=0.5, threshold=np.nan, sparsity=0.1), "threshold"),
        (dict(alpha=0.5, threshold=0.3, sparsity=0.1), "threshold_min"),
        (dict(alpha=1.0, threshold=0.0, sparsity=0.1), "threshold_min"),
        (dict(alpha=0.5, l1_penalty=0.1, threshold=1.0, sparsity=0.1), "exactly one"),
        (dict(alpha=0.5, sparsity=0.1), "exactly one"),
        (dict(alpha=[0.5, 0.6], l1_penalty=[0.1, 0.2, 0.3], sparsity=0.1), "shapes"),
        (dict(alpha=0.5, l1_penalty=0.1, sparsity=0.1, on_failure="loud"), "on_failure"),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        lasso.theory(**kwargs)


def test_threshold_error_message_gives_threshold_min():
    tmin = float(lasso.threshold_min(0.5))
    with pytest.raises(ValueError, match=f"{tmin:.10g}"[:8]):
        lasso.theory(alpha=0.5, threshold=0.3, sparsity=0.1)
    th = lasso.theory(alpha=2.0, threshold=0.0, sparsity=0.1, noise=0.2)  # alpha > 1: OLS allowed
    np.testing.assert_allclose(th.mse, 0.4, rtol=RTOL)


def test_phase_transition_and_threshold_min_bad_input():
    for fn in (lasso.phase_transition, lasso.threshold_min):
        with pytest.raises(ValueError, match="alpha"):
            fn(0.0)
        with pytest.raises(ValueError, match="alpha"):
            fn(np.nan)


# ---------------------------------------------------------------------------------------------
# Properties (hypothesis, deterministic profile; few examples: each one evaluates 8-point grids).

alphas = st.floats(0.2, 3.0)
eps_s = st.floats(0.02, 0.5)
noises = st.floats(1e-3, 1.0)


@settings(max_examples=6)
@given(alpha=alphas, eps=eps_s, above=st.floats(0.05, 3.0))
def test_mse_increases_with_noise_at_fixed_threshold(alpha, eps, above):
    """At a fixed SE threshold tau*^2 increases with noise (G(tau^2) increases in noise and decreases
    in tau^2) and Psi is increasing (concave, Psi(0) = 0, asymptotic slope 2 g > 0), so mse increases.

    At a fixed *l1_penalty* this is not true in general: the calibrated threshold moves.  E.g.
    alpha = 1, sparsity = 0.5, l1_penalty = 2: mse = 0.4357 at noise 0 and 0.4243 at noise 0.3; a
    simulation (N = 2000, 16 seeds, seed 0) also decreases: 0.443 +- 0.002 and 0.419 +- 0.006 (z
    +3.5 and -1.0 against the theory; other seed sets at N = 2000 gave z +2.1 and -1.9 at noise 0)."""
    threshold = float(lasso.threshold_min(alpha)) + above
    noise = np.array([0.0, 1e-3, 0.01, 0.05, 0.1, 0.3, 1.0, 3.0])
    th = lasso.theory(alpha=alpha, threshold=threshold, sparsity=eps, noise=noise)
    assert np.all(th.converged)
    assert np.all(np.diff(th.tau2) > 0)
    assert np.all(np.diff(th.mse) >= 0) and th.mse[-1] > th.mse[0]  # mse = 0 twice if recovered
    fixed_l1 = lasso.theory(alpha=1.0, l1_penalty=2.0, sparsity=0.5, noise=[0.0, 0.3])
    np.testing.assert_allclose(fixed_l1.mse, [0.43573456, 0.42425606], rtol=1e-7)


@settings(max_examples=6)
@given(alpha=alphas, eps=eps_s, noise=noises)
def test_nnz_decreases_with_l1_penalty(alpha, eps, noise):
    lam = np.array([0.01, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0])
    th = lasso.theory(alpha=alpha, l1_penalty=lam, sparsity=eps, noise=noise)
    assert np.all(th.converged)
    assert np.all(np.diff(th.nnz_fraction) < 0)
    assert np.all(np.diff(th.threshold) > 0)
    assert np.all(th.train_error >= 0) and np.all(np.isfinite(th.train_error))
    assert np.all(th.nnz_fraction <= np.minimum(alpha, 1.0) + 1e-12)  # LASSO selects at most n (generic)


@settings(max_examples=6)
@given(alpha=alphas, eps=eps_s, noise=noises, v=st.floats(0.2, 5.0))
def test_mse_continuous_across_calibration_and_bounded(alpha, eps, noise, v):
    """Same point by threshold and by l1_penalty; and the risk bound from r(mu) <= r(0) + mu^2:
    mse <= (sparsity v + 2 g(threshold) noise) / (1 - 2 g(threshold)/alpha)."""
    tmin = float(lasso.threshold_min(alpha))
    thresholds = tmin + np.array([0.05, 0.2, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0])
    by_t = lasso.theory(alpha=alpha, threshold=thresholds, sparsity=eps, noise=noise, nonzero_variance=v)
    lam = np.maximum(by_t.l1_penalty, 0)
    by_l = lasso.theory(alpha=alpha, l1_penalty=lam, sparsity=eps, noise=noise, nonzero_variance=v)
    pos = by_t.l1_penalty > 0
    np.testing.assert_allclose(by_l.mse[pos], by_t.mse[pos], rtol=1e-9)
    np.testing.assert_allclose(by_l.threshold[pos], thresholds[pos], rtol=1e-9)
    g = g_np(thresholds)
    bound = (eps * v + 2 * g * noise) / (1 - 2 * g / alpha)
    assert np.all(by_t.mse <= bound * (1 + 1e-12)) and np.all(by_t.mse > 0)
    # large threshold: everything killed, mse -> sparsity * v
    big = lasso.theory(alpha=alpha, threshold=40.0, sparsity=eps, noise=noise, nonzero_variance=v)
    np.testing.assert_allclose(big.mse, eps * v, rtol=1e-6)


@settings(max_examples=5)
@given(alpha=st.floats(0.2, 0.95), frac=st.floats(0.3, 0.9))
def test_noiseless_min_l1_limit_tends_to_zero_below_the_transition(alpha, frac):
    """noise = 0, sparsity/alpha = frac * rho_SE(alpha): mse(l1_penalty) -> 0 as l1_penalty -> 0,
    and is exactly 0 at l1_penalty = 0."""
    eps = frac * float(lasso.phase_transition(alpha)) * alpha
    lam = np.array([1.0, 0.3, 0.1, 1e-2, 1e-3, 1e-4, 1e-6, 0.0])
    th = lasso.theory(alpha=alpha, l1_penalty=lam, sparsity=eps, noise=0.0)
    assert np.all(th.converged)
    assert np.all(np.diff(th.mse) < 0) and th.mse[-1] == 0
    assert th.mse[-2] < 1e-8
    # the threshold converges to the l1_penalty -> 0+ limit reported at l1_penalty = 0
    np.testing.assert_allclose(th.threshold[-2], th.threshold[-1], rtol=1e-3)


@pytest.mark.slow
def test_float32_theory_is_close_to_float64():
    kw = dict(alpha=[0.3, 0.5, 1.5, 0.5], l1_penalty=[0.1, 0.5, 0.0, 0.0], sparsity=0.1, noise=[0.1, 0.1, 0.1, 0.0])
    t32 = lasso.theory(**kw, dtype="float32")
    t64 = lasso.theory(**kw)
    assert t32.mse.dtype == np.float32 and np.all(t32.converged)
    np.testing.assert_allclose(t32.mse, t64.mse, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(lasso.phase_transition(0.5, dtype="float32"), lasso.phase_transition(0.5), rtol=1e-5)


def test_expanding_root_statuses_and_implicit_gradient():
    """numerics.roots.expanding_root (the root search of the SE fixed point, the calibration,
    threshold_min and the phase transition): a root, its implicit derivative and aux output,
    and a Status for each failure, never a silent number."""
    from overparam_theory.numerics.diagnostics import Status
    from overparam_theory.numerics.roots import expanding_root
    from overparam_theory.numerics.solvers import Bracketed

    def f(x, c):  # increasing through x = c^2; aux: 3x
        return x - c * c, 3.0 * x

    with jax.enable_x64(True):
        res, aux = expanding_root(f, 0.0, 0.5, 3.0)  # the upper end is found by doubling
        assert int(res.status) == Status.OK and bool(res.converged)
        assert abs(float(res.root) - 9.0) < 1e-12 and abs(float(aux) - 27.0) < 1e-11
        droot = jax.grad(lambda c: expanding_root(f, 0.0, 0.5, c)[0].root)(3.0)
        daux = jax.grad(lambda c: expanding_root(f, 0.0, 0.5, c)[1])(3.0)
        np.testing.assert_allclose([float(droot), float(daux)], [6.0, 18.0], rtol=1e-12)
        no_bracket, _ = expanding_root(f, 10.0, 11.0, 3.0)  # f(lower) > 0
        nonfinite, _ = expanding_root(lambda x, c: (jax.numpy.log(x - 20.0) + c, ()), 0.0, 1.0, 0.0)
        short, _ = expanding_root(f, 0.0, 0.5, 3.0, solver=Bracketed(max_iter=4))
    assert int(no_bracket.status) == Status.NO_BRACKET and not bool(no_bracket.converged)
    assert int(nonfinite.status) == Status.NONFINITE
    assert int(short.status) == Status.MAX_ITERATIONS and int(short.iterations) == 4


# ---------------------------------------------------------------------------------------------
# The joint Newton solver of the fixed point and the calibration (docs/theory/lasso.md section 6).


def test_closed_form_jacobian_matches_autodiff():
    """The analytic partial derivatives the Newton steps use (of F1 = -G(e^x) and of
    l1_penalty(threshold, tau^2)) agree with forward-mode autodiff of the values."""
    import jax.numpy as jnp

    points = [(1.5, -3.0, 0.5, 0.1, 1.0, 0.01), (0.3, 2.0, 2.0, 0.3, 1.7, 0.1), (2.5, -20.0, 0.3, 0.05, 1.0, 0.0),
              (1.0, 5.0, 0.9, 0.2, 0.5, 0.3), (0.05, -1.0, 1.5, 0.7, 3.0, 1.0)]
    with jax.enable_x64(True):
        for theta, x, d, e, v, s2 in points:

            def values(th, xx, d=d, e=e, v=v, s2=s2):
                ev = T._evaluate(th, xx, T._theta_terms(th, d, e, v, s2), d, e, v, s2)
                return jax.numpy.stack([ev.f1, ev.lam])

            ev = T._evaluate(theta, x, T._theta_terms(theta, d, e, v, s2), d, e, v, s2)
            jac = np.asarray(jnp.stack(jax.jacfwd(values, argnums=(0, 1))(theta, x), axis=1))
            ours = np.array([[ev.f1_theta, ev.f1_x], [ev.lam_theta, ev.lam_x]])
            np.testing.assert_allclose(ours, jac, rtol=1e-12, atol=1e-14)


def test_solver_iterations_and_diagnostics_on_the_benchmark_curve():
    """Benchmark case 11's curve: every point converged in a handful of evaluations (the joint
    Newton step), with a calibration residual at the rounding level, and the fixed point and
    calibration satisfied by the returned (threshold, tau^2)."""
    alpha = np.linspace(0.1, 2.0, 200)
    th = lasso.theory(alpha=alpha, l1_penalty=0.2, sparsity=0.1, noise=0.01)
    assert np.all(th.converged)
    assert th.iterations.max() <= 20 and th.iterations.min() >= 2
    assert np.all(th.residual <= 1e-13)
    with jax.enable_x64(True):
        psi_t = np.asarray(T._psi_over_t(th.tau2, th.threshold, 0.1, 1.0))
        nnz = np.asarray(T._nnz(th.tau2, th.threshold, 0.1, 1.0))
    np.testing.assert_allclose(0.01 / th.tau2 + psi_t / alpha, 1.0, rtol=1e-13)
    np.testing.assert_allclose(th.threshold * np.sqrt(th.tau2) * (1 - nnz / alpha), 0.2, rtol=1e-12)


def test_solver_iteration_cap_gives_nan_and_max_iterations(monkeypatch):
    """A point whose solve hits the iteration cap is NaN with status MAX_ITERATIONS (or NO_BRACKET) and the cap as
    its iteration count (never a silent number); explicit branches are unaffected."""
    from overparam_theory.numerics.diagnostics import Status
    from overparam_theory.numerics.solvers import Bracketed

    monkeypatch.setattr(T, "_SOLVER", Bracketed(xtol=1e-14, max_iter=3))
    with jax.enable_x64(True):
        alpha = jax.numpy.array([0.5, 0.5, 2.0, 1.5, 0.3, 0.3, 0.3, 0.3])
        lam = jax.numpy.array([0.2, 1.0, 0.0, 0.0, 0.2, 0.2, 0.2, 0.2])
        one = jax.numpy.ones_like(alpha)
        out = jax.jit(lambda *a: T._l1_kernel(*a))(alpha, lam, 0.1 * one, one, 0.01 * one)  # a fresh trace
        by_t = jax.jit(lambda *a: T._threshold_kernel(*a))(alpha, 3.0 * one, 0.1 * one, one, 0.0 * one)
    status, it = np.asarray(out.diagnostics.status), np.asarray(out.diagnostics.iterations)
    solved = np.asarray(lam) > 0
    # NO_BRACKET: the cap came before a threshold above the root was found
    assert np.all(np.isin(status[solved], [Status.MAX_ITERATIONS, Status.NO_BRACKET])) and np.all(it[solved] == 3)
    assert np.all(np.isnan(np.asarray(out.mse)[solved])) and np.all(np.isnan(np.asarray(out.threshold)[solved]))
    assert np.all(np.isnan(np.asarray(out.tau2)[solved]))
    assert np.all(status[~solved] == Status.OK) and np.all(np.isfinite(np.asarray(out.mse)[~solved]))  # least squares
    # at a given threshold each point is either solved within 3 steps or reported
    st_t = np.asarray(by_t.diagnostics.status)
    assert np.all(np.isnan(np.asarray(by_t.mse)[st_t != 0])) and np.all(np.isfinite(np.asarray(by_t.mse)[st_t == 0]))
