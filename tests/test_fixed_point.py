"""Tests for overparam_theory.numerics.fixed_point (damped Picard / Anderson + implicit derivatives)."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from overparam_theory.numerics.fixed_point import (
    ConvergenceError,
    ConvergenceWarning,
    FixedPointResult,
    check_convergence,
    fixed_point,
)

DOTTIE = 0.7390851332151607  # unique real solution of x = cos(x)
METHODS = ("picard", "anderson")


def _cos(x, args):
    return jnp.cos(x)


# ---------------------------------------------------------------- Marchenko-Pastur reference


def _mp_map(m, params):
    """Stieltjes transform of the MP law (X^T X / n, gamma = d/n) at z = -lam as a fixed point."""
    lam, gamma = params
    return 1.0 / (lam + 1.0 / (1.0 + gamma * m))


def _mp_closed(lam, gamma):
    """Positive root of gamma lam m^2 + (1 - gamma + lam) m - 1 = 0 (valid for every gamma > 0)."""
    a = 1.0 - gamma + lam
    D = (a * a + 4.0 * gamma * lam) ** 0.5
    return 2.0 / (D + a)


def _mp_closed_grad(lam, gamma):
    """Analytic (dm/dlam, dm/dgamma) of the closed form."""
    a = 1.0 - gamma + lam
    D = (a * a + 4.0 * gamma * lam) ** 0.5
    dD_dlam = (a + 2.0 * gamma) / D
    dD_dgamma = (2.0 * lam - a) / D
    return -2.0 * (dD_dlam + 1.0) / (D + a) ** 2, -2.0 * (dD_dgamma - 1.0) / (D + a) ** 2


def _mp_grid():
    lam, gamma = np.meshgrid(np.linspace(0.05, 2.0, 6), np.array([0.2, 0.5, 1.0, 1.7, 3.0]))
    return lam.ravel(), gamma.ravel()


# ---------------------------------------------------------------- scalar contraction


def test_dottie_number_picard_and_anderson():
    with jax.enable_x64(True):
        res = {m: fixed_point(_cos, 1.0, method=m) for m in METHODS}
        for method, r in res.items():
            assert isinstance(r, FixedPointResult)
            assert bool(r.converged), method
            assert float(r.residual) <= 1e-12
            assert abs(float(r.value) - DOTTIE) < 1e-12, method
            assert r.iterations.dtype == jnp.int32
        # |cos'(x*)| = 0.67: Picard needs ~70 steps, Anderson < 10.
        assert int(res["anderson"].iterations) < int(res["picard"].iterations)
        assert int(res["anderson"].iterations) <= 12


def test_damping_still_converges_and_already_converged_start_takes_no_step():
    with jax.enable_x64(True):
        r = fixed_point(_cos, 1.0, damping=0.6)
        assert bool(r.converged) and abs(float(r.value) - DOTTIE) < 1e-12
        r0 = fixed_point(_cos, DOTTIE)
        assert bool(r0.converged) and int(r0.iterations) == 0


def test_float32_without_x64():
    r = fixed_point(_cos, 1.0, method="anderson", tol=1e-6)
    assert r.value.dtype == jnp.float32
    assert bool(r.converged) and abs(float(r.value) - DOTTIE) < 1e-6


# ---------------------------------------------------------------- Marchenko-Pastur


def test_mp_closed_form_is_the_stieltjes_transform():
    # The reference itself: it solves the fixed-point equation and matches the empirical
    # spectrum of X^T X / n (fixed seed, n = 200; fluctuations are O(1/n)).
    rng = np.random.default_rng(0)
    for lam, gamma in [(0.3, 0.5), (0.7, 2.0)]:
        m = _mp_closed(lam, gamma)
        assert abs(m - 1.0 / (lam + 1.0 / (1.0 + gamma * m))) < 1e-14
        n = 200
        X = rng.standard_normal((n, int(gamma * n)))
        ev = np.linalg.eigvalsh(X.T @ X / n)
        assert abs(np.mean(1.0 / (ev + lam)) - m) < 2e-2 * m


@pytest.mark.parametrize("method", METHODS)
def test_mp_vmapped_grid_matches_closed_form(method):
    lam, gamma = _mp_grid()
    with jax.enable_x64(True):
        solve = jax.jit(jax.vmap(lambda l, g: fixed_point(_mp_map, 1.0, (l, g), method=method, tol=1e-14)))
        r = solve(jnp.asarray(lam), jnp.asarray(gamma))
        assert r.value.shape == lam.shape
        assert np.all(np.asarray(r.converged))
        exact = _mp_closed(lam, gamma)
        assert np.max(np.abs(np.asarray(r.value) - exact) / exact) < 1e-10


@pytest.mark.parametrize("method", METHODS)
def test_mp_implicit_gradient(method):
    lam, gamma = _mp_grid()
    with jax.enable_x64(True):

        def m_of(l, g):
            return fixed_point(_mp_map, 1.0, (l, g), method=method, tol=1e-14).value

        d_lam, d_gamma = jax.jit(jax.vmap(jax.grad(m_of, argnums=(0, 1))))(jnp.asarray(lam), jnp.asarray(gamma))
        a_lam, a_gamma = _mp_closed_grad(lam, gamma)
        np.testing.assert_allclose(np.asarray(d_lam), a_lam, rtol=1e-8)
        np.testing.assert_allclose(np.asarray(d_gamma), a_gamma, rtol=1e-8)

        # Central finite differences of the solver itself, a few points.
        h = 1e-5
        for i in (0, 9, 17, 29):
            l, g = float(lam[i]), float(gamma[i])
            fd_lam = (float(m_of(l + h, g)) - float(m_of(l - h, g))) / (2 * h)
            fd_gamma = (float(m_of(l, g + h)) - float(m_of(l, g - h))) / (2 * h)
            assert abs(float(d_lam[i]) - fd_lam) <= 1e-6 * abs(fd_lam)
            assert abs(float(d_gamma[i]) - fd_gamma) <= 1e-6 * abs(fd_gamma)


def test_mp_hessian_is_implicit_too():
    with jax.enable_x64(True):
        p = jnp.array([0.3, 1.4])
        f = lambda p: fixed_point(_mp_map, 1.0, (p[0], p[1]), tol=1e-14).value
        expected = jax.hessian(lambda p: _mp_closed(p[0], p[1]))(p)
        np.testing.assert_allclose(np.asarray(jax.hessian(f)(p)), np.asarray(expected), rtol=1e-10)


def test_diagnostics_have_zero_tangents():
    with jax.enable_x64(True):
        primal, tangent = jax.jvp(lambda l: fixed_point(_mp_map, 1.0, (l, 1.0)), (0.5,), (1.0,))
        # gamma = 1, lam = 0.5: m = 1, dm/dlam = -4/3.
        assert abs(float(primal.value) - 1.0) < 1e-12
        assert abs(float(tangent.value) + 4.0 / 3.0) < 1e-10
        assert float(tangent.residual) == 0.0
        assert tangent.converged.dtype == jax.dtypes.float0
        assert tangent.iterations.dtype == jax.dtypes.float0
        # The solution does not depend on the initial guess.
        assert float(jax.grad(lambda x0: fixed_point(_cos, x0).value)(1.0)) == 0.0


# ---------------------------------------------------------------- pytree systems


def _linear_system(x, p):
    # a = b/2 + p,  b = -0.4 a + q  ->  a = (p + q/2) / 1.2,  b = q - 0.4 a
    return {"a": 0.5 * x["b"] + p["p"], "b": -0.4 * x["a"] + p["q"]}


@pytest.mark.parametrize("method", METHODS)
def test_two_dim_dict_system_and_jacobian(method):
    with jax.enable_x64(True):
        p = {"p": 0.7, "q": -0.3}
        x0 = {"a": 0.0, "b": 0.0}
        r = fixed_point(_linear_system, x0, p, method=method)
        a = (0.7 - 0.15) / 1.2
        assert bool(r.converged)
        assert set(r.value) == {"a", "b"}
        assert abs(float(r.value["a"]) - a) < 1e-12
        assert abs(float(r.value["b"]) - (-0.3 - 0.4 * a)) < 1e-12

        jac = jax.jacrev(lambda p: fixed_point(_linear_system, x0, p, method=method).value)(p)
        expected = {
            "a": {"p": 1 / 1.2, "q": 0.5 / 1.2},
            "b": {"p": -0.4 / 1.2, "q": 1 - 0.2 / 1.2},
        }
        for out in expected:
            for inp in expected[out]:
                assert abs(float(jac[out][inp]) - expected[out][inp]) < 1e-10


def test_nonlinear_pytree_with_array_leaf_known_solution():
    # The map is built around a known solution (u*, s*) and is a contraction near it.
    def f(x, p):
        du, ds = x["u"] - p["u"], x["s"] - p["s"]
        return {
            "u": p["u"] + 0.5 * jnp.tanh(du[::-1]) + 0.2 * ds,
            "s": p["s"] + 0.3 * jnp.sin(jnp.sum(du)) - 0.2 * ds**2,
        }

    with jax.enable_x64(True):
        p = {"u": jnp.array([1.0, -2.0, 0.5]), "s": jnp.asarray(0.25)}
        for method in METHODS:
            r = fixed_point(f, {"u": jnp.zeros(3), "s": 0.0}, p, method=method)
            assert bool(r.converged), method
            np.testing.assert_allclose(np.asarray(r.value["u"]), np.asarray(p["u"]), atol=1e-11)
            assert abs(float(r.value["s"]) - 0.25) < 1e-11


def test_fn_changing_structure_raises():
    with pytest.raises(ValueError, match="same structure"):
        fixed_point(lambda x, a: (x, x), 1.0)
    with pytest.raises(TypeError, match="fn must be callable"):
        fixed_point(3.0, 1.0)


# ---------------------------------------------------------------- failure detection


def _never_claims_nan(r):
    value = np.asarray(ravel_pytree(r.value)[0])
    assert not (bool(np.all(r.converged)) and not np.all(np.isfinite(value)))


def test_too_few_iterations_flagged():
    with jax.enable_x64(True):
        r = fixed_point(_cos, 1.0, max_iter=3)
        assert not bool(r.converged)
        assert int(r.iterations) == 3
        assert 1e-12 < float(r.residual) < 1.0


def test_divergent_and_nonfinite_maps_flagged():
    with jax.enable_x64(True):
        # x = 2x + 1: repelling fixed point -1; Picard from 0 blows up to inf and stops.
        r = fixed_point(lambda x, a: 2 * x + 1, 0.0, method="picard")
        assert not bool(r.converged) and np.isinf(float(r.residual))
        assert int(r.iterations) < 10_000  # stopped at overflow, not at max_iter
        _never_claims_nan(r)
        # log of a negative number: NaN at the second step.
        r = fixed_point(lambda x, a: jnp.log(x), 0.5)
        assert not bool(r.converged) and np.isinf(float(r.residual))
        assert int(r.iterations) == 1
        _never_claims_nan(r)
        # No real fixed point at all.
        for method in METHODS:
            r = fixed_point(lambda x, a: jnp.exp(x), 0.0, method=method)
            assert not bool(r.converged), method
            _never_claims_nan(r)
        r = fixed_point(lambda x, a: x + 1.0, 0.0, method="anderson", max_iter=50)
        assert not bool(r.converged) and int(r.iterations) == 50
        # Non-finite starting point: nothing to iterate.
        r = fixed_point(_cos, jnp.nan)
        assert not bool(r.converged) and int(r.iterations) == 0


def test_anderson_safeguard_rejects_nonfinite_step():
    # g(x) = F(x) - x = 0.5 - 0.02 x^2, fixed point 5.  From x0 = 0 the first Picard step is 0.5
    # and the first Anderson (secant) step jumps to ~50, where F is NaN: it must be rejected
    # (x stays 0.5), followed by a Picard step to 0.995, and the solve must still converge.
    def trapped(x, a):
        return jnp.where(x > 10.0, jnp.nan, x + 0.5 - 0.02 * x**2)

    def free(x, a):
        return x + 0.5 - 0.02 * x**2

    with jax.enable_x64(True):
        assert float(fixed_point(free, 0.0, method="anderson", max_iter=2).value) > 40.0
        assert float(fixed_point(trapped, 0.0, method="anderson", max_iter=2).value) == 0.5
        assert abs(float(fixed_point(trapped, 0.0, method="anderson", max_iter=3).value) - 0.995) < 1e-12
        for memory in (1, 5):
            r = fixed_point(trapped, 0.0, method="anderson", memory=memory)
            assert bool(r.converged) and abs(float(r.value) - 5.0) < 1e-12


@pytest.mark.parametrize("method", METHODS)
def test_vmap_per_lane_flags(method):
    with jax.enable_x64(True):
        # x = a exp(x) has a fixed point iff a <= 1/e; lane a = 0.5 diverges.
        a = jnp.array([0.1, 0.2, 0.5, 0.3])
        r = jax.vmap(lambda a: fixed_point(lambda x, a: a * jnp.exp(x), 0.0, a, method=method))(a)
        np.testing.assert_array_equal(np.asarray(r.converged), [True, True, False, True])
        x = np.asarray(r.value)[[0, 1, 3]]
        np.testing.assert_allclose(x, np.asarray(a)[[0, 1, 3]] * np.exp(x), rtol=0, atol=1e-12)
        _never_claims_nan(r)
        its = np.asarray(r.iterations)
        assert its[0] < its[3]  # lanes keep their own counts


# ---------------------------------------------------------------- check_convergence


def test_check_convergence_modes():
    with jax.enable_x64(True):
        # x = a x + 1 under vmap: the lane a = 2 diverges (Picard), the others converge.
        a = jnp.array([0.5, 0.2, 2.0, -0.9])
        bad = jax.vmap(lambda a: fixed_point(lambda x, a: a * x + 1.0, 0.0, a))(a)
        np.testing.assert_array_equal(np.asarray(bad.converged), [True, True, False, True])
        np.testing.assert_allclose(np.asarray(bad.value)[[0, 1, 3]], 1 / (1 - np.array([0.5, 0.2, -0.9])), rtol=1e-11)
        assert len(set(np.asarray(bad.iterations).tolist())) == 4
        good = fixed_point(_cos, 1.0)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_convergence(good, on_failure="raise") is good
        assert check_convergence(good) is good
        assert check_convergence(bad, on_failure="ignore") is bad

    with pytest.raises(ConvergenceError, match=r"1 of 4 point.*residual inf"):
        check_convergence(bad, on_failure="raise", what="ridge order parameters")
    with pytest.warns(ConvergenceWarning, match="ridge order parameters: 1 of 4"):
        out = check_convergence(bad, on_failure="warn", what="ridge order parameters")
    assert out is bad

    with jax.enable_x64(True):
        slow = fixed_point(_cos, 1.0, max_iter=3)
    with pytest.raises(ConvergenceError, match=r"1 of 1 point.*residual [0-9.e-]+\)"):
        check_convergence(slow, on_failure="raise")
    with pytest.raises(ValueError, match="on_failure"):
        check_convergence(good, on_failure="explode")


# ---------------------------------------------------------------- argument validation


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"damping": 0.0}, "damping"),
        ({"damping": 1.5}, "damping"),
        ({"damping": float("nan")}, "damping"),
        ({"damping": [0.5, 0.5]}, "damping"),
        ({"method": "newton"}, "method"),
        ({"memory": 0}, "memory"),
        ({"memory": 2.5}, "memory"),
        ({"tol": 0.0}, "tol"),
        ({"tol": -1e-3}, "tol"),
        ({"max_iter": 0}, "max_iter"),
        ({"max_iter": 1.5}, "max_iter"),
        ({"max_iter": "many"}, "max_iter"),
    ],
)
def test_bad_arguments_raise(kwargs, name):
    with pytest.raises(ValueError, match=name):
        fixed_point(_cos, 1.0, **kwargs)


def test_traced_hyperparameters_are_accepted():
    with jax.enable_x64(True):
        r = jax.vmap(lambda d: fixed_point(_cos, 1.0, damping=d))(jnp.array([0.5, 1.0]))
        assert np.all(np.asarray(r.converged))
        np.testing.assert_allclose(np.asarray(r.value), DOTTIE, atol=1e-12)
