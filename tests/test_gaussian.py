"""Tests for overparam_theory.numerics.gaussian (Gaussian quadrature and normal closed forms).

References: exact Gaussian moments, closed forms evaluated in 50-digit mpmath (mpmath ships with
sympy, a dependency) where float64 closed forms would cancel, scipy.special / scipy.integrate.
"""

import math

import jax
import jax.numpy as jnp
import mpmath as mp
import numpy as np
import pytest
import scipy.integrate
import scipy.special as ss
from hypothesis import given
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
# Nodes and plain Gauss-Hermite
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


@pytest.mark.parametrize("k", range(11))
def test_moments_exact(k):
    exact = 0.0 if k % 2 else float(np.prod(np.arange(k - 1, 0, -2)))  # (k-1)!!
    got = float(expect_normal(lambda z: z**k, n_nodes=8))
    assert abs(got - exact) <= 1e-12 * max(1.0, exact)


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

SPLIT_CASES = [(m, s) for s in (0.5, 1.0, 2.5) for m in (-8.0 * s, -3.0, -0.7, 0.0, 0.4, 2.0, 8.0 * s)]


@pytest.mark.parametrize("m,s", SPLIT_CASES)
def test_relu_moments_split(m, s):
    ref1, ref2 = relu_moments_ref(m, s)
    got1 = expect_normal_split(relu, kink=0.0, mean=m, std=s)
    got2 = expect_normal_split(lambda x: relu(x) ** 2, kink=0.0, mean=m, std=s)
    assert rel_err(got1, ref1) < 1e-12
    assert rel_err(got2, ref2) < 1e-12


def test_relu_split_beats_plain_gauss_hermite():
    m, s = 0.3, 1.0
    ref1, _ = relu_moments_ref(m, s)
    split_err = rel_err(expect_normal_split(relu, kink=0.0, mean=m, std=s, n_nodes=32), ref1)
    plain_err = rel_err(expect_normal(relu, mean=m, std=s, n_nodes=64), ref1)
    assert split_err < 1e-13
    assert plain_err > 1e-5  # kink: algebraic convergence only


def test_plain_gauss_hermite_converges_like_one_over_n_on_relu():
    # The worst case over kink positions is a clean ~0.3/n (single m values fluctuate).
    ms = np.linspace(-1.0, 1.0, 201)
    ref = ms * ss.ndtr(ms) + np.exp(-(ms**2) / 2) / math.sqrt(2 * math.pi)

    def worst(n):
        return np.max(np.abs(np.asarray(expect_normal(relu, mean=ms, n_nodes=n)) - ref))

    e16, e64 = worst(16), worst(64)
    assert 1e-3 < e64 < e16
    assert 3.0 < e16 / e64 < 5.5  # ~4 = 64/16
    split = expect_normal_split(relu, kink=0.0, mean=ms, n_nodes=32)
    assert np.max(np.abs(np.asarray(split) - ref)) < 1e-13


@pytest.mark.parametrize("m,s", [(-6.0, 1.0), (-1.0, 0.5), (0.0, 1.0), (1.0, 2.0), (1.5, 0.4), (9.0, 1.0)])
def test_hinge_split(m, s):
    # E max(0, 1 - X), X = m + sZ: kink at 1; closed form (1-m) Phi((1-m)/s) + s phi((1-m)/s).
    t = (mp.mpf(1) - m) / s
    ref = float(s * (t * mp.ncdf(t) + mp.npdf(t)))
    got = expect_normal_split(lambda x: relu(1.0 - x), kink=1.0, mean=m, std=s)
    assert rel_err(got, ref) < 1e-12


def softplus_ref(m, s, beta):
    f = lambda z: np.logaddexp(0.0, beta * (m + s * z)) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    value, err = scipy.integrate.quad(f, -np.inf, np.inf, epsabs=0.0, epsrel=1e-13, limit=200)
    assert err < 1e-12 * abs(value)
    return value


