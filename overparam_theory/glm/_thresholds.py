"""Capacity, separability thresholds and the max-margin classifier (classification.md sections 2-3).

Conventions are those of ``classification.md``: inputs ``x ~ N(0, I_d)``, ``alpha = n / d``,
teacher field ``z = x . w* / sqrt(d) ~ N(0, signal)``, labels from one of the symmetric channels
of :mod:`._channels` (``noise`` is a *variance* for every teacher, ``flip`` a label-flip
probability).  ``E_xi`` is over ``xi ~ N(0, 1)``, ``H(a) = 1 - Phi(a)``.

Public functions (keyword-only arguments that broadcast together; results are NamedTuples of
float64 NumPy arrays shaped like the broadcast arguments):

* :func:`gardner_capacity` -- storage capacity ``alpha_c(kappa)`` of random labels (Gardner 1988);
* :func:`cover_separability_probability` -- Cover's (1965) finite-size separability probability;
* :func:`separability_threshold` -- ``alpha_s`` above which teacher-student data with noisy
  labels are no longer linearly separable (no bias);
* :func:`logistic_mle_boundary` -- Candès & Sur's existence boundary ``kappa = p / n = h`` of the
  logistic-regression MLE, with or without an intercept;
* :func:`max_margin` -- asymptotics of the hard-margin SVM without bias (margin, overlap,
  errors, support-vector fraction).

Numerics.  Every Gaussian average is a composite Gauss-Legendre rule
(:func:`~overparam_theory.numerics.gaussian.normal_panel_rule`) with panel boundaries at the
kinks of the integrand and geometrically graded panels (factor 2, from 1/8 to 64 widths) around
every narrow feature: the teacher step ``P_+`` (width ``sqrt(noise/signal)`` for the threshold,
``sqrt(1 - R^2 + noise/signal) / R`` for the max-margin equations) and the decay scale ``1 / t``
of ``g(t V)``.  The breakpoints are held fixed under differentiation (``stop_gradient``); the
integrals are continuous in them.  Doubling the rule (20 nodes per panel, 48 uniform panels)
changes thresholds by <= 3e-16 and max-margin outputs by <= 3e-11 relative.

Solvers.  Convex one-dimensional minimisations (the thresholds) bisect the sign of the
derivative over a fixed log grid, then refine with a safeguarded Newton (``rtsafe``-type, slope
by ``jax.jvp``).  Nested problems (``kappa(R)`` inside the max over ``R``; ``t0(t1)`` inside the
intercept boundary) solve the inner root by safeguarded Newton and the outer one by a
derivative-free Illinois regula falsi between bracketing grid points, so that no derivative is
taken through an inner solve.  The solvers are local to this module, written so that every
function is traced once per loop (XLA's CPU compile time grows with each traced copy); the
public functions are float64, batched (padded to a power-of-two batch, so different sizes share
compiled code) and not meant to be differentiated.  See each function for its grid and range.
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from scipy import special as sps

from .._precision import precision
from .._results import finalize
from .._validation import broadcast, choice, is_traced, real_array
from ..numerics.fixed_point import check_convergence
from ..numerics.gaussian import normal_cdf, normal_panel_rule, normal_pdf
from ._channels import CLASSIFIERS, Channel, p_plus, test_errors

__all__ = [
    "GardnerCapacity",
    "CoverSeparability",
    "SeparabilityThreshold",
    "LogisticMLEBoundary",
    "MaxMargin",
    "NotSeparableWarning",
    "gardner_capacity",
    "cover_separability_probability",
    "separability_threshold",
    "logistic_mle_boundary",
    "max_margin",
]

FAILURE_MODES = ("warn", "raise", "ignore")

# Graded panels around a narrow feature of width w: boundaries at c +/- w * 2^k.
_GRADES = 2.0 ** np.arange(-3, 7)
# Threshold minimisation over t >= 0: scan of F'(t) (4 points per decade).
_T_GRID = np.geomspace(1e-8, 1e120, 513)  # searched by bisection (10 evaluations)
_OUTER_XTOL = 1e-12  # outer (derivative-free) solves: the objective is flat at its optimum
_T0_BRACKET = 60.0  # intercept coefficient t0 of the logistic-MLE boundary lies in +/- this
_T1_GRID = np.geomspace(1e-8, 1e8, 65)
# Max-margin: u = -log(1 - R) from R = 0 to 1 - R = 1e-12 (the spec asks for 1e-9).
_U_MAX = -math.log(1e-12)
# The scan only brackets the maximum of kappa(R) (refined by Illinois), so it can be coarse.
_U_GRID = np.concatenate([np.linspace(0.0, 2.0, 9), np.linspace(2.5, _U_MAX, 30)])


class NotSeparableWarning(RuntimeWarning):
    """Issued by :func:`max_margin` for points with ``alpha >= alpha_s`` (no max-margin solution)."""


# --------------------------------------------------------------------------------------------
# Result types
# --------------------------------------------------------------------------------------------


class GardnerCapacity(NamedTuple):
    """Gardner capacity of random (unbiased) labels at margin ``kappa``.

    Attributes:
        alpha_c: ``1 / [(1 + kappa^2) Phi(kappa) + kappa phi(kappa)]`` (``2`` at ``kappa = 0``).
        support_vector_fraction: ``Phi(kappa)``, the fraction of samples on the margin at capacity
            (``alpha_c * Phi(kappa) <= 1`` support vectors per dimension; ``= 1`` at ``kappa = 0``).
    """

    alpha_c: jax.Array
    support_vector_fraction: jax.Array


class CoverSeparability(NamedTuple):
    """Cover's probability that ``n`` points in general position with random labels are
    linearly separable through the origin in ``R^d``.

    Attributes:
        probability: ``2^{1-n} sum_{k<d} binom(n-1, k)`` (``1`` for ``n <= d``; ``1/2`` exactly at
            ``n = 2 d``).
        log_probability: its natural logarithm, finite even where ``probability`` underflows.
    """

    probability: np.ndarray
    log_probability: np.ndarray


class SeparabilityThreshold(NamedTuple):
    """Separability threshold of teacher-student data (no bias), classification.md section 2.

    Attributes:
        alpha_s: ``n / d`` above which the data are not linearly separable; ``inf`` for a
            noiseless teacher, ``2`` for labels independent of the inputs.
        t_opt: the minimiser ``t >= 0`` of ``E[(Z - t y V)_+^2]`` (``inf`` when noiseless).
        cosine: overlap ``R = t / sqrt(1 + t^2)`` of the max-margin direction with the teacher at
            the threshold.
        converged, iterations, residual: diagnostics of the minimisation (``residual`` =
            ``|t dF/dt| / F`` at ``t_opt``).
    """

    alpha_s: jax.Array
    t_opt: jax.Array
    cosine: jax.Array
    converged: jax.Array
    iterations: jax.Array
    residual: jax.Array


class LogisticMLEBoundary(NamedTuple):
    """Existence boundary of the logistic-regression MLE (Candès & Sur 2020).

    Attributes:
        kappa: ``h = p / n`` at the boundary: the MLE exists (w.h.p.) iff ``p / n < kappa``.
        alpha: ``n / p = 1 / kappa`` (the separability threshold ``alpha_s``).
        t_intercept: minimiser ``t0`` (``0`` without intercept).
        t_slope: minimiser ``t >= 0`` (the ``t1`` of Candès & Sur).
        converged, iterations, residual: diagnostics (``residual`` = gradient norm at the
            minimiser).
    """

    kappa: jax.Array
    alpha: jax.Array
    t_intercept: jax.Array
    t_slope: jax.Array
    converged: jax.Array
    iterations: jax.Array
    residual: jax.Array


class MaxMargin(NamedTuple):
    """Asymptotics of the hard-margin SVM without bias (classification.md section 2).

    Attributes:
        margin: ``kappa = min_mu y_mu x_mu . w / |w|`` (unnormalised inputs ``x ~ N(0, I_d)``).
        cosine: ``R = m / sqrt(signal q)``, the cosine between ``w`` and the teacher.
        m, q: overlaps in the normalisation ``min |w|^2`` s.t. ``y x . w / sqrt(d) >= 1``:
            ``q = |w|^2 / d = 1 / kappa^2``, ``m = w . w* / d = R sqrt(signal q)``.
        clean_test_error: ``arccos(R) / pi`` (disagreement with ``sign(z)``).
        test_error: error on a fresh noisy label (sign + flip: ``flip + (1 - 2 flip) clean``;
            probit: ``arccos(R sqrt(signal / (signal + noise))) / pi``; logistic: see
            :func:`~overparam_theory.glm._channels.test_errors`).
        support_vector_fraction: ``P(y xi < kappa)``, support vectors per sample (their number
            per dimension, ``alpha`` times this, is ``< 1``, ``-> 1`` at ``alpha_s``).
        separable: ``alpha < alpha_s`` (the max-margin solution exists).
        converged: the solve succeeded *and* the point is separable.
        iterations: Newton/bisection steps of the outer (``R``) and final inner (``kappa``) solves.
        residual: ``max`` of the relative residual of equation (1) and the residual of (2).
    """

    margin: jax.Array
    cosine: jax.Array
    m: jax.Array
    q: jax.Array
    clean_test_error: jax.Array
    test_error: jax.Array
    support_vector_fraction: jax.Array
    separable: jax.Array
    converged: jax.Array
    iterations: jax.Array
    residual: jax.Array


# --------------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------------


def _to_numpy(result):
    if any(is_traced(leaf) for leaf in jax.tree_util.tree_leaves(result)):
        return result
    return jax.tree_util.tree_map(np.asarray, result)


def _int_array(name, value, minimum):
    arr = np.asarray(value)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"{name} must be an integer or array of integers >= {minimum}, got {value!r}")
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise ValueError(f"{name} must be an integer or array of integers >= {minimum}, got {value!r}")
    if np.any(arr < minimum):
        bad = arr[arr < minimum].ravel()[0]
        raise ValueError(f"{name} must be an integer >= {minimum}, got {bad}")
    return arr.astype(np.int64)


def _channel_parameters(teacher, noise, flip, signal):
    """Validate a classification channel; returns ``(noise, flip, signal)`` as arrays."""
    choice("teacher", teacher, CLASSIFIERS)
    noise = real_array("noise", noise, low=0.0)
    flip = real_array("flip", flip, low=0.0, high=0.5)
    signal = real_array("signal", signal, low=0.0, low_open=True)
    if teacher == "sign" and not is_traced(noise) and np.any(noise != 0):
        raise ValueError(
            "noise must be 0 for the sign teacher (it has no pre-activation noise); "
            "use teacher='probit' or 'logistic' for noisy pre-activations, or flip for label flips"
        )
    return noise, flip, signal


def _flat(shape, *arrays):
    """Broadcast to ``shape``, flatten and pad (repeating the first point) to a power-of-two
    length, so that calls with different sizes share compiled code (float64 JAX arrays; call
    inside ``precision``).  :func:`_unflatten` drops the padding."""
    size = int(np.prod(shape, dtype=np.int64))
    padded = 1 << max(size - 1, 0).bit_length()
    out = []
    for a in arrays:
        flat = jnp.ravel(jnp.broadcast_to(jnp.asarray(a, jnp.float64), shape))
        if size == 0:
            flat = jnp.zeros(1, jnp.float64) + jnp.asarray(1.0, jnp.float64)
        out.append(jnp.concatenate([flat, jnp.broadcast_to(flat[:1], (padded - flat.shape[0],))]))
    return tuple(out)


def _unflatten(result, shape):
    size = int(np.prod(shape, dtype=np.int64))
    return jax.tree_util.tree_map(lambda a: jnp.reshape(a[:size], shape), result)


# --------------------------------------------------------------------------------------------
# Elementary Gaussian pieces
# --------------------------------------------------------------------------------------------


def _g(a):
    """``E_Z[(Z - a)_+^2] = (1 + a^2) H(a) - a phi(a)``."""
    return (1.0 + a * a) * normal_cdf(-a) - a * normal_pdf(a)


def _g_prime(a):
    """``g'(a) = -2 E_Z[(Z - a)_+] = -2 (phi(a) - a H(a))``."""
    return -2.0 * (normal_pdf(a) - a * normal_cdf(-a))


