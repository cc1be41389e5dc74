"""Random-features ridge regression: exact asymptotic test error (Mei & Montanari 2022).

Conventions (``docs/theory/random_features.md``; ``docs/conventions.md``):

- inputs ``x_i ~ Unif(S^{d-1}(sqrt d))``, ``i = 1..n``; fixed random weights
  ``theta_j ~ Unif(S^{d-1}(sqrt d))``, ``j = 1..N``; features ``z_j(x) = sigma(<theta_j, x>/sqrt d)``;
- ``alpha = n/d`` (the paper's ``psi_2``) and ``width = N/d`` (``psi_1``), proportional limit;
- target ``f(x) = <beta_1, x> + f_NL(x)`` with ``signal = ||beta_1||^2 = F_1^2``,
  ``nonlinear_signal = E f_NL^2 = F_*^2`` (``f_NL`` orthogonal to polynomials of degree <= 1),
  labels ``y = f(x) + eps`` with ``noise = Var eps = tau^2`` (a variance);
- estimator ``a_hat = argmin_a (1/n) sum_i (y_i - a^T z(x_i))^2 + (N ridge / d) ||a||^2`` --
  **the penalty carries the factor N/d** (``ridge`` is the paper's ``lambda``); ``ridge = 0``
  is the min-norm interpolator;
- ``excess_risk = E_x (f(x) - a_hat^T z(x))^2`` (no test-label noise).

With the activation's Hermite coefficients ``mu1, mu_star`` (see ``_activations``),
``zeta = mu1/mu_star`` and ``ridge_bar = ridge/mu_star^2``, the fixed point of Definition 1 on
the positive imaginary axis ``xi = i y``, ``y = sqrt(psi_1 psi_2 ridge_bar)``, reduces to the
scalar root ``x = -chi in (0, x_max)`` of the strictly decreasing

    F(x) = (psi_1 - h(x)) (psi_2 - h(x)) - y^2 x,    h(x) = x + zeta^2 x / (1 + zeta^2 x),

with ``h(x_max) = min(psi_1, psi_2)`` (the C+ branch: ``nu_1 = i a``, ``nu_2 = i b``, ``a, b > 0``,
``x = ab``; ``docs/theory/random_features.md`` section 4).  Theorem 1 then gives

    B = E1/E0,   V = E2/E0,   R = F_1^2 B + (tau^2 + F_*^2) V + F_*^2

with the polynomials ``E0, E1, E2`` in ``chi`` of the spec (note ``E1``'s ``zeta^4, zeta^2``).
The ridgeless limit (Theorem 3) is ``x = x_max`` exactly; at ``width = alpha`` the denominator
``E0`` vanishes and ``B, V`` are ``inf``.  We report

    bias = F_1^2 B + F_*^2 (V + 1)  (error with noiseless labels),   variance = tau^2 V.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._spec import validated
from ..numerics.batching import map_points
from ..numerics.diagnostics import Diagnostics, diagnostics, with_diagnostics
from ..numerics.grid import evaluate
from ..numerics.minimize import grid_then_newton
from ..numerics.roots import bracketed_root
from ._activations import Activation, resolve_activation
from ._params import PARAMS


@with_diagnostics
class RandomFeaturesTheory(NamedTuple):
    """Asymptotic random-features quantities, shaped like the broadcast parameters.

    Attributes:
        excess_risk: ``R = E_x (f - a_hat^T z)^2`` (test-label noise excluded).
        bias: the error with noiseless labels, ``F_1^2 B + F_*^2 (V + 1)``.
        variance: the part due to label noise, ``tau^2 V``.
        bias_factor: ``B`` of Theorem 1 (the error per unit linear-signal power).
        variance_factor: ``V`` of Theorem 1 (per unit noise variance).
        chi: ``nu_1 nu_2`` at ``xi = i sqrt(psi_1 psi_2 ridge_bar)`` (``chi <= 0``).
        diagnostics: :class:`~overparam_theory.numerics.diagnostics.Diagnostics` of the scalar
            root (the ridgeless branch is closed form: status OK, 0 iterations); ``converged``,
            ``status``, ``iterations``, ``residual`` are properties.
    """

    excess_risk: jax.Array
    bias: jax.Array
    variance: jax.Array
    bias_factor: jax.Array
    variance_factor: jax.Array
    chi: jax.Array
    diagnostics: Diagnostics


def _h(x, z2):
    return x + z2 * x / (1.0 + z2 * x)


def ridgeless_x(psi, z2):
    """Root ``x > 0`` of ``h(x) = psi``: ``z2 x^2 + (1 + z2 - psi z2) x - psi = 0``, written
    without cancellation (``2 psi/(c + D)`` for ``c > 0``, ``(D - c)/(2 z2)`` otherwise)."""
    c = 1.0 + z2 - psi * z2
    disc = jnp.sqrt(c * c + 4.0 * z2 * psi)
    c_pos = c > 0
    z2_s = jnp.where(c_pos, 1.0, z2)
    return jnp.where(c_pos, 2.0 * psi / jnp.where(c_pos, c + disc, 1.0), (disc - c) / (2.0 * z2_s))


def _root_equation(log_x, args):
    # F(x) / (psi_1 psi_2): O(1) terms, so |value| <= a few ulps means converged.
    psi1, psi2, lam_bar, z2 = args
    x = jnp.exp(log_x)
    h = _h(x, z2)
    return (1.0 - h / psi1) * (1.0 - h / psi2) - lam_bar * x


def _e0(chi, psi1, psi2, z2):
    z4, z6 = z2 * z2, z2 * z2 * z2
    c2, c3 = chi * chi, chi * chi * chi
    c4, c5 = c2 * c2, c2 * c3
    p = psi1 * psi2
    return (
        -c5 * z6
        + 3 * c4 * z4
        + (p - psi2 - psi1 + 1) * c3 * z6
        - 2 * c3 * z4
        - 3 * c3 * z2
        + (psi1 + psi2 - 3 * p + 1) * c2 * z4
        + 2 * c2 * z2
        + c2
        + 3 * p * chi * z2
        - p
    )


def bias_variance_factors(chi, psi1, psi2, z2):
    """``(E1/E0, E2/E0)`` of Mei & Montanari Theorem 1 (the polynomials verbatim)."""
    z4, z6 = z2 * z2, z2 * z2 * z2
    c2, c3 = chi * chi, chi * chi * chi
    c4, c5 = c2 * c2, c2 * c3
    p = psi1 * psi2
    e0 = _e0(chi, psi1, psi2, z2)
    e1 = psi2 * c3 * z4 - psi2 * c2 * z2 + p * chi * z2 - p
    e2 = c5 * z6 - 3 * c4 * z4 + (psi1 - 1) * c3 * z6 + 2 * c3 * z4 + 3 * c3 * z2 + (-psi1 - 1) * c2 * z4 - 2 * c2 * z2 - c2
    return e1 / e0, e2 / e0


bias_variance_factors.e0 = _e0


def _point(psi2, psi1, lam, f1, fstar, tau2, z2, mu_star2):
    psi = jnp.minimum(psi1, psi2)
    x_max = ridgeless_x(psi, z2)
    positive = lam > 0
    lam_bar = jnp.where(positive, lam, 1.0) / mu_star2
    # Lower end with F > 0: h(x) <= (1 + zeta^2) x gives F(x)/(psi_1 psi_2) >= (1 - t)^2 - ridge_bar t psi/(1 + zeta^2)
    # at x = t psi/(1 + zeta^2); t = min(1/2, (1 + zeta^2)/(8 ridge_bar psi)) makes that >= 1/8.
    t = jnp.minimum(0.5, (1.0 + z2) / (8.0 * lam_bar * psi))
    x_lo = t * psi / (1.0 + z2)
    ftol = 8.0 * float(jnp.finfo(x_max.dtype).eps)
    root = bracketed_root(
        _root_equation, jnp.log(x_lo), jnp.log(x_max), (psi1, psi2, lam_bar, z2), xtol=1e-15, ftol=ftol
    )
    # A ridge so small that the root is x_max to rounding (F(x_max) >= 0 in floating point) is
    # the ridgeless point; the bracket would have no sign change.
    at_top = _root_equation(jnp.log(x_max), (psi1, psi2, lam_bar, z2)) >= 0
    solved = positive & ~at_top
    x = jnp.where(solved, jnp.exp(root.root), x_max)
    chi = -x
    b_fac, v_fac = bias_variance_factors(chi, psi1, psi2, z2)
    # E0 < 0 away from the threshold (B = E1/E0 > 0 with E1 < 0); E0 >= 0 only at width = alpha
    # in the ridgeless limit (E0 = 0), where B and V diverge.
    e0_sign = jnp.sign(bias_variance_factors.e0(chi, psi1, psi2, z2))
    threshold = ((~solved) & (psi1 == psi2)) | (e0_sign >= 0)
    inf = jnp.asarray(jnp.inf, b_fac.dtype)
    b_fac = jnp.where(threshold, inf, b_fac)
    v_fac = jnp.where(threshold, inf, v_fac)
    bias = f1 * b_fac + fstar * (v_fac + 1.0)
    variance = jnp.where(tau2 > 0, tau2 * v_fac, 0.0)
    converged = (~solved) | root.converged
    iterations = jnp.where(solved, root.iterations, 0)
    residual = jnp.where(solved, root.residual, 0.0)
    return bias + variance, bias, variance, b_fac, v_fac, chi, converged, iterations, residual


def _curve(alpha, width, ridge, signal, nonlinear_signal, noise, z2, mu_star2):
    out = map_points(_point, (alpha, width, ridge, signal, nonlinear_signal, noise), (z2, mu_star2))
    conv = out[6]
    # A point whose root did not converge is reported as NaN *and* flagged, never as a number.
    masked = [jnp.where(conv, o, jnp.nan) for o in out[:5]]
    return RandomFeaturesTheory(*masked, out[5], diagnostics(*out[6:]))


@validated(PARAMS, "theory")
def theory(
    *, alpha, width, ridge, activation, signal, nonlinear_signal, noise, activation_kink, dtype, on_failure
) -> RandomFeaturesTheory:
    """Asymptotic test error of random-features ridge regression (Mei & Montanari 2022, Thm 1).

    Args:
        alpha: ``n/d > 0`` (``psi_2``).
        width: ``N/d > 0`` (``psi_1``).
        ridge: ``lambda >= 0``, coefficient of ``(N/d)||a||^2`` added to the averaged loss;
            ``0`` is the min-norm interpolator (exact ridgeless branch, Thm 3).
        activation: ``"relu"``, ``"tanh"``, ``"erf"``, ``"sigmoid"``, ``"quadratic"``, or a
            JAX-traceable elementwise callable (or an :class:`Activation` from
            :func:`activation`).  Needs ``mu_star > 0`` (a nonlinear part).
        signal: ``F_1^2 = ||beta_1||^2 >= 0``, power of the linear part of the target.
        nonlinear_signal: ``F_*^2 >= 0``, power of the nonlinear part of the target.
        noise: label-noise variance ``tau^2 >= 0``.
        activation_kink: for a callable activation with a kink (``abs``, ``relu``-like), its
            location, so that the coefficients are integrated with the split rule.
        dtype, on_failure: as in :func:`overparam_theory.ridge.theory`.

    All numeric parameters broadcast together.

    Returns:
        :class:`RandomFeaturesTheory`; ``inf`` factors at ``ridge = 0, width = alpha``.

    References:
        S. Mei, A. Montanari, Comm. Pure Appl. Math. 75(4) 2022 (arXiv:1908.05355), Definition 1,
        Theorem 1 and Theorem 3.
    """
    act = _nonlinear_activation(activation, activation_kink)
    return evaluate(
        _curve,
        (alpha, width, ridge, signal, nonlinear_signal, noise),
        ((act.mu1 / act.mu_star) ** 2, act.mu_star**2),
        dtype=dtype,
        on_failure=on_failure,
        what="random-features fixed point",
    )


def _nonlinear_activation(activation, kink):
    """The resolved activation (cross-field: a callable is integrated with its ``kink``); the
    theory needs a nonlinear part, ``mu_star > 0``."""
    act = resolve_activation(activation, kink=kink)
    if act.mu_star == 0:
        raise ValueError(
            f"activation {act.name!r} has mu_star = 0 (no nonlinear part): the Mei-Montanari formulas need "
            "mu_star > 0 (zeta = mu1/mu_star and ridge/mu_star^2 are infinite); linear random features "
            "are a random projection of the inputs and are not covered by this theory"
        )
    return act


def activation(spec, *, kink=None, n_nodes: int = 128) -> Activation:
    """Resolve an activation (name or callable) and its coefficients ``mu0, mu1, mu_star``
    (Gauss-Hermite with ``n_nodes`` nodes, split at ``kink`` when given)."""
    return resolve_activation(spec, kink=kink, n_nodes=n_nodes)


@with_diagnostics
class RandomFeaturesOptimalRidge(NamedTuple):
    """Optimal ``ridge`` per point and the random-features quantities there (``diagnostics``:
    of the penalty search, as in :class:`RandomFeaturesTheory`)."""

    ridge: jax.Array
    excess_risk: jax.Array
    bias: jax.Array
    variance: jax.Array
    bias_factor: jax.Array
    variance_factor: jax.Array
    diagnostics: Diagnostics


_LOG_RIDGE_GRID = np.linspace(np.log(1e-8), np.log(1e4), 73)
_OPTIMAL_PARAMS = tuple(p for p in PARAMS if p.name != "ridge")


def _risk_at_log_ridge(u, args):
    psi2, psi1, f1, fstar, tau2, z2, mu_star2 = args
    return _point(psi2, psi1, jnp.exp(u), f1, fstar, tau2, z2, mu_star2)[0]


def _optimum_point(psi2, psi1, f1, fstar, tau2, z2, mu_star2):
    args = (psi2, psi1, f1, fstar, tau2, z2, mu_star2)
    grid = jnp.log(mu_star2) + jnp.asarray(_LOG_RIDGE_GRID)  # ridge_bar from 1e-8 to 1e4
    best = grid_then_newton(_risk_at_log_ridge, grid, args)
    at_zero = best.at_lower & (_point(psi2, psi1, 0.0, f1, fstar, tau2, z2, mu_star2)[0] <= best.value)
    lam = jnp.where(at_zero, 0.0, jnp.where(best.at_upper, jnp.inf, jnp.exp(best.u)))
    out = _point(psi2, psi1, jnp.where(jnp.isfinite(lam), lam, 1.0), f1, fstar, tau2, z2, mu_star2)
    # ridge -> inf: the zero predictor, R = F_1^2 + F_*^2 (B = 1, V = 0)
    null = (f1 + fstar, f1 + fstar, 0.0 * f1, 1.0 + 0.0 * f1, 0.0 * f1)
    values = [jnp.where(best.at_upper, n, o) for n, o in zip(null, out[:5])]
    converged = (best.converged | at_zero | best.at_upper) & out[6]
    return (lam, *values, converged, best.iterations, best.residual)


def _optimum(alpha, width, signal, nonlinear_signal, noise, z2, mu_star2):
    out = map_points(
        _optimum_point, (alpha, width, signal, nonlinear_signal, noise), (z2, mu_star2), work_per_point=len(_LOG_RIDGE_GRID)
    )
    conv = out[6]
    masked = [jnp.where(conv, o, jnp.nan) for o in out[1:6]]
    return RandomFeaturesOptimalRidge(out[0], *masked, diagnostics(*out[6:]))


@validated(_OPTIMAL_PARAMS, "theory")
def optimal_ridge(
    *, alpha, width, activation, signal, nonlinear_signal, noise, activation_kink, dtype, on_failure
) -> RandomFeaturesOptimalRidge:
    """The ``ridge >= 0`` minimising the random-features excess risk at each point.

    Parameters as in :func:`theory` (without ``ridge``).  The risk is evaluated on 73
    log-spaced penalties with ``ridge/mu_star^2`` from 1e-8 to 1e4 and at ``ridge = 0``; the best
    grid point is refined by a safeguarded Newton solve of ``dR/d log(ridge) = 0`` (derivatives
    by implicit differentiation through the fixed point).  An optimum at the upper end is
    reported as ``ridge = inf`` (the zero predictor, ``R = signal + nonlinear_signal``).
    Optimal regularisation removes the interpolation peak at ``width = alpha`` (Mei &
    Montanari 2022, section 3.2).
    """
    act = _nonlinear_activation(activation, activation_kink)
    return evaluate(
        _optimum,
        (alpha, width, signal, nonlinear_signal, noise),
        ((act.mu1 / act.mu_star) ** 2, act.mu_star**2),
        dtype=dtype,
        on_failure=on_failure,
        what="random-features optimal-ridge search",
    )
