"""Pieces shared by the saddle-point theories of l2-penalised ERM (:mod:`~overparam_theory.glm`,
:mod:`~overparam_theory.mixtures`): the square-loss response, the fixed-point solve in the
coordinates ``x = (atanh(cosine), log q, log V)`` and the existence rule at ``ridge = 0``."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np

from ..numerics.fixed_point import fixed_point
from ..numerics.solvers import FixedPoint

__all__ = ["square_loss_response", "fixed_point_settings", "order_parameters", "coordinates", "solve", "require_not_separable"]


def square_loss_response(alpha, ridge):
    """Response ``V`` of square-loss ERM on ``n = alpha d`` samples with unit-variance inputs and
    penalty ``ridge`` on the summed loss: the positive root of ``ridge V^2 + (ridge + alpha - 1) V
    - 1 = 0``, evaluated without cancellation; at ``ridge = 0``, ``V = 1/(alpha - 1)`` above
    ``alpha = 1`` and ``inf`` (the interpolating phase) at or below it."""
    positive = ridge > 0
    lam = jnp.where(positive, ridge, 1.0)
    b = lam + alpha - 1.0
    disc = jnp.sqrt(b * b + 4.0 * lam)
    V_pos = jnp.where(b > 0, 2.0 / (b + disc), (disc - b) / (2.0 * lam))
    over = alpha > 1.0
    V_zero = jnp.where(over, 1.0 / jnp.where(over, alpha - 1.0, 1.0), jnp.inf)
    return jnp.where(positive, V_pos, V_zero)


def fixed_point_settings(tol, max_iter, dtype) -> FixedPoint:
    """Anderson-accelerated damped iteration (damping 0.5, memory 5) with the user's ``tol`` and
    ``max_iter``; ``tol`` is raised to ``1e-6`` in float32."""
    settings = FixedPoint(tol=tol, max_iter=max_iter, method="anderson", damping=0.5, memory=5)
    if dtype == "float32":
        settings = dataclasses.replace(settings, tol=max(settings.tol, 1e-6))
    return settings


def order_parameters(x, rho=1.0):
    """``(m, q, V)`` at ``x = (atanh(cosine), log q, log V)``, ``cosine = m / sqrt(rho q)``
    (``rho``: the teacher variance)."""
    t, log_q, log_V = x
    q, V = jnp.exp(log_q), jnp.exp(log_V)
    return jnp.tanh(t) * jnp.sqrt(rho * q), q, V


def coordinates(m, q, V, rho=1.0):
    """The inverse of :func:`order_parameters`, with the cosine clipped to ``1 - 1e-15`` in
    absolute value."""
    cosine = jnp.clip(m / jnp.sqrt(rho * q), -1.0 + 1e-15, 1.0 - 1e-15)
    return jnp.stack([jnp.arctanh(cosine), jnp.log(q), jnp.log(V)])


def solve(F, x0, args, settings: FixedPoint, rho=1.0):
    """Solve ``x = F(x, args)`` from ``x0`` in the coordinates of :func:`order_parameters`
    (:func:`~overparam_theory.numerics.fixed_point.fixed_point` with ``settings``); returns
    ``(m, q, V, result)``."""
    res = fixed_point(
        F,
        x0,
        args,
        method=settings.method,
        damping=settings.damping,
        memory=settings.memory,
        tol=settings.tol,
        max_iter=settings.max_iter,
    )
    return (*order_parameters(res.value, rho), res)


def require_not_separable(loss, alpha, alpha_s, remedy: str) -> None:
    """``ValueError`` (ending with ``remedy``) if some ``alpha <= alpha_s``: at ``ridge = 0`` the
    unpenalised minimiser of a margin loss exists only where the data are not separable."""
    separable = alpha <= alpha_s
    if np.any(separable):
        i = int(np.flatnonzero(separable)[0])
        raise ValueError(
            f"ridge = 0 with loss={loss.name!r}: the unpenalised minimiser does not exist where the data are "
            f"separable, alpha <= alpha_s (e.g. alpha={alpha[i]:.4g} <= alpha_s={alpha_s[i]:.4g}); {remedy}"
        )