def _graded(center, width):
    s = width * jnp.asarray(_GRADES, jnp.float64)
    return jnp.concatenate([center - s, center + s])


def _clip_width(w):
    return jnp.clip(jnp.where(jnp.isfinite(w), w, 1e3), 1e-300, 1e3)


def _rule(*pieces):
    bp = jax.lax.stop_gradient(jnp.concatenate([jnp.atleast_1d(p) for p in pieces]))
    return normal_panel_rule(bp)


class _Root(NamedTuple):
    root: jax.Array
    converged: jax.Array
    iterations: jax.Array
    residual: jax.Array


def _newton(f, a, b, args, *, x0=None, xtol=1e-14, max_iter=200):
    """Root of ``f(x, args)``, increasing through a sign change on ``[a, b]`` with ``f(a) <= 0 <=
    f(b)`` known in advance (``a`` may be where ``f = -inf``): safeguarded Newton (``rtsafe``).

    Unlike :func:`~overparam_theory.numerics.roots.bracketed_root` the end values are not
    evaluated, and the loop body holds the only copy of ``f`` (value and slope by ``jax.jvp``):
    these solves are nested inside scans and outer solves, and XLA's CPU compile time grows with
    every traced copy.  No implicit derivative is defined (the public functions are not meant to
    be differentiated).  ``converged`` needs a small final step, a finite value and ``|f|`` at
    the level of the step times the slope (a spurious "root" at a bracket end is rejected).
    """
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
    return _Root(x, converged, it, jnp.abs(fx))


