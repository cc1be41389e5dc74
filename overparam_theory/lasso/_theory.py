"""Asymptotic risk of the LASSO with Gaussian designs: AMP state evolution (SE) and calibration.

Conventions (``docs/theory/lasso.md``; Bayati & Montanari 2012, Thm 1.4 and Prop. 1.3-1.4;
Donoho, Maleki & Montanari, PNAS 2009 and IEEE TIT 2011):

- ``y = A x0 + w`` with ``A in R^{n x N}`` of i.i.d. ``N(0, 1/n)`` entries (columns of unit norm
  on average), ``w ~ N(0, noise I_n)`` (``noise = sigma^2`` is a *variance*);
- ``alpha = n/N`` (the spec's ``delta``): measurements per unknown;
- prior ``x0_i ~ (1 - sparsity) delta_0 + sparsity N(0, nonzero_variance)`` (the spec's ``eps``
  and ``v``);
- LASSO ``x_hat = argmin_x (1/2)||y - A x||^2 + l1_penalty ||x||_1`` (``l1_penalty`` is the
  spec's ``lam``); scikit-learn's ``Lasso(alpha=l1_penalty / n, fit_intercept=False)`` is the
  same estimator (it minimises ``(1/(2n))||y - Ax||^2 + alpha_sk ||x||_1``);
- ``threshold`` is the SE threshold parameter (the spec's ``alpha``, ``theta`` in some texts):
  the soft threshold ``eta(u; threshold * tau)``, ``eta(u; t) = sign(u)(|u| - t)_+``.

State evolution (``Z ~ N(0, 1)`` independent of ``X0``, ``g(a) = (1 + a^2) Phi(-a) - a phi(a)``):

    tau^2 = noise + (1/alpha) Psi(tau^2),   Psi(tau^2) = E[(eta(X0 + tau Z; threshold tau) - X0)^2]

with ``Psi = (1 - sparsity) 2 tau^2 g(threshold) + sparsity E1``, where for ``X0 ~ N(0, v)``,
``s^2 = v + tau^2``, ``a = threshold tau / s``, the spec's ``E1 = 2 s^2 g(a) - 4 v Phi(-a) + v`` is
evaluated in the cancellation-free form

    E1 = 2 tau^2 [(1 + threshold^2) Phi(-a) - a phi(a)] + v h(a),   h(a) = 2 Phi(a) - 1 - 2 a phi(a)

(``h`` by its Taylor series for ``a < 1/2``), so that ``Psi / tau^2`` is accurate down to
``tau^2 -> 0``.  ``Psi(tau^2) / tau^2`` decreases in ``tau^2`` (``Psi`` is concave with
``Psi(0) = 0``) from ``slope0 = (1 - sparsity) 2 g(threshold) + sparsity (1 + threshold^2)`` to
``2 g(threshold)``.  Hence ``G(tau^2) = noise / tau^2 + Psi(tau^2) / (alpha tau^2) - 1`` is
strictly decreasing and ``tau*^2`` is its unique root, bracketed in ``log tau^2`` by
``[noise, 4 U]``, ``U = (noise + sparsity v / alpha) / (1 - 2 g / alpha)`` (an upper bound from the
soft-threshold risk bound ``r(mu) <= r(0) + mu^2``; ``[U e^-460, 4 U]`` when ``noise = 0``) and
found by a safeguarded Newton iteration, never by plain iteration (which slows down without
bound near the transition).

The solver (fixed point at a given threshold; fixed point and calibration jointly at a given
``l1_penalty``): one bounded ``while_loop`` per point, vmapped over the grid, with one
evaluation of ``F1 = -G(e^x)`` (``x = log tau^2``), ``l1_penalty(threshold, tau^2)`` and their
closed-form partial derivatives per iteration (``d/da`` of the Gaussian expectations:
``dE1/dt = 2 g(a) + 2 (v/s^2)(threshold^2 Phi(-a) - a phi(a))``, ``d(E1/t)/dthreshold =
4 (threshold Phi(-a) - phi(a) a/threshold)``, ``d(2 g(threshold))/dthreshold =
-4 (phi(threshold) - threshold Phi(-threshold))``,
``dnnz/dx = -sparsity phi(a) a v / s^2``; :func:`_evaluate`).  Newton in ``x`` stays inside a
bracket that the sign of ``F1`` shrinks (bisection otherwise); once its step is below ``0.1``
the 2-D Newton step on ``(F1, l1_penalty - target)`` moves the threshold too (Newton on the
calibration with the total derivative at the linearised fixed point), inside a threshold
bracket (bisection, or doubling while it has no upper end); ``x`` follows to first order.  It
stops when the Newton step is below ``xtol = 1e-14`` (relative to ``max(1, |.|)``; ``4 eps`` in
float32) or has reached the rounding level of the residuals; at most ``max_iter = 300``
evaluations (``numerics.solvers.Bracketed(xtol=1e-14, max_iter=300)``).  ``diagnostics``:
``iterations`` counts the evaluations, ``residual`` is the last one's.  Derivatives
(``jax.grad``) use the implicit function theorem on the 2x2 system (``custom_jvp``; the
iterations are never differentiated).  ``threshold_min``, the phase transition and the noiseless
basis-pursuit threshold use :func:`~overparam_theory.numerics.roots.expanding_root` (Illinois
regula falsi with bisection safeguards).  Failed points are NaN with a ``diagnostics`` status
(``NO_BRACKET``, ``NONFINITE``, ``MAX_ITERATIONS``).

*Admissible thresholds*: the fixed point exists iff ``threshold > threshold_min(alpha)``, where
``threshold_min`` solves ``(2/alpha) g(t) = 1`` for ``alpha < 1`` and is ``0`` for ``alpha >= 1``
(``threshold = 0`` is admissible for ``alpha > 1``: least squares).

*Noiseless case* (``noise = 0``, an explicit branch): ``tau*^2 = 0`` (exact recovery:
``mse = 0``, ``nnz_fraction = sparsity``, ``train_error = 0``) when ``slope0 <= alpha``, i.e. when
``sparsity / alpha <= [1 - (2/alpha) g] / [1 + threshold^2 - 2 g]``; otherwise the positive root
(the largest fixed point, the one AMP reaches).  Maximising that bound over the threshold gives
:func:`phase_transition`.

*Calibration* ``l1_penalty <-> threshold``:
``l1_penalty = threshold tau* (1 - nnz_fraction / alpha)`` increases from ``-inf`` (``alpha < 1``)
or ``0`` (``alpha >= 1``) at ``threshold_min`` to ``+inf``; each ``l1_penalty`` has a unique
root on ``(threshold_min, inf)`` (roots below ``threshold_min`` are spurious and never searched:
thresholds without a finite positive fixed point -- ``threshold <= threshold_min`` and, with
``noise = 0``, the recovery interval -- count as below the root).  The search starts at
``sqrt(2 log(1/alpha))`` (``0`` for ``alpha >= 1``) plus the large-threshold asymptote
``l1_penalty / sqrt(noise + sparsity v/alpha)``, on the bracket ``(0, inf)``, and returns the
fixed point at the root with it.

``l1_penalty = 0``:

- ``alpha > 1``: least squares, ``threshold = 0``, ``tau*^2 = noise alpha / (alpha - 1)``,
  ``mse = noise alpha / (alpha - 1)`` (``= noise tr((A^T A)^{-1}) / N``), ``nnz_fraction = 1``,
  ``train_error = noise (1 - 1/alpha)``;
- ``alpha = 1``: the square system is interpolated exactly: ``mse = tau2 = inf`` when
  ``noise > 0`` (``train_error = 0``); ``mse = 0`` when ``noise = 0``;
- ``alpha < 1``: the limit ``l1_penalty -> 0+`` is min-l1 interpolation (basis pursuit,
  ``argmin ||x||_1 s.t. A x = y``).  With ``noise > 0`` its threshold solves
  ``nnz_fraction(threshold) = alpha`` (a basic solution has ``n`` non-zeros).  With
  ``noise = 0``: below the Donoho-Tanner curve (``sparsity/alpha <= phase_transition(alpha)``)
  recovery is exact (``mse = 0``, ``nnz_fraction = sparsity``) and the reported threshold is the
  ``l1_penalty -> 0+`` limit, the largest root of ``slope0(threshold) = alpha``; above it the
  positive root with ``nnz_fraction = alpha``.

With ``noise > 0`` the ``l1_penalty = 0`` curve over ``alpha`` is finite except at ``alpha = 1``
and diverges there from both sides (min-l1 at ``1-``, least squares ``noise alpha/(alpha - 1)`` at
``1+``): a double descent whose peak is at the interpolation threshold ``alpha = 1``.  Through
the Donoho-Tanner transition the min-l1 mse *decreases* (e.g. sparsity 0.1, noise 0.01: 0.095
at ``alpha = 0.1``, minimum 0.013 near ``alpha = 0.45``, 0.089 at 0.9, 0.99 at 0.99).

(``nnz_fraction`` is an ``l0`` count: at exactly ``tau = 0`` it is ``sparsity``, whereas the
``l1_penalty -> 0+`` limit of the ``N -> inf`` value is ``P(|X0 + tau Z| > threshold tau)`` at
``tau -> 0+``; the two limits do not commute.)

Predictions (``N -> inf`` almost surely):

    mse          = ||x_hat - x0||^2 / N  = Psi(tau*^2) = alpha (tau*^2 - noise)
    nnz_fraction = ||x_hat||_0 / N       = (1 - sparsity) 2 Phi(-threshold) + sparsity 2 Phi(-a*)
    train_error  = ||y - A x_hat||^2 / n = tau*^2 (1 - nnz_fraction / alpha)^2

(``mse`` is evaluated as ``Psi``, which has no cancellation when ``tau*^2 ~ noise``.)
"""


