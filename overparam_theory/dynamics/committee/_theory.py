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

Numerics: the adaptive Dormand-Prince 5(4) integrator of :func:`~overparam_theory.numerics.ode.dopri5`
(lands exactly on every requested time), vmapped over the grid of ``(learning_rate, noise,
second_layer_learning_rate)`` by :func:`~overparam_theory.numerics.grid.evaluate`.  Every point
carries a :class:`~overparam_theory.numerics.diagnostics.Diagnostics` status (``STATUS_NAMES``):
``OK``, ``DIVERGED`` (an order parameter exceeded ``divergence_threshold``: the student norm runs
away, physical for too large a learning rate), ``NONFINITE``, ``STEP_UNDERFLOW`` or
``MAX_STEPS``; values at times not reached are NaN.  Derivations: ``docs/theory/committee.md``.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..._spec import validated
from ...numerics.diagnostics import MESSAGES, Diagnostics, with_diagnostics
from ...numerics.grid import bucket_size, evaluate
from ...numerics.ode import ODE_STATUSES, dopri5
from ...numerics.solvers import ODE
from . import _integrals
from ._params import PARAMS

STATUS_NAMES = {s: MESSAGES[s] for s in ODE_STATUSES}
"""Meaning of every status the integration reports (``numerics.diagnostics.MESSAGES``)."""