def _first_nonneg(f, grid):
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


def _illinois(f, a, b, fa, fb, *, xtol=1e-13, max_iter=100):
    """Derivative-free root of ``f`` on ``[a, b]`` with known end values ``fa``, ``fb`` of
    opposite signs (regula falsi, Illinois variant; superlinear, order ~1.44), vmappable.

    ``f(x) -> (value, aux)``; returns ``(root, converged, iterations, |value|, aux)`` at the last
    evaluated point.  Used for the outer problems whose value contains an inner root solve: no
    derivative of the inner solve is needed, and the loop body is its only traced copy.
    """
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


# --------------------------------------------------------------------------------------------
# 1. Gardner capacity and Cover's formula
# --------------------------------------------------------------------------------------------


def gardner_capacity(*, margin=0.0) -> GardnerCapacity:
    """Gardner's storage capacity of a spherical perceptron (no bias) for random labels.

    ``alpha_c(kappa) = 1 / [(1 + kappa^2) Phi(kappa) + kappa phi(kappa)]``: for ``alpha < alpha_c``
    ``n = alpha d`` random labels can be realised with margin ``kappa`` (inputs ``N(0, I_d)``,
    ``min_mu y_mu x_mu . w / |w| >= kappa``).  ``alpha_c(0) = 2`` exactly (Cover).

    Args:
        margin: ``kappa >= 0`` (array).  Negative margins are rejected: there the problem is
            non-convex and this replica-symmetric formula is not exact.

    Returns:
        :class:`GardnerCapacity`.

    References: E. Gardner, J. Phys. A 21 (1988) 257; classification.md section 2.
    """
    kappa = real_array("margin", margin, low=0.0)
    with precision("float64"):
        k = jnp.asarray(kappa, jnp.float64)
        cdf = normal_cdf(k)
        result = GardnerCapacity(1.0 / ((1.0 + k * k) * cdf + k * normal_pdf(k)), cdf)
    return _to_numpy(result)


