"""Minimisation of a smooth scalar function of one log-scaled variable (jit/vmap friendly).

:func:`grid_then_newton` evaluates ``fn(u, args)`` on a fixed grid of ``u`` (e.g. ``u = log
ridge``), takes the best grid point, and refines it by a safeguarded Newton solve of
``d fn/du = 0`` between its two neighbours (derivatives by ``jax.grad``, so through implicit
solvers too).  When the best grid point is an end of the grid and the derivative does not
change sign there, the minimum lies at (or beyond) that end: the result says so through
``at_lower`` / ``at_upper`` instead of pretending to have converged inside.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from .roots import bracketed_root


class LogMinimum(NamedTuple):
    """Result of :func:`grid_then_newton` at one point.

    Attributes:
        u: the minimiser (grid end when ``at_lower`` / ``at_upper``).
        value: ``fn(u)``.
        converged: the interior Newton refinement converged.
        at_lower, at_upper: the minimum is at the lower / upper end of the grid (or beyond).
        iterations, residual: diagnostics of the refinement (``|d fn/du|`` at ``u``).
    """

    u: jax.Array
    value: jax.Array
    converged: jax.Array
    at_lower: jax.Array
    at_upper: jax.Array
    iterations: jax.Array
    residual: jax.Array


def grid_then_newton(fn, grid, args=(), *, xtol: float = 1e-13) -> LogMinimum:
    """Minimise ``fn(u, args)`` over ``u`` in ``[grid[0], grid[-1]]`` (see the module docstring).

    Args:
        fn: scalar function ``fn(u, args)``; non-finite values count as ``+inf``.
        grid: 1-D increasing array of candidate ``u`` (at least 3 points).
        args: parameters (pytree), passed through.
    """
    values = jax.vmap(lambda u: fn(u, args))(grid)
    values = jnp.where(jnp.isfinite(values), values, jnp.inf)
    i = jnp.argmin(values)
    last = grid.shape[0] - 1
    lo = grid[jnp.maximum(i - 1, 0)]
    hi = grid[jnp.minimum(i + 1, last)]
    slope = jax.grad(fn)
    root = bracketed_root(lambda u, a: slope(u, a), lo, hi, args, xtol=xtol)
    at_lower = (i == 0) & ~root.converged
    at_upper = (i == last) & ~root.converged
    u = jnp.where(at_lower, grid[0], jnp.where(at_upper, grid[last], root.root))
    return LogMinimum(u, fn(u, args), root.converged, at_lower, at_upper, root.iterations, root.residual)
