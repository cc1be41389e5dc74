"""Safeguarded scalar root finding that works under ``jax.jit``, ``jax.vmap`` and ``jax.grad``.

- :func:`bracketed_root`: a bracketed root with implicit derivatives (the general tool);
- :func:`increasing_root`: the same safeguarded Newton for an increasing function whose end
  signs are known, with the function traced once (for solves nested inside scans and outer
  solves);
- :func:`illinois_root`: derivative-free regula falsi (Illinois) for outer problems whose value
  contains an inner solve;
- :func:`first_nonnegative`: binary search of an increasing function over a fixed grid (to
  bracket a root or the minimum of a convex function before refining it);
- :func:`bisect`: fixed-count bisection (nested monotone equations, vmappable, no derivative).

Tolerances come from :class:`~overparam_theory.numerics.solvers.Bracketed` (``xtol``,
``max_iter``).

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

:func:`expanding_root` is the derivative-free variant for an increasing ``f`` whose upper
bracket end is not known in advance (it is found by doubling) and whose evaluation is expensive
to trace (e.g. ``f`` nests another root solve): one evaluation site per iteration (Illinois
regula falsi with bisection safeguards), an auxiliary output carried from the chosen point, a
:class:`~overparam_theory.numerics.diagnostics.Diagnostics` status, implicit derivatives, and
tolerances from a :class:`~overparam_theory.numerics.solvers.Bracketed`.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from .diagnostics import Diagnostics, Status, with_diagnostics
from .solvers import Bracketed

__all__ = [
    "RootResult",
    "SearchResult",
    "bracketed_root",
    "expanding_root",
    "increasing_root",
    "illinois_root",
    "first_nonnegative",
    "bisect",
]


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


# ---------------------------------------------------------------------------------------------
# A derivative-free bracket search with one evaluation site (nested solves are traced once).


@with_diagnostics
class SearchResult(NamedTuple):
    """Root found by :func:`expanding_root` (``converged``, ``status``, ``iterations`` and
    ``residual`` are properties of ``diagnostics``).

    Attributes:
        root: the evaluated point with the smallest ``|f|``.
        diagnostics: ``OK`` (the bracket met ``xtol`` or ``f = 0``), ``NO_BRACKET`` (``f(lower)
            >= 0``, or no sign change after 64 doublings), ``NONFINITE`` (``f`` was NaN) or
            ``MAX_ITERATIONS``; ``residual`` is ``|f(root)|``.
    """

    root: jax.Array
    diagnostics: Diagnostics


def _expanding_search(f, lower, upper_guess, args, xtol, max_iter):
    lo, hi0 = lower, upper_guess
    zero = jnp.zeros_like(lo + hi0)
    xtol = max(xtol, 4.0 * float(jnp.finfo(zero.dtype).eps))  # attainable in float32 too
    i0 = jnp.asarray(0, jnp.int32)
    _, aux0 = jax.eval_shape(f, zero, args)
    aux0 = jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), aux0)

    def cond(st):
        return (st["phase"] < 3) & (st["it"] < max_iter)

    def body(st):
        x = st["query"]
        fx, aux = f(x, args)
        a, fa, b, fb, side, phase, k = st["a"], st["fa"], st["b"], st["fb"], st["side"], st["phase"], st["k"]
        p0, p1, p2 = phase == 0, phase == 1, phase == 2
        found = p1 & (fx > 0)
        new_a = p0 | (p1 & ~found) | (p2 & (fx <= 0))
        new_b = found | (p2 & (fx > 0))
        # Illinois: an end kept twice in a row has its function value halved.
        fa = jnp.where(new_a, fx, jnp.where(p2 & (side == -1), 0.5 * fa, fa))
        fb = jnp.where(new_b, fx, jnp.where(p2 & (side == 1), 0.5 * fb, fb))
        a = jnp.where(new_a, x, a)
        b = jnp.where(new_b, x, b)
        side = jnp.where(p2, jnp.where(new_a, 1, -1), 0).astype(jnp.int32)  # +1: b kept, -1: a kept
        k = k + p1.astype(jnp.int32)
        fail = (p0 & ~(fx < 0)) | (p1 & ~found & (k >= 64)) | jnp.isnan(fx)
        width = jnp.abs(b - a)
        done = p2 & ((fx == 0) | (width <= xtol * jnp.maximum(jnp.abs(x), 1.0)))
        phase = jnp.where(fail, 4, jnp.where(done, 3, jnp.where(p0, 1, jnp.where(found, 2, phase))))
        # widths of the last two phase-2 brackets (inf before): regula falsi only while they halve
        w1 = jnp.where(p2, width, jnp.inf)
        w2 = jnp.where(p2, st["w1"], jnp.inf)
        rf = a - fa * (b - a) / (fb - fa)
        inside = (rf > jnp.minimum(a, b)) & (rf < jnp.maximum(a, b)) & (width <= 0.5 * st["w2"])
        solve_query = jnp.where(inside, rf, 0.5 * (a + b))
        expand_query = jnp.where(p0, hi0, lo + 2.0 * (x - lo))
        better = jnp.abs(fx) <= st["best_f"]
        pick = lambda new, old: jnp.where(better, new, old)  # noqa: E731
        return dict(
            query=jnp.where(phase == 2, solve_query, expand_query), a=a, fa=fa, b=b, fb=fb, side=side,
            phase=phase, k=k, it=st["it"] + 1, w1=w1, w2=w2, nan=jnp.isnan(fx),
            best=pick(x, st["best"]), best_f=pick(jnp.abs(fx), st["best_f"]),
            best_aux=jax.tree_util.tree_map(pick, aux, st["best_aux"]),
        )

    inf = zero + jnp.inf
    st0 = dict(query=lo + zero, a=lo + zero, fa=zero - 1.0, b=lo + zero, fb=zero + 1.0, side=i0, phase=i0, k=i0,
               it=i0, w1=inf, w2=inf, nan=jnp.zeros(zero.shape, bool), best=lo + zero, best_f=inf, best_aux=aux0)
    st = jax.lax.while_loop(cond, body, st0)
    phase = st["phase"]
    failed = jnp.where(st["nan"], int(Status.NONFINITE), int(Status.NO_BRACKET))
    status = jnp.where(phase == 3, int(Status.OK), jnp.where(phase == 4, failed, int(Status.MAX_ITERATIONS)))
    return SearchResult(st["best"], Diagnostics(status.astype(jnp.int32), st["it"], st["best_f"])), st["best_aux"]


@partial(jax.custom_jvp, nondiff_argnums=(0, 1))
def _expanding_root(f, solver, lower, upper_guess, args):
    return _expanding_search(f, lower, upper_guess, args, solver.xtol, solver.max_iter)


def _zero_tangent(leaf):
    if jnp.issubdtype(jnp.result_type(leaf), jnp.inexact):
        return jnp.zeros_like(leaf)
    return jnp.zeros(jnp.shape(leaf), dtype=jax.dtypes.float0)


@_expanding_root.defjvp
def _expanding_root_jvp(f, solver, primals, tangents):
    lower, upper_guess, args = primals
    dargs = tangents[2]
    res, aux = _expanding_root(f, solver, lower, upper_guess, args)
    x = res.root
    # One linearisation of f (traced once) gives every partial derivative.
    _, f_lin = jax.linearize(f, x, args)
    zero_args = jax.tree_util.tree_map(jnp.zeros_like, args)
    df_dx, _ = f_lin(jnp.ones_like(x), zero_args)
    df_dargs, _ = f_lin(jnp.zeros_like(x), dargs)
    usable = res.converged & jnp.isfinite(df_dx) & (df_dx != 0)
    dx = jnp.where(usable, -df_dargs / jnp.where(usable, df_dx, 1.0), 0.0)
    _, daux = f_lin(dx, dargs)
    return (res, aux), (jax.tree_util.tree_map(_zero_tangent, res)._replace(root=dx), daux)


def expanding_root(f: Callable, lower, upper_guess, args=(), *, solver: Bracketed = Bracketed()):
    """Root of ``f(x, args)[0]``, a function increasing through its root with ``f(lower) < 0``,
    when no upper bracket end is known: ``(SearchResult, aux)``.

    ``f`` returns ``(value, aux)``; ``aux`` (a pytree, e.g. the solution of a solve nested in
    ``f``) is returned at the chosen point, so that callers need not recompute it.  One
    ``while_loop`` whose body evaluates ``f`` once: phase 0 checks ``f(lower) < 0``, phase 1
    evaluates ``upper_guess`` and, while ``f(hi) <= 0``, moves the lower end there and doubles
    the distance ``hi - lower`` (at most 64 times), phase 2 runs the Illinois variant of regula
    falsi, with a bisection step whenever the bracket did not halve over the last two steps,
    until the bracket is ``solver.xtol`` wide relative to ``max(|x|, 1)`` (raised to ``4 eps`` of
    the working dtype) or ``f = 0``; at most ``solver.max_iter`` evaluations.  Returns the
    evaluated point with the smallest ``|f|``.

    Derivative free (so a nested solve inside ``f`` is traced once; :func:`bracketed_root`
    evaluates ``f`` and its slope at several sites), with implicit derivatives through
    :func:`jax.custom_jvp`: ``dx = -(df/dargs . dargs) / (df/dx)`` and ``d aux = (d aux/dx) dx +
    (d aux/dargs) dargs`` (one linearisation of ``f``; the bracket does not move the root).

    Args:
        f: ``f(x, args) -> (value, aux)``, traceable; increasing through its root.
        lower: a point with ``f(lower) < 0`` (else ``NO_BRACKET``).
        upper_guess: first trial upper end (``> lower``); doubled away from ``lower`` until ``f > 0``.
        args: pytree of parameters; the root and ``aux`` are differentiable with respect to it.
        solver: :class:`~overparam_theory.numerics.solvers.Bracketed` tolerances.

    Returns:
        ``(SearchResult, aux)``.
    """
    return _expanding_root(f, solver, lower, upper_guess, args)


# ---------------------------------------------------------------------------------------------
# Building blocks for nested solves (one traced copy of the function each).


def increasing_root(f: Callable, lower, upper, args=(), *, x0=None, solver: Bracketed = Bracketed()) -> RootResult:
    """Root of ``f(x, args)``, increasing through a sign change on ``[lower, upper]`` with
    ``f(lower) <= 0 <= f(upper)`` known in advance (``lower`` may be where ``f = -inf``):
    safeguarded Newton (``rtsafe``), starting from ``x0`` (default: the midpoint).

    Unlike :func:`bracketed_root` the end values are not evaluated, and the loop body holds the
    only copy of ``f`` (value and slope by ``jax.jvp``): such solves are nested inside scans and
    outer solves, and XLA's CPU compile time grows with every traced copy.  A Newton step is
    taken only when it stays inside the bracket and at least halves it; bisection otherwise.
    No implicit derivative is defined.  ``converged`` needs a small final step
    (``solver.xtol`` relative to ``max(1, |x|)``), a finite value and ``|f|`` at the level of the
    step times the slope (a spurious "root" at a bracket end is rejected).
    """
    xtol, max_iter = solver.xtol, solver.max_iter
    a, b = lower, upper
    x0 = 0.5 * (a + b) if x0 is None else x0

    def cond(state):
        return (~state[-1]) & (state[5] < max_iter)

    def body(state):
        a, b, x, _, _, it, _ = state
        fx, dfx = jax.jvp(lambda t: f(t, args), (x,), (jnp.ones_like(x),))
        a = jnp.where(fx <= 0, x, a)
        b = jnp.where(fx > 0, x, b)
        newton = x - fx / dfx
        inside = (newton >= a) & (newton <= b) & jnp.isfinite(newton)
        # Bisect also when Newton would not at least halve the bracket from this side.
        shrinks = jnp.abs(newton - x) < 0.5 * (b - a)
        x_new = jnp.where(inside & shrinks, newton, 0.5 * (a + b))
        scale = jnp.maximum(jnp.abs(x_new), 1.0)
        done = (fx == 0) | (inside & (jnp.abs(newton - x) <= xtol * scale)) | ((b - a) <= xtol * scale)
        return a, b, jnp.where(fx == 0, x, x_new), fx, dfx, it + 1, done

    zero = jnp.zeros_like(x0)
    state = jax.lax.while_loop(cond, body, (a + zero, b + zero, x0, zero, zero, jnp.asarray(0, jnp.int32), zero > 1))
    a, b, x, fx, dfx, it, done = state
    scale = jnp.maximum(jnp.abs(x), 1.0)
    small = jnp.abs(fx) <= 1e-6 * jnp.maximum(jnp.abs(dfx) * scale, 1e-300) + 1e-12
    converged = done & jnp.isfinite(x) & jnp.isfinite(fx) & small
    return RootResult(x, converged, it, jnp.abs(fx))


def first_nonnegative(f: Callable, grid):
    """Binary search over an increasing ``grid`` for the first point where the *increasing*
    function ``f(x) -> (value, aux)`` is ``>= 0``.

    Returns ``(i, f_lo, f_hi, aux_hi)``: ``i`` in ``0..n`` (``n``: none), the values at
    ``grid[i - 1]`` and ``grid[i]`` (NaN where that point is off the grid) and the ``aux`` at
    ``grid[i]`` (zeros when ``i = n``).  ``ceil(log2(n + 1))`` evaluations, one traced copy.
    """
    n = grid.shape[0]
    aux0 = jax.eval_shape(lambda x: f(x)[1], grid[0])
    aux0 = jax.tree_util.tree_map(lambda sd: jnp.zeros(sd.shape, sd.dtype), aux0)
    nan = jnp.full_like(grid[0], jnp.nan)

    def body(_, state):
        lo, hi, f_lo, f_hi, aux_hi = state
        active = hi - lo > 1
        mid = jnp.clip((lo + hi) // 2, 0, n - 1)
        fm, aux = f(grid[mid])
        up = active & (fm >= 0)
        down = active & ~(fm >= 0)
        hi = jnp.where(up, mid, hi)
        f_hi = jnp.where(up, fm, f_hi)
        aux_hi = jax.tree_util.tree_map(lambda new, old: jnp.where(up, new, old), aux, aux_hi)
        lo = jnp.where(down, mid, lo)
        f_lo = jnp.where(down, fm, f_lo)
        return lo, hi, f_lo, f_hi, aux_hi

    steps = int(math.ceil(math.log2(n + 1)))
    init = (jnp.asarray(-1), jnp.asarray(n), nan, nan, aux0)
    _, hi, f_lo, f_hi, aux_hi = jax.lax.fori_loop(0, steps, body, init)
    return hi, f_lo, f_hi, aux_hi


def illinois_root(f: Callable, a, b, fa, fb, *, solver: Bracketed = Bracketed(xtol=1e-13, max_iter=100)):
    """Derivative-free root of ``f`` on ``[a, b]`` with known end values ``fa``, ``fb`` of
    opposite signs (regula falsi, Illinois variant; superlinear, order ~1.44), vmappable.

    ``f(x) -> (value, aux)``; returns ``(root, converged, iterations, |value|, aux)`` at the last
    evaluated point.  Used for outer problems whose value contains an inner root solve: no
    derivative of the inner solve is needed, and the loop body is its only traced copy.  Stops
    when the step or the bracket is below ``solver.xtol`` relative to ``max(1, |x|)``.
    """
    xtol, max_iter = solver.xtol, solver.max_iter
    ok = jnp.sign(fa) * jnp.sign(fb) <= 0
    aux0 = jax.eval_shape(lambda x: f(x)[1], a)
    aux0 = jax.tree_util.tree_map(lambda sd: jnp.zeros(sd.shape, sd.dtype), aux0)

    def cond(state):
        return (~state[-1]) & (state[6] < max_iter)

    def body(state):
        a, b, fa, fb, side, x_prev, it, x, fx, aux, done = state
        denom = fb - fa
        x = jnp.where(denom != 0, (a * fb - b * fa) / jnp.where(denom != 0, denom, 1.0), 0.5 * (a + b))
        lo, hi = jnp.minimum(a, b), jnp.maximum(a, b)
        x = jnp.where((x > lo) & (x < hi), x, 0.5 * (a + b))
        fx, aux = f(x)
        same_b = jnp.sign(fx) == jnp.sign(fb)
        same_a = ~same_b & (jnp.sign(fx) == jnp.sign(fa))
        # Illinois: halve the stale end's value when the same end is replaced twice in a row.
        fa_new = jnp.where(same_b, jnp.where(side == -1, 0.5 * fa, fa), jnp.where(same_a, fx, fa))
        fb_new = jnp.where(same_a, jnp.where(side == 1, 0.5 * fb, fb), jnp.where(same_b, fx, fb))
        a_new = jnp.where(same_a, x, a)
        b_new = jnp.where(same_b, x, b)
        side = jnp.where(same_b, -1, jnp.where(same_a, 1, 0))
        scale = jnp.maximum(jnp.abs(x), 1.0)
        done = (fx == 0) | (jnp.abs(x - x_prev) <= xtol * scale) | (jnp.abs(b_new - a_new) <= xtol * scale)
        done = done | ~jnp.isfinite(fx)
        return a_new, b_new, fa_new, fb_new, side, x, it + 1, x, fx, aux, done

    nan = jnp.full_like(a, jnp.nan)
    init = (a, b, fa, fb, jnp.asarray(0), a, jnp.asarray(0, jnp.int32), nan, nan, aux0, ~ok)
    state = jax.lax.while_loop(cond, body, init)
    x, fx, aux, done, it = state[7], state[8], state[9], state[10], state[6]
    converged = ok & done & jnp.isfinite(fx)
    return x, converged, it, jnp.abs(fx), aux


def bisect(f: Callable, lo, hi, n_iter: int = 200):
    """Root of an increasing function ``f`` on ``[lo, hi]`` by plain bisection (``f(lo) <= 0 <=
    f(hi)`` assumed; the midpoint of the final bracket is returned).  A fixed iteration count
    (``n_iter`` halvings: ``52`` reach the float64 resolution of the bracket) keeps it vmappable
    and nestable; no derivative is defined."""

    def body(_, state):
        lo, hi = state
        mid = 0.5 * (lo + hi)
        pos = f(mid) > 0
        return jnp.where(pos, lo, mid), jnp.where(pos, mid, hi)

    lo, hi = jax.lax.fori_loop(0, n_iter, body, (lo, hi))
    return 0.5 * (lo + hi)