def _log_binom_cdf_half(k, n):
    """``log P(Binomial(n, 1/2) <= k)`` for ``k < n / 2`` (lower tail) by the series of pmf ratios."""
    log_pmf = sps.gammaln(n + 1.0) - sps.gammaln(k + 1.0) - sps.gammaln(n - k + 1.0) - n * math.log(2.0)
    total, term, j = 1.0, 1.0, 0
    while j < k:
        term *= (k - j) / (n - k + 1.0 + j)
        total += term
        j += 1
        if term < 1e-17 * total:
            break
    return log_pmf + math.log(total)


def cover_separability_probability(*, n_samples, dim) -> CoverSeparability:
    """Cover's (1965) probability that ``n`` random dichotomies of points in general position in
    ``R^d`` are separable by a hyperplane through the origin.

    ``P = 2^{1-n} sum_{k=0}^{d-1} binom(n-1, k) = P(Binomial(n-1, 1/2) <= d-1)``, evaluated with
    the regularised incomplete beta function on the smaller tail (relative accuracy in both
    tails; ``1 - P`` is never formed by cancellation for ``P < 1/2``), exactly ``1/2`` at
    ``n = 2 d`` and exactly ``1`` for ``n <= d``.  ``log_probability`` stays finite where ``P``
    underflows (a series of pmf ratios in log space).

    Args:
        n_samples: number of points ``n >= 1`` (integer array).
        dim: dimension ``d >= 1`` (integer array); broadcasts with ``n_samples``.

    Returns:
        :class:`CoverSeparability` of float64 arrays.
    """
    n = _int_array("n_samples", n_samples, 1)
    d = _int_array("dim", dim, 1)
    shape = broadcast(n_samples=n, dim=d)
    nn = np.broadcast_to(n - 1, shape)  # Binomial size N = n - 1
    kk = np.broadcast_to(d - 1, shape)  # cdf at k = d - 1
    prob = np.empty(shape)
    logp = np.empty(shape)
    for idx in np.ndindex(*shape):
        N, k = int(nn[idx]), int(kk[idx])
        if k >= N:
            p, lp = 1.0, 0.0
        elif 2 * k + 1 == N:
            p, lp = 0.5, -math.log(2.0)
        elif 2 * k + 1 < N:  # lower tail: direct
            p = float(sps.bdtr(k, N, 0.5))
            lp = math.log(p) if p > 1e-290 else _log_binom_cdf_half(float(k), float(N))
        else:  # upper: 1 - P(B <= N - k - 1) by symmetry, the subtracted tail computed directly
            c = float(sps.bdtr(N - k - 1, N, 0.5))
            p = 1.0 - c
            lp = math.log1p(-c)
        prob[idx], logp[idx] = p, lp
    return CoverSeparability(prob, logp)


# --------------------------------------------------------------------------------------------
# 2. Separability threshold (symmetric channels, no bias)
# --------------------------------------------------------------------------------------------


def _threshold_point(noise_eff, flip, kind):
    """One point: ``min_{t >= 0} F(t)``, ``F(t) = 2 E_V[P_+(V) g(t V)]`` (unit teacher variance)."""
    chan = Channel(kind, noise_eff, flip)
    step = jnp.where(noise_eff > 0, jnp.sqrt(jnp.where(noise_eff > 0, noise_eff, 1.0)), 1.0)

    def nodes(t):
        scale = _clip_width(1.0 / jnp.maximum(t, 1e-300))
        v, w = _rule(0.0, _graded(0.0, _clip_width(step)), _graded(0.0, scale))
        p, _ = p_plus(chan, v, jnp.zeros_like(v))
        return v, w, p

    def F(t):
        v, w, p = nodes(t)
        return 2.0 * jnp.sum(w * p * _g(t * v))

    def t_dF(t):  # t F'(t): same sign as F', scale ~ F (no underflow at huge t)
        v, w, p = nodes(t)
        tv = t * v
        return 2.0 * jnp.sum(w * p * tv * _g_prime(tv))

    grid = jnp.asarray(_T_GRID)
    n = grid.shape[0]
    # First grid point with F'(t) >= 0 (F convex: F' increasing).
    i, _, _, _ = _first_nonneg(lambda t: (t_dF(t), None), grid)
    any_nonneg = i < n
    at_zero = i == 0
    lo = grid[jnp.clip(i - 1, 0, n - 1)]
    hi = grid[jnp.clip(i, 0, n - 1)]
    # Newton in log t on dF/dlog t (close to linear in log t over a grid step).
    root = _newton(lambda x, _: t_dF(jnp.exp(x)), jnp.log(lo), jnp.log(hi), None)
    t = jnp.where(at_zero, 0.0, jnp.where(any_nonneg, jnp.exp(root.root), grid[-1]))
    converged = at_zero | (any_nonneg & root.converged)
    value = F(t)
    residual = jnp.where(at_zero, 0.0, jnp.abs(t_dF(t)) / jnp.maximum(value, 1e-300))
    return t, value, converged, jnp.where(at_zero, 0, root.iterations), residual


