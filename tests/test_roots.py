"""Safeguarded bracketed root finding: accuracy, vmap, implicit gradients, failure flags."""

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from overparam_theory.numerics.roots import bracketed_root


def cube(x, a):
    return x**3 - a


def test_cube_root_and_gradient():
    with jax.enable_x64(True):
        res = bracketed_root(cube, 0.0, 10.0, jnp.asarray(2.0))
        assert bool(res.converged)
        assert abs(float(res.root) - 2 ** (1 / 3)) < 1e-14
        assert int(res.iterations) < 20
        grad = jax.grad(lambda a: bracketed_root(cube, 0.0, 10.0, a).root)(2.0)
        assert abs(float(grad) - (1 / 3) * 2 ** (-2 / 3)) < 1e-12


def test_vmap_with_failure_flag_per_lane():
    with jax.enable_x64(True):
        a = jnp.asarray([1.0, 8.0, 27.0, 2000.0])  # the last root (12.6) lies outside [0, 10]
        res = jax.jit(jax.vmap(lambda a: bracketed_root(cube, 0.0, 10.0, a)))(a)
        np.testing.assert_allclose(res.root[:3], [1.0, 2.0, 3.0], rtol=1e-14)
        assert res.converged.tolist() == [True, True, True, False]


def test_reversed_bracket_and_flat_regions():
    with jax.enable_x64(True):
        f = lambda x, c: jnp.tanh(x - c)  # Newton overshoots far from the root: bisection must take over
        res = jax.vmap(lambda c: bracketed_root(f, 50.0, -50.0, c))(jnp.asarray([2.0, -30.0, 49.0]))
        np.testing.assert_allclose(res.root, [2.0, -30.0, 49.0], atol=1e-12)
        assert bool(jnp.all(res.converged))


@given(st.floats(0.01, 100.0), st.floats(-3.0, 3.0))
def test_property_root_of_monotone_function(scale, shift):
    with jax.enable_x64(True):
        f = lambda x, p: p[0] * (x - p[1]) + jnp.sin(x - p[1]) * 0.5 * p[0]
        res = bracketed_root(f, -10.0, 10.0, jnp.asarray([scale, shift]))
        assert bool(res.converged)
        assert abs(float(res.root) - shift) < 1e-12