from __future__ import annotations

import math
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy import special as jsp

from .._spec import validated
from .._validation import is_traced
from ..numerics.batching import map_points
from ..numerics.diagnostics import Diagnostics, Status, with_diagnostics
from ..numerics.grid import evaluate
from ..numerics.roots import expanding_root
from ..numerics.solvers import Bracketed
from ._params import ALPHA, FIELDS, PARAMS

RESULT_FIELDS = tuple(f.name for f in FIELDS)

_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_NOISELESS_LOWER = 460.0  # noiseless tau^2 bracket starts at U exp(-460) ~ 1e-200 U
_MIN_BUCKET = 8  # grids are padded to >= 8 points (one compiled program for small grids)
_SOLVER = Bracketed(xtol=1e-14, max_iter=300)  # every root search (fixed point, calibration, thresholds)
# numerics.batching.map_points: batches of 2^16 / 256 = 256 points on CPU (wide enough to vectorise; a
# slow point, e.g. noiseless with a tiny l1_penalty, ~100 steps, holds up its batch only), the whole grid on
# accelerators
_WORK_PER_POINT = 256
_INNER_TOL = 0.1  # joint (threshold, log tau^2) Newton steps once the inner Newton step in log tau^2 is below this
_ROUNDING = 32.0  # a residual below _ROUNDING eps times the sum of its terms' sizes is zero to rounding
_STALL_STEP = 1e-10  # a relative Newton step that stops halving below this is at the rounding level
_OK = int(Status.OK)
_DTYPE = next(p for p in PARAMS if p.name == "dtype" and p.role == "theory")


@with_diagnostics
class LassoTheory(NamedTuple):
    """Asymptotic LASSO quantities (AMP state evolution), shaped like the broadcast parameters.

    Attributes:
        mse: ``lim ||x_hat - x0||^2 / N`` (``inf`` at ``alpha = 1``, ``l1_penalty = 0``,
            ``noise > 0``).
        nnz_fraction: ``lim ||x_hat||_0 / N``.
        train_error: ``lim ||y - A x_hat||^2 / n`` (the spec's ``resid``).
        tau2: the SE fixed point ``tau*^2`` (effective noise variance of AMP).
        threshold: the SE threshold parameter (calibrated from ``l1_penalty``, or as given).
        l1_penalty: the LASSO penalty (as given, or calibrated from ``threshold``).
        diagnostics: :class:`~overparam_theory.numerics.diagnostics.Diagnostics` of the point's
            root solves: ``status`` (the first failed solve's; ``OK`` when all converged),
            ``iterations`` (evaluations of the joint Newton solver; 0 for the closed forms) and ``residual``
            (``|l1_penalty(threshold) - l1_penalty|`` of the calibration root when
            ``l1_penalty`` is given, ``|G(tau*^2)|`` of the fixed point when ``threshold`` is);
            ``converged``, ``status``, ``iterations``, ``residual`` are properties.
    """

    mse: jax.Array
    nnz_fraction: jax.Array
    train_error: jax.Array
    tau2: jax.Array
    threshold: jax.Array
    l1_penalty: jax.Array
    diagnostics: Diagnostics


# ---------------------------------------------------------------------------------------------
# Scalar Gaussian pieces (elementwise jnp; accurate in the regimes the SE visits).


def _pdf(x):
    return _INV_SQRT_2PI * jnp.exp(-0.5 * x * x)


def _upper_tail(x):
    """``Phi(-x) = erfc(x / sqrt2) / 2`` (full relative accuracy for large ``x``)."""
    return 0.5 * jsp.erfc(x * _INV_SQRT_2)