def _threshold_core(noise_eff, flip, kind):
    """Batched :func:`_threshold_point` -> ``(t, F(t), converged, iterations, residual)``;
    noiseless points (``F = 0`` at ``t = inf``) are evaluated at a stand-in channel and must
    be overridden by the caller."""
    noiseless = (flip == 0) & (noise_eff == 0)
    flip_safe = jnp.where(noiseless, 0.25, flip)
    return jax.vmap(lambda a, b: _threshold_point(a, b, kind))(noise_eff, flip_safe)


_threshold_core = jax.jit(_threshold_core, static_argnames=("kind",))


def _kernel_kind(teacher):
    # The sign channel is the probit channel at zero noise (identical P_+, D and errors), so
    # both share one compiled kernel.
    return "probit" if teacher == "sign" else teacher


def separability_threshold(
    *, teacher="sign", noise=0.0, flip=0.0, signal=1.0, on_failure="warn"
) -> SeparabilityThreshold:
    """Separability threshold ``alpha_s`` of teacher-student data with noisy labels (no bias).

    ``1 / alpha_s = min_{t >= 0} E[(Z - t y V)_+^2]`` with ``Z ~ N(0, 1)`` independent of
    ``(y, V)``, ``V ~ N(0, 1)`` the normalised teacher field and ``P(y = +1 | V)`` the channel at
    ``z = sqrt(signal) V`` (classification.md section 2, the ``kappa -> 0`` limit of the
    max-margin equations).  Computed as ``2 E_V[P_+(V) g(t V)]`` with the closed form
    ``g(a) = E_Z[(Z - a)_+^2] = (1 + a^2) H(a) - a phi(a)``; the objective is convex in ``t``.
    The minimiser is located by bisection over the sign of ``F'(t)`` on a log grid
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
        :class:`SeparabilityThreshold`.
    """
    choice("on_failure", on_failure, FAILURE_MODES)
    noise, flip, signal = _channel_parameters(teacher, noise, flip, signal)
    shape = broadcast(noise=noise, flip=flip, signal=signal)
    with precision("float64"):
        noise, flip, signal = _flat(shape, noise, flip, signal)
        noise_eff = noise / signal
        t, value, converged, iterations, residual = _threshold_core(noise_eff, flip, _kernel_kind(teacher))
        noiseless = (flip == 0) & (noise_eff == 0)
        alpha_s = jnp.where(noiseless, jnp.inf, jnp.where(converged, 1.0 / value, jnp.nan))
        t = jnp.where(noiseless, jnp.inf, jnp.where(converged, t, jnp.nan))
        cosine = jnp.where(noiseless, 1.0, t / jnp.sqrt(1.0 + t * t))
        result = SeparabilityThreshold(
            alpha_s,
            t,
            cosine,
            noiseless | converged,
            jnp.where(noiseless, 0, iterations),
            jnp.where(noiseless, 0.0, residual),
        )
        result = _unflatten(result, shape)
    return finalize(result, on_failure, "separability threshold")


