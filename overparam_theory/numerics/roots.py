"""Safeguarded scalar root finding that works under ``jax.jit``, ``jax.vmap`` and ``jax.grad``.

:func:`bracketed_root` finds the root of a continuous scalar function ``f(x, args)`` inside a
bracket ``[lower, upper]`` on which ``f`` changes sign.  Each step tries a Newton step (the
derivative comes from ``jax.jvp``); when that step leaves the current bracket or does not
shrink it fast enough, it takes a bisection step instead.  The bracket is maintained around the
sign change, so the method converges for any continuous ``f`` and quadratically near a simple
root (a standard safeguarded Newton, e.g. Numerical Recipes ``rtsafe``).

Gradients with respect to ``args`` use the implicit function theorem,
``d root = -(df/dargs . dargs) / (df/dx)``, through :func:`jax.custom_jvp`: the iterations are
never differentiated.  Convergence diagnostics are returned per point and never silently
dropped: a lane that fails reports ``converged=False``.
"""

from __future__ import annotations

from functools import partial
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp


class RootResult(NamedTuple):
    """Solution of a scalar root problem at one point (or a batch, under ``vmap``).

    Attributes:
        root: the approximate root.
        converged: ``True`` when the bracket width or ``|f|`` met the tolerance.
        iterations: number of iterations used.
        residual: ``|f(root)|``.
    """

    root: jax.Array
    converged: jax.Array
    iterations: jax.Array
    residual: jax.Array


def _solve(f, lower, upper, args, xtol, ftol, max_iter):
    dtype = jnp.result_type(lower, upper, float)
    # A relative tolerance below a few ulps cannot be met (e.g. 1e-15 in float32).
    xtol = max(xtol, 4.0 * float(jnp.finfo(dtype).eps))
    lower = jnp.asarray(lower, dtype)
    upper = jnp.asarray(upper, dtype)
    f_lo = f(lower, args)
    f_hi = f(upper, args)
    # Orient the bracket so that f(a) <= 0 <= f(b).
    swap = f_lo > 0
    a = jnp.where(swap, upper, lower)
    b = jnp.where(swap, lower, upper)
    bracket_ok = jnp.sign(f_lo) * jnp.sign(f_hi) <= 0
    x0 = 0.5 * (a + b)

    def value_and_slope(x):
        return jax.jvp(lambda t: f(t, args), (x,), (jnp.ones_like(x),))

    def cond(state):
        a, b, x, fx, dfx, it, done = state
        return (~done) & (it < max_iter)

    def body(state):
        a, b, x, fx, dfx, it, done = state
        # Keep the sign-change bracket.
        a = jnp.where(fx <= 0, x, a)
        b = jnp.where(fx > 0, x, b)
        newton = x - fx / dfx
        lo, hi = jnp.minimum(a, b), jnp.maximum(a, b)
        inside = (newton >= lo) & (newton <= hi) & jnp.isfinite(newton)
        x_new = jnp.where(inside, newton, 0.5 * (a + b))
        f_new, df_new = value_and_slope(x_new)  # one evaluation per iteration, value and slope
        step = jnp.abs(x_new - x)
        scale = jnp.maximum(jnp.abs(x_new), 1.0)
        done = (step <= xtol * scale) | (jnp.abs(f_new) <= ftol) | (f_new == 0) | (jnp.abs(b - a) <= xtol * scale)
        return a, b, x_new, f_new, df_new, it + 1, done

    f0, df0 = value_and_slope(x0)
    state0 = (a, b, x0, f0, df0, jnp.asarray(0, jnp.int32), ~bracket_ok)
    a, b, x, fx, _, it, done = jax.lax.while_loop(cond, body, state0)
    converged = done & bracket_ok & jnp.isfinite(x) & jnp.isfinite(fx)
    return RootResult(x, converged, it, jnp.abs(fx))


@partial(jax.custom_jvp, nondiff_argnums=(0, 4, 5, 6))
def _root(f, lower, upper, args, xtol, ftol, max_iter):
    return _solve(f, lower, upper, args, xtol, ftol, max_iter)


@_root.defjvp
def _root_jvp(f, xtol, ftol, max_iter, primals, tangents):
    lower, upper, args = primals
    _, _, dargs = tangents
    result = _root(f, lower, upper, args, xtol, ftol, max_iter)
    x = result.root
    df_dx = jax.grad(lambda t: f(t, args))(x)
    # The bracket does not move the root; only args do.
    _, df_dargs = jax.jvp(lambda a: f(x, a), (args,), (dargs,))
    dx = -df_dargs / df_dx
    zeros = RootResult(
        dx,
        jnp.zeros_like(result.converged, dtype=jax.dtypes.float0),
        jnp.zeros_like(result.iterations, dtype=jax.dtypes.float0),
        jnp.zeros_like(result.residual),
    )
    return result, zeros


def bracketed_root(
    f: Callable,
    lower,
    upper,
    args=(),
    *,
    xtol: float = 1e-14,
    ftol: float = 0.0,
    max_iter: int = 200,
) -> RootResult:
    """Root of the scalar function ``f(x, args)`` in ``[lower, upper]`` (safeguarded Newton).

    Args:
        f: scalar function ``f(x, args)``, continuous on the bracket and traceable by JAX.
        lower, upper: the bracket; ``f(lower)`` and ``f(upper)`` must have opposite signs
            (either order).  A bracket without a sign change gives ``converged=False``.
        args: pytree of parameters; the root is differentiable with respect to it.
        xtol: relative step / bracket tolerance (relative to ``max(|x|, 1)``); raised to
            ``4 eps`` of the working dtype when smaller.
        ftol: absolute tolerance on ``|f|`` (``0`` disables it).
        max_iter: iteration cap.

    Returns:
        :class:`RootResult` with ``root``, ``converged``, ``iterations``, ``residual``.
    """
    return _root(f, lower, upper, args, float(xtol), float(ftol), int(max_iter))
