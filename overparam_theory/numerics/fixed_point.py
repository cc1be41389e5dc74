"""Fixed-point solver for order-parameter equations, differentiable by the implicit function theorem.

Every asymptotic theory in this package ends in a small system of self-consistent equations
``x = fn(x, args)`` (Stieltjes transforms, overlaps, effective regularisations ...), solved at
each point of a parameter grid.  :func:`fixed_point` solves ONE such system; callers
``jax.vmap`` it over the grid and may ``jax.jit`` / ``jax.grad`` through it.

Method
------
The unknown ``x`` is any small pytree of scalars/arrays; it is flattened to a vector with
``jax.flatten_util.ravel_pytree`` and iterated inside a single ``jax.lax.while_loop``:

* ``method="picard"``: damped iteration ``x <- (1 - damping) x + damping fn(x)``.
* ``method="anderson"``: Anderson acceleration (type II, Walker & Ni 2011) with ``memory``
  past differences and mixing ``damping``.  With ``g = fn(x) - x`` and the histories
  ``dX``, ``dG`` of the last ``memory`` differences of ``x`` and ``g``,

      gamma = argmin ||g - dG gamma||,      x <- x + damping g - (dX + damping dG) gamma.

  The least-squares problem is solved through Tikhonov-regularised normal equations on
  unit-normalised columns of ``dG`` (an ``m x m`` ``jnp.linalg.solve``).  Safeguard: if the
  Anderson candidate, or ``fn`` at it, is non-finite, the candidate is rejected, the history is
  cleared and the next step is a plain damped Picard step.

The loop stops when the relative residual ``max |fn(x) - x| / max(1, |x|)`` (elementwise, over
all leaves) is ``<= tol``, after ``max_iter`` steps, or as soon as an accepted iterate is
non-finite; a non-finite point is never reported as converged.  Under ``vmap`` each lane
keeps its own flags and iteration count.

Derivatives
-----------
The iteration itself is never differentiated.  The solver is a ``jax.custom_jvp``: at the
solution ``x*`` the tangent with respect to ``args`` is

    dx = (I - d fn/dx)^{-1} (d fn/d args . dargs),

with a dense Jacobian ``d fn/dx`` (``jax.jacfwd``; systems have < ~20 unknowns) and a dense
solve.  This is linear in ``dargs``, so reverse mode (``jax.grad``) works by transposition;
the rule re-enters the solver through its own ``custom_jvp``, so higher derivatives (e.g.
``jax.hessian``) are implicit as well.
The solution does not depend on ``x0``, ``damping`` or ``tol`` (zero tangents), and the
diagnostic fields ``converged``, ``iterations``, ``residual`` have zero tangents.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.flatten_util import ravel_pytree

from .._validation import choice, is_traced, positive_int, real_array
from .diagnostics import ConvergenceError, ConvergenceWarning

__all__ = [
    "FixedPointResult",
    "ConvergenceError",
    "ConvergenceWarning",
    "fixed_point",
    "check_convergence",
]

METHODS = ("picard", "anderson")




class FixedPointResult(NamedTuple):
    """Outcome of :func:`fixed_point` (one point; leading batch axes under ``vmap``).

    value: the last iterate, a pytree like ``x0`` (may be non-finite when not converged).
    converged: bool, relative residual <= tol at ``value`` (never true for non-finite values).
    iterations: int32, number of update steps taken (evaluations of ``fn`` minus one).
    residual: relative residual ``max |fn(x) - x| / max(1, |x|)`` at ``value``; ``inf`` when
        ``value`` or ``fn(value)`` is non-finite.
    """

    value: Any
    converged: Any
    iterations: Any
    residual: Any


# ----------------------------------------------------------------------------- helpers


def _as_float_leaf(leaf):
    """Leaf as a strongly typed inexact JAX array (integers/bools promoted to default float)."""
    leaf = jnp.asarray(leaf)
    dtype = leaf.dtype if jnp.issubdtype(leaf.dtype, jnp.inexact) else jnp.result_type(float)
    return lax.convert_element_type(leaf, dtype)


def _flat_fn(fn, unravel, x_struct, x_shapes, dtype):
    """``fn`` as a map flat-vector -> flat-vector, checking that it preserves the pytree."""

    def flat(x_flat, args):
        out = fn(unravel(x_flat), args)
        out_struct = jax.tree.structure(out)
        out_shapes = [jnp.shape(leaf) for leaf in jax.tree.leaves(out)]
        if out_struct != x_struct or out_shapes != x_shapes:
            raise ValueError(
                "fn(x, args) must return a pytree with the same structure and leaf shapes as x0; "
                f"x0 has {x_struct} with shapes {x_shapes}, fn returned {out_struct} with shapes {out_shapes}"
            )
        out_flat, _ = ravel_pytree(out)
        return lax.convert_element_type(out_flat, dtype)

    return flat


def _residual(x, f):
    """Relative residual max |f - x| / max(1, |x|); +inf if anything is non-finite."""
    r = jnp.max(jnp.abs(f - x) / jnp.maximum(1.0, jnp.abs(x)))
    finite = jnp.isfinite(r) & jnp.all(jnp.isfinite(x)) & jnp.all(jnp.isfinite(f))
    return jnp.where(finite, r, jnp.inf).astype(r.dtype)


def _anderson_coefficients(dG, valid, g):
    """Tikhonov-regularised least squares  min ||g - dG^T gamma||  over the valid history rows.

    ``dG`` has shape (m, n) (one difference per row).  Columns are normalised to unit length so
    the regularisation is scale free; invalid (empty or zero) rows get gamma = 0.
    """
    real_dtype = jnp.abs(g).dtype
    norms = jnp.sqrt(jnp.sum(jnp.abs(dG) ** 2, axis=1))
    valid = valid & (norms > 0) & jnp.isfinite(norms)
    scale = jnp.where(valid, norms, 1.0)
    Gn = jnp.where(valid[:, None], dG / scale[:, None], 0.0)
    reg = jnp.sqrt(jnp.finfo(real_dtype).eps)  # relative to unit diagonal
    A = jnp.conj(Gn) @ Gn.T + jnp.diag(jnp.where(valid, reg, 1.0).astype(real_dtype))
    rhs = jnp.conj(Gn) @ g
    gamma_n = jnp.linalg.solve(A, rhs)
    return jnp.where(valid, gamma_n / scale, 0.0)


# ----------------------------------------------------------------------------- forward solve


def _solve_impl(fn, method, memory, x0, args, damping, tol, max_iter):
    x0 = jax.tree.map(_as_float_leaf, x0)
    x_flat0, unravel = ravel_pytree(x0)
    if x_flat0.size == 0:
        raise ValueError("x0 must contain at least one number")
    dtype = x_flat0.dtype
    x_flat0 = lax.convert_element_type(x_flat0, dtype)
    real_dtype = jnp.abs(x_flat0).dtype
    x_struct = jax.tree.structure(x0)
    x_shapes = [jnp.shape(leaf) for leaf in jax.tree.leaves(x0)]
    F = _flat_fn(fn, unravel, x_struct, x_shapes, dtype)
    beta = lax.convert_element_type(damping, real_dtype)
    tol = lax.convert_element_type(tol, real_dtype)

    f0 = F(x_flat0, args)
    r0 = _residual(x_flat0, f0)
    i0 = jnp.zeros((), jnp.int32)

    def keep_going(i, r):
        return (i < max_iter) & (r > tol) & jnp.isfinite(r)

    if method == "picard":

        def cond(state):
            i, _, _, r = state
            return keep_going(i, r)

        def body(state):
            i, x, f, _ = state
            x_new = (1 - beta) * x + beta * f
            f_new = F(x_new, args)
            return i + 1, x_new, f_new, _residual(x_new, f_new)

        i, x, f, r = lax.while_loop(cond, body, (i0, x_flat0, f0, r0))

    else:  # anderson
        m, n = memory, x_flat0.size
        hist0 = jnp.zeros((m, n), dtype)
        state0 = (i0, x_flat0, f0, r0, hist0, hist0, i0, i0, jnp.zeros((), bool))

        def cond(state):
            return keep_going(state[0], state[3])

        def body(state):
            i, x, f, r, dX, dG, count, slot, force_picard = state
            g = f - x
            # Anderson candidate (equals the Picard step while the history is empty).
            valid = jnp.arange(m) < count
            gamma = _anderson_coefficients(dG, valid, g)
            x_pic = x + beta * g
            x_aa = x_pic - gamma @ (dX + beta * dG)
            use_aa = ~force_picard & jnp.all(jnp.isfinite(x_aa))
            x_c = jnp.where(use_aa, x_aa, x_pic)
            f_c = F(x_c, args)
            r_c = _residual(x_c, f_c)
            # Safeguard: a non-finite Anderson point is rejected; retry with a Picard step and
            # an empty history.  A non-finite Picard point is accepted and ends the loop.
            reject = use_aa & ~jnp.isfinite(r_c)
            accept = ~reject
            dX_new = dX.at[slot].set(x_c - x)
            dG_new = dG.at[slot].set((f_c - x_c) - g)
            sel = lambda new, old: jnp.where(accept, new, old)
            return (
                i + 1,
                sel(x_c, x),
                sel(f_c, f),
                sel(r_c, r),
                sel(dX_new, dX),
                sel(dG_new, dG),
                jnp.where(accept, jnp.minimum(count + 1, m), 0).astype(jnp.int32),
                jnp.where(accept, (slot + 1) % m, slot).astype(jnp.int32),
                reject,
            )

        i, x, f, r, *_ = lax.while_loop(cond, body, state0)

    converged = (r <= tol) & jnp.isfinite(r)
    return FixedPointResult(unravel(x), converged, i, r)


@functools.partial(jax.custom_jvp, nondiff_argnums=(0, 1, 2))
def _solve(fn, method, memory, x0, args, damping, tol, max_iter):
    return _solve_impl(fn, method, memory, x0, args, damping, tol, max_iter)


@_solve.defjvp
def _solve_jvp(fn, method, memory, primals, tangents):
    x0, args, damping, tol, max_iter = primals
    dargs = tangents[1]  # x0, damping, tol, max_iter do not move the solution
    # Calling the custom_jvp function (not the raw loop) keeps higher derivatives implicit too.
    res = _solve(fn, method, memory, x0, args, damping, tol, max_iter)

    x_star = res.value
    x_flat, unravel = ravel_pytree(x_star)
    dtype = x_flat.dtype
    x_struct = jax.tree.structure(x_star)
    x_shapes = [jnp.shape(leaf) for leaf in jax.tree.leaves(x_star)]
    F = _flat_fn(fn, unravel, x_struct, x_shapes, dtype)

    # Implicit function theorem: (I - dF/dx) dx = dF/dargs . dargs.
    J = jax.jacfwd(lambda xf: F(xf, args))(x_flat)
    _, b = jax.jvp(lambda a: F(x_flat, a), (args,), (dargs,))
    dx = jnp.linalg.solve(jnp.eye(x_flat.size, dtype=dtype) - J, b)

    tangent = FixedPointResult(
        unravel(dx),
        np.zeros(np.shape(res.converged), dtype=jax.dtypes.float0),
        np.zeros(np.shape(res.iterations), dtype=jax.dtypes.float0),
        jnp.zeros_like(res.residual),
    )
    return res, tangent


_solve_jit = jax.jit(_solve, static_argnums=(0, 1, 2))


# ----------------------------------------------------------------------------- public API


def _scalar(name, value, **interval):
    """Validate a concrete real scalar; tracers pass through unchanged."""
    if is_traced(value):
        return value
    arr = real_array(name, value, **interval)
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a scalar, got an array of shape {arr.shape}")
    return float(arr)


def fixed_point(
    fn: Callable[[Any, Any], Any],
    x0: Any,
    args: Any = (),
    *,
    damping: float = 1.0,
    method: str = "picard",
    memory: int = 5,
    tol: float = 1e-12,
    max_iter: int = 10_000,
) -> FixedPointResult:
    """Solve ``x = fn(x, args)`` for one point; jit-, vmap- and grad-compatible.

    Parameters
    ----------
    fn: callable ``fn(x, args) -> pytree`` with the structure and leaf shapes of ``x``.
    x0: initial guess, a small pytree of scalars/arrays (integers are promoted to float).
    args: pytree of parameters; derivatives of the solution with respect to ``args`` are
        given by the implicit function theorem (see the module docstring).
    damping: mixing ``beta`` in (0, 1]: ``x <- (1 - beta) x + beta fn(x)`` (Picard) or the
        Anderson mixing parameter.
    method: ``"picard"`` or ``"anderson"``.
    memory: number of past differences kept by Anderson acceleration (>= 1).
    tol: relative-residual tolerance (> 0).  The default 1e-12 presumes float64; under
        float32 use ~1e-6.
    max_iter: maximum number of update steps (>= 1).

    Returns
    -------
    FixedPointResult(value, converged, iterations, residual); inspect it with
    :func:`check_convergence` once the arrays are concrete.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    damping = _scalar("damping", damping, low=0.0, high=1.0, low_open=True)
    method = choice("method", method, METHODS)
    memory = positive_int("memory", memory, minimum=1)
    tol = _scalar("tol", tol, low=0.0, low_open=True)
    max_iter = positive_int("max_iter", max_iter, minimum=1)

    try:
        hash(fn)
        solver = _solve_jit  # compiled once per (fn, method, memory, shapes/dtypes)
    except TypeError:
        solver = _solve
    return solver(fn, method, memory, x0, args, damping, tol, jnp.asarray(max_iter, jnp.int32))