# --------------------------------------------------------------------------------------------
# 3. Logistic MLE existence boundary (Candès & Sur)
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
    w1 = _clip_width(jnp.where(pos, 1.0 / g_safe, 1e3))

    def nodes(t0, t1):
        t1s = jnp.maximum(t1, 1e-300)
        c2 = jnp.clip(-t0 / t1s, -20.0, 20.0)
        w2 = _clip_width(1.0 / t1s)
        v, w = _rule(c1, _graded(c1, w1), c2, _graded(c2, w2))
        p = jax.nn.sigmoid(beta0 + gamma * v)
        return v, w, p

    def F(t0, t1):
        v, w, p = nodes(t0, t1)
        a = t0 + t1 * v
        return jnp.sum(w * (p * _g(a) + (1.0 - p) * _g(-a)))

    def grads(t0, t1):
        v, w, p = nodes(t0, t1)
        a = t0 + t1 * v
        inner = p * _g_prime(a) - (1.0 - p) * _g_prime(-a)
        return jnp.sum(w * inner), jnp.sum(w * inner * v)

    def slope(t1):
        # dF/dt0 -> -inf as t0 -> -inf and +inf as t0 -> +inf (both labels have mass).
        inner = _newton(lambda x, s: grads(x, s)[0], -_T0_BRACKET, _T0_BRACKET, t1, x0=0.0 * t1)
        return grads(inner.root, t1)[1], inner

    grid = jnp.concatenate([jnp.zeros(1), jnp.asarray(_T1_GRID)])
    n = grid.shape[0]
    i, s_lo, s_hi, inner_hi = _first_nonneg(slope, grid)  # the profile is convex in t1
    any_nonneg = i < n
    at_zero = i == 0
    lo = grid[jnp.clip(i - 1, 0, n - 1)]
    hi = grid[jnp.clip(i, 0, n - 1)]
    t1_root, ok, iterations, _, inner = _illinois(slope, lo, hi, s_lo, s_hi, xtol=_OUTER_XTOL)
    t1 = jnp.where(at_zero, 0.0, jnp.where(any_nonneg, t1_root, grid[-1]))
    inner = jax.tree_util.tree_map(lambda first, found: jnp.where(at_zero, first, found), inner_hi, inner)
    t0 = inner.root
    g0, g1 = grads(t0, t1)
    converged = (at_zero | (any_nonneg & ok)) & inner.converged
    residual = jnp.where(at_zero, jnp.abs(g0), jnp.hypot(g0, g1))
    iterations = jnp.where(at_zero, 0, iterations) + inner.iterations
    return t0, t1, F(t0, t1), converged, iterations, residual


def _mle_intercept_batch(gamma2, beta0):
    t0, t1, h, converged, iterations, residual = jax.vmap(_mle_intercept_point)(jnp.sqrt(gamma2), beta0)
    return t0, t1, h, converged, iterations, residual


_mle_intercept_batch = jax.jit(_mle_intercept_batch)


def logistic_mle_boundary(*, signal, intercept=0.0, on_failure="warn") -> LogisticMLEBoundary:
    """Phase transition for the existence of the logistic-regression MLE (Candès & Sur 2020).

    Model (Sur-Candès conventions, classification.md section 3): ``p`` Gaussian features, ``n``
    samples, ``P(Y = 1 | x) = sigma(beta0 + x . beta)`` with ``gamma^2 = Var(x . beta)``.  The MLE
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

    References: E. J. Candès & P. Sur, Ann. Statist. 48(1) (2020) 27-42 (arXiv:1804.09753);
    P. Sur & E. J. Candès, PNAS 116 (2019) 14516.
    """
    choice("on_failure", on_failure, FAILURE_MODES)
    gamma2 = real_array("signal", signal, low=0.0)
    beta0 = real_array("intercept", intercept)
    shape = broadcast(signal=gamma2, intercept=beta0)
    with_intercept = bool(is_traced(beta0) or np.any(np.asarray(beta0) != 0))
    with precision("float64"):
        gamma2, beta0 = _flat(shape, gamma2, beta0)
        if with_intercept:
            t0, t1, h, converged, iterations, residual = _mle_intercept_batch(gamma2, beta0)
        else:
            # The symmetric threshold kernel with the logistic channel sigma(gamma V).
            pos = gamma2 > 0
            noise_eff = jnp.where(pos, (math.pi**2 / 3.0) / jnp.where(pos, gamma2, 1.0), 1.0)
            zero_flip = jnp.zeros_like(noise_eff)
            t1, h, converged, iterations, residual = _threshold_core(noise_eff, zero_flip, "logistic")
            t1 = jnp.where(pos, t1, 0.0)
            h = jnp.where(pos, h, 0.5)  # gamma = 0: labels independent of x, h = 1/2 (Cover)
            converged = converged | ~pos
            residual = jnp.where(pos, residual, 0.0)
            iterations = jnp.where(pos, iterations, 0)
            t0 = jnp.zeros_like(t1)
        h = jnp.where(converged, h, jnp.nan)
        result = _unflatten(LogisticMLEBoundary(h, 1.0 / h, t0, t1, converged, iterations, residual), shape)
    return finalize(result, on_failure, "logistic MLE existence boundary")


# --------------------------------------------------------------------------------------------
# 4. Max-margin classifier
# --------------------------------------------------------------------------------------------


