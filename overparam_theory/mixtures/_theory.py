"""Asymptotics of l2-penalised ERM on a binary Gaussian mixture (``docs/theory/mixtures.md``).

Model and estimator (Mignacco, Krzakala, Lu, Urbani, Zdeborova, ICML 2020, arXiv:2002.11544,
section 2 and eqs. (8)-(10) of their appendix, in our notation):

- labels ``y = +1`` w.p. ``rho_+ = imbalance``, else ``-1``; inputs ``x = y v*/sqrt(d) + sqrt(Delta) z``,
  ``z ~ N(0, I_d)``, ``|v*|^2/d = 1``, ``Delta = noise``; ``n = alpha d`` samples;
- ``(w, b) = argmin sum_mu l(y_mu (x_mu.w/sqrt d + b)) + (lambda/2)|w|^2`` with ``lambda = ridge``
  on the *summed* loss (scikit-learn ``C = 1/ridge`` on features ``x/sqrt(d)``); ``b`` is
  unpenalised and present only with ``intercept=True`` (``b = 0`` otherwise);
- overlaps ``m = w.v*/d``, ``q = |w|^2/d``, response ``V``, conjugates ``m_hat, q_hat, V_hat``.

With ``xi ~ N(0, 1)`` and ``y`` drawn from the label distribution, the training margin of a
sample is ``t* = prox_{Delta V}(t0)``, ``t0 = m + y b + sqrt(Delta q) xi``, and

    m_hat = -alpha E[l'(t*)],   q_hat = alpha Delta E[l'(t*)^2],   V_hat = (alpha/V) E[1 - dt*/dt0],
    m = m_hat/(lambda + V_hat),  q = (m_hat^2 + q_hat)/(lambda + V_hat)^2,  V = 1/(lambda + V_hat),
    bias (intercept=True):  E[y l'(t*)] = 0,

with ``l'(t*) = (t0 - t*)/(Delta V)``.  Observables: test error ``rho_+ H((m + b)/sqrt(Delta q)) +
(1 - rho_+) H((m - b)/sqrt(Delta q))``; train loss ``E l(t*)``; train error ``P(t* < 0) =
P(t0 < Delta V l'(0))``; support fraction ``P(t* <= 1) = P(t0 <= 1 + Delta V l'(1+))`` (for the
hinge loss: the fraction of support vectors).  Both probabilities are Gaussian CDFs in closed form.

Numerics: expectations by a composite Gauss-Legendre rule (``numerics.normal_panel_rule``) per
label with panel boundaries at ``t0 = Delta V l'(0)`` and at the kinks of the prox (hinge:
``t0 = 1 - Delta V, 1``) (a kink inside a panel would cost the rule its accuracy); the fixed
point in ``(atanh(cosine), log q, log V)`` by Anderson-accelerated damped iteration
(:class:`~overparam_theory.numerics.solvers.FixedPoint`: damping 0.5, memory 5) from ``m = 1/2,
q = 0.6, V = 1/(lambda + alpha)``; with an intercept the bias is the root of the monotone
function ``b -> E[y l'(t*)]`` found by a safeguarded Newton/bisection
(``numerics.roots.bracketed_root``) inside every evaluation of the map, so derivatives through
the solution are implicit (fixed point and root).  Square loss has a closed form (module
function ``_square_closed_form``; ``docs/theory/mixtures.md``) used by ``solver="auto"``.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import ndtr

from .._spec import validated
from .._validation import is_traced
from ..estimators._saddle import coordinates, fixed_point_settings, order_parameters, require_not_separable, solve, square_loss_response
from ..numerics.batching import map_points
from ..numerics.diagnostics import Diagnostics, diagnostics, with_diagnostics
from ..numerics.gaussian import normal_panel_rule
from ..numerics.grid import evaluate
from ..numerics.prox import HINGE, SQUARE, resolve_loss
from ..numerics.roots import bracketed_root
from ..numerics.solvers import Bracketed
from ._common import H
from ._params import BAYES_PARAMS, PARAMS


@with_diagnostics
class MixtureTheory(NamedTuple):
    """Asymptotic ERM quantities on the Gaussian mixture, each shaped like the broadcast parameters.

    Attributes:
        test_error: population classification error of ``sign(x.w/sqrt d + b)``.
        train_loss: mean training loss per sample (penalty excluded).
        train_error: fraction of misclassified training samples.
        m, q: ``w.v*/d`` and ``|w|^2/d``.
        bias: the intercept ``b`` (0 without ``intercept``).
        cosine: ``m / sqrt(q)``.
        V, m_hat, q_hat, V_hat: response parameter and conjugate order parameters.
        support_fraction: fraction of training samples with margin ``t* <= 1`` (hinge: support
            vectors).
        diagnostics: :class:`~overparam_theory.numerics.diagnostics.Diagnostics` of the fixed
            point (closed forms: status OK, 0 iterations, residual 0); ``converged``,
            ``status``, ``iterations``, ``residual`` are properties.
    """

    test_error: jax.Array
    train_loss: jax.Array
    train_error: jax.Array
    m: jax.Array
    q: jax.Array
    bias: jax.Array
    cosine: jax.Array
    support_fraction: jax.Array
    V: jax.Array
    m_hat: jax.Array
    q_hat: jax.Array
    V_hat: jax.Array
    diagnostics: Diagnostics


RESULT_FIELDS = ("test_error", "train_loss", "train_error", "m", "q", "bias", "cosine", "support_fraction")
_BIAS_ROOT = Bracketed(xtol=1e-15, max_iter=200)  # the intercept equation E[y l'(t*)] = 0
_LABELS = np.array([1.0, -1.0])


# ---------------------------------------------------------------------------------------------
# Label-resolved Gaussian expectations


def _label_weights(rho):
    return jnp.stack([rho, 1.0 - rho])


def _rule(loss, m, q, b, u, noise):
    """Nodes ``t0`` (shape ``(2, N)``: label +1, -1) and weights for ``t0 = m + y b + sqrt(noise q) xi``."""
    y = jnp.asarray(_LABELS, m.dtype)
    scale = jnp.sqrt(noise * q)
    d0 = loss.derivative(jnp.zeros((), m.dtype))
    kinks = jnp.concatenate([loss.breakpoints(u), jnp.reshape(u * d0, (1,))])  # in t0
    bp = (kinks[None, :] - m - y[:, None] * b) / scale
    xi, w = normal_panel_rule(bp)
    t0 = m + y[:, None] * b + scale * xi
    return t0, w


def _terms(loss, m, q, b, u, noise):
    t0, w = _rule(loss, m, q, b, u, noise)
    prox = loss.prox(t0, u)
    lp = (t0 - prox) / u  # l'(t*) (a subgradient on the hinge's flat piece)
    return t0, w, prox, lp


def _bias_function(loss):
    def g(b, args):
        m, q, u, noise, rho = args
        _, w, _, lp = _terms(loss, m, q, b, u, noise)
        per_label = jnp.sum(w * lp, axis=-1)
        return rho * per_label[0] - (1.0 - rho) * per_label[1]

    return g


def _solve_bias(loss, m, q, u, noise, rho):
    width = jnp.abs(m) + 2.0 + u + 12.0 * jnp.sqrt(noise * q)
    res = bracketed_root(
        _bias_function(loss), -width, width, (m, q, u, noise, rho), xtol=_BIAS_ROOT.xtol, max_iter=_BIAS_ROOT.max_iter
    )
    return res.root, res.converged


def _hats(loss, alpha, m, q, V, b, noise, rho):
    u = noise * V
    t0, w, _, lp = _terms(loss, m, q, b, u, noise)
    dprox = loss.prox_derivative(t0, u)
    py = _label_weights(rho)
    E = lambda f: jnp.sum(py * jnp.sum(w * f, axis=-1))
    m_hat = -alpha * E(lp)
    q_hat = alpha * noise * E(lp * lp)
    V_hat = alpha / V * E(1.0 - dprox)
    return m_hat, q_hat, V_hat


def _make_map(loss, intercept):
    def F(x, args):
        alpha, ridge, noise, rho = args
        m, q, V = order_parameters(x)
        if intercept:
            b, _ = _solve_bias(loss, m, q, noise * V, noise, rho)
        else:
            b = jnp.zeros_like(m)
        m_hat, q_hat, V_hat = _hats(loss, alpha, m, q, V, b, noise, rho)
        denom = ridge + V_hat
        return coordinates(m_hat / denom, (m_hat**2 + q_hat) / denom**2, 1.0 / denom)

    return F


_MAPS: dict = {}


def _fixed_point_map(loss, intercept):
    key = (loss, intercept)
    if key not in _MAPS:  # one function object per key: fixed_point caches its compilation by identity
        _MAPS[key] = _make_map(loss, intercept)
    return _MAPS[key]


# ---------------------------------------------------------------------------------------------
# Observables


def _observables(loss, m, q, V, b, noise, rho):
    """``(test_error, train_loss, train_error, support_fraction)``; ``V = inf`` is the square-loss
    interpolator (every margin exactly 1)."""
    interp = jnp.isinf(V)
    Vs = jnp.where(interp, 1.0, V)
    qs = jnp.where(jnp.isfinite(q), q, 1.0)
    u = noise * Vs
    y = jnp.asarray(_LABELS, m.dtype)
    py = _label_weights(rho)
    scale = jnp.sqrt(noise * qs)
    mean = m + y * b
    test_error = jnp.sum(py * H(mean / jnp.sqrt(noise * q)))
    t_err = u * loss.derivative(jnp.zeros((), m.dtype))
    t_sv = 1.0 + u * loss.derivative(jnp.ones((), m.dtype))  # t0 = t* + u l'(t*) at t* = 1
    train_error = jnp.sum(py * ndtr((t_err - mean) / scale))
    support = jnp.sum(py * ndtr((t_sv - mean) / scale))
    _, w, prox, _ = _terms(loss, m, qs, b, u, noise)
    train_loss = jnp.sum(py * jnp.sum(w * loss.value(prox), axis=-1))
    zero = jnp.zeros_like(m)
    return (
        test_error,
        jnp.where(interp, zero, train_loss),
        jnp.where(interp, zero, train_error),
        jnp.where(interp, jnp.ones_like(m), support),
    )


# ---------------------------------------------------------------------------------------------
# Square loss closed form (docs/theory/mixtures.md)


def _square_closed_form(alpha, ridge, noise, rho, intercept):
    """``(m, q, V, b, m_hat, q_hat, V_hat)`` for ``l = (1 - t)^2/2``; exact ``ridge = 0`` branches.

    With ``u = Delta V`` and ``lambda' = lambda/Delta``: ``lambda' u^2 + (lambda' + alpha - 1) u - 1 = 0``;
    ``b = mu (1 - m)`` with ``mu = 2 rho_+ - 1`` (intercept) and ``c = 1 - mu^2`` (intercept) or 1;
    ``m = A/(1 + A)``, ``A = alpha c V/(1 + u)``; ``q (1 - alpha u^2/(1+u)^2) = V^2 [m_hat^2 +
    alpha Delta c (1 - m)^2/(1 + u)^2]``.  ``ridge = 0``: ``u = 1/(alpha - 1)`` above
    ``alpha = 1``; below it the min-norm interpolator (``V = inf``): ``A = alpha c/Delta``,
    ``q = [m^2 + alpha c (1 - m)^2/Delta]/(1 - alpha)``.
    """
    mu = 2.0 * rho - 1.0
    c = 1.0 - mu * mu if intercept else jnp.ones_like(mu)
    u = square_loss_response(alpha, ridge / noise)
    finite = jnp.isfinite(u)
    us = jnp.where(finite, u, 1.0)
    V = jnp.where(finite, us / noise, jnp.inf)
    Vs = us / noise
    A = jnp.where(finite, alpha * c * Vs / (1.0 + us), alpha * c / noise)
    m = A / (1.0 + A)
    m_hat = jnp.where(finite, alpha * c * (1.0 - m) / (1.0 + us), 0.0)
    num = Vs**2 * (m_hat**2 + alpha * noise * c * (1.0 - m) ** 2 / (1.0 + us) ** 2)
    q_fin = num / (1.0 - alpha * us**2 / (1.0 + us) ** 2)
    under = alpha < 1.0
    q_inf = (m * m + alpha * c * (1.0 - m) ** 2 / noise) / jnp.where(under, 1.0 - alpha, 1.0)
    q = jnp.where(finite, q_fin, jnp.where(under, q_inf, jnp.inf))
    q_hat = jnp.where(finite, alpha * noise * (c * (1.0 - m) ** 2 + noise * q) / (1.0 + us) ** 2, 0.0)
    V_hat = jnp.where(finite, alpha * noise / (1.0 + us), 0.0)
    b = mu * (1.0 - m) if intercept else jnp.zeros_like(m)
    return m, q, V, b, m_hat, q_hat, V_hat


# ---------------------------------------------------------------------------------------------
# Per-point solve


def _point(loss, intercept, solver, settings):
    F = _fixed_point_map(loss, intercept)

    def run(alpha, ridge, noise, rho):
        if loss is SQUARE and solver == "auto":
            m, q, V, b, m_hat, q_hat, V_hat = _square_closed_form(alpha, ridge, noise, rho, intercept)
            converged, iterations, residual = jnp.asarray(True), jnp.asarray(0, jnp.int32), jnp.zeros_like(m)
        else:
            x0 = jnp.stack([jnp.arctanh(0.5 / jnp.sqrt(0.6)) + 0 * alpha, jnp.log(0.6) + 0 * alpha, -jnp.log(ridge + alpha)])
            m, q, V, res = solve(F, x0, (alpha, ridge, noise, rho), settings)
            if intercept:
                b, b_ok = _solve_bias(loss, m, q, noise * V, noise, rho)
            else:
                b, b_ok = jnp.zeros_like(m), jnp.asarray(True)
            m_hat, q_hat, V_hat = _hats(loss, alpha, m, q, V, b, noise, rho)
            converged, iterations, residual = res.converged & b_ok, res.iterations, res.residual
        obs = _observables(loss, m, q, V, b, noise, rho)
        cosine = m / jnp.sqrt(q)
        values = (obs[0], obs[1], obs[2], m, q, b, cosine, obs[3], V, m_hat, q_hat, V_hat)
        values = tuple(jnp.where(converged, v, jnp.nan) for v in values)
        return (*values, converged, iterations, residual)

    return run


def _kernel(alpha, ridge, noise, rho, *, loss, intercept, solver, settings):
    """The flat grid -> :class:`MixtureTheory`."""
    point = _point(loss, intercept, solver, settings)
    *values, converged, iterations, residual = map_points(point, (alpha, ridge, noise, rho), (), work_per_point=2048)
    return MixtureTheory(*values, diagnostics(converged, iterations, residual))


def _check_ridge_zero(loss, intercept, solver, alpha, ridge, noise, imbalance):
    """Cross-field rules at ``ridge = 0``: non-smooth losses need ``ridge > 0``, square loss
    refuses the interpolation threshold (and the fixed-point solver the interpolating phase),
    other smooth losses need non-separable data (``alpha > alpha_s``)."""
    if is_traced(ridge) or not np.any(np.asarray(ridge) == 0):
        return
    shape = np.broadcast_shapes(*(np.shape(v) for v in (alpha, ridge, noise, imbalance)))
    zero = np.broadcast_to(np.asarray(ridge) == 0, shape)
    alpha = np.broadcast_to(np.asarray(alpha, float), shape)[zero]
    if loss is HINGE or not loss.smooth:
        raise ValueError(
            f"ridge must be > 0 for the non-smooth loss {loss.name!r}: ridge -> 0+ is the hard-margin SVM, "
            "use mixtures.max_margin"
        )
    if loss is SQUARE:
        if np.any(alpha == 1.0):
            raise ValueError("ridge = 0 with loss='square' at alpha = 1: q diverges (interpolation threshold); use ridge > 0")
        if solver == "fixed_point" and np.any(alpha < 1.0):
            raise ValueError("ridge = 0 with alpha < 1 (min-norm interpolator, V = inf) needs solver='auto' (closed form)")
        return
    from ._separability import separability_threshold

    noise = np.broadcast_to(np.asarray(noise, float), shape)[zero]
    imb = np.broadcast_to(np.asarray(imbalance, float), shape)[zero]
    alpha_s = np.asarray(separability_threshold(noise=noise, imbalance=imb, intercept=intercept).alpha_s)
    require_not_separable(loss, alpha, alpha_s, "use ridge > 0 or mixtures.max_margin")


@validated(PARAMS, "theory")
def theory(
    *, alpha, ridge, loss, noise, imbalance, intercept, solver, tol, max_iter, dtype, on_failure
) -> MixtureTheory:
    """Asymptotic errors and order parameters of ERM on a two-cluster Gaussian mixture (module docstring).

    Args:
        alpha: samples per dimension ``n/d > 0``.
        ridge: ``lambda >= 0`` on the summed loss (``C = 1/ridge`` in scikit-learn on ``x/sqrt d``).
            ``0`` allowed for square loss (least squares / min-norm interpolator, exact branch) and
            for logistic where the data are not separable (``alpha > alpha_s``, see
            :func:`separability_threshold`); hinge needs ``ridge > 0`` (limit: :func:`max_margin`).
        loss: ``"square"``, ``"logistic"``, ``"hinge"`` or a ``numerics.prox.MarginLoss``.
        noise: cluster variance ``Delta > 0``.
        imbalance: ``rho_+ = P(y = +1)`` in ``(0, 1)``.
        intercept: fit an unpenalised bias ``b`` (else ``b = 0``).
        solver: ``"auto"`` (closed form for square loss) or ``"fixed_point"``.
        tol, max_iter: fixed-point tolerance (relative residual; raised to ``1e-6`` in float32)
            and iteration cap (:class:`~overparam_theory.numerics.solvers.FixedPoint`).
        dtype: ``"float64"`` or ``"float32"``.
        on_failure: ``"warn"``, ``"raise"`` or ``"ignore"`` for non-converged points (NaN values,
            flagged in ``diagnostics``).

    ``alpha``, ``ridge``, ``noise``, ``imbalance`` broadcast together.

    References:
        Mignacco, Krzakala, Lu, Urbani, Zdeborova, ICML 2020 (arXiv:2002.11544), eqs. (8)-(10)
        and appendix A (with ``Delta = noise``, ``rho = imbalance``, ``lambda = ridge``);
        Thrampoulidis, Oymak, Soltanolkotabi, 2020 (CGMT, rigorous).
    """
    loss = resolve_loss(loss)
    _check_ridge_zero(loss, intercept, solver, alpha, ridge, noise, imbalance)
    settings = fixed_point_settings(tol, max_iter, dtype)
    return evaluate(
        _kernel,
        (alpha, ridge, noise, imbalance),
        static=dict(loss=loss, intercept=intercept, solver=solver, settings=settings),
        dtype=dtype,
        on_failure=on_failure,
        what=f"Gaussian-mixture saddle point ({loss.name} loss)",
    )


class BayesOptimal(NamedTuple):
    """Bayes-optimal error and overlap (balanced mixture, Gaussian prior on ``v*``)."""

    test_error: np.ndarray
    overlap: np.ndarray


@validated(BAYES_PARAMS, "theory")
def bayes_optimal(*, alpha, noise) -> BayesOptimal:
    """Bayes-optimal test error of the balanced mixture (``docs/theory/mixtures.md``).

    The posterior mean of ``v* ~ N(0, I)`` given labelled data is ``prop. to sum_mu y_mu x_mu``;
    its normalised overlap is ``q_b = alpha/(alpha + Delta)`` and ``eps_BO = H(sqrt(q_b/Delta)) =
    H(sqrt(alpha/(Delta (alpha + Delta))))`` (Mignacco et al. 2020, section 3; ``Delta = noise``).
    """
    alpha, noise = np.broadcast_arrays(alpha, noise)
    overlap = alpha / (alpha + noise)
    from scipy.special import ndtr as _ndtr

    return BayesOptimal(_ndtr(-np.sqrt(overlap / noise)), overlap)