def g_function(t):
    """``g(t) = (1 + t^2) Phi(-t) - t phi(t) = E[(|Z| - t)_+^2] / 2`` (``g(0) = 1/2``)."""
    return (1.0 + t * t) * _upper_tail(t) - t * _pdf(t)


def _g_prime(t):
    """``g'(t) = -2 (phi(t) - t Phi(-t))``."""
    return -2.0 * (_pdf(t) - t * _upper_tail(t))


def _one_minus_2g(t):
    """``1 - 2 g(t) = erf(t/sqrt2) + 2 t phi(t) - 2 t^2 Phi(-t)`` without cancellation at small t."""
    return jsp.erf(t * _INV_SQRT_2) + 2.0 * t * _pdf(t) - 2.0 * t * t * _upper_tail(t)


_H_SERIES = tuple(
    2.0 * _INV_SQRT_2PI * (-1.0) ** (k + 1) / ((2 * k + 1) * 2.0 ** (k - 1) * math.factorial(k - 1))
    for k in range(1, 16)
)


def _h_over_a2_from(a, upper_tail_a):
    """``h(a) / a^2`` with ``h(a) = 2 Phi(a) - 1 - 2 a phi(a) = 1 - 2 Phi(-a) - 2 a phi(a)`` (given ``Phi(-a)``).

    ``h(a) / a^2 ~ 0.266 a`` at small ``a``: Taylor series
    ``2 phi(0) sum_{k>=1} (-1)^{k+1} a^{2k-1} / ((2k+1) 2^{k-1} (k-1)!)`` for ``a < 1/2`` (15 terms:
    truncation < 1e-30), the direct form (cancellation < 5 bits) above.
    """
    small = a < 0.5
    a_s = jnp.where(small, a, 0.25)
    a2 = a_s * a_s
    series = jnp.zeros_like(a_s)
    for c in reversed(_H_SERIES):
        series = series * a2 + c
    series = series * a_s
    a_l = jnp.where(small, 1.0, a)
    p_l = jnp.where(small, 0.25, upper_tail_a)
    direct = (1.0 - 2.0 * p_l - 2.0 * a_l * _pdf(a_l)) / (a_l * a_l)
    return jnp.where(small, series, direct)


def _effective_a(t, theta, v):
    """``a = threshold tau / s``, ``s^2 = v + tau^2``."""
    return theta * jnp.sqrt(t / (v + t))


def _psi_over_t(t, theta, eps, v):
    """``Psi(tau^2) / tau^2`` for ``tau^2 = t > 0`` (finite and accurate as ``t -> 0`` and ``inf``)."""
    a = _effective_a(t, theta, v)
    p = _upper_tail(a)
    zero_part = 2.0 * g_function(theta)
    nonzero_part = 2.0 * ((1.0 + theta * theta) * p - a * _pdf(a)) + theta * theta * (v / (v + t)) * _h_over_a2_from(a, p)
    return (1.0 - eps) * zero_part + eps * nonzero_part


def _slope0(theta, eps):
    """``lim_{tau^2 -> 0} Psi / tau^2 = (1 - eps) 2 g(theta) + eps (1 + theta^2)``."""
    return (1.0 - eps) * 2.0 * g_function(theta) + eps * (1.0 + theta * theta)


def _nnz(t, theta, eps, v):
    """``P(|X0 + tau Z| > threshold tau)`` at ``tau^2 = t``."""
    a = _effective_a(t, theta, v)
    return (1.0 - eps) * 2.0 * _upper_tail(theta) + eps * 2.0 * _upper_tail(a)


# ---------------------------------------------------------------------------------------------
# Root searches: numerics.roots.expanding_root (one evaluation site, so nested solves are traced once).


def _root(f, lo, hi0, args):
    return expanding_root(f, lo, hi0, args, solver=_SOLVER)


def _no_aux(value):
    return value, ()


def _first_failure(*statuses):
    """The first status that is not ``OK`` (``OK`` when every one is)."""
    out = statuses[-1]
    for s in reversed(statuses[:-1]):
        out = jnp.where(s != _OK, s, out)
    return out


# ---------------------------------------------------------------------------------------------
# threshold_min and the Donoho-Tanner curve (one point; vmapped by the public wrappers).


def _threshold_min_point(delta):
    """``(threshold_min, status, iterations, residual)`` at ``alpha = delta``."""
    below = delta < 1.0
    d = jnp.where(below, delta, 0.5)
    upper = jnp.sqrt(2.0 * jnp.log(1.0 / d)) + 3.0
    # (d - 1) + 1 - 2 g(t) = d - 2 g(t) increases from d - 1 < 0 at t = 0.
    res, _ = _root(_excess_f, jnp.zeros_like(d), upper, d)
    return (
        jnp.where(below, res.root, 0.0),
        jnp.where(below, res.status, _OK),
        jnp.where(below, res.iterations, 0),
        jnp.where(below, res.residual, 0.0),
    )


def _excess_f(t, d):
    return _no_aux((d - 1.0) + _one_minus_2g(t))


def _stationarity(z, d):
    # -(N' D - N D') with N = 1 - (2/d) g, D = 1 + z^2 - 2 g: increasing through the maximiser.
    num = ((d - 1.0) + _one_minus_2g(z)) / d
    den = z * z + _one_minus_2g(z)
    gp = _g_prime(z)
    return _no_aux(num * (2.0 * z - 2.0 * gp) - (-2.0 * gp / d) * den)


def _transition_point(delta):
    below = delta < 1.0
    d = jnp.where(below, delta, 0.5)
    tmin, st_min, it_min, _ = _threshold_min_point(d)
    res, _ = _root(_stationarity, tmin, tmin + 8.0, d)
    z = res.root
    rho = (((d - 1.0) + _one_minus_2g(z)) / d) / (z * z + _one_minus_2g(z))
    rho = jnp.where(below, rho, jnp.where(delta == 1.0, 1.0, jnp.inf))
    status = jnp.where(below, _first_failure(st_min, res.status), _OK)
    iterations = jnp.where(below, it_min + res.iterations, 0)
    return rho, jnp.where(below, z, 0.0), status, iterations, jnp.where(below, res.residual, 0.0)


# ---------------------------------------------------------------------------------------------
# The state-evolution solve: the tau^2 fixed point at a given threshold, or jointly the fixed point
# and the calibration at a given l1_penalty (one point; vmapped over the grid by map_points).


