"""Symbolic (SymPy) form of the isotropic ridge-regression asymptotics.

Reference: T. Hastie, A. Montanari, S. Rosset, R. J. Tibshirani, *Surprises in
high-dimensional ridgeless least squares interpolation*, Ann. Statist. 50(2), 2022
(arXiv:1903.08560), Theorems 1-2 (min-norm least squares) and the ridge results of
section 5; ``docs/theory/ridge.md`` section 3.

Convention (the same as :func:`overparam_theory.ridge.theory`):

- covariates ``x ~ N(0, I_d)`` (unit-variance coordinates, not ``I_d/d``); ``n`` samples;
  ``alpha = n/d`` and HMRT's aspect ratio ``gamma = d/n = 1/alpha``;
- labels ``y = <x, beta> + eps``: ``noise = sigma^2`` is the noise *variance* and
  ``signal = r^2 = ||beta||^2``;
- the penalty ``ridge = lam`` is added to the *averaged* loss,
  ``beta_hat = argmin_b (1/n)||y - X b||^2 + lam ||b||^2``;
- risks are *excess* risks ``||beta_hat - beta||^2`` (total test error = excess + noise).

With ``m(-lam) = int dmu_gamma(s)/(s + lam)`` and ``m'(-lam) = int dmu_gamma(s)/(s + lam)^2``
for the Marchenko-Pastur law ``mu_gamma`` of ``X^T X/n``:

    Bias = r^2 lam^2 m'(-lam),     Var = sigma^2 gamma [m(-lam) - lam m'(-lam)].

Everything here is a SymPy expression in the positive symbols :data:`alpha`, :data:`ridge`,
:data:`signal` and :data:`noise`.  The expressions are the *textbook* forms: they are exact, but
evaluated in floating point they suffer the cancellations described in ``docs/theory/ridge.md``
section 5 (tiny ``ridge``); evaluate them with ``expr.evalf(30, subs=...)`` for reference values, and use
:func:`overparam_theory.ridge.theory` (cancellation-free closed forms) for numerics.
"""

from __future__ import annotations

import sympy

__all__ = [
    "alpha",
    "ridge",
    "signal",
    "noise",
    "gamma",
    "mp_stieltjes",
    "ridge_bias",
    "ridge_variance",
    "ridge_excess_risk",
    "ridge_effective_ridge",
    "ridge_train_error",
    "ridgeless_excess_risk",
    "ridgeless_limit",
    "ridgeless_train_error",
    "optimal_ridge",
    "optimal_risk",
    "risk_slope_at_optimum",
    "latex",
    "to_function",
    "ARGUMENTS",
    "REGIMES",
]

#: samples per dimension ``n/d``.
alpha = sympy.Symbol("alpha", positive=True)
#: ridge penalty ``lam`` on the averaged loss.
ridge = sympy.Symbol("ridge", positive=True)
#: ``r^2 = ||beta||^2``.
signal = sympy.Symbol("signal", positive=True)
#: ``sigma^2``, the label-noise variance.
noise = sympy.Symbol("noise", positive=True)
#: HMRT's aspect ratio ``d/n``.
gamma = 1 / alpha

#: argument order of the functions returned by :func:`to_function`.
ARGUMENTS = (alpha, ridge, signal, noise)
REGIMES = ("under", "over")


def mp_stieltjes():
    """``(m(-lam), m'(-lam))`` of the Marchenko-Pastur law with ratio ``gamma = 1/alpha``.

    ``m = m(-lam) = int dmu(s)/(s + lam)`` is the positive root of
    ``gamma lam m^2 + (1 - gamma + lam) m - 1 = 0``, i.e. ``m = (sqrt(a^2 + 4 gamma lam) - a) /
    (2 gamma lam)`` with ``a = 1 - gamma + lam``.  Since ``m(z) = int dmu(s)/(s - z)``,
    ``d/dlam [m(-lam)] = -int dmu/(s + lam)^2``, so ``m'(-lam) = -d m(-lam)/d lam`` (obtained by
    SymPy differentiation; it equals ``m (1 + gamma m) / sqrt(a^2 + 4 gamma lam)``).
    """
    a = 1 - gamma + ridge
    m = (-a + sympy.sqrt(a**2 + 4 * gamma * ridge)) / (2 * gamma * ridge)
    m_prime = -sympy.diff(m, ridge)
    return m, m_prime


def ridge_bias():
    """``Bias = r^2 lam^2 m'(-lam)`` (HMRT section 5; ``docs/theory/ridge.md`` section 3)."""
    _, mp = mp_stieltjes()
    return signal * ridge**2 * mp


def ridge_variance():
    """``Var = sigma^2 gamma [m(-lam) - lam m'(-lam)]`` (HMRT section 5; ``docs/theory/ridge.md``
    section 3)."""
    m, mp = mp_stieltjes()
    return noise * gamma * (m - ridge * mp)