@pytest.mark.parametrize("m,s,beta", [(0.0, 1.0, 1.0), (-2.0, 1.5, 1.0), (1.0, 0.5, 2.0), (-0.3, 1.0, 3.0)])
def test_softplus_against_quad(m, s, beta):
    ref = softplus_ref(m, s, beta)
    softplus = lambda x: jnp.logaddexp(0.0, beta * x)
    # smooth integrand: plain Gauss-Hermite is spectral (near-real singularities for beta = 3),
    # and the split rule is accurate with the "kink" anywhere, here at 0 and at 1.
    plain_tol = 1e-12 if beta * s <= 2 else 1e-9  # singularities at distance pi/(beta s)
    assert rel_err(expect_normal(softplus, mean=m, std=s, n_nodes=96), ref) < plain_tol
    for kink in (0.0, 1.0):
        assert rel_err(expect_normal_split(softplus, kink=kink, mean=m, std=s), ref) < 1e-11


def test_split_pieces_and_far_kinks():
    # Different smooth pieces on each side, kink at standardised position c in the tails:
    # exp(z/2) below c (closed form e^{1/8} Phi(c - 1/2)), softplus(3z - 1) above (mpmath).
    for c in (-8.0, -2.0, 0.5, 8.0):
        c_mp = mp.mpf(c)
        breaks = [c_mp] + [mp.mpf(k) / 2 for k in range(int(2 * c) + 1, 30)] + [mp.inf]
        right = mp.quad(lambda z: mp.log1p(mp.exp(3 * z - 1)) * mp.npdf(z), breaks)
        ref = float(mp.exp(mp.mpf(1) / 8) * mp.ncdf(c_mp - mp.mpf(1) / 2) + right)
        fn = lambda x: jnp.where(x > c, jnp.logaddexp(0.0, 3 * x - 1), jnp.exp(x / 2))
        assert rel_err(expect_normal_split(fn, kink=c), ref) < 1e-12


def test_split_tail_probability_relative_accuracy():
    # E 1{Z > c} = Phi(-c): tiny for c = 8, 20 but still relatively accurate.
    c = np.array([-8.0, -1.0, 0.0, 3.0, 8.0, 20.0])
    got = expect_normal_split(lambda x: jnp.where(x > c[:, None], 1.0, 0.0), kink=c)
    assert rel_err(got, ss.ndtr(-c)) < 1e-13


def test_split_evaluates_each_side_of_kink():
    seen = []

    def fn(x):
        seen.append(np.asarray(x))
        return jnp.zeros_like(x)

    kink, n = np.array([-30.0, -3.0, 0.2, 5.0, 30.0]), 24
    expect_normal_split(fn, kink=kink, mean=0.1, std=0.7, n_nodes=n)
    (x,) = seen
    assert x.shape == (5, 2 * n)
    assert np.all(x[:, :n] <= kink[:, None]) and np.all(x[:, n:] >= kink[:, None])


def test_split_zero_std_is_point_mass():
    mean = jnp.array([-1.0, 0.0, 2.0])
    got = expect_normal_split(lambda x: relu(x) + 0.5 * x, kink=0.0, mean=mean, std=0.0)
    assert np.max(np.abs(np.asarray(got) - np.array([-0.5, 0.0, 3.0]))) < 1e-14


@given(
    m=st.floats(-5.0, 5.0, allow_nan=False),
    s=st.floats(0.05, 4.0, allow_nan=False),
    kink=st.floats(-3.0, 3.0, allow_nan=False),
)
def test_relu_property(m, s, kink):
    got = expect_normal_split(lambda x: relu(x - kink), kink=kink, mean=m, std=s)
    ref, _ = relu_moments_ref(m - kink, s)
    assert rel_err(got, ref) < 1e-12


# ------------------------------------------------------------------------------------------
# Autodiff, vmap, jit, float32
# ------------------------------------------------------------------------------------------