class _ThetaTerms(NamedTuple):
    """The threshold-only pieces of one evaluation (``Phi(-theta)``, ``phi(theta)``, ``g``, ...)."""

    tail: jax.Array
    pdf: jax.Array
    g: jax.Array
    valid: jax.Array  # 1 - 2 g(theta) / alpha > 0: the fixed point is finite
    recovered: jax.Array  # noise = 0 and slope0 <= alpha: tau* = 0
    log_lo: jax.Array  # bracket of x = log tau*^2: [log noise (or log U - 460), log 4U]
    log_hi: jax.Array


def _theta_terms(theta, delta, eps, v, s2):
    tail, pdf = _upper_tail(theta), _pdf(theta)
    g = (1.0 + theta * theta) * tail - theta * pdf
    gap = ((delta - 1.0) + _one_minus_2g(theta)) / delta  # 1 - 2 g(theta) / alpha
    valid = gap > 0
    # slope0 within 64 ulps of alpha counts as <= alpha: at the edge of the recovery interval (e.g.
    # the basis-pursuit threshold, a root of slope0 = alpha) the positive root would be ~1e-30.
    tol = 64.0 * jnp.finfo(jnp.result_type(delta)).eps
    slope0 = (1.0 - eps) * 2.0 * g + eps * (1.0 + theta * theta)
    recovered = (s2 == 0) & (slope0 <= delta * (1.0 + tol))
    log_u = jnp.log((s2 + eps * v / delta) / jnp.where(valid, gap, 1.0))
    log_lo = jnp.where(s2 > 0, jnp.log(jnp.where(s2 > 0, s2, 1.0)), log_u - _NOISELESS_LOWER)
    return _ThetaTerms(tail, pdf, g, valid, recovered, log_lo, log_u + math.log(4.0))


class _Eval(NamedTuple):
    """``F1 = -G(e^x)`` (increasing in ``x = log tau^2``), ``L = l1_penalty(threshold, tau^2)``,
    their analytic partial derivatives, and the size of the terms they sum (for rounding bounds)."""

    f1: jax.Array
    f1_x: jax.Array
    f1_theta: jax.Array
    lam: jax.Array
    lam_x: jax.Array
    lam_theta: jax.Array
    scale_f1: jax.Array
    scale_lam: jax.Array


def _evaluate(theta, x, th: _ThetaTerms, delta, eps, v, s2):
    """The SE residuals and their Jacobian at ``(threshold, x = log tau^2)`` in closed form (the fixed
    point and calibration of Bayati & Montanari 2012, Thm 1.4 and Prop. 1.4; ``docs/theory/lasso.md`` §3, §6).

    With ``s^2 = v + t``, ``t = tau^2 = e^x``, ``a = threshold sqrt(t / s^2)``, ``P = Phi(-a)``,
    ``q = phi(a)``, ``N = E1 / t`` (the non-zero component's ``Psi / tau^2``):
    ``dE1/dt = 2 g(a) + 2 (v/s^2)(threshold^2 P - a q)``, ``dN/dthreshold = 4 (threshold P - q a/threshold)``,
    ``d(2 g(threshold))/dthreshold = -4 (phi(threshold) - threshold Phi(-threshold))``,
    ``dnnz/dx = -sparsity q a v / s^2``,
    ``dnnz/dthreshold = -2 (1 - sparsity) phi(threshold) - 2 sparsity q a/threshold``.
    """
    t = jnp.exp(x)
    s_2 = v + t
    sr = jnp.sqrt(t / s_2)  # a / threshold
    a = theta * sr
    p, q = _upper_tail(a), _pdf(a)
    t2 = theta * theta
    h_term = t2 * (v / s_2) * _h_over_a2_from(a, p)
    nonzero = 2.0 * ((1.0 + t2) * p - a * q) + h_term  # N
    psi_t = (1.0 - eps) * 2.0 * th.g + eps * nonzero
    noise_t = jnp.where(s2 > 0, s2 * jnp.exp(-jnp.where(s2 > 0, x, 0.0)), 0.0)  # noise / tau^2 (0 * inf = NaN)
    f1 = 1.0 - noise_t - psi_t / delta
    g_a = (1.0 + a * a) * p - a * q
    de1_dt = 2.0 * g_a + 2.0 * (v / s_2) * (t2 * p - a * q)
    f1_x = noise_t - (eps / delta) * (de1_dt - nonzero)
    dpsi_dtheta = -4.0 * (1.0 - eps) * (th.pdf - theta * th.tail) + 4.0 * eps * (theta * p - q * sr)
    f1_theta = -dpsi_dtheta / delta
    tau = jnp.exp(0.5 * x)
    nnz = (1.0 - eps) * 2.0 * th.tail + eps * 2.0 * p
    keep = 1.0 - nnz / delta
    lam = theta * tau * keep
    lam_x = 0.5 * lam + theta * tau * eps * q * a * v / (delta * s_2)
    lam_theta = tau * keep + (2.0 * theta * tau / delta) * ((1.0 - eps) * th.pdf + eps * q * sr)
    scale_f1 = 1.0 + noise_t + ((1.0 - eps) * 2.0 * th.g + eps * (2.0 * ((1.0 + t2) * p + a * q) + h_term)) / delta
    scale_lam = theta * tau * (1.0 + nnz / delta)
    return _Eval(f1, f1_x, f1_theta, lam, lam_x, lam_theta, scale_f1, scale_lam)


def _stalled(step, previous, rounding, previous_rounding):
    """Newton has reached the rounding level: the residuals were at the rounding level of their
    terms at this and the previous (joint) evaluation, or the relative step is below 1e-10 and no
    longer halves."""
    return (rounding & previous_rounding) | ((step >= 0.5 * previous) & (step <= _STALL_STEP))


class _Solve(NamedTuple):
    theta: jax.Array
    x: jax.Array  # log tau*^2 (meaningless where recovered / not valid)
    recovered: jax.Array  # tau* = 0 (noiseless exact recovery)
    valid: jax.Array  # tau* finite
    status: jax.Array
    iterations: jax.Array
    residual: jax.Array


