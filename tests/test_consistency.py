"""Closed forms against the general solvers (fixed-point iteration, root finding), and the
public result types as JAX pytrees."""

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from overparam_theory import kernel, ridge, spectra
from overparam_theory.numerics.fixed_point import fixed_point


def silverstein_map(m, args):
    """Stieltjes transform of MP(gamma) at -lam as a fixed point (keeps m > 0)."""
    lam, gamma = args
    return 1.0 / (lam + 1.0 / (1.0 + gamma * m))


def kappa_map(kappa, args):
    """The deterministic equivalent (docs/theory/ridge.md) written as kappa = ridge + (kappa/n) sum_k lam_k/(lam_k + kappa)."""
    lam, alpha, eig, w = args
    return lam + kappa * jnp.sum(w * eig / (eig + kappa)) / alpha


@given(st.floats(1e-3, 10.0), st.floats(0.05, 10.0))
def test_mp_closed_form_equals_anderson_fixed_point(lam, gamma):
    with jax.enable_x64(True):
        res = fixed_point(silverstein_map, jnp.asarray(1.0), (lam, gamma), method="anderson", damping=0.5, tol=1e-14)
        assert bool(res.converged)
        closed = spectra.marchenko_pastur(gamma).stieltjes(lam)
        assert abs(float(res.value) / float(closed) - 1) < 1e-11


@given(st.floats(0.1, 10.0), st.floats(1e-3, 10.0))
def test_isotropic_effective_ridge_equals_fixed_point(alpha, lam):
    """The closed-form kappa of ridge.theory equals the fixed point of the section-2 map on
    Sigma = I, and lam m(-lam) = kappa/(1 + kappa) with the MP Stieltjes transform."""
    with jax.enable_x64(True):
        res = fixed_point(
            kappa_map, jnp.asarray(lam + 1.0), (lam, alpha, jnp.ones(1), jnp.ones(1)), method="anderson", tol=1e-14
        )
        assert bool(res.converged)
        kappa_fp = float(res.value)
        m = float(spectra.marchenko_pastur(1 / alpha).stieltjes(lam))
    th = ridge.theory(alpha=alpha, ridge=lam)
    assert abs(float(th.effective_ridge) / kappa_fp - 1) < 1e-10
    assert abs(lam * m - kappa_fp / (1 + kappa_fp)) < 1e-11


@given(st.floats(0.05, 5.0), st.floats(1e-3, 5.0))
def test_anisotropic_root_equals_fixed_point_and_gradient(alpha, lam):
    sp = spectra.two_level(0.3, 5.0, 0.2)
    with jax.enable_x64(True):  # build float64 arrays inside the x64 context (0.2 is not a float32)
        args = (lam, alpha, jnp.asarray(sp.eigenvalues), jnp.asarray(sp.weights))
        res = fixed_point(kappa_map, jnp.asarray(lam + 5.0), args, method="anderson", tol=1e-14)
        assert bool(res.converged)
        # implicit gradients of both solvers agree
        g_fp = jax.grad(lambda l: fixed_point(kappa_map, jnp.asarray(l + 5.0), (l,) + args[1:], method="anderson", tol=1e-14).value)(lam)
        g_root = jax.grad(lambda l: ridge.theory(alpha=alpha, ridge=l, spectrum=sp).effective_ridge)(lam)
    th = ridge.theory(alpha=alpha, ridge=lam, spectrum=sp)
    assert abs(float(th.effective_ridge) / float(res.value) - 1) < 1e-10
    assert abs(float(g_fp) / float(g_root) - 1) < 1e-8


def _expected_leaves(result):
    """One leaf per array field; the Diagnostics field holds three (status, iterations, residual)."""
    return sum(3 if f == "diagnostics" else 1 for f in result._fields)


def test_results_are_pytrees():
    th = ridge.theory(alpha=[0.5, 2.0], ridge=0.1)
    leaves = jax.tree_util.tree_leaves(th)
    assert len(leaves) == _expected_leaves(th)
    doubled = jax.tree_util.tree_map(lambda x: 2 * np.asarray(x, float), th)
    np.testing.assert_allclose(doubled.bias, 2 * th.bias)
    sim = ridge.simulate(alpha=0.5, ridge=0.1, dim=10, n_seeds=2)
    assert len(jax.tree_util.tree_leaves(sim)) > 4
    kt = kernel.theory(n_samples=10, eigenvalues=[1.0, 0.5], target=[1.0, 0.2], ridge=0.1)
    assert len(jax.tree_util.tree_leaves(kt)) == _expected_leaves(kt)


def test_theory_is_jittable_and_vmappable_by_users():
    with jax.enable_x64(True):
        f = jax.jit(lambda a, l: ridge.theory(alpha=a, ridge=l, noise=0.5).excess_risk)
        vals = jax.vmap(f)(jnp.asarray([0.5, 2.0]), jnp.asarray([0.1, 0.2]))
    np.testing.assert_allclose(vals, ridge.theory(alpha=[0.5, 2.0], ridge=[0.1, 0.2], noise=0.5).excess_risk, rtol=1e-14)