def test_grad_of_relu_mean_is_cdf_and_vmap():
    grad_fn = jax.grad(lambda m: expect_normal_split(relu, kink=0.0, mean=m))
    means = jnp.linspace(-8.0, 8.0, 17)
    grads = jax.jit(jax.vmap(grad_fn))(means)
    assert rel_err(grads, ss.ndtr(np.asarray(means))) < 1e-12

    per_mean = jax.vmap(lambda m: expect_normal_split(relu, kink=0.0, mean=m))(means)
    batched = expect_normal_split(relu, kink=0.0, mean=means)
    assert per_mean.shape == batched.shape == (17,)
    assert np.max(np.abs(np.asarray(per_mean) - np.asarray(batched))) < 1e-15

    # d/ds E relu(m + sZ) = phi(m/s); plain rule vmapped over std
    ds = jax.vmap(jax.grad(lambda s: expect_normal_split(relu, kink=0.0, mean=0.4, std=s)))(
        jnp.array([0.5, 1.0, 3.0])
    )
    assert rel_err(ds, normal_pdf(0.4 / np.array([0.5, 1.0, 3.0]))) < 1e-12
    g = jax.grad(lambda a: expect_normal(jnp.cos, std=a))(1.3)  # d/da exp(-a^2/2)
    assert abs(float(g) + 1.3 * math.exp(-(1.3**2) / 2)) < 1e-12


def test_float32_without_x64():
    with jax.enable_x64(False):
        got = expect_normal_split(relu, kink=0.0, mean=0.3)
        plain = expect_normal(jnp.cos, n_nodes=16)
        pair = expect_normal_2d(lambda u, v: u * v, cov=(1.0, 0.5, 2.0))
        assert got.dtype == plain.dtype == pair.dtype == jnp.float32
        assert mills_ratio(2.0).dtype == log_normal_cdf(2.0).dtype == jnp.float32
    assert abs(float(got) - relu_moments_ref(0.3, 1.0)[0]) < 1e-6
    assert abs(float(plain) - math.exp(-0.5)) < 1e-6
    assert abs(float(pair) - 0.5) < 1e-6


# ------------------------------------------------------------------------------------------
# Two-dimensional expectations
# ------------------------------------------------------------------------------------------


def test_2d_moments_batched():
    a = jnp.array([1.0, 2.0, 0.3])
    b = jnp.array([[0.0], [0.5], [-0.7]])  # broadcast to (3, 3)
    c = 2.0
    cov = (a, b, c)
    e_uv = expect_normal_2d(lambda u, v: u * v, cov=cov)
    e_u2v2 = expect_normal_2d(lambda u, v: u**2 * v**2, cov=cov)
    e_u2 = expect_normal_2d(lambda u, v: u**2, cov=cov)
    a_, b_ = np.asarray(a), np.asarray(b)
    valid = b_**2 <= a_ * c  # (3, 3); b = -0.7 with a = 0.3 is not PSD: the residual clips
    assert e_uv.shape == (3, 3)
    assert np.max(np.abs(np.asarray(e_uv) - b_)[valid]) < 1e-13
    assert np.max(np.abs(np.asarray(e_u2v2) - (a_ * c + 2 * b_**2))[valid]) < 1e-12
    assert np.max(np.abs(np.asarray(e_u2) - a_)) < 1e-13


def test_2d_sign_correlation():
    a, b, c = 1.0, 0.5, 2.0
    ref = 2 / math.pi * math.asin(b / math.sqrt(a * c))
    plain = expect_normal_2d(lambda u, v: jnp.sign(u) * jnp.sign(v), cov=(a, b, c), n_nodes=128)
    assert abs(float(plain) - ref) < 1e-2  # kinked integrand: the plain grid is only O(1/n)

    # Exact route: condition on Z1 and split both integrals at their kinks (nested, batched).
    l21, l22 = b / math.sqrt(a), math.sqrt(c - b * b / a)
    inner = lambda z1: expect_normal_split(jnp.sign, kink=0.0, mean=l21 * z1, std=l22)
    nested = expect_normal_split(lambda z1: jnp.sign(z1) * inner(z1), kink=0.0)
    assert abs(float(nested) - ref) < 1e-12


