"""Asymptotic risk of ridge regression and min-norm least squares.

Conventions (``docs/theory/ridge.md``; ``docs/conventions.md`` maps them to other papers):

- covariates ``x ~ N(0, Sigma)`` with *unit-scale* coordinates (``Sigma = I`` in the isotropic
  case, not ``I/d``); ``n`` samples, dimension ``d``, ``alpha = n/d`` (Hastie et al. write
  ``gamma = d/n = 1/alpha``);
- labels ``y = <x, beta> + eps``, ``eps ~ N(0, noise)``: ``noise = sigma^2`` is a *variance*;
  ``signal = ||beta||^2 = r^2``;
- ridge penalty on the *averaged* loss,
  ``beta_hat = argmin_b (1/n)||y - X b||^2 + ridge ||b||^2``; ``ridge = 0`` is min-norm least
  squares ``X^+ y``;
- ``excess_risk = (beta_hat - beta)^T Sigma (beta_hat - beta)`` averaged over the label noise
  (total test error = ``excess_risk + noise``); ``bias`` and ``variance`` its two parts;
  ``train_error = (1/n)||y - X beta_hat||^2``.

Isotropic case (Hastie, Montanari, Rosset & Tibshirani 2022, Thms 1-2 and section 5; Dobriban &
Wager 2018): with ``gamma = 1/alpha`` the effective regularisation ``kappa`` solves
``kappa^2 + b kappa - ridge = 0``, ``b = 1 - ridge - gamma``, and with
``D = sqrt(b^2 + 4 ridge)`` (so that ``(1 + kappa)^2 - gamma = D (1 + kappa)``):

    bias = signal kappa^2 / (D (1 + kappa)),   variance = noise gamma / (D (1 + kappa)),
    train_error = (ridge/kappa)^2 (excess_risk + noise).

These equal the spec's ``r^2 ridge^2 m'(-ridge)`` and ``sigma^2 gamma [m - ridge m']``
(``lam m(-lam) = kappa/(1 + kappa)``) but contain no difference of large numbers, so they stay
accurate at tiny ridge in the overparameterised regime (the cancellation pitfall described in
``docs/theory/ridge.md``).  ``ridge = 0`` is evaluated as its own exact branch (HMRT Thm 1-2).

Anisotropic case (deterministic equivalent; Bach 2023, Cheng & Montanari 2022, Atanasov et al.
2024): ``Sigma`` has the spectral measure ``sum_k w_k delta_{lam_k}``
(``w_k`` the fraction of directions with eigenvalue ``lam_k``) and ``teacher_power[k]`` is the
teacher's squared norm inside the ``lam_k`` eigenspace (``sum_k teacher_power = ||beta||^2``;
``teacher_power = mult_k beta2_k`` for per-direction ``beta2_k``).  ``kappa`` solves
``1 - ridge/kappa = (1/alpha) sum_k w_k lam_k/(lam_k + kappa)`` and

    bias     = kappa^2 sum_k lam_k teacher_power_k/(lam_k + kappa)^2 / (1 - df2/n)
    variance = noise (df2/n) / (1 - df2/n),      df2/n = (1/alpha) sum_k w_k lam_k^2/(lam_k+kappa)^2,

with ``1 - df2/n`` evaluated as the sum of positive terms
``ridge/kappa + (kappa/alpha) sum_k w_k lam_k/(lam_k + kappa)^2``.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from .._spec import validated
from ..numerics import spectra as _spectra
from ..numerics.batching import map_points
from ..numerics.diagnostics import Diagnostics, diagnostics, ok, with_diagnostics
from ..numerics.grid import evaluate
from ._params import PARAMS


@with_diagnostics
class RidgeTheory(NamedTuple):
    """Asymptotic ridge-regression quantities, each shaped like the broadcast parameters.

    Attributes:
        excess_risk: ``E (beta_hat - beta)^T Sigma (beta_hat - beta)`` (label noise of the test
            point excluded); ``inf`` at the interpolation threshold of min-norm least squares.
        bias: the part of ``excess_risk`` from the teacher (``noise = 0``).
        variance: the part from the label noise.
        train_error: mean squared training residual ``(1/n)||y - X beta_hat||^2``.
        effective_ridge: the effective regularisation ``kappa``.
        diagnostics: :class:`~overparam_theory.numerics.diagnostics.Diagnostics` of the
            ``kappa`` root (a closed form in the isotropic case: status OK, 0 iterations);
            ``converged``, ``status``, ``iterations``, ``residual`` are properties.
    """

    excess_risk: jax.Array
    bias: jax.Array
    variance: jax.Array
    train_error: jax.Array
    effective_ridge: jax.Array
    diagnostics: Diagnostics


RESULT_FIELDS = ("excess_risk", "bias", "variance", "train_error")


# ---------------------------------------------------------------------------------------------
# The teacher: cross-field rule shared with the simulator (single values are checked by PARAMS).


def resolve_teacher(signal, spectrum, teacher_power):
    """``(signal, spectrum, teacher_power)`` after the cross-field rules: isotropic data take
    ``signal`` (default 1) and refuse ``teacher_power``; with a spectrum exactly one of
    ``signal`` (a scalar, spread isotropically) and ``teacher_power`` is used and ``signal`` is
    returned as ``None``."""
    if spectrum is None:
        if teacher_power is not None:
            raise ValueError("teacher_power needs a spectrum (spectra.discrete(...)); for isotropic data use signal")
        return (1.0 if signal is None else signal), None, None
    spectrum, teacher_power = _spectra.validate_spectrum_teacher(spectrum, signal, teacher_power)
    return None, spectrum, teacher_power


# ---------------------------------------------------------------------------------------------
# Isotropic closed forms.


def _isotropic(alpha, lam, signal, noise):
    gamma = 1.0 / alpha
    # Ridge > 0 (a safe ridge keeps the unused where-branch finite for gradients).
    positive = lam > 0
    lam_s = jnp.where(positive, lam, 1.0)
    b = 1.0 - lam_s - gamma
    disc = jnp.hypot(b, 2.0 * jnp.sqrt(lam_s))  # sqrt(b^2 + 4 ridge) without overflow
    b_pos = b > 0
    kappa = jnp.where(b_pos, 2.0 * lam_s / jnp.where(b_pos, b + disc, 1.0), 0.5 * (disc - b))
    lam_over_kappa = jnp.where(b_pos, 0.5 * (b + disc), 2.0 * lam_s / jnp.where(b_pos, 1.0, disc - b))
    denom = disc * (1.0 + kappa)
    bias_r = signal * (kappa / (1.0 + kappa)) * (kappa / disc)
    var_r = noise * gamma / denom
    train_r = lam_over_kappa**2 * (bias_r + var_r + noise)

    # Ridgeless branch (HMRT Thm 1 and 2), with gamma = 1 the interpolation threshold.
    under = gamma < 1
    over = gamma > 1
    g_under = jnp.where(under, gamma, 0.5)
    g_over = jnp.where(over, gamma, 2.0)
    inf = jnp.asarray(jnp.inf, dtype=bias_r.dtype)
    bias_0 = jnp.where(over, signal * (1.0 - 1.0 / g_over), 0.0)
    var_0 = jnp.where(
        under,
        noise * g_under / (1.0 - g_under),
        jnp.where(over, noise / (g_over - 1.0), jnp.where(noise > 0, inf, 0.0)),
    )
    train_0 = jnp.where(under, noise * (1.0 - g_under), 0.0)
    kappa_0 = jnp.where(over, g_over - 1.0, 0.0)

    bias = jnp.where(positive, bias_r, bias_0)
    variance = jnp.where(positive, var_r, var_0)
    return bias, variance, jnp.where(positive, train_r, train_0), jnp.where(positive, kappa, kappa_0)


# ---------------------------------------------------------------------------------------------
# Anisotropic deterministic equivalent (one point; vmapped by the caller).


def _anisotropic_point(alpha, lam, noise, eigenvalues, weights, teacher_power):
    spectrum = _spectra.DiscreteSpectrum(eigenvalues, weights)
    rho = _spectra.rank_fraction(spectrum)
    gap = alpha - rho
    at_threshold = jnp.abs(gap) <= 1e-12 * rho  # rank fraction is a rounded sum of weights
    kappa_zero = (lam == 0) & ((gap > 0) | at_threshold)  # ridgeless under-parameterised: kappa = 0
    alpha_s = jnp.where(kappa_zero, 0.5 * rho, alpha)
    root = _spectra.effective_regularization(spectrum, alpha_s, lam)
    kappa = jnp.exp(root.root)
    x = eigenvalues
    # 1 - df2/n = ridge/kappa + (kappa/alpha) sum_k w_k lam_k/(lam_k + kappa)^2 (positive terms)
    one_minus_df2 = lam / kappa + jnp.sum(weights * (x / (x + kappa)) * (kappa / (x + kappa))) / alpha_s
    df2 = _spectra.df2(spectrum, kappa) / alpha_s
    shrink = kappa / (x + kappa)  # 1 - learnability; written to avoid kappa^2 overflow
    bias_k = jnp.sum(x * teacher_power * shrink**2) / one_minus_df2
    var_k = noise * df2 / one_minus_df2
    train_k = (lam / kappa) ** 2 * (bias_k + var_k + noise)

    above = (gap > 0) & ~at_threshold
    gap_s = jnp.where(above, gap, 1.0)
    inf = jnp.asarray(jnp.inf, dtype=bias_k.dtype)
    var_0 = jnp.where(above, noise * rho / gap_s, jnp.where(noise > 0, inf, 0.0))
    train_0 = jnp.where(above, noise * (1.0 - rho / alpha), 0.0)

    bias = jnp.where(kappa_zero, 0.0, bias_k)
    variance = jnp.where(kappa_zero, var_0, var_k)
    train = jnp.where(kappa_zero, train_0, train_k)
    kappa = jnp.where(kappa_zero, 0.0, kappa)
    converged = kappa_zero | root.converged
    iterations = jnp.where(kappa_zero, 0, root.iterations)
    residual = jnp.where(kappa_zero, 0.0, root.residual)
    return bias, variance, train, kappa, converged, iterations, residual


def _isotropic_kernel(alpha, lam, signal, noise):
    bias, variance, train, kappa = _isotropic(alpha, lam, signal, noise)
    return RidgeTheory(bias + variance, bias, variance, train, kappa, ok(alpha.shape, alpha.dtype))


def _anisotropic_kernel(alpha, lam, noise, eigenvalues, weights, teacher_power):
    bias, variance, train, kappa, converged, iterations, residual = map_points(
        _anisotropic_point, (alpha, lam, noise), (eigenvalues, weights, teacher_power), work_per_point=eigenvalues.size
    )
    # A point whose root did not converge is reported as NaN *and* flagged, never as a number.
    bias, variance, train = (jnp.where(converged, v, jnp.nan) for v in (bias, variance, train))
    return RidgeTheory(bias + variance, bias, variance, train, kappa, diagnostics(converged, iterations, residual))


@validated(PARAMS, "theory")
def theory(*, alpha, ridge, signal, noise, spectrum, teacher_power, dtype, on_failure) -> RidgeTheory:
    """Asymptotic excess risk, bias, variance and training error of ridge / min-norm regression.

    Args:
        alpha: samples per dimension ``n/d > 0`` (HMRT's ``gamma = 1/alpha``).
        ridge: penalty ``>= 0`` on the averaged loss, ``(1/n)||y - Xb||^2 + ridge ||b||^2``;
            ``0`` is min-norm least squares (exact ridgeless branch).
        signal: ``||beta||^2 >= 0`` (default 1); with a spectrum, an isotropic teacher of that
            norm.  Mutually exclusive with ``teacher_power``.
        noise: label-noise variance ``sigma^2 >= 0``.
        spectrum: ``None`` for ``Sigma = I`` (closed form), or a
            :class:`~overparam_theory.numerics.spectra.DiscreteSpectrum` of ``Sigma`` (weights =
            fractions of ``d``) for the deterministic equivalent.
        teacher_power: ``(K,)`` teacher squared norm in each eigenspace of ``spectrum``.
        dtype: ``"float64"`` (default; enabled locally, the process setting is untouched) or
            ``"float32"``.
        on_failure: ``"warn"`` (default), ``"raise"`` or ``"ignore"`` when a root solve does not
            converge at some point (those points are NaN and flagged in ``diagnostics``).

    ``alpha``, ``ridge``, ``noise`` (and ``signal`` when isotropic) broadcast together.

    Returns:
        :class:`RidgeTheory`.  At ``ridge = 0`` and ``alpha = rank(Sigma)/d`` (the
        interpolation threshold) the variance is ``inf`` when ``noise > 0``.

    References:
        Hastie, Montanari, Rosset, Tibshirani, Ann. Statist. 50(2) 2022 (arXiv:1903.08560),
        Thms 1-2 and section 5; Dobriban & Wager, Ann. Statist. 46(1) 2018; Bach, SIAM J. Math.
        Data Sci. 2024 (arXiv:2303.01372).
    """
    signal, spectrum, teacher_power = resolve_teacher(signal, spectrum, teacher_power)
    what = "ridge effective-regularisation root"
    if spectrum is None:
        return evaluate(_isotropic_kernel, (alpha, ridge, signal, noise), dtype=dtype, on_failure=on_failure, what=what)
    return evaluate(
        _anisotropic_kernel,
        (alpha, ridge, noise),
        (spectrum.eigenvalues, spectrum.weights, teacher_power),
        dtype=dtype,
        on_failure=on_failure,
        what=what,
    )