@with_diagnostics
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
        diagnostics: ``(G...)`` :class:`~overparam_theory.numerics.diagnostics.Diagnostics`:
            ``status`` (``STATUS_NAMES``), ``iterations`` (accepted integrator steps) and
            ``residual`` (the last step's error relative to the tolerance); ``converged``,
            ``status``, ``iterations``, ``residual`` and ``steps`` (= ``iterations``) are
            properties.
        rejected: ``(G...)`` rejected integrator steps.
        final_time: ``(G...)`` the time the integration reached (``time[-1]`` when ok).
    """

    test_error: jax.Array
    Q: jax.Array
    R: jax.Array
    student_v: jax.Array
    time: jax.Array
    diagnostics: Diagnostics
    rejected: jax.Array
    final_time: jax.Array

    @property
    def steps(self):
        """Accepted integrator steps per point (``diagnostics.iterations``)."""
        return self.diagnostics.iterations


RESULT_FIELDS = ("test_error", "Q", "R", "student_v")


class _Trajectory(NamedTuple):
    """Kernel output at the distinct integration times (row 0: t = 0), one row per grid point."""

    test_error: jax.Array
    Q: jax.Array
    R: jax.Array
    student_v: jax.Array
    diagnostics: Diagnostics
    rejected: jax.Array
    final_time: jax.Array


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
# Defaults and the cross-field rules (shared with the simulator; single arguments are checked
# by the declared PARAMS).


def default_initial_conditions(student_width: int, teacher_width: int):
    """The documented default start: ``T = I_M``, ``Q0 = 0.25 I_K`` and
    ``R0_in = 1e-3 (1 + [i == n mod M])`` -- a small overlap with every teacher unit plus a
    small fixed symmetry-breaking pattern (student ``i`` leans towards teacher ``i mod M``).
    For ``K = M = 2`` or ``3`` at ``learning_rate = 0.5`` this gives the classic Saad-Solla
    plateau (see docs/theory/committee.md for the measured plateau times)."""
    K, M = student_width, teacher_width
    Q0 = 0.25 * np.eye(K)
    pattern = (np.arange(K)[:, None] % M == np.arange(M)[None, :]).astype(float)
    R0 = 1e-3 * (1.0 + pattern)
    return Q0, R0, np.eye(M)


def _shaped(name, value, default, shape):
    if value is None:
        return default
    if value.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {value.shape}")
    return value


def resolve_parameters(
    time, student_width, teacher_width, learning_rate, noise, second_layer_learning_rate,
    initial_Q, initial_R, teacher_T, student_v, teacher_v,
) -> Parameters:
    """The defaults and the rules between validated arguments (``ValueError`` naming them):
    a 1-D non-decreasing ``time``, overlap shapes matching the widths, symmetric ``initial_Q``
    and ``teacher_T``, and a positive semi-definite Gram matrix ``[[Q, R], [R^T, T]]``."""
    K, M = student_width, teacher_width
    if np.ndim(time) > 1:
        raise ValueError(f"time must be a non-empty 1-D array of times >= 0, got shape {np.shape(time)}")
    time = np.atleast_1d(time)
    if np.any(np.diff(time) < 0):
        raise ValueError("time must be non-decreasing")
    shape = np.broadcast_shapes(*(np.shape(a) for a in (learning_rate, noise, second_layer_learning_rate)))
    dQ, dR, dT = default_initial_conditions(K, M)
    Q0 = _shaped("initial_Q", initial_Q, dQ, (K, K))
    R0 = _shaped("initial_R", initial_R, dR, (K, M))
    T = _shaped("teacher_T", teacher_T, dT, (M, M))
    v0 = _shaped("student_v", student_v, np.ones(K), (K,))
    v_star = _shaped("teacher_v", teacher_v, np.ones(M), (M,))
    for name, S in (("initial_Q", Q0), ("teacher_T", T)):
        if not np.allclose(S, S.T, rtol=0, atol=1e-12):
            raise ValueError(f"{name} must be symmetric")
    G = np.block([[Q0, R0], [R0.T, T]])
    if np.linalg.eigvalsh(G).min() < -1e-10 * max(1.0, np.abs(G).max()):
        raise ValueError(
            "initial_Q, initial_R, teacher_T must form a positive semi-definite Gram matrix "
            "[[Q, R], [R^T, T]] (they are overlaps of vectors)"
        )
    return Parameters(time, learning_rate, noise, second_layer_learning_rate, Q0, R0, T, v0, v_star, shape)


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
# Integration (numerics.ode.dopri5) on the flat grid.


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


def _one_point(lr, noise, eta_v, times, Q0, R0, T, v0, v_star, divergence_bound, *, settings):
    K, M = R0.shape

    def f(t, y):
        Q, R, v = _unpack(y, K, M)
        dQ, dR, dv = order_parameter_rhs(Q, R, v, T, v_star, lr, noise, eta_v)
        return _pack(dQ, dR, dv)

    y0 = _pack(Q0, R0, v0)
    sol = dopri5(f, y0, times, settings, divergence_bound=divergence_bound, h0=1e-3)
    ys = jnp.concatenate([y0[None], sol.ys])  # row 0: t = 0
    Q, R, v = jax.vmap(lambda y: _unpack(y, K, M))(ys)
    eps = jax.vmap(lambda q, r, vv: test_error(q, r, T, vv, v_star))(Q, R, v)
    return _Trajectory(eps, Q, R, v, sol.diagnostics, sol.rejected, sol.t_final)


def _kernel(lr, noise, eta_v, times, Q0, R0, T, v0, v_star, divergence_bound, *, settings):
    """The integrator over a flat grid: ``lax.map`` in vmapped batches of about ``2^16`` output
    elements (a full ``vmap`` when the batch covers the grid).  Under ``vmap`` the per-iteration
    write of one output row becomes a scatter into the batched ``(points, times, state)`` buffer,
    which XLA on CPU copied every step (a 16-point grid with 10^4 saved times did not finish in
    2 minutes); ``numerics.batching`` uses the same budget."""
    shared = (times, Q0, R0, T, v0, v_star, divergence_bound)
    one = lambda a, e, ev: _one_point(a, e, ev, *shared, settings=settings)
    n = lr.shape[0]
    work = times.shape[0] * (Q0.size + R0.size + v0.size)
    batch = max(1, min(n, (1 << 16) // work))
    if batch >= n:
        return jax.vmap(one)(lr, noise, eta_v)
    return jax.lax.map(lambda p: one(*p), (lr, noise, eta_v), batch_size=batch)


def _compiler_options():
    """On CPU the solver is compiled with ``xla_backend_optimization_level=0``: measured (K = M = 2)
    1.7 s instead of 2.6 s of compilation for a slower run (0.33 s vs 0.18 s for 10^4 saved times
    to t = 500), the better trade for learning curves, whose cost is mostly compilation."""
    return {"xla_backend_optimization_level": 0} if jax.default_backend() == "cpu" else None


def _time_bucket(n: int) -> int:
    """Padded length of ``n`` distinct output times: a power of two up to 256, else a multiple
    of 256 (long time axes waste at most 255 cheap zero-length steps)."""
    return bucket_size(n) if n <= 256 else -(-n // 256) * 256


@validated(PARAMS, "theory")
def theory(
    *, time, student_width, teacher_width, learning_rate, noise, second_layer_learning_rate, initial_Q, initial_R, teacher_T, student_v, teacher_v, rtol, atol, max_steps, divergence_threshold, dtype, on_failure
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
            divergence (status ``DIVERGED``).  With erf units a too large learning rate makes ``Q`` grow
            without bound, but slowly (e.g. ``Q_11 ~ 870`` at ``t = 10^4`` for ``K = M = 2``,
            ``learning_rate = 5``), so a point may also end ok with a large ``Q``.
        dtype: ``"float64"`` (default, enabled locally) or ``"float32"``.
        on_failure: ``"warn"`` (default), ``"raise"`` or ``"ignore"`` for points whose status is
            not ``OK`` (their values after the failure are NaN).

    ``learning_rate``, ``noise`` and ``second_layer_learning_rate`` broadcast together (the grid).

    Returns:
        :class:`CommitteeTheory`.
    """
    p = resolve_parameters(
        time, student_width, teacher_width, learning_rate, noise, second_layer_learning_rate,
        initial_Q, initial_R, teacher_T, student_v, teacher_v,
    )
    if rtol is None:
        rtol = 1e-10 if dtype == "float64" else 1e-5
    if atol is None:
        atol = 1e-12 if dtype == "float64" else 1e-7
    settings = ODE(rtol=rtol, atol=atol, max_steps=max_steps)
    scale = max(1.0, *(float(np.max(np.abs(a))) for a in (p.Q0, p.R0, p.T, p.v0)))
    if np.size(divergence_threshold) != 1:
        raise ValueError(f"divergence_threshold must be a single number > 0, got shape {np.shape(divergence_threshold)}")
    bound = float(np.reshape(divergence_threshold, ())) * scale
    # Integrate over the distinct positive times (row 0 of the output is t = 0), the last one
    # repeated up to a bucket length (zero-length landing steps) so that time axes of similar
    # length share one compiled program; ``inverse`` maps back to the requested times.
    positive, inverse = np.unique(p.time, return_inverse=True)
    inverse = inverse + (0 if positive[0] == 0 else 1)
    positive = positive[positive > 0]
    if positive.size == 0:
        positive = np.ones(1)
    times = np.pad(positive, (0, _time_bucket(positive.size) - positive.size), mode="edge")
    out = evaluate(
        _kernel,
        (p.learning_rate, p.noise, p.second_layer_learning_rate),
        (times, p.Q0, p.R0, p.T, p.v0, p.v_star, bound),
        static={"settings": settings},
        compiler_options=_compiler_options(),
        dtype=dtype,
        on_failure=on_failure,
        what="committee.theory ODE integration",
    )
    at_times = (slice(None),) * len(p.shape) + (inverse,)  # the requested times (repeats, t = 0)
    eps, Q, R, v = (a[at_times] for a in out[:4])
    return CommitteeTheory(
        test_error=eps, Q=Q, R=R, student_v=v, time=np.asarray(p.time), diagnostics=out.diagnostics,
        rejected=out.rejected, final_time=out.final_time,
    )