def _max_margin_point(alpha, noise_eff, flip, kind):
    """Solve (1)-(2) of classification.md section 2 at one point (unit teacher variance)."""
    chan = Channel(kind, noise_eff, flip)

    def cosine(u):
        s = jnp.exp(-u)  # 1 - R
        return -jnp.expm1(-u), s * (2.0 - s)  # R, 1 - R^2 without cancellation

    def nodes(kappa, u):
        R, V0 = cosine(u)
        width = _clip_width(jnp.sqrt(V0 + noise_eff) / jnp.maximum(R, 1e-300))
        v, w = _rule(kappa, 0.0, _graded(0.0, width))
        p, dp = p_plus(chan, R * v, V0 * jnp.ones_like(v))
        return v, w, p, dp, R, V0

    def lhs1(kappa, u):
        v, w, p, _, _, V0 = nodes(kappa, u)
        gap = jnp.maximum(kappa - v, 0.0)
        return 2.0 * alpha * jnp.sum(w * p * gap * gap), V0

    def eq1(kappa, u):  # log form: monotone increasing in kappa, well scaled in the tails
        lhs, V0 = lhs1(kappa, u)
        return jnp.log(lhs) - jnp.log(V0)

    upper = 1.0 + 1.0 / jnp.sqrt(alpha)  # there alpha E[(kappa - y xi)_+^2] >= 1 >= 1 - R^2

    def kappa_of(u):
        # eq1(-11) = -inf exactly (no panel below -11); eq1(upper) > 0.
        return _newton(eq1, -11.0, upper, u)

    def eq2_at(kappa, u):  # dkappa/dR has the sign of eq2
        v, w, _, dp, R, _ = nodes(kappa, u)
        return 2.0 * alpha * jnp.sum(w * dp * jnp.maximum(kappa - v, 0.0)) - R

    def eq2(u):
        root = kappa_of(u)
        return eq2_at(root.root, u), root

    grid = jnp.asarray(_U_GRID)
    h_grid, roots = jax.vmap(eq2)(grid)
    kappas = jnp.where(jnp.isfinite(roots.root) & roots.converged, roots.root, -jnp.inf)
    i = jnp.argmax(kappas)
    last = grid.shape[0] - 1
    h_i = h_grid[i]
    at_zero = (i == 0) & (h_i <= 0)
    at_end = i == last
    j = jnp.clip(jnp.where(h_i > 0, i, i - 1), 0, last - 1)
    bracket = (grid[j], grid[j + 1], h_grid[j], h_grid[j + 1])
    u_root, ok, outer_iterations, _, root_u = _illinois(eq2, *bracket, xtol=_OUTER_XTOL)
    u = jnp.where(at_zero, 0.0, jnp.where(at_end, grid[last], u_root))
    solved = at_zero | (~at_end & ok)
    # The inner root at the final u: the last Illinois evaluation, or the grid's at R = 0 / the end.
    pick = lambda first, end, found: jnp.where(at_zero, first, jnp.where(at_end, end, found))  # noqa: E731
    root = jax.tree_util.tree_map(lambda r, f: pick(r[0], r[last], f), roots, root_u)
    kappa = root.root
    v, w, p, dp, R, V0 = nodes(kappa, u)
    gap = jnp.maximum(kappa - v, 0.0)
    res1 = jnp.abs(2.0 * alpha * jnp.sum(w * p * gap * gap) / V0 - 1.0)
    res2 = jnp.abs(2.0 * alpha * jnp.sum(w * dp * gap) - R)
    residual = jnp.where(at_zero, res1, jnp.maximum(res1, res2))
    sv = 2.0 * jnp.sum(w * p * (v < kappa))
    iterations = jnp.where(at_zero | at_end, 0, outer_iterations) + root.iterations
    return kappa, R, jnp.exp(-u), sv, solved & root.converged, iterations, residual


def _max_margin_batch(alpha, noise, flip, signal, kind):
    noise_eff = noise / signal
    kappa, R, one_minus_R, sv, solved, iterations, residual = jax.vmap(
        lambda a, n, f: _max_margin_point(a, n, f, kind)
    )(alpha, noise_eff, flip)
    # Noiseless labels are separable at every alpha (even where the R grid is too short).
    separable = (kappa > 0) | ((flip == 0) & (noise_eff == 0))
    ok = solved & separable & (kappa > 0)
    nan = jnp.nan
    kappa = jnp.where(ok, kappa, nan)
    R = jnp.where(ok, R, nan)
    q = 1.0 / (kappa * kappa)
    m = R * jnp.sqrt(signal * q)
    chan = Channel(kind, noise, flip)
    noisy, _ = test_errors(chan, m, q, signal)
    # arccos(R) = 2 arcsin(sqrt((1 - R) / 2)) from 1 - R itself: full relative accuracy as
    # R -> 1 (large alpha), where arccos of the rounded R loses ~eps / (1 - R).
    clean = jnp.where(ok, 2.0 * jnp.arcsin(jnp.sqrt(0.5 * one_minus_R)) / math.pi, nan)
    noisy = jnp.where(noise == 0, flip + (1.0 - 2.0 * flip) * clean, noisy)
    sv = jnp.where(ok, sv, nan)
    return MaxMargin(kappa, R, m, q, clean, noisy, sv, separable, ok, iterations, residual)


_max_margin_batch = jax.jit(_max_margin_batch, static_argnames=("kind",))