def _newton_search(calibrate, delta, target, eps, v, s2, skip):
    """Safeguarded Newton for the SE fixed point (``calibrate=False``: in ``x = log tau^2`` at the
    threshold ``target``) or jointly for ``(threshold, x)`` at the l1_penalty ``target``
    (``docs/theory/lasso.md`` §6).

    One evaluation (values and analytic derivatives) per iteration, in one ``while_loop``:

    - inner step (``x`` at a fixed threshold): Newton inside the bracket ``[x_lo, x_hi]`` (the sign of
      ``F1`` moves its ends; it starts as ``[log noise, log 4U]``), bisection when Newton leaves it or
      would not halve it;
    - outer step (once the inner Newton step is below ``_INNER_TOL``): the 2-D Newton step on
      ``(F1, l1_penalty(threshold, x) - target)``, i.e. Newton on the calibration with the total
      derivative ``dlam/dthreshold`` at the linearised fixed point, kept inside the threshold bracket
      ``(t_lo, t_hi)``: ``t_lo`` moves up at thresholds whose linearised calibration is below the
      target (or where no positive finite fixed point exists: ``threshold <= threshold_min``, noiseless
      recovery), ``t_hi`` down at those above; bisection (doubling while ``t_hi = inf``) otherwise.
      ``x`` follows the step to first order and its bracket is reset for the new threshold.

    Stops when, at a point where the inner step is below ``_INNER_TOL``, each residual is at the
    rounding level of its terms (``32 eps`` times the sum of their sizes) or its Newton step is below ``xtol``
    relative to ``max(1, |.|)`` (at a given threshold also when the bracket is that narrow); the
    evaluated point is returned.  At most ``_SOLVER.max_iter`` evaluations.  Statuses: ``OK``,
    ``NONFINITE`` (a NaN/inf residual at an admissible point), ``MAX_ITERATIONS``, ``NO_BRACKET``
    (``max_iter`` reached with ``t_hi`` still infinite).
    """
    dtype = jnp.result_type(delta, float)
    eps_m = float(jnp.finfo(dtype).eps)
    xtol = max(_SOLVER.xtol, 4.0 * eps_m)
    theta0 = target if not calibrate else (
        jnp.where(delta < 1.0, jnp.sqrt(2.0 * jnp.log(1.0 / jnp.where(delta < 1.0, delta, 0.5))), 0.0)
        + target / jnp.sqrt(s2 + eps * v / delta))
    th0 = _theta_terms(theta0, delta, eps, v, s2)
    special0 = ~th0.valid | th0.recovered
    x0 = th0.log_hi - math.log(4.0)  # log U
    done0 = skip | (special0 if not calibrate else jnp.zeros_like(skip))
    zero = jnp.zeros_like(theta0)
    i0 = jnp.asarray(0, jnp.int32)
    st0 = dict(theta=theta0, x=x0, t_lo=zero, t_hi=zero + jnp.inf, x_lo=th0.log_lo, x_hi=th0.log_hi,
               fresh=jnp.zeros_like(skip), it=i0, done=done0, bad=jnp.zeros_like(skip), res=zero, step=zero + jnp.inf,
               rounding=jnp.zeros_like(skip))

    def cond(st):
        return (~st["done"]) & (st["it"] < _SOLVER.max_iter)

    def body(st):
        theta = st["theta"]
        th = _theta_terms(theta, delta, eps, v, s2)
        special = (~th.valid | th.recovered) if calibrate else jnp.zeros_like(th.valid)
        fresh = st["fresh"]
        x_lo = jnp.where(fresh, th.log_lo, st["x_lo"])
        x_hi = jnp.where(fresh, th.log_hi, st["x_hi"])
        x = jnp.where(jnp.isfinite(st["x"]), jnp.clip(st["x"], x_lo, x_hi), 0.5 * (x_lo + x_hi))
        e = _evaluate(theta, x, th, delta, eps, v, s2)
        # inner: x at this threshold
        x_lo = jnp.where(e.f1 <= 0, x, x_lo)
        x_hi = jnp.where(e.f1 > 0, x, x_hi)
        dx = -e.f1 / e.f1_x
        newton = x + dx
        sane = jnp.isfinite(dx) & (e.f1_x > 0)  # F1 increases: a Newton step against that is rounding
        inside = sane & (newton >= x_lo) & (newton <= x_hi) & (jnp.abs(dx) < 0.5 * (x_hi - x_lo))
        x_inner = jnp.where(inside, newton, 0.5 * (x_lo + x_hi))
        tol_x = xtol * jnp.maximum(jnp.abs(x), 1.0)
        rounding = jnp.abs(e.f1) <= _ROUNDING * eps_m * e.scale_f1
        bad = ~special & ~(jnp.isfinite(e.f1) & jnp.isfinite(e.lam))
        if not calibrate:
            step = jnp.where(sane, jnp.abs(dx), jnp.inf) / jnp.maximum(jnp.abs(x), 1.0)
            stalled = _stalled(step, st["step"], rounding, st["rounding"])
            done = bad | (e.f1 == 0) | (step <= xtol) | (x_hi - x_lo <= tol_x) | stalled
            live = ~st["done"]
            keep = lambda new, old: jnp.where(live, new, old)  # noqa: E731
            return dict(theta=theta, x=keep(jnp.where(done, x, x_inner), st["x"]), t_lo=st["t_lo"], t_hi=st["t_hi"],
                        x_lo=x_lo, x_hi=x_hi, fresh=fresh, it=st["it"] + live.astype(jnp.int32), done=st["done"] | done,
                        bad=st["bad"] | (live & bad), res=keep(jnp.abs(e.f1), st["res"]), step=keep(step, st["step"]),
                        rounding=keep(rounding, st["rounding"]))
        # outer: the joint Newton step once the inner step is small
        inner_ok = jnp.abs(dx) <= _INNER_TOL
        r = e.lam - target + e.lam_x * dx  # calibration residual at the linearised fixed point
        dx_dtheta = -e.f1_theta / e.f1_x
        slope = e.lam_theta + e.lam_x * dx_dtheta
        trusted = inner_ok & (jnp.abs(r) > 4.0 * jnp.abs(e.lam_x * dx))
        left = special | (trusted & (r < 0))
        right = ~special & trusted & (r > 0)
        t_lo = jnp.where(left, jnp.maximum(theta, st["t_lo"]), st["t_lo"])
        t_hi = jnp.where(right, jnp.minimum(theta, st["t_hi"]), st["t_hi"])
        dtheta = -r / slope
        cand = theta + dtheta
        bounded = jnp.isfinite(t_hi)
        ok_newton = (~special & jnp.isfinite(cand) & (slope > 0) & (cand >= t_lo) & (cand <= t_hi)
                     & (~bounded | (jnp.abs(dtheta) < 0.5 * (t_hi - t_lo))) & (cand <= 2.0 * theta + 1.0))
        fallback = jnp.where(bounded, 0.5 * (t_lo + t_hi), 2.0 * jnp.maximum(theta, t_lo) + 1.0)
        outer = inner_ok | special
        theta_new = jnp.where(outer, jnp.where(ok_newton, cand, fallback), theta)
        x_joint = x + dx + dx_dtheta * (theta_new - theta)
        x_new = jnp.where(outer, jnp.where(special, jnp.nan, x_joint), x_inner)
        # the calibration residual's rounding level includes that of x (F1's over its slope)
        x_noise = jnp.where(sane, _ROUNDING * eps_m * e.scale_f1 / e.f1_x, jnp.inf)
        lam_noise = _ROUNDING * eps_m * (target + e.scale_lam) + jnp.abs(e.lam_x) * x_noise
        rounding = rounding & (jnp.abs(e.lam - target) <= lam_noise)
        step = jnp.maximum(jnp.abs(dtheta) / jnp.maximum(jnp.abs(theta), 1.0),
                           jnp.abs(dx + dx_dtheta * dtheta) / jnp.maximum(jnp.abs(x), 1.0))
        step = jnp.where(sane & (slope > 0) & jnp.isfinite(step), step, jnp.inf)
        joint = inner_ok & ~special
        done = bad | (joint & ((step <= xtol) | _stalled(step, st["step"], rounding, st["rounding"])))
        live = ~st["done"]
        keep = lambda new, old: jnp.where(live & ~done, new, old)  # noqa: E731
        return dict(theta=jnp.where(live & ~done, theta_new, jnp.where(live, theta, st["theta"])),
                    x=jnp.where(live & ~done, x_new, jnp.where(live, x, st["x"])),
                    t_lo=keep(t_lo, st["t_lo"]), t_hi=keep(t_hi, st["t_hi"]),
                    x_lo=keep(x_lo, st["x_lo"]), x_hi=keep(x_hi, st["x_hi"]), fresh=keep(outer, st["fresh"]),
                    it=st["it"] + live.astype(jnp.int32), done=st["done"] | done, bad=st["bad"] | (live & bad),
                    res=jnp.where(live, jnp.abs(e.lam - target), st["res"]),
                    step=jnp.where(live & joint, step, st["step"]),
                    rounding=jnp.where(live & joint, rounding, st["rounding"]))

    st = jax.lax.while_loop(cond, body, st0)
    theta = st["theta"]
    th = _theta_terms(theta, delta, eps, v, s2)
    status = jnp.where(st["bad"], int(Status.NONFINITE), jnp.where(
        st["done"], _OK,
        jnp.where(calibrate & ~jnp.isfinite(st["t_hi"]), int(Status.NO_BRACKET), int(Status.MAX_ITERATIONS))))
    status = jnp.where(skip, _OK, status).astype(jnp.int32)
    return _Solve(theta, st["x"], th.recovered, th.valid, status, st["it"], st["res"])


