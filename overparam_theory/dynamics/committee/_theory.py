"""Order-parameter ODEs of online SGD in the soft committee machine (teacher-student setup).

Model and conventions (Saad & Solla, PRL 74, 4337 (1995) and PRE 52, 4225 (1995); Goldt, Advani,
Saxe, Krzakala & Zdeborova, NeurIPS 2019, arXiv:1906.08632, eqs. (1)-(10)):

- inputs ``x ~ N(0, I_N)``; teacher ``y = sum_{n<M} teacher_v_n g(nu_n) + sqrt(noise) zeta`` with
  ``nu_n = B_n . x / sqrt N``, ``zeta ~ N(0, 1)`` (``noise`` is a *variance*: Goldt et al.'s
  ``sigma^2``); student ``yhat = sum_{i<K} v_i g(lambda_i)``, ``lambda_i = w_i . x / sqrt N``;
  ``g(u) = erf(u / sqrt 2)``;
- online SGD on ``(1/2)(yhat - y)^2``, one fresh sample per step:
  ``w_i <- w_i - (learning_rate / sqrt N) v_i (yhat - y) g'(lambda_i) x`` and, when
  ``second_layer_learning_rate = eta_v > 0``, ``v_i <- v_i - (eta_v / N) (yhat - y) g(lambda_i)``
  (Goldt et al.'s scaling; ``eta_v = 0``, the default, is the soft committee machine with fixed
  ``v``); Saad & Solla's ``eta`` is our ``learning_rate``;
- order parameters ``Q_ik = w_i.w_k/N``, ``R_in = w_i.B_n/N``, ``T_nm = B_n.B_m/N``; time
  ``t = steps / N``.

As ``N -> infinity`` these concentrate on the solution of (Goldt et al. eqs. (8)-(10), with
``c = (-v, teacher_v)`` the signed output weights of all ``P = K + M`` local fields
``h = (lambda, nu)``, whose covariance is ``C = [[Q, R], [R^T, T]]``):

    dR_in/dt = eta v_i sum_a c_a I3(i, n, a)
    dQ_ik/dt = eta v_i sum_a c_a I3(i, k, a) + eta v_k sum_a c_a I3(k, i, a)
               + eta^2 v_i v_k [sum_ab c_a c_b I4(i, k, a, b) + noise J2(i, k)]
    dv_i/dt  = eta_v sum_a c_a I2(i, a)

and the population (test) error of the noiseless teacher is

    test_error = (1/2) E (yhat - y_clean)^2 = (1/2) sum_ab c_a c_b I2(a, b)

(``I2, J2, I3, I4``: :mod:`._integrals`).  The ``eta^2`` term is the variance of the SGD step
(``|x|^2/N -> 1``); label noise enters only there, as ``eta^2 noise v_i v_k J2(i, k)``.

Numerics: an adaptive Dormand-Prince 5(4) integrator (FSAL, error per component
``atol + rtol max(|y|, |y_new|)``, RMS norm, step factor ``0.9 err^(-1/5)`` clipped to
``[0.2, 5]``) inside ``lax.while_loop`` that lands exactly on every requested time, vmapped
over the grid of ``(learning_rate, noise, second_layer_learning_rate)``.  Every point carries a
status: ``0`` ok, ``1`` diverged (an order parameter exceeded ``divergence_threshold``: the
student norm runs away, physical for too large a learning rate), ``2`` non-finite values,
``3`` step-size underflow, ``4`` ``max_steps`` exhausted; values at times not reached are NaN.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..._precision import as_dtype, precision, resolve_dtype
from ..._validation import broadcast, choice, positive_int, real_array
from ...numerics.fixed_point import ConvergenceError, ConvergenceWarning
from . import _integrals

OK, DIVERGED, NONFINITE, STEP_UNDERFLOW, MAX_STEPS = 0, 1, 2, 3, 4
STATUS_NAMES = {OK: "ok", DIVERGED: "diverged", NONFINITE: "non-finite", STEP_UNDERFLOW: "step-size underflow", MAX_STEPS: "max_steps exhausted"}
_RUNNING = -1
FAILURE_MODES = ("warn", "raise", "ignore")


class CommitteeTheory(NamedTuple):
    """ODE solution on the grid of ``(learning_rate, noise, second_layer_learning_rate)``.

    Shapes: ``G`` the broadcast grid shape, ``T`` the number of requested times.

    Attributes:
        test_error: ``(G..., T)`` population error ``(1/2) E(yhat - y_clean)^2``.
        Q: ``(G..., T, K, K)`` student overlaps ``w_i.w_k/N``.
        R: ``(G..., T, K, M)`` student-teacher overlaps ``w_i.B_n/N``.
        student_v: ``(G..., T, K)`` second-layer weights (constant unless
            ``second_layer_learning_rate > 0``).
        time: ``(T,)`` the requested times ``steps/N``.
        status: ``(G...)`` int: 0 ok, 1 diverged, 2 non-finite, 3 step underflow, 4 max_steps
            (``STATUS_NAMES``).
        converged: ``(G...)`` bool, ``status == 0``.
        steps: ``(G...)`` accepted integrator steps; rejected: rejected steps.
        final_time: ``(G...)`` the time the integration reached (``time[-1]`` when ok).
    """

    test_error: jax.Array
    Q: jax.Array
    R: jax.Array
    student_v: jax.Array
    time: jax.Array
    status: jax.Array
    converged: jax.Array
    steps: jax.Array
    rejected: jax.Array
    final_time: jax.Array


RESULT_FIELDS = ("test_error", "Q", "R", "student_v")


class Parameters(NamedTuple):
    time: np.ndarray
    learning_rate: np.ndarray
    noise: np.ndarray
    second_layer_learning_rate: np.ndarray
    Q0: np.ndarray
    R0: np.ndarray
    T: np.ndarray
    v0: np.ndarray
    v_star: np.ndarray
    shape: tuple


# ---------------------------------------------------------------------------------------------
# Defaults and validation (shared with the simulator).


def default_initial_conditions(student_width: int, teacher_width: int):
    """The documented default start: ``T = I_M``, ``Q0 = 0.25 I_K`` and
    ``R0_in = 1e-3 (1 + [i == n mod M])`` -- a small overlap with every teacher unit plus a
    small fixed symmetry-breaking pattern (student ``i`` leans towards teacher ``i mod M``).
    For ``K = M = 2`` or ``3`` at ``learning_rate = 0.5`` this gives the classic Saad-Solla
    plateau (see docs/dynamics_committee.md for the measured plateau times)."""
    K, M = student_width, teacher_width
    Q0 = 0.25 * np.eye(K)
    pattern = (np.arange(K)[:, None] % M == np.arange(M)[None, :]).astype(float)
    R0 = 1e-3 * (1.0 + pattern)
    return Q0, R0, np.eye(M)


def _matrix(name, value, shape):
    arr = real_array(name, value)
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    return arr


def validate_parameters(
    time, student_width, teacher_width, learning_rate, noise, second_layer_learning_rate,
    initial_Q, initial_R, teacher_T, student_v, teacher_v,
) -> Parameters:
    """Validate and broadcast (raises ``ValueError`` naming the argument and its range)."""
    K = positive_int("student_width", student_width)
    M = positive_int("teacher_width", teacher_width)
    time = real_array("time", time, low=0.0)
    if time.ndim > 1 or time.size == 0:
        raise ValueError(f"time must be a non-empty 1-D array of times >= 0, got shape {time.shape}")
    time = np.atleast_1d(time)
    if np.any(np.diff(time) < 0):
        raise ValueError("time must be non-decreasing")
    learning_rate = real_array("learning_rate", learning_rate, low=0.0, low_open=True)
    noise = real_array("noise", noise, low=0.0)
    eta_v = real_array("second_layer_learning_rate", second_layer_learning_rate, low=0.0)
    shape = broadcast(learning_rate=learning_rate, noise=noise, second_layer_learning_rate=eta_v)
    dQ, dR, dT = default_initial_conditions(K, M)
    Q0 = dQ if initial_Q is None else _matrix("initial_Q", initial_Q, (K, K))
    R0 = dR if initial_R is None else _matrix("initial_R", initial_R, (K, M))
    T = dT if teacher_T is None else _matrix("teacher_T", teacher_T, (M, M))
    v0 = np.ones(K) if student_v is None else _matrix("student_v", student_v, (K,))
    v_star = np.ones(M) if teacher_v is None else _matrix("teacher_v", teacher_v, (M,))
    for name, S in (("initial_Q", Q0), ("teacher_T", T)):
        if not np.allclose(S, S.T, rtol=0, atol=1e-12):
            raise ValueError(f"{name} must be symmetric")
    G = np.block([[Q0, R0], [R0.T, T]])
    if np.linalg.eigvalsh(G).min() < -1e-10 * max(1.0, np.abs(G).max()):
        raise ValueError(
            "initial_Q, initial_R, teacher_T must form a positive semi-definite Gram matrix "
            "[[Q, R], [R^T, T]] (they are overlaps of vectors)"
        )
    return Parameters(time, learning_rate, noise, eta_v, Q0, R0, T, v0, v_star, shape)


# ---------------------------------------------------------------------------------------------
# Right-hand side.


def joint_covariance(Q, R, T):
    """``C = [[Q, R], [R^T, T]]``: covariance of the local fields ``(lambda, nu)``."""
    return jnp.concatenate([jnp.concatenate([Q, R], axis=1), jnp.concatenate([R.T, T], axis=1)], axis=0)


def test_error(Q, R, T, v, v_star):
    """``(1/2) E(yhat - y_clean)^2 = (1/2) c^T I2(C) c`` with ``c = (-v, teacher_v)`` (Saad &
    Solla PRE 1995, section II; Goldt et al. 2019, section 1), ``C`` = :func:`joint_covariance`."""
    c = jnp.concatenate([-v, v_star])
    return 0.5 * c @ _integrals.i2_matrix(joint_covariance(Q, R, T)) @ c


def order_parameter_rhs(Q, R, v, T, v_star, learning_rate, noise, second_layer_learning_rate, *, drift_only=False):
    """``(dQ/dt, dR/dt, dv/dt)`` of Goldt et al. eqs. (8)-(10) (module docstring).

    ``drift_only=True`` drops the ``learning_rate^2`` (SGD variance) terms: the gradient-flow
    part, used for the small-learning-rate limits.
    """
    K = Q.shape[0]
    C = joint_covariance(Q, R, T)
    c = jnp.concatenate([-v, v_star])
    i3 = _integrals.i3_tensor(C)  # [p, q, r] = E g'(h_p) h_q g(h_r)
    A = jnp.einsum("pqr,r->pq", i3[:K], c)  # sum_a c_a I3(p, q, a), p student
    dR = learning_rate * v[:, None] * A[:, K:]
    drift = learning_rate * v[:, None] * A[:, :K]
    dQ = drift + drift.T
    if not drift_only:
        i4 = _integrals.i4_tensor(C, K)
        j2 = _integrals.j2_matrix(C)[:K, :K]
        var = jnp.einsum("ikab,a,b->ik", i4, c, c) + noise * j2
        dQ = dQ + learning_rate**2 * jnp.outer(v, v) * var
    i2 = _integrals.i2_matrix(C)[:K]
    dv = second_layer_learning_rate * (i2 @ c)
    return dQ, dR, dv


# ---------------------------------------------------------------------------------------------
# Adaptive Dormand-Prince 5(4) with exact landing on the output times.

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


def _dopri_step(f, y, k1, h):
    """One Dormand-Prince step; the six stage evaluations run in a ``lax.fori_loop`` so that the
    right-hand side is traced (and compiled) once instead of six times."""
    ks = jnp.zeros((7,) + y.shape, y.dtype).at[0].set(k1)
    A = jnp.asarray(_A_MATRIX, y.dtype)

    def stage(s, ks):
        return ks.at[s].set(f(y + h * (A[s] @ ks)))

    ks = jax.lax.fori_loop(1, 7, stage, ks)
    y_new = y + h * (jnp.asarray(_B5, y.dtype) @ ks)
    err = h * (jnp.asarray(_E, y.dtype) @ ks)
    return y_new, err, ks[6]


def integrate(f, y0, times, *, rtol, atol, max_steps, divergence_threshold, h0):
    """Integrate ``dy/dt = f(y)`` from ``t = 0`` and return ``y`` at every ``times[j]``.

    ``times`` must be positive and non-decreasing (a repeated time costs one zero-length step;
    the caller handles ``t = 0``).  Every iteration is one step that is shortened to land exactly on the next
    requested time when it would pass it; a landing step writes its row.  Returns
    ``(ys (T, D), status, accepted, rejected, t_reached)``; rows of times not reached are NaN.
    Pure JAX (``lax.while_loop``), vmappable.
    """
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
        y_new, err, k7 = _dopri_step(f, y, k1, h_try)
        scale = atol + rtol * jnp.maximum(jnp.abs(y), jnp.abs(y_new))
        en = jnp.sqrt(jnp.mean((err / scale) ** 2))
        finite = jnp.all(jnp.isfinite(y_new)) & jnp.isfinite(en)
        accept = finite & (en <= 1.0)
        factor = jnp.where(finite, jnp.clip(0.9 * jnp.where(en > 0, en, 1e-10) ** (-0.2), 0.2, 5.0), 0.2)
        h_next = h_try * factor
        # keep the proposed step when a shortened landing step was accepted
        h_next = jnp.where(accept & lands, jnp.maximum(h_next, h), h_next)
        diverged = accept & (jnp.max(jnp.abs(y_new)) > divergence_threshold)
        recorded = accept & lands & ~diverged  # a diverged landing step is not recorded
        new = dict(state)
        new["t"] = jnp.where(accept, jnp.where(lands, target, t + h_try), t)
        new["y"] = jnp.where(accept, y_new, y)
        new["k1"] = jnp.where(accept, k7, k1)
        new["h"] = h_next
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
            OK,
            jnp.where(
                diverged,
                DIVERGED,
                jnp.where(
                    nonfinite_state,
                    NONFINITE,
                    jnp.where(underflow, STEP_UNDERFLOW, jnp.where(n_steps >= max_steps, MAX_STEPS, _RUNNING)),
                ),
            ),
        )
        new["status"] = jnp.where(diverged, DIVERGED, status).astype(jnp.int32)
        return new

    state = dict(
        t=jnp.zeros((), dtype),
        y=y0,
        h=jnp.asarray(h0, dtype),
        k1=f(y0),
        idx=jnp.zeros((), jnp.int32),
        out=out0,
        status=jnp.asarray(_RUNNING, jnp.int32),
        accepted=jnp.zeros((), jnp.int32),
        rejected=jnp.zeros((), jnp.int32),
    )
    state = jax.lax.while_loop(cond, body, state)
    return state["out"], state["status"], state["accepted"], state["rejected"], state["t"]


def _pack(Q, R, v):
    K = Q.shape[0]
    iu = jnp.triu_indices(K)
    return jnp.concatenate([Q[iu], R.ravel(), v])


def _unpack(y, K, M):
    iu = jnp.triu_indices(K)
    n_q = K * (K + 1) // 2
    Qu = jnp.zeros((K, K), y.dtype).at[iu].set(y[:n_q])
    Q = Qu + jnp.triu(Qu, 1).T
    R = y[n_q : n_q + K * M].reshape(K, M)
    v = y[n_q + K * M :]
    return Q, R, v


def _one_point(lr, noise, eta_v, times, Q0, R0, T, v0, v_star, rtol, atol, max_steps, divergence_threshold, h0):
    K, M = R0.shape

    def f(y):
        Q, R, v = _unpack(y, K, M)
        dQ, dR, dv = order_parameter_rhs(Q, R, v, T, v_star, lr, noise, eta_v)
        return _pack(dQ, dR, dv)

    y0 = _pack(Q0, R0, v0)
    ys, status, acc, rej, t_end = integrate(
        f, y0, times, rtol=rtol, atol=atol, max_steps=max_steps,
        divergence_threshold=divergence_threshold, h0=h0,
    )
    ys = jnp.concatenate([y0[None], ys])  # row 0: t = 0
    Q, R, v = jax.vmap(lambda y: _unpack(y, K, M))(ys)
    eps = jax.vmap(lambda q, r, vv: test_error(q, r, T, vv, v_star))(Q, R, v)
    return eps, Q, R, v, status, acc, rej, t_end


_SOLVERS = {}


def _solver(batch_size):
    """The jitted integrator over a flat grid: ``lax.map`` in vmapped batches of ``batch_size``
    points (a full ``vmap`` when the batch covers the grid).  Under ``vmap`` the per-iteration
    write of one output row becomes a scatter into the batched ``(points, times, state)`` buffer,
    which XLA on CPU copied every step (a 16-point grid with 10^4 saved times did not finish in
    2 minutes); batches are therefore limited to about 2^16 output elements
    (``numerics.batching`` uses the same budget).  On CPU the solver is compiled with
    ``xla_backend_optimization_level=0``: measured (K = M = 2) 1.7 s instead of 3.2 s of XLA
    compilation for a 20% slower run (0.033 s vs 0.027 s to t = 500), the better trade for
    learning curves, whose cost is mostly compilation."""
    backend = jax.default_backend()
    key = (backend, batch_size)
    if key not in _SOLVERS:
        options = {"xla_backend_optimization_level": 0} if backend == "cpu" else None
        one = lambda lr, e, ev, *shared: _one_point(lr, e, ev, *shared)

        def grid(lr, e, ev, *shared):
            if batch_size >= lr.shape[0]:
                return jax.vmap(one, in_axes=(0, 0, 0) + (None,) * 11)(lr, e, ev, *shared)
            return jax.lax.map(lambda p: one(*p, *shared), (lr, e, ev), batch_size=batch_size)

        _SOLVERS[key] = jax.jit(grid, compiler_options=options)
    return _SOLVERS[key]


def theory(
    *,
    time,
    student_width=2,
    teacher_width=2,
    learning_rate=0.5,
    noise=0.0,
    second_layer_learning_rate=0.0,
    initial_Q=None,
    initial_R=None,
    teacher_T=None,
    student_v=None,
    teacher_v=None,
    rtol=None,
    atol=None,
    max_steps=1_000_000,
    divergence_threshold=1e3,
    dtype="float64",
    on_failure="warn",
) -> CommitteeTheory:
    """Learning curve of online SGD in the soft committee machine, ``N -> infinity``.

    Integrates the order-parameter ODEs of Saad & Solla (PRE 52, 4225 (1995), section II) in the
    form of Goldt et al. (NeurIPS 2019, arXiv:1906.08632, eqs. (8)-(10)); see the module
    docstring for the model, the scaling (``w_i <- w_i - (learning_rate/sqrt N) ...``, time
    ``t = steps/N``) and the equations.

    Args:
        time: 1-D non-decreasing times ``t = steps/N >= 0`` at which to report.
        student_width: ``K`` hidden units of the student; teacher_width: ``M`` of the teacher.
        learning_rate: ``eta > 0`` (Saad & Solla's ``eta``; Goldt et al.'s ``eta``).
        noise: label-noise *variance* ``sigma^2 >= 0`` (Goldt et al. write ``sigma zeta``).
        second_layer_learning_rate: ``eta_v >= 0`` (``v_i`` moves by ``eta_v/N`` per step;
            0 keeps ``v`` fixed: the soft committee machine).
        initial_Q, initial_R, teacher_T: ``(K, K)``, ``(K, M)``, ``(M, M)`` overlaps at
            ``t = 0``; they must form a PSD Gram matrix.  Defaults:
            :func:`default_initial_conditions` (``T = I``, ``Q0 = 0.25 I``,
            ``R0 = 1e-3 (1 + [i == n mod M])``).
        student_v: ``(K,)`` initial second layer (default ones); teacher_v: ``(M,)`` (ones).
        rtol, atol: integrator tolerances (defaults ``1e-10, 1e-12`` in float64, ``1e-5, 1e-7``
            in float32).
        max_steps: limit of integrator steps (accepted + rejected) per point.
        divergence_threshold: an order parameter ``|Q_ik|, |R_in|, |v_i|`` above this multiple
            of the initial scale ``max(1, |initial_Q|, |initial_R|, |teacher_T|, |v|)`` counts as
            divergence (status 1).  With erf units a too large learning rate makes ``Q`` grow
            without bound, but slowly (e.g. ``Q_11 ~ 870`` at ``t = 10^4`` for ``K = M = 2``,
            ``learning_rate = 5``), so a point may also end ok with a large ``Q``.
        dtype: ``"float64"`` (default, enabled locally) or ``"float32"``.
        on_failure: ``"warn"`` (default), ``"raise"`` or ``"ignore"`` for points whose status is
            not ok (their values after the failure are NaN).

    ``learning_rate``, ``noise`` and ``second_layer_learning_rate`` broadcast together (the grid).

    Returns:
        :class:`CommitteeTheory`.
    """
    choice("on_failure", on_failure, FAILURE_MODES)
    dtype = resolve_dtype(dtype)
    p = validate_parameters(
        time, student_width, teacher_width, learning_rate, noise, second_layer_learning_rate,
        initial_Q, initial_R, teacher_T, student_v, teacher_v,
    )
    if rtol is None:
        rtol = 1e-10 if dtype == "float64" else 1e-5
    if atol is None:
        atol = 1e-12 if dtype == "float64" else 1e-7
    rtol = float(real_array("rtol", rtol, low=0.0, low_open=True))
    atol = float(real_array("atol", atol, low=0.0, low_open=True))
    max_steps = positive_int("max_steps", max_steps)
    divergence_threshold = float(real_array("divergence_threshold", divergence_threshold, low=0.0, low_open=True))
    shape = p.shape
    flat = [np.broadcast_to(a, shape).reshape(-1) for a in (p.learning_rate, p.noise, p.second_layer_learning_rate)]
    scale = max(1.0, *(float(np.max(np.abs(a))) for a in (p.Q0, p.R0, p.T, p.v0)))
    divergence_threshold *= scale
    # Pad the grid and the time axis to powers of two (repeating the last entry) so that calls
    # with different sizes share a few compilations; the padding is cut off below.
    # Integrate over the distinct positive times (row 0 of the output is t = 0), padded;
    # ``inverse`` maps back to the requested times (repeats and t = 0 included).
    n_points = flat[0].size
    positive, inverse = np.unique(p.time, return_inverse=True)
    inverse = inverse + (0 if positive[0] == 0 else 1)
    positive = positive[positive > 0]
    if positive.size == 0:
        positive = np.ones(1)
    n_times = positive.size
    flat = [_pad(a, _next_pow2(n_points)) for a in flat]
    # repeated last time: zero-length landing steps (a power of two up to 256 times, else a
    # multiple of 256, so that long time axes waste at most 255 cheap steps)
    times = _pad(positive, _next_pow2(n_times) if n_times <= 256 else -(-n_times // 256) * 256)
    with precision(dtype):
        args = as_dtype(dtype, *flat, times, p.Q0, p.R0, p.T, p.v0, p.v_star)
        work = times.size * (p.Q0.size + p.R0.size + p.v0.size)
        batch = max(1, min(flat[0].size, (1 << 16) // work))
        out = _solver(batch)(*args, rtol, atol, max_steps, divergence_threshold, 1e-3)
    eps, Q, R, v, status, acc, rej, t_end = (np.asarray(o)[:n_points] for o in out)
    eps, Q, R, v = (a[:, inverse] for a in (eps, Q, R, v))
    g = lambda a: a.reshape(shape + a.shape[1:])
    result = CommitteeTheory(
        test_error=g(eps), Q=g(Q), R=g(R), student_v=g(v), time=np.asarray(p.time),
        status=g(status), converged=g(status == OK), steps=g(acc), rejected=g(rej), final_time=g(t_end),
    )
    report_failures(result.status, on_failure, "committee.theory ODE integration")
    return result


def _next_pow2(n):
    return 1 << max(0, int(n - 1).bit_length())


def _pad(a, size):
    return np.concatenate([a, np.repeat(a[-1:], size - a.size)]) if size > a.size else a


def report_failures(status, on_failure, what):
    """Warn / raise for points whose integration status is not ok (counts per status)."""
    if on_failure == "ignore":
        return
    status = np.asarray(status)
    bad = status != OK
    if not bad.any():
        return
    counts = ", ".join(f"{int(np.sum(status == s))} {STATUS_NAMES[s]}" for s in STATUS_NAMES if s != OK and np.any(status == s))
    msg = f"{what}: {int(bad.sum())} of {status.size} point(s) failed ({counts}); their values after the failure are NaN"
    if on_failure == "raise":
        raise ConvergenceError(msg)
    warnings.warn(msg, ConvergenceWarning, stacklevel=3)