def check_convergence(
    result: FixedPointResult, *, on_failure: str = "warn", what: str = "fixed point"
) -> FixedPointResult:
    """Report points where ``result`` did not converge; returns ``result`` unchanged.

    Needs concrete arrays (call it outside ``jit``/``vmap``).  ``on_failure``: ``"raise"``
    raises :class:`ConvergenceError`, ``"warn"`` issues a :class:`ConvergenceWarning`,
    ``"ignore"`` does nothing.
    """
    on_failure = choice("on_failure", on_failure, ("raise", "warn", "ignore"))
    if is_traced(result.converged) or is_traced(result.residual):
        raise TypeError("check_convergence needs concrete arrays; call it outside jit/vmap/grad")
    if on_failure == "ignore":
        return result
    converged = np.asarray(result.converged, dtype=bool)
    failed = ~converged
    n_failed = int(failed.sum())
    if n_failed == 0:
        return result
    residual = np.broadcast_to(np.asarray(result.residual, dtype=np.float64), converged.shape)
    worst = float(np.max(np.where(np.isnan(residual[failed]), np.inf, residual[failed])))
    n_nonfinite = int(np.sum(~np.isfinite(residual[failed])))
    msg = (
        f"{what}: {n_failed} of {converged.size} point(s) did not converge "
        f"(worst relative residual {worst:.3g}"
        + (f"; {n_nonfinite} with non-finite iterates" if n_nonfinite else "")
        + ")"
    )
    if on_failure == "raise":
        raise ConvergenceError(msg)
    warnings.warn(msg, ConvergenceWarning, stacklevel=2)
    return result