def test_2d_degenerate_covariances():
    # perfect correlation V = U: E U^2 V^2 = E U^4 = 3
    perfect = expect_normal_2d(lambda u, v: u**2 * v**2, cov=(1.0, 1.0, 1.0))
    anti = expect_normal_2d(lambda u, v: u * v, cov=(2.0, -2.0, 2.0))
    # rounding can make c - b^2/a slightly negative: clipped, no NaN
    rounding = expect_normal_2d(lambda u, v: u * v, cov=(0.1, 0.1 * 0.3 / math.sqrt(0.09), 0.1))
    # var_u = 0: U = 0, V = sqrt(c) Z2
    zero_u = expect_normal_2d(lambda u, v: v**2 + u, cov=(0.0, 0.0, 3.0))
    both_zero = expect_normal_2d(lambda u, v: jnp.cos(u + v), cov=(0.0, 0.0, 0.0))
    for value, ref in [(perfect, 3.0), (anti, -2.0), (rounding, 0.1), (zero_u, 3.0), (both_zero, 1.0)]:
        assert np.isfinite(float(value)) and abs(float(value) - ref) < 1e-12

    grads = jax.grad(
        lambda cv: expect_normal_2d(lambda u, v: (u * v) ** 2, cov=(cv[0], cv[1], cv[2])), argnums=0
    )
    for cv in [jnp.array([1.0, 1.0, 1.0]), jnp.array([0.0, 0.0, 2.0]), jnp.array([0.0, 0.0, 0.0])]:
        assert np.all(np.isfinite(np.asarray(grads(cv))))
    g = grads(jnp.array([2.0, 0.5, 0.5]))  # d/d(a, b, c) of ac + 2b^2
    assert np.max(np.abs(np.asarray(g) - np.array([0.5, 2.0, 2.0]))) < 1e-12


# ------------------------------------------------------------------------------------------
# Closed forms
# ------------------------------------------------------------------------------------------

LOG_CDF_X = np.array([-40.0, -20.0, -1.0, 0.0, 1.0, 5.0, 6.0, 7.0, 8.0, 10.0])


def test_log_normal_cdf_against_scipy():
    assert rel_err(log_normal_cdf(LOG_CDF_X), ss.log_ndtr(LOG_CDF_X)) < 1e-12
    # jax's own log_ndtr is the reason this function exists (relative error ~7e-2 at x = 8)
    assert rel_err(jax.scipy.special.log_ndtr(8.0), ss.log_ndtr(8.0)) > 1e-6
    far = log_normal_cdf(jnp.array([-1e4, 40.0, jnp.inf, -jnp.inf]))
    assert rel_err(far[0], -5e7 - math.log(1e4 * math.sqrt(2 * math.pi))) < 1e-12
    assert float(far[1]) == 0.0 and float(far[2]) == 0.0 and float(far[3]) == -np.inf


def test_log_normal_cdf_grad():
    x = jnp.array([-40.0, -3.0, 0.0, 2.0, 7.0, 40.0])
    g = jax.vmap(jax.grad(log_normal_cdf))(x)  # d/dx log Phi = phi / Phi = mills_ratio(-x)
    ref = math.sqrt(2 / math.pi) / ss.erfcx(-np.asarray(x) / math.sqrt(2))  # phi(x) / Phi(x)
    assert np.all(np.isfinite(np.asarray(g)))
    assert rel_err(g, ref) < 1e-12


def test_mills_ratio_against_scipy():
    x = np.linspace(-30.0, 30.0, 241)
    ref = np.exp(-(x**2) / 2) / math.sqrt(2 * math.pi) / ss.ndtr(-x)  # both factors are normal floats
    assert rel_err(mills_ratio(x), ref) < 1e-12
    big = np.array([1e3, 1e5, 1e8])
    asymptotic = big + 1 / big - 2 / big**3 + 10 / big**5
    assert rel_err(mills_ratio(big), asymptotic) < 1e-14
    assert float(mills_ratio(-60.0)) == 0.0
    g = jax.grad(mills_ratio)
    assert np.isfinite(float(g(-60.0))) and np.isfinite(float(g(60.0)))
    assert abs(float(g(60.0)) - 1.0) < 1e-3


def test_pdf_cdf_against_scipy():
    x = np.linspace(-35.0, 35.0, 141)
    assert rel_err(normal_pdf(x), np.exp(-(x**2) / 2) / math.sqrt(2 * math.pi)) < 1e-14
    assert rel_err(normal_cdf(x), ss.ndtr(x)) < 1e-13
