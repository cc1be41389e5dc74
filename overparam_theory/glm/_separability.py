"""Separability threshold of teacher-student data and the existence boundary of the
logistic-regression MLE (``docs/theory/glm.md``; Gardner 1988, Candes & Sur 2020).

Conventions: inputs ``x ~ N(0, I_d)``, ``alpha = n / d``, teacher field
``z = x . w* / sqrt(d) ~ N(0, signal)``, labels from one of the symmetric channels of
:mod:`._channels` (``noise`` is a *variance* for every teacher, ``flip`` a label-flip
probability).  ``E_xi`` is over ``xi ~ N(0, 1)``, ``H(a) = 1 - Phi(a)``.  Quadrature:
:mod:`._quadrature`.

Solvers.  The thresholds are convex one-dimensional minimisations: the sign of the derivative
is bisected over a fixed log grid (:func:`~overparam_theory.numerics.roots.first_nonnegative`),
then refined by safeguarded Newton
(:func:`~overparam_theory.numerics.roots.increasing_root`).  The nested intercept boundary
(``t0(t1)`` inside the minimisation over ``t1``) solves the inner root by safeguarded Newton and
the outer one by a derivative-free Illinois regula falsi
(:func:`~overparam_theory.numerics.roots.illinois_root`) between bracketing grid points, so that
no derivative is taken through an inner solve.  The public functions are float64, batched
(:func:`~overparam_theory.numerics.grid.evaluate`) and not meant to be differentiated.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._spec import validated
from .._validation import any_concrete, is_traced
from ..numerics.diagnostics import Diagnostics, Status, diagnostics, with_diagnostics
from ..numerics.grid import evaluate
from ..numerics.roots import first_nonnegative, illinois_root, increasing_root
from ..numerics.solvers import Bracketed
from ._channels import Channel, p_plus
from ._params import CHANNEL_PARAMS, MLE_BOUNDARY_PARAMS
from ._quadrature import clip_width, g, g_prime, graded, kernel_kind, rule

__all__ = [
    "GLMSeparabilityThreshold",
    "LogisticMLEBoundary",
    "separability_threshold",
    "logistic_mle_boundary",
    "check_sign_teacher",
]

# Threshold minimisation over t >= 0: scan of F'(t) (4 points per decade).
_T_GRID = np.geomspace(1e-8, 1e120, 513)  # searched by bisection (10 evaluations)
_OUTER = Bracketed(xtol=1e-12, max_iter=100)  # outer (derivative-free) solves: the objective is flat at its optimum
_T0_BRACKET = 60.0  # intercept coefficient t0 of the logistic-MLE boundary lies in +/- this
_T1_GRID = np.geomspace(1e-8, 1e8, 65)


@with_diagnostics
class GLMSeparabilityThreshold(NamedTuple):
    """Separability threshold of teacher-student data (no bias).

    Attributes:
        alpha_s: ``n / d`` above which the data are not linearly separable; ``inf`` for a
            noiseless teacher, ``2`` for labels independent of the inputs.
        t_opt: the minimiser ``t >= 0`` of ``E[(Z - t y V)_+^2]`` (``inf`` when noiseless).
        cosine: overlap ``R = t / sqrt(1 + t^2)`` of the max-margin direction with the teacher at
            the threshold.
        diagnostics: of the minimisation (``residual`` = ``|t dF/dt| / F`` at ``t_opt``;
            ``NO_BRACKET`` where ``t_opt`` lies beyond the grid); ``converged``, ``status``,
            ``iterations``, ``residual`` are properties.
    """

    alpha_s: jax.Array
    t_opt: jax.Array
    cosine: jax.Array
    diagnostics: Diagnostics


@with_diagnostics
class LogisticMLEBoundary(NamedTuple):
    """Existence boundary of the logistic-regression MLE (Candès & Sur 2020).

    Attributes:
        kappa: ``h = p / n`` at the boundary: the MLE exists (w.h.p.) iff ``p / n < kappa``.
        alpha: ``n / p = 1 / kappa`` (the separability threshold ``alpha_s``).
        t_intercept: minimiser ``t0`` (``0`` without intercept).
        t_slope: minimiser ``t >= 0`` (the ``t1`` of Candès & Sur).
        diagnostics: of the minimisation (``residual`` = gradient norm at the minimiser).
    """

    kappa: jax.Array
    alpha: jax.Array
    t_intercept: jax.Array
    t_slope: jax.Array
    diagnostics: Diagnostics


def check_sign_teacher(teacher, noise):
    """The sign teacher has no pre-activation noise (cross-field rule)."""
    if teacher == "sign" and any_concrete(lambda v: v != 0, noise):
        raise ValueError(
            "noise must be 0 for the sign teacher (it has no pre-activation noise); "
            "use teacher='probit' or 'logistic' for noisy pre-activations, or flip for label flips"
        )


def _with_status(converged, iterations, residual, bracketed):
    """Diagnostics with ``NO_BRACKET`` where the minimiser lies beyond the search grid."""
    diag = diagnostics(converged, iterations, residual)
    status = jnp.where(~converged & ~bracketed, Status.NO_BRACKET, diag.status)
    return diag._replace(status=status.astype(jnp.int32))


# --------------------------------------------------------------------------------------------
# Separability threshold (symmetric channels, no bias)
# --------------------------------------------------------------------------------------------


def _threshold_point(noise_eff, flip, kind):
    """One point: ``min_{t >= 0} F(t)``, ``F(t) = 2 E_V[P_+(V) g(t V)]`` (unit teacher variance)."""
    chan = Channel(kind, noise_eff, flip)
    step = jnp.where(noise_eff > 0, jnp.sqrt(jnp.where(noise_eff > 0, noise_eff, 1.0)), 1.0)

    def nodes(t):
        scale = clip_width(1.0 / jnp.maximum(t, 1e-300))
        v, w = rule(0.0, graded(0.0, clip_width(step)), graded(0.0, scale))
        p, _ = p_plus(chan, v, jnp.zeros_like(v))
        return v, w, p

    def F(t):
        v, w, p = nodes(t)
        return 2.0 * jnp.sum(w * p * g(t * v))

    def t_dF(t):  # t F'(t): same sign as F', scale ~ F (no underflow at huge t)
        v, w, p = nodes(t)
        tv = t * v
        return 2.0 * jnp.sum(w * p * tv * g_prime(tv))

    grid = jnp.asarray(_T_GRID)
    n = grid.shape[0]
    # First grid point with F'(t) >= 0 (F convex: F' increasing).
    i, _, _, _ = first_nonnegative(lambda t: (t_dF(t), None), grid)
    any_nonneg = i < n
    at_zero = i == 0
    lo = grid[jnp.clip(i - 1, 0, n - 1)]
    hi = grid[jnp.clip(i, 0, n - 1)]
    # Newton in log t on dF/dlog t (close to linear in log t over a grid step).
    root = increasing_root(lambda x, _: t_dF(jnp.exp(x)), jnp.log(lo), jnp.log(hi), None)
    t = jnp.where(at_zero, 0.0, jnp.where(any_nonneg, jnp.exp(root.root), grid[-1]))
    converged = at_zero | (any_nonneg & root.converged)
    value = F(t)
    residual = jnp.where(at_zero, 0.0, jnp.abs(t_dF(t)) / jnp.maximum(value, 1e-300))
    return t, value, converged, jnp.where(at_zero, 0, root.iterations), residual, any_nonneg


def _threshold_core(noise_eff, flip, kind):
    """Batched :func:`_threshold_point` -> ``(t, F(t), converged, iterations, residual,
    bracketed)``; noiseless points (``F = 0`` at ``t = inf``) are evaluated at a stand-in
    channel and must be overridden by the caller."""
    noiseless = (flip == 0) & (noise_eff == 0)
    flip_safe = jnp.where(noiseless, 0.25, flip)
    return jax.vmap(lambda a, b: _threshold_point(a, b, kind))(noise_eff, flip_safe)


def _threshold_kernel(noise, flip, signal, *, kind):
    noise_eff = noise / signal
    t, value, converged, iterations, residual, bracketed = _threshold_core(noise_eff, flip, kind)
    noiseless = (flip == 0) & (noise_eff == 0)
    alpha_s = jnp.where(noiseless, jnp.inf, jnp.where(converged, 1.0 / value, jnp.nan))
    t = jnp.where(noiseless, jnp.inf, jnp.where(converged, t, jnp.nan))
    cosine = jnp.where(noiseless, 1.0, t / jnp.sqrt(1.0 + t * t))
    diag = _with_status(
        noiseless | converged,
        jnp.where(noiseless, 0, iterations),
        jnp.where(noiseless, 0.0, residual),
        noiseless | bracketed,
    )
    return GLMSeparabilityThreshold(alpha_s, t, cosine, diag)


@validated(CHANNEL_PARAMS, "theory")
def separability_threshold(*, teacher, noise, flip, signal, on_failure) -> GLMSeparabilityThreshold:
    """Separability threshold ``alpha_s`` of teacher-student data with noisy labels (no bias).

    ``1 / alpha_s = min_{t >= 0} E[(Z - t y V)_+^2]`` with ``Z ~ N(0, 1)`` independent of
    ``(y, V)``, ``V ~ N(0, 1)`` the normalised teacher field and ``P(y = +1 | V)`` the channel at
    ``z = sqrt(signal) V`` (the ``kappa -> 0`` limit of the max-margin equations,
    :func:`~overparam_theory.glm.max_margin`).  Computed as ``2 E_V[P_+(V) g(t V)]`` with the
    closed form ``g(a) = E_Z[(Z - a)_+^2] = (1 + a^2) H(a) - a phi(a)``; the objective is convex
    in ``t``.  The minimiser is located by bisection over the sign of ``F'(t)`` on a log grid
    ``t in [1e-8, 1e120]`` (4 points per decade) and refined by safeguarded Newton in ``log t``.
    ``t_opt < 1e-8`` is reported as ``0`` (then ``alpha_s = 2`` to ``O(1e-16)``).  Extremely weak
    noise is fine down to ``flip ~ 1e-280`` (``alpha_s ~ 3e93``) and ``noise / signal ~ 1e-240``;
    below that ``t_opt > 1e120`` or the flipped-label mass underflows, and the point is reported
    as not converged (never as a wrong number).
    ``residual`` is ``|t F'(t)| / F(t)`` at ``t_opt``.

    Special values: a noiseless channel (``sign`` with ``flip = 0``, or ``probit``/``logistic``
    with ``noise = 0`` and ``flip = 0``) gives ``alpha_s = inf``, ``t_opt = inf``, ``cosine = 1``
    exactly (noiseless data are separable at every ``alpha``); ``flip = 1/2`` gives ``alpha_s = 2``.

    Args:
        teacher: ``"sign"``, ``"probit"`` or ``"logistic"`` (see :mod:`._channels`).
        noise: pre-activation noise variance ``>= 0`` (must be 0 for ``"sign"``).
        flip: label-flip probability in ``[0, 1/2]`` (``flip > 1/2`` is the same problem with
            the teacher reversed).
        signal: teacher variance ``rho > 0``; only ``noise / signal`` matters.
        on_failure: ``"warn"`` (default), ``"raise"`` or ``"ignore"`` for non-converged points
            (reported as NaN with ``converged=False``).

    Returns:
        :class:`GLMSeparabilityThreshold`.

    References: E. Gardner, J. Phys. A 21 (1988) 257; Candès & Sur, Ann. Statist. 48(1) (2020),
    Theorem 1 (the ``kappa = 0`` form); Deng, Kammoun & Thrampoulidis, Inf. Inference 11 (2022),
    eq. (9).
    """
    check_sign_teacher(teacher, noise)
    return evaluate(
        _threshold_kernel,
        (noise, flip, signal),
        static=dict(kind=kernel_kind(teacher)),
        on_failure=on_failure,
        what="separability threshold",
    )


# --------------------------------------------------------------------------------------------
# Logistic MLE existence boundary (Candès & Sur)
# --------------------------------------------------------------------------------------------


def _mle_intercept_point(gamma, beta0):
    """``min_{t0, t1 >= 0} E[(Z - t0 Y - t1 Y V)_+^2]``, ``P(Y = 1 | V) = sigma(beta0 + gamma V)``.

    Nested: ``t0*(t1)`` is the root of ``dF/dt0`` (convex in ``t0``), then the profile
    ``F(t0*(t1), t1)`` (convex) is minimised over ``t1`` through its slope ``dF/dt1``
    (envelope theorem), scanned on ``t1 in {0} U [1e-8, 1e8]`` and refined by Illinois.
    """
    pos = gamma > 0
    g_safe = jnp.where(pos, gamma, 1.0)
    c1 = jnp.where(pos, -beta0 / g_safe, 0.0)
    w1 = clip_width(jnp.where(pos, 1.0 / g_safe, 1e3))

    def nodes(t0, t1):
        t1s = jnp.maximum(t1, 1e-300)
        c2 = jnp.clip(-t0 / t1s, -20.0, 20.0)
        w2 = clip_width(1.0 / t1s)
        v, w = rule(c1, graded(c1, w1), c2, graded(c2, w2))
        p = jax.nn.sigmoid(beta0 + gamma * v)
        return v, w, p

    def F(t0, t1):
        v, w, p = nodes(t0, t1)
        a = t0 + t1 * v
        return jnp.sum(w * (p * g(a) + (1.0 - p) * g(-a)))

    def grads(t0, t1):
        v, w, p = nodes(t0, t1)
        a = t0 + t1 * v
        inner = p * g_prime(a) - (1.0 - p) * g_prime(-a)
        return jnp.sum(w * inner), jnp.sum(w * inner * v)

    def slope(t1):
        # dF/dt0 -> -inf as t0 -> -inf and +inf as t0 -> +inf (both labels have mass).
        inner = increasing_root(lambda x, s: grads(x, s)[0], -_T0_BRACKET, _T0_BRACKET, t1, x0=0.0 * t1)
        return grads(inner.root, t1)[1], inner

    grid = jnp.concatenate([jnp.zeros(1), jnp.asarray(_T1_GRID)])
    n = grid.shape[0]
    i, s_lo, s_hi, inner_hi = first_nonnegative(slope, grid)  # the profile is convex in t1
    any_nonneg = i < n
    at_zero = i == 0
    lo = grid[jnp.clip(i - 1, 0, n - 1)]
    hi = grid[jnp.clip(i, 0, n - 1)]
    t1_root, ok, iterations, _, inner = illinois_root(slope, lo, hi, s_lo, s_hi, solver=_OUTER)
    t1 = jnp.where(at_zero, 0.0, jnp.where(any_nonneg, t1_root, grid[-1]))
    inner = jax.tree_util.tree_map(lambda first, found: jnp.where(at_zero, first, found), inner_hi, inner)
    t0 = inner.root
    g0, g1 = grads(t0, t1)
    converged = (at_zero | (any_nonneg & ok)) & inner.converged
    residual = jnp.where(at_zero, jnp.abs(g0), jnp.hypot(g0, g1))
    iterations = jnp.where(at_zero, 0, iterations) + inner.iterations
    return t0, t1, F(t0, t1), converged, iterations, residual, any_nonneg


def _mle_boundary_kernel(gamma2, beta0, *, with_intercept):
    if with_intercept:
        t0, t1, h, converged, iterations, residual, bracketed = jax.vmap(_mle_intercept_point)(jnp.sqrt(gamma2), beta0)
    else:
        # The symmetric threshold kernel with the logistic channel sigma(gamma V).
        pos = gamma2 > 0
        noise_eff = jnp.where(pos, (math.pi**2 / 3.0) / jnp.where(pos, gamma2, 1.0), 1.0)
        zero_flip = jnp.zeros_like(noise_eff)
        t1, h, converged, iterations, residual, bracketed = _threshold_core(noise_eff, zero_flip, "logistic")
        t1 = jnp.where(pos, t1, 0.0)
        h = jnp.where(pos, h, 0.5)  # gamma = 0: labels independent of x, h = 1/2 (Cover)
        converged = converged | ~pos
        bracketed = bracketed | ~pos
        residual = jnp.where(pos, residual, 0.0)
        iterations = jnp.where(pos, iterations, 0)
        t0 = jnp.zeros_like(t1)
    h = jnp.where(converged, h, jnp.nan)
    return LogisticMLEBoundary(h, 1.0 / h, t0, t1, _with_status(converged, iterations, residual, bracketed))


@validated(MLE_BOUNDARY_PARAMS, "theory")
def logistic_mle_boundary(*, signal, intercept, on_failure) -> LogisticMLEBoundary:
    """Phase transition for the existence of the logistic-regression MLE (Candès & Sur 2020).

    Model (Sur-Candès conventions): ``p`` Gaussian features, ``n`` samples,
    ``P(Y = 1 | x) = sigma(beta0 + x . beta)`` with ``gamma^2 = Var(x . beta)``.  The MLE
    exists w.h.p. iff ``kappa = p / n < h``, where, with ``V ~ N(0, 1)`` (so ``x . beta = gamma
    V``) and ``Z ~ N(0, 1)`` independent,

    * no intercept (``beta0 = 0``, model fitted without intercept):
      ``h(gamma) = min_{t >= 0} E[(Z - t Y V)_+^2]``; this is ``1 / alpha_s`` of
      :func:`separability_threshold` for ``teacher="logistic"``,
      ``noise = pi^2 / (3 gamma^2)`` at ``signal = 1`` (``h(0) = 1/2`` exactly, Cover);
    * with an intercept (the model is fitted with an intercept):
      ``h(beta0, gamma) = min_{t0, t1} E[(Z - t0 Y - t1 Y V)_+^2]`` (Candès & Sur, Thm 2 form).
      Used whenever ``intercept`` is not identically zero; at ``beta0 = 0`` it reduces to the
      no-intercept value.

    Args:
        signal: ``gamma^2 >= 0`` (array).
        intercept: ``beta0`` (finite, array).  Any nonzero entry selects the intercept model for
            the whole call (including the zero entries, which then agree with the no-intercept
            formula up to quadrature error ~1e-14).
        on_failure: ``"warn"`` (default), ``"raise"`` or ``"ignore"``.

    Returns:
        :class:`LogisticMLEBoundary` (``kappa = h``, ``alpha = 1 / h``).

    References: E. J. Candès & P. Sur, Ann. Statist. 48(1) (2020) 27-42 (arXiv:1804.09753),
    Theorems 1-2; P. Sur & E. J. Candès, PNAS 116 (2019) 14516.
    """
    with_intercept = bool(is_traced(intercept) or np.any(np.asarray(intercept) != 0))
    return evaluate(
        _mle_boundary_kernel,
        (signal, intercept),
        static=dict(with_intercept=with_intercept),
        on_failure=on_failure,
        what="logistic MLE existence boundary",
    )