def max_margin(
    *, alpha, teacher="sign", noise=0.0, flip=0.0, signal=1.0, on_failure="warn"
) -> MaxMargin:
    """Asymptotics of the max-margin (hard-margin SVM, no bias) classifier on teacher-student data.

    Solves equations (1)-(2) of classification.md section 2 for the margin ``kappa`` and the
    cosine ``R`` with the teacher:

    ``(1)  alpha E[(kappa - y xi)_+^2] = 1 - R^2``,
    ``(2)  alpha E[eta y (kappa - y xi)_+] = R sqrt(1 - R^2)``,

    in the symmetric-channel form ``E[(kappa - y xi)_+^2] = 2 E_xi[P_+(xi) (kappa - xi)_+^2]`` and
    (2) ``<=> 2 alpha E_xi[D(xi) (kappa - xi)_+] = R``, with ``P_+``, ``D`` of the channel at
    ``omega0 = R xi``, ``V0 = 1 - R^2`` (unit teacher variance, ``noise -> noise / signal``).
    As the spec recommends, ``kappa(R)`` is the root of (1) at fixed ``R`` (monotone in
    ``kappa``; solved in log form), and ``kappa* = max_R kappa(R)``: ``kappa(R)`` is scanned on 39
    points of ``u = -log(1 - R)`` from ``R = 0`` to ``1 - R = 1e-12`` and the grid maximum is
    refined by Illinois regula falsi on (2) (``dkappa/dR`` has its sign); ``R = 0`` exactly when
    (2) is ``<= 0`` there (labels independent of the teacher).  The teacher factor is a step of
    width ``sqrt(1 - R^2 + noise/signal) / R`` at ``xi = 0``, resolved by graded panels.  For the
    noiseless sign teacher ``1 - R ~ (pi * 0.5 / alpha)^2 / 2``, so the grid covers
    ``alpha <~ 5e5``; beyond, points are reported as not converged.  Accuracy (against an
    independent SciPy solve and a doubled quadrature): ~1e-11 relative or better.  The error
    ``arccos(R) / pi`` is evaluated from ``1 - R`` directly (no cancellation as ``R -> 1``).
    Cost on CPU: ~10 ms per point for ``sign``/``probit``, ~1 s for ``logistic`` (its ``P_+``
    is itself a 48-node Gauss-Hermite average), plus a few seconds of compilation per
    teacher and batch size.

    Non-separable phase.  For ``alpha >= alpha_s`` (:func:`separability_threshold`) no
    max-margin solution exists (``max_R kappa(R) <= 0``).  Such points are returned with
    ``separable=False``, ``converged=False`` and NaN in every float field (``margin``, ``cosine``,
    ``m``, ``q``, errors, ``support_vector_fraction``); ``on_failure="warn"`` issues a
    :class:`NotSeparableWarning` naming how many points are affected, ``"raise"`` raises
    ``ValueError`` if any point is non-separable, ``"ignore"`` is silent.  Separable points whose
    solve fails are handled by the usual convergence check (``ConvergenceWarning`` /
    ``ConvergenceError``), also NaN with ``converged=False``.

    Args:
        alpha: ``n / d > 0`` (array).
        teacher: ``"sign"``, ``"probit"`` or ``"logistic"`` (see :mod:`._channels`).
        noise: pre-activation noise variance ``>= 0`` (must be 0 for ``"sign"``).
        flip: label-flip probability in ``[0, 1/2]``.
        signal: teacher variance ``rho > 0``.
        on_failure: ``"warn"``, ``"raise"`` or ``"ignore"`` (see above).

    Returns:
        :class:`MaxMargin`, fields shaped like the broadcast arguments.

    Known values: noiseless sign teacher at large ``alpha``: ``clean_test_error ~ 0.5005 /
    alpha``; ``flip = 1/2``: ``R = 0`` and ``kappa`` solves Gardner's ``alpha_c(kappa) = alpha``;
    ``kappa -> 0`` as ``alpha -> alpha_s``.

    References: E. Gardner, J. Phys. A 21 (1988) 257; Montanari, Ruan, Sohn, Yan,
    arXiv:1911.01544 (2019); Engel & Van den Broeck, *Statistical Mechanics of Learning* (2001).
    """
    choice("on_failure", on_failure, FAILURE_MODES)
    alpha = real_array("alpha", alpha, low=0.0, low_open=True)
    noise, flip, signal = _channel_parameters(teacher, noise, flip, signal)
    shape = broadcast(alpha=alpha, noise=noise, flip=flip, signal=signal)
    with precision("float64"):
        flat = _flat(shape, alpha, noise, flip, signal)
        result = _unflatten(_max_margin_batch(*flat, _kernel_kind(teacher)), shape)
    if any(is_traced(leaf) for leaf in jax.tree_util.tree_leaves(result)):
        return result
    result = _to_numpy(result)
    nonsep = ~np.asarray(result.separable, dtype=bool)
    if nonsep.any() and on_failure != "ignore":
        msg = (
            f"max_margin: {int(nonsep.sum())} of {nonsep.size} point(s) have alpha >= alpha_s "
            "(data not linearly separable): the max-margin solution does not exist; "
            "their fields are NaN with separable=False, converged=False"
        )
        if on_failure == "raise":
            raise ValueError(msg)
        warnings.warn(msg, NotSeparableWarning, stacklevel=2)
    check_convergence(result._replace(converged=result.converged | nonsep), on_failure=on_failure, what="max-margin")
    return result
