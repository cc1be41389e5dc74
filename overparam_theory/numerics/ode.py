"""Adaptive Dormand-Prince 5(4) integration that lands exactly on requested output times.

:func:`dopri5` integrates ``dy/dt = rhs(t, y)`` from ``t0`` with the embedded 5(4) pair of
Dormand & Prince (J. Comput. Appl. Math. 6, 19 (1980); Hairer, Norsett & Wanner, *Solving
Ordinary Differential Equations I*, section II.5): FSAL, error per component
``atol + rtol max(|y|, |y_new|)``, RMS norm, step factor ``0.9 err^(-1/5)`` clipped to
``[0.2, 5]``.  Every iteration of one ``lax.while_loop`` is one step, shortened to land exactly
on the next requested time when it would pass it; a landing step records the state (no dense
output, no interpolation error).  Pure JAX: jit- and vmap-able (forward mode only: reverse-mode
differentiation of a ``while_loop`` is not supported).

Tolerances and the step budget come from :class:`~overparam_theory.numerics.solvers.ODE`; the
outcome is a :class:`~overparam_theory.numerics.diagnostics.Diagnostics`: ``OK``, ``DIVERGED``
(a component exceeded ``divergence_bound``), ``NONFINITE``, ``STEP_UNDERFLOW`` or
``MAX_STEPS``; the rows of the times not reached are NaN.

Compared with diffrax 0.7.2 (``Dopri5``, ``PIDController``, ``SaveAt(ts=...)``) on the
committee-machine ODE (``K = M = 2``, learning rate 0.5, against SciPy ``DOP853`` at
``rtol = 2.3e-14``; CPU, measured while the cores were shared): at equal tolerances the errors
agree (61 times to ``t = 300``, ``rtol = 1e-10``: ``max |dy|`` 4.8e-11 here, 8.0e-11 diffrax) and
this integrator compiles in about half the time (1.6-2.6 s vs 3.4-5.0 s), which dominates a
learning curve.  For very many saved times (10^4 to ``t = 500``) diffrax interpolates its dense
output between about 550 steps (run 0.02 s vs 0.21 s here, where every saved time is a landing
step) at a 100x larger but tolerance-level error (8e-11 vs 9e-13).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .diagnostics import Diagnostics, Status
from .solvers import ODE

__all__ = ["ODESolution", "dopri5", "ODE_STATUSES"]

ODE_STATUSES = (Status.OK, Status.DIVERGED, Status.NONFINITE, Status.STEP_UNDERFLOW, Status.MAX_STEPS)
"""The statuses :func:`dopri5` reports."""

_RUNNING = -1

# Dormand-Prince 5(4) tableau.
_A = (
    (),
    (1 / 5,),
    (3 / 40, 9 / 40),
    (44 / 45, -56 / 15, 32 / 9),
    (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
    (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656),
    (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84),
)
_C = (0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0)
_B5 = (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0.0)
_B4 = (5179 / 57600, 0.0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100, 1 / 40)
_E = tuple(b5 - b4 for b5, b4 in zip(_B5, _B4))
_A_MATRIX = np.array([list(row) + [0.0] * (7 - len(row)) for row in _A])


class ODESolution(NamedTuple):
    """Result of :func:`dopri5` (one trajectory; a leading axis per ``vmap``).

    ys: ``(T,) + y0.shape`` states at the requested times (NaN where not reached).
    diagnostics: :class:`~overparam_theory.numerics.diagnostics.Diagnostics`: ``status``,
        ``iterations`` (accepted steps) and ``residual`` (the last step's RMS error relative to
        the tolerance; ``<= 1`` for an accepted step, ``inf`` when non-finite).
    rejected: rejected steps.
    t_final: the time reached (the last requested time when ``OK``).
    """

    ys: jax.Array
    diagnostics: Diagnostics
    rejected: jax.Array
    t_final: jax.Array


def _step(rhs, t, y, k1, h):
    """One Dormand-Prince step; the six stage evaluations run in a ``lax.fori_loop`` so that the
    right-hand side is traced (and compiled) once instead of six times."""
    ks = jnp.zeros((7,) + y.shape, y.dtype).at[0].set(k1)
    A = jnp.asarray(_A_MATRIX, y.dtype)
    C = jnp.asarray(_C, y.dtype)

    def stage(s, ks):
        return ks.at[s].set(rhs(t + C[s] * h, y + h * jnp.tensordot(A[s], ks, axes=1)))

    ks = jax.lax.fori_loop(1, 7, stage, ks)
    y_new = y + h * jnp.tensordot(jnp.asarray(_B5, y.dtype), ks, axes=1)
    err = h * jnp.tensordot(jnp.asarray(_E, y.dtype), ks, axes=1)
    return y_new, err, ks[6]


def dopri5(rhs, y0, times, settings: ODE = ODE(), *, divergence_bound=jnp.inf, h0=1e-3, t0=0.0) -> ODESolution:
    """Integrate ``dy/dt = rhs(t, y)`` from ``y(t0) = y0``; the state at every ``times[j]``.

    Args:
        rhs: ``rhs(t, y) -> dy/dt`` (same shape as ``y``), written in ``jnp``.
        y0: initial state (an array of any shape).
        times: ``(T,)`` non-decreasing output times ``> t0`` (a repeated time costs one
            zero-length step; the caller handles outputs at ``t0`` itself).
        settings: :class:`~overparam_theory.numerics.solvers.ODE` (``rtol``, ``atol``,
            ``max_steps``: accepted + rejected steps); hashable, so a static argument of
            ``jax.jit`` (one compiled program per settings).
        divergence_bound: an accepted state with ``max |y| > divergence_bound`` stops the
            integration with status ``DIVERGED`` (not recorded).
        h0: first trial step.
        t0: initial time.

    Returns:
        :class:`ODESolution`.
    """
    rtol, atol, max_steps = settings.rtol, settings.atol, settings.max_steps
    y0 = jnp.asarray(y0)
    times = jnp.asarray(times, y0.dtype)
    n_out = times.shape[0]
    dtype = y0.dtype
    tiny = jnp.asarray(jnp.finfo(dtype).eps, dtype)
    out0 = jnp.full((n_out,) + y0.shape, jnp.nan, dtype)

    def cond(state):
        return state["status"] == _RUNNING

    def body(state):
        t, y, h, k1, idx, out = state["t"], state["y"], state["h"], state["k1"], state["idx"], state["out"]
        target = times[jnp.minimum(idx, n_out - 1)]
        remaining = target - t
        h_try = jnp.minimum(h, remaining)
        lands = h >= remaining
        y_new, err, k7 = _step(rhs, t, y, k1, h_try)
        scale = atol + rtol * jnp.maximum(jnp.abs(y), jnp.abs(y_new))
        en = jnp.sqrt(jnp.mean((err / scale) ** 2))
        finite = jnp.all(jnp.isfinite(y_new)) & jnp.isfinite(en)
        accept = finite & (en <= 1.0)
        factor = jnp.where(finite, jnp.clip(0.9 * jnp.where(en > 0, en, 1e-10) ** (-0.2), 0.2, 5.0), 0.2)
        h_next = h_try * factor
        # keep the proposed step when a shortened landing step was accepted
        h_next = jnp.where(accept & lands, jnp.maximum(h_next, h), h_next)
        diverged = accept & (jnp.max(jnp.abs(y_new)) > divergence_bound)
        recorded = accept & lands & ~diverged  # a diverged landing step is not recorded
        new = dict(state)
        new["t"] = jnp.where(accept, jnp.where(lands, target, t + h_try), t)
        new["y"] = jnp.where(accept, y_new, y)
        new["k1"] = jnp.where(accept, k7, k1)
        new["h"] = h_next
        new["err"] = jnp.where(finite, en, jnp.inf).astype(dtype)
        row = jnp.where(recorded, y_new, out[jnp.minimum(idx, n_out - 1)])
        new["out"] = jax.lax.dynamic_update_index_in_dim(out, row, jnp.minimum(idx, n_out - 1), 0)
        new["idx"] = idx + recorded.astype(jnp.int32)
        new["accepted"] = state["accepted"] + accept.astype(jnp.int32)
        new["rejected"] = state["rejected"] + (~accept).astype(jnp.int32)
        nonfinite_state = ~finite & (h_try <= 1e-6 * jnp.maximum(1.0, jnp.abs(t)))
        underflow = h_next <= 16 * tiny * jnp.maximum(1.0, jnp.abs(t))
        n_steps = new["accepted"] + new["rejected"]
        status = jnp.where(
            new["idx"] >= n_out,
            Status.OK,
            jnp.where(
                diverged,
                Status.DIVERGED,
                jnp.where(
                    nonfinite_state,
                    Status.NONFINITE,
                    jnp.where(
                        underflow,
                        Status.STEP_UNDERFLOW,
                        jnp.where(n_steps >= max_steps, Status.MAX_STEPS, _RUNNING),
                    ),
                ),
            ),
        )
        new["status"] = jnp.where(diverged, Status.DIVERGED, status).astype(jnp.int32)
        return new

    state = dict(
        t=jnp.asarray(t0, dtype),
        y=y0,
        h=jnp.asarray(h0, dtype),
        k1=rhs(jnp.asarray(t0, dtype), y0),
        err=jnp.zeros((), dtype),
        idx=jnp.zeros((), jnp.int32),
        out=out0,
        status=jnp.asarray(_RUNNING, jnp.int32),
        accepted=jnp.zeros((), jnp.int32),
        rejected=jnp.zeros((), jnp.int32),
    )
    state = jax.lax.while_loop(cond, body, state)
    diagnostics = Diagnostics(state["status"], state["accepted"], state["err"])
    return ODESolution(state["out"], diagnostics, state["rejected"], state["t"])