@partial(jax.custom_jvp, nondiff_argnums=(0,))
def _se_solve(calibrate, delta, target, eps, v, s2, skip):
    """:func:`_newton_search` with implicit-function derivatives (the iterations are never
    differentiated): ``d(threshold, x) = -J^{-1} dF`` with ``J`` the analytic Jacobian of
    ``F = (F1, l1_penalty - target)`` at the root and ``dF`` its parameter derivative (``jax.jvp``);
    at a given threshold ``dx = -dF1 / F1_x``.  Zero at the explicit branches (``tau* = 0``, ``inf``,
    skipped points)."""
    return _newton_search(calibrate, delta, target, eps, v, s2, skip)


@_se_solve.defjvp
def _se_solve_jvp(calibrate, primals, tangents):
    delta, target, eps, v, s2, skip = primals
    out = _se_solve(calibrate, *primals)
    regular = (out.status == _OK) & out.valid & ~out.recovered & ~skip
    theta = jnp.where(regular, out.theta, 1.0)
    x = jnp.where(regular, out.x, 0.0)

    def residuals(params):
        d, lam, e, var, noise = params
        th = theta if calibrate else lam
        ev = _evaluate(th, x, _theta_terms(th, d, e, var, noise), d, e, var, noise)
        return ev.f1, ev.lam - lam, ev

    params = (delta, target, eps, v, s2)
    (_, _, ev), (df1, dr, _) = jax.jvp(residuals, (params,), (tuple(tangents[:5]),))
    if calibrate:
        det = ev.f1_theta * ev.lam_x - ev.f1_x * ev.lam_theta
        det = jnp.where(regular, det, 1.0)
        dtheta = jnp.where(regular, (ev.f1_x * dr - ev.lam_x * df1) / det, 0.0)
        dx = jnp.where(regular, (ev.lam_theta * df1 - ev.f1_theta * dr) / det, 0.0)
    else:
        dtheta = jnp.where(skip, 0.0, tangents[1])
        dx = jnp.where(regular, -df1 / jnp.where(regular, ev.f1_x, 1.0), 0.0)
    float0 = lambda a: np.zeros(np.shape(a), jax.dtypes.float0)  # noqa: E731
    return out, _Solve(dtheta, dx, float0(out.recovered), float0(out.valid), float0(out.status),
                       float0(out.iterations), jnp.zeros_like(out.residual))


def _lambda_of(theta, tau2, delta, eps, v):
    """``l1_penalty = threshold tau (1 - nnz/alpha)`` (``0`` at ``threshold = 0`` or ``tau = 0``)."""
    finite = jnp.isfinite(tau2)
    t = jnp.where(finite & (tau2 > 0), tau2, 1.0)
    lam = theta * jnp.sqrt(t) * (1.0 - _nnz(t, theta, eps, v) / delta)
    return jnp.where((theta == 0) | (tau2 == 0), 0.0, jnp.where(finite, lam, -jnp.inf))


def _observables(theta, tau2, delta, eps, v):
    finite = jnp.isfinite(tau2)
    zero = tau2 == 0
    t = jnp.where(finite & ~zero, tau2, 1.0)
    mse = jnp.where(zero, 0.0, jnp.where(finite, t * _psi_over_t(t, theta, eps, v), jnp.inf))
    nnz = jnp.where(zero, eps, jnp.where(finite, _nnz(t, theta, eps, v), 1.0))
    ratio = 1.0 - nnz / delta
    train = jnp.where(zero, 0.0, jnp.where(finite, t * ratio * ratio, jnp.where(ratio == 0, 0.0, jnp.inf)))
    return mse, nnz, train


def _threshold_point(delta, theta, eps, v, s2):
    sol = _se_solve(False, delta, theta, eps, v, s2, jnp.zeros(jnp.shape(theta), bool))
    tau2 = jnp.where(sol.recovered, 0.0, jnp.where(sol.valid, jnp.exp(jnp.where(sol.valid, sol.x, 0.0)), jnp.inf))
    mse, nnz, train = _observables(theta, tau2, delta, eps, v)
    lam = jnp.where(sol.status == _OK, _lambda_of(theta, tau2, delta, eps, v), jnp.nan)
    return mse, nnz, train, tau2, theta, lam, sol.status, sol.iterations, sol.residual


def _dslope0(t, e):
    return _no_aux(2.0 * (1.0 - e) * _g_prime(t) + 2.0 * e * t)


