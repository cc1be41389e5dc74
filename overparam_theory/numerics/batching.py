"""Evaluation of a per-point solver over a parameter grid.

``jax.vmap`` over grid points is fastest when each point is cheap, but for solvers that sum
over a large spectrum it materialises ``(points x levels)`` intermediates inside a batched
``while_loop`` (every lane iterating until the slowest converges): measured 6x slower than a
sequential map for 100 points over 10^5 eigenvalues on CPU.  :func:`map_points` therefore maps
in batches of about ``2^16 / work_per_point`` points with ``jax.lax.map(..., batch_size=...)``:
pure ``vmap`` for small spectra, point-by-point for huge ones.  Iterative solvers whose
iteration count varies strongly between points (message-passing state evolution near a
threshold: 80 to 5,000 steps on one grid) declare a work of the whole budget, so that each point
runs alone and the grid costs the sum of its points' iterations, not the slowest lane times the
batch.  On accelerators, where wide
batches are what the hardware wants, the budget is ``2^26`` elements (not measured here: no GPU
was available when this was written).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

CPU_WORK_BUDGET = 1 << 16  # array elements per vmapped batch on CPU (measured, see above)
ACCELERATOR_WORK_BUDGET = 1 << 26


def batch_size(n_points: int, work_per_point: int) -> int:
    """Points per vmapped batch for a grid of ``n_points`` each touching ``work_per_point`` elements."""
    budget = CPU_WORK_BUDGET if jax.default_backend() == "cpu" else ACCELERATOR_WORK_BUDGET
    return int(max(1, min(n_points, budget // max(1, work_per_point))))


def map_points(fn, points, shared=(), *, work_per_point: int = 1):
    """``fn(*point_values, *shared)`` at every grid point.

    Args:
        fn: per-point function returning a tuple of arrays.
        points: tuple of arrays of one common shape (already broadcast): one value per point.
        shared: tuple of arguments common to all points (e.g. a spectrum).
        work_per_point: rough number of array elements one evaluation touches (e.g. the number
            of spectrum levels); sets the batch size.

    Returns:
        tuple of arrays shaped ``grid_shape + per-point output shape``.
    """
    shape = points[0].shape
    flat = tuple(jnp.reshape(p, (-1,)) for p in points)
    n = flat[0].shape[0]
    size = batch_size(n, work_per_point)
    if size >= n:
        out = jax.vmap(lambda *p: fn(*p, *shared))(*flat)
    elif size == 1:
        # one point at a time without a vmap of width 1: the solver's lax.cond stays a branch
        # (under vmap it becomes a select that evaluates both sides)
        out = jax.lax.map(lambda p: fn(*p, *shared), flat)
    else:
        out = jax.lax.map(lambda p: fn(*p, *shared), flat, batch_size=size)
    return tuple(jnp.reshape(o, shape + o.shape[1:]) for o in out)


def padded_call(fn, arrays, shared, shape, *, min_size: int = 1):
    """``fn`` on the flattened, broadcast grid padded to a power-of-two length (at least ``min_size``).

    The padding repeats the last point, so grids of different sizes share a few compilations
    of a jitted ``fn(*flat_arrays, *shared) -> tuple``; each output is cut back to the grid and
    reshaped to ``shape + per-point shape``.  Traced inputs (the caller is being differentiated
    or jitted) are flattened without padding: their size is static to the trace anyway.
    """
    if any(isinstance(a, jax.core.Tracer) for a in arrays):
        flat = [jnp.reshape(jnp.broadcast_to(a, shape), (-1,)) for a in arrays]
        n = size = flat[0].shape[0]
    else:
        flat = [np.broadcast_to(np.asarray(a), shape).reshape(-1) for a in arrays]
        n = flat[0].size
        size = max(int(min_size), 1 << max(0, (n - 1).bit_length()))
        flat = [jnp.asarray(np.concatenate([a, np.repeat(a[-1:], size - n)]) if size > n else a) for a in flat]
    out = fn(*flat, *shared)
    return tuple(jnp.reshape(o[:n], shape + o.shape[1:]) for o in out)