def ridge_excess_risk():
    """``R(lam) = Bias + Var`` (excess risk; total test error is ``R + sigma^2``)."""
    return ridge_bias() + ridge_variance()


def ridge_effective_ridge():
    """``kappa`` defined by ``lam m(-lam) = kappa / (1 + kappa)``, i.e. ``kappa = lam m/(1 - lam m)``."""
    m, _ = mp_stieltjes()
    return ridge * m / (1 - ridge * m)


def ridge_train_error():
    """Training error ``(1/n)||y - X beta_hat||^2 = (lam/kappa)^2 (R + sigma^2)``."""
    kappa = ridge_effective_ridge()
    return (ridge / kappa) ** 2 * (ridge_excess_risk() + noise)


def _check_regime(regime):
    if regime not in REGIMES:
        raise ValueError(f"regime must be one of {REGIMES}, got {regime!r}")


def ridgeless_excess_risk(regime):
    """HMRT Thms 1-2: the min-norm least-squares excess risk (``lam -> 0+``) as stated.

    ``"under"`` (``gamma < 1``): ``sigma^2 gamma / (1 - gamma)``;
    ``"over"`` (``gamma > 1``): ``r^2 (1 - 1/gamma) + sigma^2 / (gamma - 1)``.
    """
    _check_regime(regime)
    if regime == "under":
        return noise * gamma / (1 - gamma)
    return signal * (1 - 1 / gamma) + noise / (gamma - 1)


def ridgeless_train_error(regime):
    """Min-norm training error: ``sigma^2 (1 - gamma)`` for ``gamma < 1``, ``0`` (interpolation) for ``gamma > 1``."""
    _check_regime(regime)
    if regime == "under":
        return noise * (1 - gamma)
    return sympy.Integer(0)


def ridgeless_limit(regime, expr=None):
    """Derive the ``ridge -> 0+`` limit of ``expr`` (default :func:`ridge_excess_risk`) by SymPy.

    The regime is imposed through a positive symbol ``t``: ``gamma = 1/(1 + t)`` (``"under"``,
    ``alpha = 1 + t``) or ``gamma = 1 + t`` (``"over"``, ``alpha = 1/(1 + t)``), which lets SymPy
    resolve ``sqrt((1 - gamma)^2) = |1 - gamma|``.  The result is returned in terms of
    :data:`alpha` (``t`` substituted back), so it can be compared with
    :func:`ridgeless_excess_risk`.
    """
    _check_regime(regime)
    if expr is None:
        expr = ridge_excess_risk()
    t = sympy.Symbol("t", positive=True)
    if regime == "under":
        alpha_t, t_back = 1 + t, alpha - 1
    else:
        alpha_t, t_back = 1 / (1 + t), 1 / alpha - 1
    limit = sympy.limit(expr.subs(alpha, alpha_t), ridge, 0, "+")
    return sympy.simplify(limit.subs(t, t_back))


def optimal_ridge():
    """``lam* = sigma^2 gamma / r^2`` (Bayes posterior mean under ``beta ~ N(0, (r^2/d) I)``)."""
    return noise * gamma / signal


def optimal_risk():
    """``R(lam*) = sigma^2 gamma m(-lam*)`` (the two ``lam m'`` terms cancel at ``lam*``)."""
    m, _ = mp_stieltjes()
    return noise * gamma * m.subs(ridge, optimal_ridge())


def risk_slope_at_optimum():
    """``dR/dlam`` at ``lam = lam*``; identically zero (SymPy-simplifiable, or check numerically).

    ``dR/dlam = 2 (r^2 lam - sigma^2 gamma) [m'(-lam) - lam int dmu/(s + lam)^3]``, so it
    vanishes at ``lam* = sigma^2 gamma / r^2``.
    """
    return sympy.diff(ridge_excess_risk(), ridge).subs(ridge, optimal_ridge())


def latex(expr):
    """LaTeX source of ``expr`` (``sympy.latex``)."""
    return sympy.latex(expr)


def to_function(expr):
    """``sympy.lambdify((alpha, ridge, signal, noise), expr, modules="jax")``.

    The result is a plain Python function of four arguments (always all four, in the order of
    :data:`ARGUMENTS`, even when ``expr`` does not depend on some) built from ``jax.numpy``
    operations, hence JAX-traceable: it can be ``jax.jit``-ed, ``jax.vmap``-ed and
    differentiated with ``jax.grad``.  Evaluate it inside ``with jax.enable_x64(True):`` for
    float64.  It evaluates the textbook expression literally, so it inherits the floating-point
    cancellations of those forms at tiny ``ridge`` (see the module docstring).
    """
    return sympy.lambdify(ARGUMENTS, expr, modules="jax")
