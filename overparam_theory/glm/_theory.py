"""Asymptotics of l2-penalised ERM in the teacher-student GLM and the Gaussian covariate model.

Conventions (``docs/theory/glm.md``; ``docs/conventions.md`` maps them to the papers):

- inputs ``x ~ N(0, I_d)`` (or ``N(0, Sigma)`` with a ``spectrum``), ``n = alpha d`` samples;
  pre-activations ``x . w / sqrt(d)``;
- teacher field ``z = x . w* / sqrt(d) ~ N(0, rho)``, ``rho = signal``; labels from a teacher
  channel (``overparam_theory.glm._channels``: sign / probit / logistic with label flips, or a
  linear regression teacher);
- estimator ``w_hat = argmin_w sum_mu l(y_mu, x_mu . w / sqrt(d)) + (ridge/2) ||w||^2`` -- a
  *sum* of losses (scikit-learn's ``C = 1/ridge`` on features ``x / sqrt(d)``);
- order parameters ``m = w.w*/d``, ``q = |w|^2/d`` (with a spectrum: ``w^T Sigma w*/d`` and
  ``w^T Sigma w/d``), ``V`` the response (prox) parameter, and conjugates ``m_hat, q_hat, V_hat``.

Saddle-point equations (Aubin, Krzakala, Lu & Zdeborova, NeurIPS 2020, arXiv:2006.06560,
eqs. (9)-(11) in our notation; Loureiro et al., NeurIPS 2021 for the covariate model).  With
``xi ~ N(0, 1)``, student field ``omega = sqrt(q) xi``, teacher ``z | xi ~ N(m xi/sqrt q,
V0 = rho - m^2/q)``, ``P_+``/``D`` the channel probability of label +1 and its slope, and
``f = (prox_{V l}(omega) - omega)/V``:

    V_hat = -2 alpha E[P_+ d_omega f],   q_hat = 2 alpha E[P_+ f^2],   m_hat = 2 alpha E[D f],

and on the regulariser side (isotropic; ``rho = signal``)

    m = rho m_hat/(ridge + V_hat),  q = (rho m_hat^2 + q_hat)/(ridge + V_hat)^2,  V = 1/(ridge + V_hat).

Gaussian covariate model: ``Sigma`` with eigenvalues ``omega_k`` of spectral weight ``w_k`` and a
teacher whose squared norm per unit dimension in eigenspace ``k`` is ``teacher_power_k``
(``sum_k teacher_power_k = |w*|^2/d``; the ``ridge.theory`` convention), so that

    V = sum_k w_k omega_k/(ridge + V_hat omega_k),
    m = m_hat sum_k omega_k^2 tp_k/(ridge + V_hat omega_k),
    q = sum_k (m_hat^2 omega_k^3 tp_k + q_hat w_k omega_k^2)/(ridge + V_hat omega_k)^2,

and the channel uses the *total* teacher variance ``rho = signal``, which may exceed the part
``sum_k omega_k tp_k`` carried by the features (the rest acts like teacher noise the student
cannot see; this is how random-features classification enters through
``random_features.gaussian_equivalent``).

Numerics: the expectations use a composite Gauss-Legendre rule with panel boundaries at every
kink of the integrands (hinge prox at ``omega = 1 - V, 1``, the training-error jump at
``omega = V l'(0)``) and graded panels of the teacher width around ``xi = 0``
(a kink or a narrow feature inside a panel would cost the rule its accuracy).  The fixed point is
solved in ``(atanh(cosine), log q, log V)`` by Anderson-accelerated damped iteration
(:class:`~overparam_theory.numerics.solvers.FixedPoint`: damping 0.5, memory 5;
:func:`~overparam_theory.numerics.fixed_point.fixed_point`, implicit derivatives) from
``m = rho/2, q = 0.6 rho, V = 1/(ridge + alpha)``.  Square loss uses its closed form (a
quadratic for ``V``, linear for ``q``; ``docs/theory/glm.md``); ``solver="fixed_point"``
forces the general solver, which tests compare with it.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._spec import validated
from .._validation import any_concrete, is_traced, real_array
from ..estimators._saddle import coordinates, fixed_point_settings, order_parameters, require_not_separable, solve, square_loss_response
from ..numerics import spectra as _spectra
from ..numerics.batching import map_points
from ..numerics.diagnostics import Diagnostics, diagnostics, with_diagnostics
from ..numerics.gaussian import normal_panel_rule
from ..numerics.grid import evaluate
from ..numerics.prox import SQUARE, resolve_loss
from ._channels import Channel, label_moments, p_plus, test_errors
from ._params import PARAMS
from ._separability import separability_threshold


@with_diagnostics
class GLMTheory(NamedTuple):
    """Asymptotic ERM quantities, each shaped like the broadcast parameters.

    Attributes:
        test_error: classification error on a fresh noisy label (teacher ``"linear"``: mean
            squared error ``E(y - x.w/sqrt d)^2`` on a fresh noisy label).
        clean_test_error: disagreement with ``sign(z)``, ``arccos(cosine)/pi`` (``"linear"``:
            ``E(z - x.w/sqrt d)^2``, the excess risk).
        test_loss: ``E l(y, x.w/sqrt d)`` on a fresh sample.
        train_loss: mean training loss per sample (penalty excluded).
        train_error: fraction of misclassified training samples (``"linear"``: mean squared
            training residual).
        m, q, V, m_hat, q_hat, V_hat: order parameters (module docstring).
        cosine: ``m / sqrt(rho q)``.
        diagnostics: :class:`~overparam_theory.numerics.diagnostics.Diagnostics` of the fixed
            point (closed forms: status OK, 0 iterations, residual 0); ``converged``,
            ``status``, ``iterations``, ``residual`` are properties.
    """

    test_error: jax.Array
    clean_test_error: jax.Array
    test_loss: jax.Array
    train_loss: jax.Array
    train_error: jax.Array
    m: jax.Array
    q: jax.Array
    V: jax.Array
    m_hat: jax.Array
    q_hat: jax.Array
    V_hat: jax.Array
    cosine: jax.Array
    diagnostics: Diagnostics


RESULT_FIELDS = ("test_error", "clean_test_error", "test_loss", "train_loss", "train_error", "m", "q", "cosine")
_TEACHER_GRADING = np.array([0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0])


# ---------------------------------------------------------------------------------------------
# Cross-field rules (shared with the simulator; single values are checked by PARAMS)


def check_problem(
    *, loss, teacher, ridge, noise, flip, signal, spectrum, teacher_power, allow_hard_margin=False
):
    """``(loss, spectrum, teacher_power)`` after the rules that tie parameters together
    (``ValueError`` naming them): the sign teacher is noiseless, the linear teacher needs square
    loss and no flips, non-smooth losses need ``ridge > 0`` (``allow_hard_margin``: the
    simulator's hard-margin SVM at ``ridge = 0`` with the hinge loss), and the Gaussian
    covariate model needs ``ridge > 0``, one ``teacher_power`` per level (default: the
    weights) and a scalar ``signal >= sum_k eigenvalue_k teacher_power_k``.
    """
    loss = resolve_loss(loss)
    if teacher == "sign" and any_concrete(lambda v: v != 0, noise):
        raise ValueError("teacher='sign' is noiseless (noise must be 0); use teacher='probit' or 'logistic' for noise")
    if teacher == "linear":
        if loss is not SQUARE:
            raise ValueError(
                f"teacher='linear' (real-valued labels) needs loss='square'; {loss.name!r} is a margin loss for +-1 labels"
            )
        if any_concrete(lambda v: v != 0, flip):
            raise ValueError("flip (label-flip probability) applies to classification teachers, not teacher='linear'")
    if not loss.smooth and not (allow_hard_margin and loss.name == "hinge") and any_concrete(lambda v: v == 0, ridge):
        raise ValueError(
            f"ridge must be > 0 for the non-smooth loss {loss.name!r} (ridge = 0 is the hard-margin limit: use glm.max_margin)"
        )
    if spectrum is not None:
        eig = real_array("spectrum.eigenvalues", spectrum.eigenvalues, low=0.0)
        w = real_array("spectrum.weights", spectrum.weights, low=0.0)
        if eig.ndim != 1 or eig.shape != w.shape:
            raise ValueError("spectrum.eigenvalues and spectrum.weights must be 1-D of equal length")
        if abs(float(np.sum(w)) - 1.0) > 1e-10:
            raise ValueError(f"spectrum.weights must sum to 1, got {float(np.sum(w)):.12g}")
        if any_concrete(lambda v: v == 0, ridge):
            raise ValueError("ridge must be > 0 with a spectrum (ridgeless anisotropic square loss: ridge.theory)")
        if teacher_power is None:
            teacher_power = w * 1.0
        if teacher_power.shape != eig.shape:
            raise ValueError(f"teacher_power must have one entry per spectrum level ({eig.shape[0]}), got {teacher_power.shape}")
        explained = float(np.sum(eig * teacher_power))
        if explained <= 0:
            raise ValueError("teacher_power must give the teacher some variance: sum(eigenvalues * teacher_power) > 0")
        if np.ndim(signal) != 0:
            raise ValueError("with a spectrum, signal must be a scalar")
        if not is_traced(signal) and float(signal) < explained * (1 - 1e-12):
            raise ValueError(
                f"signal (total teacher variance rho) must be >= sum(eigenvalues * teacher_power) = {explained:.6g}"
            )
        spectrum = _spectra.DiscreteSpectrum(eig, w)
    elif teacher_power is not None:
        raise ValueError("teacher_power needs a spectrum")
    return loss, spectrum, teacher_power


# ---------------------------------------------------------------------------------------------
# Channel side: quadrature over the student field


def _nodes(loss, m, q, V, rho, noise):
    """Quadrature nodes in ``xi`` with panel boundaries at the kinks of every integrand."""
    sq = jnp.sqrt(q)
    V0 = jnp.maximum(rho - m * m / q, 0.0)
    width = jnp.sqrt(q * (V0 + noise)) / jnp.maximum(jnp.abs(m), 1e-300)
    width = jnp.minimum(width, 22.0)
    teacher_pts = jnp.concatenate([-width * jnp.asarray(_TEACHER_GRADING, width.dtype), jnp.zeros(1, width.dtype), width * jnp.asarray(_TEACHER_GRADING, width.dtype)])
    d0 = loss.derivative(jnp.zeros((), q.dtype))
    student_pts = jnp.concatenate([loss.breakpoints(V), jnp.reshape(V * d0, (1,))]) / sq
    return normal_panel_rule(jnp.concatenate([teacher_pts, student_pts]))


def _channel_terms(loss, channel, m, q, V, rho):
    """Per-node quantities at the current order parameters."""
    xi, w = _nodes(loss, m, q, V, rho, channel.noise)
    sq = jnp.sqrt(q)
    omega = sq * xi
    V0 = jnp.maximum(rho - m * m / q, 0.0)
    P, D = p_plus(channel, (m / sq) * xi, V0)
    prox = loss.prox(omega, V)
    dprox = loss.prox_derivative(omega, V)
    return xi, w, omega, P, D, prox, dprox


def _hats(loss, channel, alpha, m, q, V, rho):
    if channel.kind == "linear":  # square loss, y = z + noise: Gaussian integrals in closed form
        c = alpha / (1.0 + V)
        return c, c * (rho + channel.noise - 2.0 * m + q) / (1.0 + V), c
    _, w, omega, P, D, prox, dprox = _channel_terms(loss, channel, m, q, V, rho)
    f = (prox - omega) / V
    df = (dprox - 1.0) / V
    V_hat = -2.0 * alpha * jnp.sum(w * P * df)
    q_hat = 2.0 * alpha * jnp.sum(w * P * f * f)
    m_hat = 2.0 * alpha * jnp.sum(w * D * f)
    return m_hat, q_hat, V_hat


def _regulariser(m_hat, q_hat, V_hat, ridge, rho, spectrum):
    if spectrum is None:
        denom = ridge + V_hat
        return rho * m_hat / denom, (rho * m_hat**2 + q_hat) / denom**2, 1.0 / denom
    eig, weights, tp = spectrum
    denom = ridge + V_hat * eig
    V = jnp.sum(weights * eig / denom)
    m = m_hat * jnp.sum(eig**2 * tp / denom)
    q = jnp.sum((m_hat**2 * eig**3 * tp + q_hat * weights * eig**2) / denom**2)
    return m, q, V


def _map(loss, teacher):
    """The saddle-point map in the coordinates ``x = (atanh(cosine), log q, log V)``.

    The cosine ``m / sqrt(rho q)`` and the scale ``q`` are separated because in the separable
    phase at small ridge the norm grows (like ``log^2(1/ridge)`` for logistic) at an almost
    fixed direction: in ``(m, q)`` that slow mode couples both coordinates and the iteration
    creeps; here it is one coordinate.
    """

    def F(x, args):
        alpha, ridge, noise, flip, rho, spectrum = args
        m, q, V = order_parameters(x, rho)
        channel = Channel(teacher, noise, flip)
        m_hat, q_hat, V_hat = _hats(loss, channel, alpha, m, q, V, rho)
        return coordinates(*_regulariser(m_hat, q_hat, V_hat, ridge, rho, spectrum), rho)

    return F


_MAPS: dict = {}


def _fixed_point_map(loss, teacher):
    key = (loss, teacher)
    if key not in _MAPS:  # one function object per (loss, teacher): fixed_point caches by identity
        _MAPS[key] = _map(loss, teacher)
    return _MAPS[key]


# ---------------------------------------------------------------------------------------------
# Observables at a solution


def _observables(loss, teacher, alpha, m, q, V, rho, noise, flip):
    channel = Channel(teacher, noise, flip)
    if teacher == "linear":  # square loss, y = z + sqrt(noise) zeta: all closed form
        excess = rho - 2.0 * m + q
        test = excess + noise
        train = jnp.where(jnp.isinf(V), 0.0, test / (1.0 + V) ** 2)
        return test, excess, 0.5 * test, 0.5 * train, train
    test_error, clean = test_errors(channel, m, q, rho)
    # V = inf only for square loss at ridge = 0 below alpha = 1: the estimator interpolates
    # (every training margin is 1), so the training loss and error are exactly 0.
    interpolating = jnp.isinf(V)
    q_s = jnp.where(jnp.isfinite(q), q, 1.0)
    xi, w, omega, P, _, prox, _ = _channel_terms(loss, channel, m, q_s, jnp.where(interpolating, 1.0, V), rho)
    test_loss = 2.0 * jnp.sum(w * P * loss.value(omega))
    train_loss = jnp.where(interpolating, 0.0, 2.0 * jnp.sum(w * P * loss.value(prox)))
    train_error = jnp.where(interpolating, 0.0, 2.0 * jnp.sum(w * P * (prox < 0)))
    return test_error, clean, test_loss, train_loss, train_error


def _check_unregularised(loss, teacher, alpha, ridge, noise, flip, signal) -> None:
    """``ridge = 0`` with a margin loss other than square is the unpenalised minimiser, which
    exists only if the training data are not linearly separable: ``alpha > alpha_s``."""
    if loss is SQUARE or is_traced(ridge) or not np.any(np.asarray(ridge) == 0):
        return
    shape = np.broadcast_shapes(*(np.shape(v) for v in (alpha, ridge, noise, flip, signal)))
    zero = np.broadcast_to(np.asarray(ridge) == 0, shape)
    alpha = np.broadcast_to(np.asarray(alpha, float), shape)[zero]
    kw = {k: np.broadcast_to(np.asarray(v, float), shape)[zero] for k, v in (("noise", noise), ("flip", flip), ("signal", signal))}
    alpha_s = np.asarray(separability_threshold(teacher=teacher, on_failure="raise", **kw).alpha_s)
    require_not_separable(loss, alpha, alpha_s, "use ridge > 0, or glm.max_margin for the separable limit")


def population_test_loss(loss, channel, m, q, rho):
    """``E l(y, x.w/sqrt d)`` over a fresh sample for a student with overlaps ``(m, q)``."""
    xi, w, omega, P, _, _, _ = _channel_terms(loss, channel, m, q, jnp.ones_like(q), rho)
    return 2.0 * jnp.sum(w * P * loss.value(omega))


# ---------------------------------------------------------------------------------------------
# Square loss closed form (docs/theory/glm.md)


def _square_isotropic(alpha, ridge, rho, kappa1, y2):
    """``(m, q, V, m_hat, q_hat, V_hat)`` of ridge ERM; exact ``ridge = 0`` branches."""
    V = square_loss_response(alpha, ridge)
    finite = jnp.isfinite(V)
    Vs = jnp.where(finite, V, 1.0)
    V_hat = jnp.where(finite, alpha / (1.0 + Vs), 0.0)
    m_hat = kappa1 * V_hat
    m = jnp.where(finite, rho * m_hat * Vs, rho * alpha * kappa1)
    c = alpha / (1.0 + Vs) ** 2
    A = 1.0 / Vs**2
    q_reg = (rho * m_hat**2 + c * (y2 - 2.0 * kappa1 * m)) / (A - c)
    under = alpha < 1.0
    q_zero = jnp.where(
        under, (alpha * y2 - rho * alpha**2 * kappa1**2) / jnp.where(under, 1.0 - alpha, 1.0), jnp.inf
    )
    q = jnp.where(finite, q_reg, q_zero)
    q_hat = jnp.where(finite, c * (y2 - 2.0 * kappa1 * m + q), 0.0)
    return m, q, V, m_hat, q_hat, V_hat


# ---------------------------------------------------------------------------------------------
# Per-point solve


def _point(loss, teacher, solver, settings):
    F = _fixed_point_map(loss, teacher)

    def run(alpha, ridge, noise, flip, rho, eig=None, weights=None, tp=None):
        spectrum = None if eig is None else (eig, weights, tp)
        channel = Channel(teacher, noise, flip)
        kappa1, y2 = label_moments(channel, rho)
        if loss is SQUARE and spectrum is None and solver == "auto":
            m, q, V, m_hat, q_hat, V_hat = _square_isotropic(alpha, ridge, rho, kappa1, y2)
            converged, iterations, residual = jnp.asarray(True), jnp.asarray(0, jnp.int32), jnp.zeros_like(m)
        else:
            # start at m = rho/2, q = 0.6 rho, V = 1/(ridge + alpha)
            x0 = jnp.stack([jnp.arctanh(0.5 / jnp.sqrt(0.6)) + 0 * rho, jnp.log(0.6 * rho), -jnp.log(ridge + alpha)])
            m, q, V, res = solve(F, x0, (alpha, ridge, noise, flip, rho, spectrum), settings, rho)
            m_hat, q_hat, V_hat = _hats(loss, channel, alpha, m, q, V, rho)
            converged, iterations, residual = res.converged, res.iterations, res.residual
        obs = _observables(loss, teacher, alpha, m, q, V, rho, noise, flip)
        cosine = m / jnp.sqrt(rho * q)
        values = (*obs, m, q, V, m_hat, q_hat, V_hat, cosine)
        values = tuple(jnp.where(converged, v, jnp.nan) for v in values)
        return (*values, converged, iterations, residual)

    return run


def _kernel(alpha, ridge, noise, flip, signal, *spectrum, loss, teacher, solver, settings):
    """The flat grid -> :class:`GLMTheory` (``spectrum``: eigenvalues, weights, teacher power)."""
    point = _point(loss, teacher, solver, settings)
    work = 512 * (1 + (spectrum[0].size if spectrum else 0))
    *values, converged, iterations, residual = map_points(
        point, (alpha, ridge, noise, flip, signal), spectrum, work_per_point=work
    )
    return GLMTheory(*values, diagnostics(converged, iterations, residual))


@validated(PARAMS, "theory")
def theory(
    *, alpha, ridge, loss, teacher, noise, flip, signal, spectrum, teacher_power, solver, tol, max_iter, dtype, on_failure
) -> GLMTheory:
    """Asymptotic test/training error and order parameters of l2-penalised ERM (see module docstring).

    Args:
        alpha: samples per dimension ``n/d > 0``.
        ridge: penalty ``>= 0`` on the *summed* loss, ``sum_mu l + (ridge/2)|w|^2``; ``0`` is
            allowed for smooth losses (square: min-norm / least squares, exact branch;
            logistic: the MLE, which exists only above the separability threshold -- below it
            ``ValueError``); hinge needs ``ridge > 0`` (its ``ridge -> 0+`` limit is
            :func:`~overparam_theory.glm.max_margin`).
        loss: ``"square"``, ``"logistic"``, ``"hinge"`` or a
            :class:`~overparam_theory.numerics.prox.MarginLoss` (``numerics.prox.margin_loss``).
        teacher: ``"sign"``, ``"probit"``, ``"logistic"`` or ``"linear"`` (regression; square
            loss only).  See :mod:`overparam_theory.glm._channels`.
        noise: variance ``>= 0`` of the teacher's pre-activation noise (probit: Gaussian;
            logistic: logistic-distributed, ``P(y=1|z) = sigma(pi z/sqrt(3 noise))``; linear:
            additive label noise).  Must be 0 for ``"sign"``.
        flip: label-flip probability in ``[0, 1/2]`` (classification teachers).
        signal: teacher variance ``rho = |w*|^2/d > 0`` (with a spectrum: the *total* variance
            of the teacher field, ``>= sum_k eigenvalue_k teacher_power_k``).
        spectrum, teacher_power: Gaussian covariate model (module docstring); ``ridge > 0``.
        solver: ``"auto"`` (closed form for isotropic square loss) or ``"fixed_point"``.
        tol, max_iter: fixed-point tolerance (relative residual in ``(atanh(cosine), log q,
            log V)``; raised to ``1e-6`` in float32) and iteration cap
            (:class:`~overparam_theory.numerics.solvers.FixedPoint`).
        dtype: ``"float64"`` (default) or ``"float32"``.
        on_failure: ``"warn"``, ``"raise"`` or ``"ignore"`` for points that did not converge
            (their values are NaN, flagged in ``diagnostics``).

    ``alpha``, ``ridge``, ``noise``, ``flip``, ``signal`` broadcast together.

    Returns:
        :class:`GLMTheory`.

    References:
        Aubin, Krzakala, Lu, Zdeborova, NeurIPS 2020 (arXiv:2006.06560), eqs. (9)-(11) and
        appendix; Loureiro, Gerbelot, Cui, Goldt, Krzakala, Mezard, Zdeborova, NeurIPS 2021
        (arXiv:2102.08127), Theorem 1 (Gaussian covariate model); Thrampoulidis, Abbasi,
        Hassibi, NeurIPS 2018 (CGMT, rigorous).
    """
    loss, spectrum, teacher_power = check_problem(
        loss=loss, teacher=teacher, ridge=ridge, noise=noise, flip=flip, signal=signal,
        spectrum=spectrum, teacher_power=teacher_power,
    )
    _check_unregularised(loss, teacher, alpha, ridge, noise, flip, signal)
    settings = fixed_point_settings(tol, max_iter, dtype)
    shared = () if spectrum is None else (spectrum.eigenvalues, spectrum.weights, teacher_power)
    return evaluate(
        _kernel,
        (alpha, ridge, noise, flip, signal),
        shared,
        static=dict(loss=loss, teacher=teacher, solver=solver, settings=settings),
        dtype=dtype,
        on_failure=on_failure,
        what=f"GLM saddle point ({loss.name} loss, {teacher} teacher)",
    )
