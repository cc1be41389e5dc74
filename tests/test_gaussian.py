"""Tests for overparam_theory.numerics.gaussian (Gaussian quadrature and normal closed forms).

References: exact Gaussian moments, closed forms evaluated in 50-digit mpmath (mpmath ships with
sympy, a dependency) where float64 closed forms would cancel, scipy.special / scipy.integrate.
Cases are batched and jitted so that each test compiles once (XLA compiles dominate runtime).
"""

import math

import jax
import jax.numpy as jnp
import mpmath as mp
import numpy as np
import pytest
import scipy.integrate
import scipy.special as ss
from hypothesis import assume, given
from hypothesis import strategies as st

from overparam_theory.numerics.gaussian import (
    expect_normal,
    expect_normal_2d,
    expect_normal_split,
    gauss_hermite_nodes,
    log_normal_cdf,
    mills_ratio,
    normal_cdf,
    normal_pdf,
)

mp.mp.dps = 50


@pytest.fixture(autouse=True)
def x64():
    with jax.enable_x64(True):
        yield


def relu(x):
    return jnp.maximum(x, 0.0)


def rel_err(value, ref):
    value = np.asarray(value, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    return np.max(np.abs(value - ref) / np.maximum(np.abs(ref), 1e-300))  # 0/0 (underflow) -> 0


def relu_moments_ref(m, s):
    """(E relu(m + sZ), E relu(m + sZ)^2) from the closed forms, in 50-digit arithmetic."""
    m, s = mp.mpf(m), mp.mpf(s)
    cdf, pdf = mp.ncdf(m / s), mp.npdf(m / s)
    return float(m * cdf + s * pdf), float((m * m + s * s) * cdf + m * s * pdf)


# ------------------------------------------------------------------------------------------
# Nodes, validation, plain Gauss-Hermite
# ------------------------------------------------------------------------------------------


def test_nodes_cached_normalised_readonly():
    x, w = gauss_hermite_nodes(20)
    assert x.shape == w.shape == (20,)
    assert abs(w.sum() - 1.0) < 1e-14
    assert np.all(w > 0) and np.all(np.diff(x) > 0)
    x2, w2 = gauss_hermite_nodes(20)
    assert x2 is x and w2 is w  # lru_cache
    with pytest.raises(ValueError):
        x[0] = 1.0  # the cached arrays cannot be corrupted


@pytest.mark.parametrize("bad", [0, -3, 2.5, "8", None, True])
def test_n_nodes_validation(bad):
    with pytest.raises(ValueError, match="n_nodes"):
        gauss_hermite_nodes(bad)
    with pytest.raises(ValueError, match="n_nodes"):
        expect_normal(jnp.cos, n_nodes=bad)
    with pytest.raises(ValueError, match="n_nodes"):
        expect_normal_split(relu, kink=0.0, n_nodes=bad)
    with pytest.raises(ValueError, match="n_nodes"):
        expect_normal_2d(lambda u, v: u * v, cov=(1.0, 0.0, 1.0), n_nodes=bad)


def test_other_validation():
    with pytest.raises(ValueError, match="std"):
        expect_normal(jnp.cos, std=-1.0)
    with pytest.raises(ValueError, match="std"):
        expect_normal_split(relu, kink=0.0, std=[1.0, -0.5])
    with pytest.raises(ValueError, match="fn"):
        expect_normal(3.0)
    with pytest.raises(ValueError, match="cov"):
        expect_normal_2d(lambda u, v: u, cov=(1.0, 0.0))
    with pytest.raises(ValueError, match="semi-definite"):
        expect_normal_2d(lambda u, v: u, cov=(1.0, 2.0, 1.0))
    with pytest.raises(ValueError, match="var_u"):
        expect_normal_2d(lambda u, v: u, cov=(-1.0, 0.0, 1.0))


def test_moments_exact():
    got = jax.jit(lambda: jnp.stack([expect_normal(lambda z, k=k: z**k, n_nodes=8) for k in range(11)]))()
    exact = [0.0 if k % 2 else float(np.prod(np.arange(k - 1, 0, -2))) for k in range(11)]  # (k-1)!!
    assert np.all(np.abs(np.asarray(got) - exact) <= 1e-12 * np.maximum(1.0, exact))


def test_shifted_scaled_moments_and_batching():
    mean = jnp.array([[-1.0], [0.5]])  # (2, 1)
    std = jnp.array([0.3, 1.0, 2.0])  # (3,)
    got = expect_normal(lambda x: x**4, mean=mean, std=std, n_nodes=5)
    m, s = np.asarray(mean), np.asarray(std)
    assert got.shape == (2, 3)
    assert rel_err(got, m**4 + 6 * m**2 * s**2 + 3 * s**4) < 1e-13


def test_cosine_characteristic_function():
    a = jnp.array([0.0, 0.5, 1.0, 2.0, 3.0])
    got = expect_normal(jnp.cos, std=a, n_nodes=64)  # E cos(aZ), batched over std
    assert np.max(np.abs(np.asarray(got) - np.exp(-np.asarray(a) ** 2 / 2))) < 1e-12


# ------------------------------------------------------------------------------------------
# Split rule
# ------------------------------------------------------------------------------------------


def test_relu_moments_split():
    # kink at standardised positions c = -m/s from -8 to 8, three scales
    cases = [(m, s) for s in (0.5, 1.0, 2.5) for m in (-8.0 * s, -3.0, -0.7, 0.0, 0.4, 2.0, 8.0 * s)]
    m, s = (jnp.array(v) for v in zip(*cases))
    got1, got2 = jax.jit(
        lambda m, s: (
            expect_normal_split(relu, kink=0.0, mean=m, std=s),
            expect_normal_split(lambda x: relu(x) ** 2, kink=0.0, mean=m, std=s),
        )
    )(m, s)
    ref1, ref2 = np.array([relu_moments_ref(*c) for c in cases]).T
    assert rel_err(got1, ref1) < 1e-12
    assert rel_err(got2, ref2) < 1e-12
    # the plain rule on the same kinked integrand is far off
    plain = expect_normal(relu, mean=m, std=s, n_nodes=64)
    assert np.max(np.abs(np.asarray(plain) - ref1)) > 1e-4


def test_plain_gauss_hermite_converges_like_one_over_n_on_relu():
    # The worst case over kink positions is a clean ~0.3/n (single m values fluctuate).
    ms = np.linspace(-1.0, 1.0, 201)
    ref = ms * ss.ndtr(ms) + np.exp(-(ms**2) / 2) / math.sqrt(2 * math.pi)
    e16, e64, split = (
        np.asarray(v)
        for v in jax.jit(
            lambda m: (
                expect_normal(relu, mean=m, n_nodes=16),
                expect_normal(relu, mean=m, n_nodes=64),
                expect_normal_split(relu, kink=0.0, mean=m, n_nodes=32),
            )
        )(ms)
    )
    e16, e64 = np.max(np.abs(e16 - ref)), np.max(np.abs(e64 - ref))
    assert 1e-3 < e64 < e16
    assert 3.0 < e16 / e64 < 5.5  # ~4 = 64/16
    assert np.max(np.abs(split - ref)) < 1e-13  # split rule with half the nodes per side


def test_hinge_split():
    # E max(0, 1 - X), X = m + sZ: kink at 1; closed form (1-m) Phi((1-m)/s) + s phi((1-m)/s).
    cases = [(-6.0, 1.0), (-1.0, 0.5), (0.0, 1.0), (1.0, 2.0), (1.5, 0.4), (9.0, 1.0)]
    ref = []
    for m, s in cases:
        t = (mp.mpf(1) - m) / s
        ref.append(float(s * (t * mp.ncdf(t) + mp.npdf(t))))
    m, s = (np.array(v) for v in zip(*cases))
    got = expect_normal_split(lambda x: relu(1.0 - x), kink=1.0, mean=m, std=s)
    assert rel_err(got, ref) < 1e-12


def softplus_ref(m, s, beta):
    f = lambda z: np.logaddexp(0.0, beta * (m + s * z)) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    value, err = scipy.integrate.quad(f, -np.inf, np.inf, epsabs=0.0, epsrel=1e-13, limit=200)
    assert err < 1e-12 * abs(value)
    return value


def test_softplus_against_quad():
    cases = [(0.0, 1.0, 1.0), (-2.0, 1.5, 1.0), (1.0, 0.5, 2.0), (-0.3, 1.0, 3.0)]
    ref = np.array([softplus_ref(*c) for c in cases])
    m, s, beta = (jnp.array(v) for v in zip(*cases))
    softplus = lambda x: jnp.logaddexp(0.0, beta[:, None] * x)
    plain, split_0, split_1 = jax.jit(
        lambda: (
            expect_normal(softplus, mean=m, std=s, n_nodes=96),
            expect_normal_split(softplus, kink=0.0, mean=m, std=s),
            expect_normal_split(softplus, kink=1.0, mean=m, std=s),
        )
    )()
    # smooth integrand: plain Gauss-Hermite is spectral, slowed by the singularities of
    # softplus at distance pi / (beta s) from the real axis (beta s = 3: ~4e-10 at n = 96)
    assert rel_err(plain[:3], ref[:3]) < 1e-12
    assert rel_err(plain[3], ref[3]) < 1e-9
    # the split rule is accurate with the "kink" anywhere
    assert rel_err(split_0, ref) < 1e-11
    assert rel_err(split_1, ref) < 1e-11


def test_split_pieces_and_far_kinks():
    # Different smooth pieces on each side, kink at standardised position c in the tails:
    # exp(z/2) below c (closed form e^{1/8} Phi(c - 1/2)), softplus(3z - 1) above (mpmath).
    cs = np.array([-8.0, -2.0, 0.5, 8.0])
    ref = []
    mp.mp.dps = 30
    try:
        for c in cs:
            c_mp = mp.mpf(c)
            breaks = [c_mp] + [mp.mpf(k) for k in range(int(c) + 1, 13)] + [mp.inf]
            right = mp.quad(lambda z: mp.log1p(mp.exp(3 * z - 1)) * mp.npdf(z), breaks)
            ref.append(float(mp.exp(mp.mpf(1) / 8) * mp.ncdf(c_mp - mp.mpf(1) / 2) + right))
    finally:
        mp.mp.dps = 50
    fn = lambda x: jnp.where(x > cs[:, None], jnp.logaddexp(0.0, 3 * x - 1), jnp.exp(x / 2))
    assert rel_err(expect_normal_split(fn, kink=cs), ref) < 1e-12


def test_split_tail_probability_and_sides():
    seen = []

    def indicator(x):
        seen.append(np.asarray(x))
        return jnp.where(x > kink[:, None], 1.0, 0.0)

    # E 1{X > kink} = Phi(-c): tiny for c = 8, 20 but still relatively accurate.
    kink = np.array([-8.0, -1.0, 0.0, 3.0, 8.0, 20.0, -30.0, 30.0])
    got = expect_normal_split(indicator, kink=kink)
    assert rel_err(got, ss.ndtr(-kink)) < 1e-13
    # fn sees batch + (2n,) points: the first n at or below the kink, the rest at or above,
    # also when the kink is beyond the truncation range (|c| > 10.95) or the cap (|c| > 40)
    kink = np.array([-60.0, -30.0, -3.0, 0.0, 0.2, 5.0, 30.0, 60.0])  # same shape: no recompile
    seen.clear()
    expect_normal_split(indicator, kink=kink, mean=0.1, std=0.7)
    (x,) = seen
    assert x.shape == (8, 128)
    assert np.all(x[:, :64] <= kink[:, None]) and np.all(x[:, 64:] >= kink[:, None])


def test_split_zero_std_is_point_mass():
    mean = jnp.array([-1.0, 0.0, 2.0])
    got = expect_normal_split(lambda x: relu(x) + 0.5 * x, kink=0.0, mean=mean, std=0.0)
    assert np.max(np.abs(np.asarray(got) - np.array([-0.5, 0.0, 3.0]))) < 1e-14


_relu_split_jit = jax.jit(lambda m, s, k: expect_normal_split(lambda x: relu(x - k), kink=k, mean=m, std=s))


@given(
    m=st.floats(-5.0, 5.0, allow_nan=False),
    s=st.floats(0.05, 4.0, allow_nan=False),
    kink=st.floats(-3.0, 3.0, allow_nan=False),
)
def test_relu_property(m, s, kink):
    # |c| <= 20 (the documented range; far beyond, E ~ phi(c) / c^2 nears float64 underflow
    # and subnormal weights cost relative accuracy, e.g. 1e-8 at c = 37 where E ~ 1e-301)
    assume(abs(m - kink) <= 20 * s)
    got = _relu_split_jit(m, s, kink)
    ref, _ = relu_moments_ref(m - kink, s)
    assert rel_err(got, ref) < 1e-12


# ------------------------------------------------------------------------------------------
# Autodiff, vmap, jit, float32
# ------------------------------------------------------------------------------------------


def test_grad_of_relu_mean_is_cdf_and_vmap():
    means = jnp.linspace(-8.0, 8.0, 17)
    stds = jnp.array([0.5, 1.0, 3.0])

    @jax.jit
    def run(means, stds):
        mean_fn = lambda m: expect_normal_split(relu, kink=0.0, mean=m)
        std_fn = lambda s: expect_normal_split(relu, kink=0.0, mean=0.4, std=s)
        return (
            jax.vmap(jax.grad(mean_fn))(means),  # d/dm E relu(m + Z) = Phi(m)
            jax.vmap(mean_fn)(means),
            expect_normal_split(relu, kink=0.0, mean=means),
            jax.vmap(jax.grad(std_fn))(stds),  # d/ds E relu(m + sZ) = phi(m/s)
            jax.grad(lambda a: expect_normal(jnp.cos, std=a))(1.3),  # d/da exp(-a^2/2)
        )

    d_mean, per_mean, batched, d_std, d_cos = run(means, stds)
    assert rel_err(d_mean, ss.ndtr(np.asarray(means))) < 1e-12
    assert per_mean.shape == batched.shape == (17,)
    assert rel_err(per_mean, batched) < 1e-14  # same rule; only XLA fusion rounding differs
    s = np.asarray(stds)
    assert rel_err(d_std, np.exp(-((0.4 / s) ** 2) / 2) / math.sqrt(2 * math.pi)) < 1e-12
    assert abs(float(d_cos) + 1.3 * math.exp(-(1.3**2) / 2)) < 1e-12


def test_float32_without_x64():
    with jax.enable_x64(False):
        got, plain, mills, log_cdf = jax.jit(
            lambda: (
                expect_normal_split(relu, kink=0.0, mean=0.3),
                expect_normal(jnp.cos, n_nodes=16),
                mills_ratio(2.0),
                log_normal_cdf(2.0),
            )
        )()
    assert got.dtype == plain.dtype == mills.dtype == log_cdf.dtype == jnp.float32
    assert abs(float(got) - relu_moments_ref(0.3, 1.0)[0]) < 1e-6
    assert abs(float(plain) - math.exp(-0.5)) < 1e-6


# ------------------------------------------------------------------------------------------
# Two-dimensional expectations
# ------------------------------------------------------------------------------------------


def test_2d_moments_batched():
    a = jnp.array([1.0, 2.0, 0.3])
    b = jnp.array([[0.0], [0.5], [-0.7]])  # broadcast to (3, 3)
    c = 2.0
    e_uv, e_u2v2, e_u2 = jax.jit(
        lambda a, b: tuple(
            expect_normal_2d(f, cov=(a, b, c))
            for f in (lambda u, v: u * v, lambda u, v: u**2 * v**2, lambda u, v: u**2)
        )
    )(a, b)
    a_, b_ = np.asarray(a), np.asarray(b)
    valid = b_**2 <= a_ * c  # (3, 3); b = -0.7 with a = 0.3 is not PSD (traced: not validated)
    assert e_uv.shape == (3, 3)
    assert np.max(np.abs(np.asarray(e_uv) - b_)[valid]) < 1e-13
    assert np.max(np.abs(np.asarray(e_u2v2) - (a_ * c + 2 * b_**2))[valid]) < 1e-12
    assert np.max(np.abs(np.asarray(e_u2) - a_)) < 1e-13


def test_2d_sign_correlation():
    a, b, c = 1.0, 0.5, 2.0
    ref = 2 / math.pi * math.asin(b / math.sqrt(a * c))
    l21, l22 = b / math.sqrt(a), math.sqrt(c - b * b / a)
    inner = lambda z1: expect_normal_split(jnp.sign, kink=0.0, mean=l21 * z1, std=l22)
    plain, nested = jax.jit(
        lambda: (
            expect_normal_2d(lambda u, v: jnp.sign(u) * jnp.sign(v), cov=(a, b, c), n_nodes=128),
            # exact route: condition on Z1 and split both integrals at their kinks (batched)
            expect_normal_split(lambda z1: jnp.sign(z1) * inner(z1), kink=0.0),
        )
    )()
    assert abs(float(plain) - ref) < 1e-2  # kinked integrand: the plain grid is only O(1/n)
    assert abs(float(nested) - ref) < 1e-12


def test_2d_degenerate_covariances():
    rho = 0.3 / math.sqrt(0.09)  # rounding may make c - b^2/a slightly negative: clipped
    cases = [
        (lambda u, v: u**2 * v**2, (1.0, 1.0, 1.0), 3.0),  # V = U: E U^4
        (lambda u, v: u * v, (2.0, -2.0, 2.0), -2.0),  # V = -U
        (lambda u, v: u * v, (0.1, 0.1 * rho, 0.1), 0.1),
        (lambda u, v: v**2 + u, (0.0, 0.0, 3.0), 3.0),  # var_u = 0: U = 0, V = sqrt(c) Z2
        (lambda u, v: jnp.cos(u + v), (0.0, 0.0, 0.0), 1.0),
    ]
    values = jax.jit(lambda: jnp.stack([expect_normal_2d(f, cov=cv) for f, cv, _ in cases]))()
    ref = np.array([r for _, _, r in cases])
    assert np.all(np.isfinite(np.asarray(values)))
    assert np.max(np.abs(np.asarray(values) - ref)) < 1e-12

    grad = jax.jit(jax.vmap(jax.grad(lambda cv: expect_normal_2d(lambda u, v: (u * v) ** 2, cov=tuple(cv)))))
    g = np.asarray(grad(jnp.array([[1.0, 1.0, 1.0], [0.0, 0.0, 2.0], [0.0, 0.0, 0.0], [2.0, 0.5, 0.5]])))
    assert np.all(np.isfinite(g))
    assert np.max(np.abs(g[3] - np.array([0.5, 2.0, 2.0]))) < 1e-12  # grad of ac + 2b^2


# ------------------------------------------------------------------------------------------
# Closed forms
# ------------------------------------------------------------------------------------------


def test_log_normal_cdf_against_scipy():
    x = np.array([-40.0, -20.0, -1.0, 0.0, 1.0, 5.0, 6.0, 7.0, 8.0, 10.0])
    assert rel_err(log_normal_cdf(x), ss.log_ndtr(x)) < 1e-12
    far = np.asarray(log_normal_cdf(jnp.array([-1e4, 40.0, jnp.inf, -jnp.inf])))
    assert rel_err(far[0], -5e7 - math.log(1e4 * math.sqrt(2 * math.pi))) < 1e-12
    assert far[1] == 0.0 and far[2] == 0.0 and far[3] == -np.inf


def test_closed_form_grads():
    x = jnp.array([-40.0, -3.0, 0.0, 2.0, 7.0, 40.0])
    g_log, g_mills = jax.jit(
        lambda x: (jax.vmap(jax.grad(log_normal_cdf))(x), jax.vmap(jax.grad(mills_ratio))(x))
    )(x)
    # d/dx log Phi(x) = phi(x) / Phi(x)
    assert rel_err(g_log, math.sqrt(2 / math.pi) / ss.erfcx(-np.asarray(x) / math.sqrt(2))) < 1e-12
    assert np.all(np.isfinite(np.asarray(g_mills)))
    h = np.asarray(mills_ratio(x))  # hazard rate h(x): h' = h (h - x)
    assert rel_err(g_mills, h * (h - np.asarray(x))) < 1e-9


def test_mills_ratio_against_scipy():
    x = np.linspace(-30.0, 30.0, 241)
    ref = np.exp(-(x**2) / 2) / math.sqrt(2 * math.pi) / ss.ndtr(-x)  # both factors are normal floats
    assert rel_err(mills_ratio(x), ref) < 1e-12
    big = np.array([1e3, 1e5, 1e8])
    asymptotic = big + 1 / big - 2 / big**3 + 10 / big**5
    assert rel_err(mills_ratio(big), asymptotic) < 1e-14
    assert float(mills_ratio(-60.0)) == 0.0


def test_pdf_cdf_against_scipy():
    x = np.linspace(-35.0, 35.0, 141)
    assert rel_err(normal_pdf(x), np.exp(-(x**2) / 2) / math.sqrt(2 * math.pi)) < 1e-14
    assert rel_err(normal_cdf(x), ss.ndtr(x)) < 1e-13