def _slope0_excess(t, args):
    return _no_aux(_slope0(t, args[1]) - args[0])


def _noiseless_min_l1_threshold(delta, eps):
    """Largest root of ``slope0(threshold) = alpha``, whether one exists, and the searches' status."""
    star, _ = _root(_dslope0, jnp.zeros_like(eps), 40.0 + jnp.zeros_like(eps), eps)
    t_star = star.root
    recovered = _slope0(t_star, eps) <= delta
    top = t_star + jnp.sqrt(delta / eps) + 1.0
    upper, _ = _root(_slope0_excess, t_star, top, (delta, eps))
    return upper.root, recovered, _first_failure(star.status, upper.status)


def _l1_point(delta, lam, eps, v, s2, t2, noiseless_recovered, status_t2):
    below = delta < 1.0
    least_squares = (~below) & (lam == 0)
    basis_pursuit_exact = below & (lam == 0) & (s2 == 0) & noiseless_recovered
    explicit = least_squares | basis_pursuit_exact
    sol = _se_solve(True, delta, lam, eps, v, s2, explicit)

    # Least squares (alpha >= 1, l1_penalty = 0): tau^2 = noise alpha / (alpha - 1) in closed form
    # (inf at alpha = 1 with noise; 0 without noise).  Noiseless basis pursuit below the
    # transition: tau = 0 exactly (t2 is a root of slope0 = alpha: the boundary of recovery).
    over = delta > 1.0
    tau2_ls = jnp.where(over, s2 * delta / jnp.where(over, delta - 1.0, 1.0), jnp.where(s2 > 0, jnp.inf, 0.0))
    theta = jnp.where(least_squares, 0.0, jnp.where(basis_pursuit_exact, t2, sol.theta))
    tau2 = jnp.where(least_squares, tau2_ls, jnp.where(basis_pursuit_exact, 0.0, jnp.exp(sol.x)))
    status = jnp.where(least_squares, _OK, jnp.where(basis_pursuit_exact, status_t2, sol.status))
    iterations = jnp.where(explicit, 0, sol.iterations)
    residual = jnp.where(explicit, 0.0, sol.residual)
    mse, nnz, train = _observables(theta, tau2, delta, eps, v)
    theta = jnp.where(status == _OK, theta, jnp.nan)
    return mse, nnz, train, tau2, theta, lam, status, iterations, residual


# ---------------------------------------------------------------------------------------------
# Grid kernels (numerics.grid.evaluate: precision, buckets, compiled-program cache, failures).


def _assemble(mse, nnz, train, tau2, theta, lam, status, iterations, residual):
    failed = status != _OK  # a point whose solve failed is NaN (its status says why)
    mse, nnz, train, tau2 = (jnp.where(failed, jnp.nan, f) for f in (mse, nnz, train, tau2))
    return LassoTheory(mse, nnz, train, tau2, theta, lam, Diagnostics(status.astype(jnp.int32), iterations, residual))


def _threshold_kernel(alpha, theta, eps, v, s2):
    return _assemble(*map_points(_threshold_point, (alpha, theta, eps, v, s2), work_per_point=_WORK_PER_POINT))


def _l1_kernel(alpha, lam, eps, v, s2, *, noiseless=True):
    # The noiseless basis-pursuit threshold (two root searches) only when some point needs it:
    # compiled only when ``noiseless`` (theory() passes False for concrete grids without such a
    # point: a shorter compilation), and run only when a point needs it.
    def searches(_):
        return map_points(_noiseless_min_l1_threshold, (alpha, eps))

    def none(_):
        return jnp.zeros_like(alpha), jnp.zeros(alpha.shape, bool), jnp.full(alpha.shape, _OK, jnp.int32)

    if noiseless:
        need = (lam == 0) & (s2 == 0) & (alpha < 1.0)
        t2, recovered, status = jax.lax.cond(jnp.any(need), searches, none, None)
    else:
        t2, recovered, status = none(None)
    points = (alpha, lam, eps, v, s2, t2, recovered, status.astype(jnp.int32))
    return _assemble(*map_points(_l1_point, points, work_per_point=_WORK_PER_POINT))


class _ThresholdMin(NamedTuple):
    threshold: jax.Array
    diagnostics: Diagnostics


class _Transition(NamedTuple):
    rho: jax.Array
    maximizer: jax.Array
    diagnostics: Diagnostics


def _threshold_min_kernel(alpha):
    tmin, status, iterations, residual = map_points(_threshold_min_point, (alpha,))
    return _ThresholdMin(tmin, Diagnostics(status.astype(jnp.int32), iterations, residual))


def _transition_kernel(alpha):
    rho, z, status, iterations, residual = map_points(_transition_point, (alpha,))
    return _Transition(rho, z, Diagnostics(status.astype(jnp.int32), iterations, residual))


# ---------------------------------------------------------------------------------------------
# Public functions.


def threshold_min(alpha, *, dtype="float64"):
    """Smallest admissible SE threshold: ``(2/alpha) g(t) = 1`` for ``alpha < 1``, ``0`` for ``alpha >= 1``.

    ``g(t) = (1 + t^2) Phi(-t) - t phi(t)``.  For thresholds above it the SE map has asymptotic
    slope ``2 g(threshold) / alpha < 1`` and a unique fixed point (Bayati & Montanari 2012,
    Prop. 1.3; ``docs/theory/lasso.md``).  ``alpha = n/N > 0`` (broadcast array).  Raises
    :class:`~overparam_theory.numerics.diagnostics.ConvergenceError` (a ``RuntimeError``) if a
    root search failed.
    """
    alpha, dtype = ALPHA.check(alpha), _DTYPE.check(dtype)
    out = evaluate(_threshold_min_kernel, (alpha,), dtype=dtype, on_failure="raise", what="lasso.threshold_min root",
                   min_bucket=_MIN_BUCKET)
    return out.threshold


