"""The grid evaluator: one place for precision, tracer pass-through, shape buckets, the
compiled-program cache and failure reporting of every theory function.

A model supplies a *kernel* ``kernel(*flat_grid, *shared, **static) -> pytree`` whose leaves
have the flat grid as leading axis (typically ``jax.vmap`` or
:func:`~overparam_theory.numerics.batching.map_points` of a one-point solver) and returns its
result type (a NamedTuple with a ``diagnostics`` field).  :func:`evaluate`

1. casts the validated inputs to the working precision (float64 by default, enabled only
   around this call; ``dtype="float32"`` uses the process default);
2. broadcasts the grid arrays and flattens them; concrete grids are padded to a power-of-two
   length (at least ``min_bucket``) by repeating the last point, so grids of any size share one
   compiled program per bucket; traced grids (the caller differentiates, jits or vmaps through
   the public function) are passed through unpadded;
3. calls one jitted program per ``(kernel, static)`` from a process-wide cache (XLA compiles it
   once per bucket and dtype); a concrete call in a process with the persistent cache on runs
   the program exported to disk by an earlier process (:mod:`.exported`: no tracing, no
   lowering), or exports it for the next;
4. cuts the padding, restores the grid shape, converts concrete results to NumPy and reports
   failed points through :func:`~overparam_theory.numerics.diagnostics.report`.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools

import jax
import jax.numpy as jnp
import numpy as np

from .._precision import precision, resolve_dtype
from .._validation import is_traced
from . import exported

__all__ = ["evaluate", "compiled", "bucket_size", "finalize", "progress"]

_PROGRESS = contextvars.ContextVar("overparam_theory_theory_progress", default=None)
_PROGRESS_CHUNK = 8  # points per progress step (one compiled program of this bucket)


@functools.lru_cache(maxsize=None)
def compiled(kernel, static: tuple = (), compiler_options: tuple = ()):
    """``jax.jit(kernel)`` with the keyword arguments ``static`` (a tuple of ``(name, value)``
    pairs of hashable values) bound and XLA ``compiler_options`` (``(name, value)`` pairs);
    cached per ``(kernel, static, compiler_options)`` for the process."""
    fn = functools.partial(kernel, **dict(static)) if static else kernel
    return jax.jit(fn, compiler_options=dict(compiler_options)) if compiler_options else jax.jit(fn)


def bucket_size(n: int, min_bucket: int = 1) -> int:
    """The padded length of a grid of ``n`` points: the next power of two, at least ``min_bucket``."""
    return max(int(min_bucket), 1 << max(0, (int(n) - 1).bit_length()))


def _cast(dtype: str, value):
    """Floating inputs in the working dtype (NumPy for concrete values, so no eager JAX op);
    integer, boolean and non-array values unchanged."""
    ftype = np.float64 if dtype == "float64" else np.float32
    if is_traced(value):
        return jnp.asarray(value, ftype) if jnp.issubdtype(value.dtype, jnp.floating) else value
    if isinstance(value, (np.ndarray, float, np.floating, jax.Array)) and np.issubdtype(np.asarray(value).dtype, np.floating):
        return np.asarray(value, ftype)
    return value


def finalize(result, on_failure: str, what: str):
    """Concrete results as NumPy arrays, failed points reported; traced results unchanged."""
    from .diagnostics import report

    if any(is_traced(leaf) for leaf in jax.tree_util.tree_leaves(result)):
        return result
    result = jax.tree_util.tree_map(np.asarray, result)
    report(result.diagnostics, on_failure, what)
    return result


@contextlib.contextmanager
def progress(enabled: bool = True, label: str = "theory"):
    """Within this block, theory grids of more than one progress step show a progress bar with
    rate and ETA on stderr (``tqdm``, drawn only when stderr is a terminal): the grid is
    evaluated in chunks of :data:`_PROGRESS_CHUNK` points, one compiled program for all chunks.
    The values are those of the unchunked call.  The command line turns it on for terminals."""
    token = _PROGRESS.set(label if enabled else None)
    try:
        yield
    finally:
        _PROGRESS.reset(token)


def _run_chunked(fn, flat, shared, n, size, label):
    """``fn`` over ``flat`` in chunks of ``size`` points (the last one padded), with a progress
    bar; returns the concatenated pytree of length ``n``."""
    from .._montecarlo import Progress

    n_chunks = -(-n // size)
    bar = Progress(n_chunks, label, True)
    bar.bar.unit = "chunk"
    parts = []
    try:
        for k in range(n_chunks):
            piece = [f[k * size : (k + 1) * size] for f in flat]
            m = piece[0].size
            if m < size:
                piece = [np.concatenate([f, np.repeat(f[-1:], size - m)]) for f in piece]
            out = fn(*piece, *shared)
            parts.append(jax.tree_util.tree_map(lambda o, m=m: np.asarray(o[:m]), out))
            bar.step(f"{min((k + 1) * size, n)}/{n} points")
    finally:
        bar.close()
    return jax.tree_util.tree_map(lambda *xs: np.concatenate(xs), *parts)


def evaluate(
    kernel, grid, shared=(), *, static=None, dtype="float64", on_failure="warn", what="", min_bucket=1, compiler_options=None
):
    """Evaluate ``kernel`` on a broadcast parameter grid (see the module docstring).

    Args:
        kernel: ``kernel(*flat_grid, *shared, **static)`` returning a pytree whose leaves have
            the flat grid as leading axis (per-point trailing axes are kept).
        grid: sequence of validated grid arrays (broadcast together).
        shared: arguments common to every point (a spectrum, a time axis, quadrature nodes).
        static: dict of hashable compile-time options (a loss, a channel name).
        dtype: ``"float64"`` or ``"float32"``.
        on_failure: ``"warn"``, ``"raise"`` or ``"ignore"``.
        what: the solve's name in failure messages.
        min_bucket: smallest padded grid length (a larger floor means fewer distinct programs).
        compiler_options: dict of XLA compiler options of the program (e.g.
            ``{"xla_backend_optimization_level": 0}``: faster compilation, slower run).

    Returns:
        the kernel's pytree with leaves shaped ``grid shape + per-point shape``.
    """
    dtype = resolve_dtype(dtype)
    shape = np.broadcast_shapes(*(np.shape(g) for g in grid))
    traced = any(is_traced(leaf) for leaf in jax.tree_util.tree_leaves((grid, shared)))
    # XLA options belong to a top-level program: under a caller's jit the kernel is inlined.
    options = () if traced else tuple(sorted((compiler_options or {}).items()))
    static = tuple(sorted((static or {}).items()))
    fn = compiled(kernel, static, options)
    with precision(dtype):
        grid = [_cast(dtype, g) for g in grid]
        shared = tuple(jax.tree_util.tree_map(functools.partial(_cast, dtype), s) for s in shared)
        if traced:
            flat = [jnp.reshape(jnp.broadcast_to(g, shape), (-1,)) for g in grid]
            n = size = flat[0].shape[0]
        else:
            flat = [np.broadcast_to(g, shape).reshape(-1) for g in grid]
            n = flat[0].size
            size = bucket_size(n, min_bucket)
            label = _PROGRESS.get()
            chunk = bucket_size(_PROGRESS_CHUNK, min_bucket)
            if label is not None and n > chunk:
                piece = [np.broadcast_to(f[:1], (chunk,)) for f in flat]
                fn = exported.program(fn, kernel, static, options, (*piece, *shared))
                out = _run_chunked(fn, flat, shared, n, chunk, label)
                out = jax.tree_util.tree_map(lambda o: np.reshape(o, shape + o.shape[1:]), out)
                return finalize(out, on_failure, what)
            if size > n:
                flat = [np.concatenate([f, np.repeat(f[-1:], size - n)]) for f in flat]
        if not traced:  # a warm process skips tracing (numerics.exported)
            fn = exported.program(fn, kernel, static, options, (*flat, *shared))
        out = fn(*flat, *shared)
        out = jax.tree_util.tree_map(lambda o: jnp.reshape(o[:n], shape + o.shape[1:]), out)
    return finalize(out, on_failure, what)