def phase_transition(alpha, *, dtype="float64", return_maximizer=False):
    """Noiseless LASSO / basis-pursuit phase transition ``rho_SE(alpha)`` (Donoho-Tanner weak threshold).

    ``rho_SE(alpha) = max_{z > 0} [1 - (2/alpha) g(z)] / [1 + z^2 - 2 g(z)]``: with ``noise = 0``
    and ``l1_penalty -> 0`` (basis pursuit), recovery is exact iff ``sparsity / alpha <
    rho_SE(alpha)``.  It coincides with the Donoho-Tanner weak threshold of the cross-polytope
    (Donoho, Maleki & Montanari, PNAS 2009, whose parametric form is
    ``alpha = 2 phi(z) / (z + 2 (phi(z) - z Phi(-z)))``, ``rho = 1 - z Phi(-z) / phi(z)``).

    The maximum is located by a bracketed root (regula falsi with bisection safeguards) of the
    derivative of the ratio on ``(threshold_min(alpha), threshold_min(alpha) + 8)`` (vmapped);
    agrees with the parametric form to ~1e-15 (tests: 1e-9).
    ``alpha >= 1``: ``1`` at ``alpha = 1`` (the supremum, attained as ``z -> 0``) and ``inf`` for
    ``alpha > 1`` (every sparsity is recovered: ``A`` has full column rank).

    Args:
        alpha: ``n/N > 0`` (broadcast array).
        return_maximizer: also return the maximising ``z`` (the minimax threshold).
    """
    alpha, dtype = ALPHA.check(alpha), _DTYPE.check(dtype)
    out = evaluate(_transition_kernel, (alpha,), dtype=dtype, on_failure="raise", what="lasso.phase_transition root",
                   min_bucket=_MIN_BUCKET)
    return (out.rho, out.maximizer) if return_maximizer else out.rho


def resolve_penalty(alpha, l1_penalty, threshold, *, simulate=False):
    """The cross-field rules on ``l1_penalty`` / ``threshold`` (single values are checked by PARAMS):
    exactly one of them (``simulate`` takes ``l1_penalty`` only), and a ``threshold`` above
    ``threshold_min(alpha)`` (``0`` allowed for ``alpha > 1``).  ``ValueError`` otherwise."""
    if simulate and (threshold is not None or l1_penalty is None):
        raise ValueError(
            "simulate takes l1_penalty (the LASSO penalty lam >= 0), not threshold; "
            "use theory(threshold=...).l1_penalty to convert"
        )
    if (l1_penalty is None) == (threshold is None):
        raise ValueError(
            "give exactly one of l1_penalty (the LASSO penalty lam >= 0) and threshold (the SE threshold "
            f"> threshold_min(alpha)); got {'both' if l1_penalty is not None else 'neither'}"
        )
    if threshold is not None and not (is_traced(alpha) or is_traced(threshold)):
        a_b, t_b = np.broadcast_arrays(alpha, threshold)
        tmin = threshold_min(a_b)
        ok = (t_b > tmin) | ((t_b == 0) & (a_b > 1))
        if not np.all(ok):
            i = np.flatnonzero(~np.asarray(ok).ravel())[0]
            a_i, t_i, m_i = a_b.ravel()[i], t_b.ravel()[i], np.asarray(tmin).ravel()[i]
            raise ValueError(
                f"threshold must be > threshold_min(alpha) = {m_i:.10g} at alpha={a_i:g} (the root of "
                f"(2/alpha) g(t) = 1 for alpha < 1, 0 for alpha >= 1; threshold = 0 is allowed for alpha > 1), "
                f"got threshold={t_i:g}"
            )


@validated(PARAMS, "theory")
def theory(
    *, alpha, l1_penalty, threshold, sparsity, noise, nonzero_variance, dtype, on_failure
) -> LassoTheory:
    """Asymptotic mse, support size and training error of the LASSO (AMP state evolution).

    ``x_hat = argmin_x (1/2)||y - A x||^2 + l1_penalty ||x||_1``, ``y = A x0 + w``,
    ``A_ij ~ N(0, 1/n)``, ``w ~ N(0, noise I_n)``, ``x0_i ~ (1 - sparsity) delta_0 +
    sparsity N(0, nonzero_variance)``, ``n/N -> alpha``.  scikit-learn:
    ``Lasso(alpha=l1_penalty / n, fit_intercept=False)``.  See the module docstring
    (and ``docs/theory/lasso.md``) for the equations and the explicit special cases.

    Args:
        alpha: ``n/N > 0`` (the spec's ``delta``).
        l1_penalty: LASSO penalty ``lam >= 0``; ``0`` is least squares (``alpha > 1``) or the
            ``lam -> 0+`` min-l1 / basis-pursuit limit (``alpha < 1``).
        threshold: the SE threshold parameter instead (the spec's ``alpha``):
            ``> threshold_min(alpha)`` (``0`` allowed for ``alpha > 1``).  Exactly one of
            ``l1_penalty`` and ``threshold``.
        sparsity: fraction ``eps`` in ``(0, 1]`` of non-zero coordinates of ``x0``.
        noise: noise variance ``sigma^2 >= 0`` (``0`` is the explicit noiseless case).
        nonzero_variance: variance ``v > 0`` of the non-zero coordinates.
        dtype: ``"float64"`` (default; x64 enabled locally) or ``"float32"``.
        on_failure: ``"warn"``, ``"raise"`` or ``"ignore"`` for points whose root solves did
            not converge (they are NaN and flagged in ``diagnostics``).

    All parameters broadcast together; the grid is evaluated by one jitted, vmapped call.
    Gradients (``jax.grad`` through this function) with respect to ``alpha``, ``l1_penalty``
    / ``threshold``, ``noise``, ``sparsity`` and ``nonzero_variance`` use the implicit function
    theorem on the two roots (calibration and fixed point); at ``noise = 0`` in the exact
    recovery region they are the (zero) derivatives of the ``tau = 0`` branch.

    At a fixed ``threshold`` the mse increases with ``noise``; at a fixed ``l1_penalty`` it need
    not (the calibrated threshold moves): e.g. ``alpha = 1, sparsity = 0.5, l1_penalty = 2`` gives
    0.4357 at ``noise = 0`` and 0.4243 at ``noise = 0.3`` (confirmed by simulation).

    Returns:
        :class:`LassoTheory`.

    References:
        M. Bayati, A. Montanari, The LASSO risk for Gaussian matrices, IEEE TIT 58(4), 2012
        (arXiv:1008.2581), Thm 1.4; D. L. Donoho, A. Maleki, A. Montanari, PNAS 106(45), 2009;
        IEEE TIT 57(10), 2011.
    """
    resolve_penalty(alpha, l1_penalty, threshold)
    what = "lasso state-evolution root"
    static = None
    if l1_penalty is not None:
        grid, kernel = (alpha, l1_penalty, sparsity, nonzero_variance, noise), _l1_kernel
        if not any(is_traced(p) for p in (alpha, l1_penalty, noise)):  # basis pursuit without noise?
            static = {"noiseless": bool(np.any((np.asarray(l1_penalty) == 0) & (np.asarray(noise) == 0)
                                               & (np.asarray(alpha) < 1)))}
    else:
        grid, kernel = (alpha, threshold, sparsity, nonzero_variance, noise), _threshold_kernel
    return evaluate(kernel, grid, static=static, dtype=dtype, on_failure=on_failure, what=what, min_bucket=_MIN_BUCKET)
