"""Pieces shared by every fitter: the result type, the problem scaling, the status codes."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from .._validation import real_array

__all__ = ["FitResult", "NotSeparableWarning"]


class NotSeparableWarning(RuntimeWarning):
    """A max-margin (hard-margin SVM) solution was asked for where the data are not linearly
    separable (asymptotically: ``alpha >= alpha_s``), so it does not exist.  Issued by
    :func:`overparam_theory.glm.max_margin` and :func:`overparam_theory.mixtures.max_margin`."""


class FitResult(NamedTuple):
    """Result of one fit (every field gains a leading axis under ``vmap``).

    Attributes:
        weights: ``(d,)`` estimator ``w_hat`` (pre-activation ``x . w_hat / sqrt(d)``).
        converged: ``residual <= tol`` was reached (and the problem is feasible).
        iterations: Newton / interior-point iterations used (``int32``).
        residual: accuracy certificate: relative gradient norm ``||grad F(w)|| / ||grad F(0)||``
            for the smooth losses; relative duality gap ``(P - D) / P`` for hinge and
            max-margin (``inf`` when no primal-feasible point is available).
        feasible: ``False`` only when the minimiser does not exist: max-margin on
            non-separable data, or ``ridge = 0`` with a loss that keeps decreasing (logistic)
            on separable data (the iterates would diverge).  ``weights`` is then the last
            iterate, not an estimator.
        bias: the unpenalised intercept ``b`` (``0`` for a fit without intercept).
    """

    weights: jax.Array
    converged: jax.Array
    iterations: jax.Array
    residual: jax.Array
    feasible: jax.Array
    bias: jax.Array


# Loop status codes (internal).
RUNNING, CONVERGED, UNBOUNDED, STALLED = 0, 1, 2, 3


def scaled(X, y):
    """``(A, y) = (X / sqrt(d), y)`` in the dtype of ``X`` (shape-checked)."""
    X = jnp.asarray(X)
    if not jnp.issubdtype(X.dtype, jnp.floating):
        X = X.astype(jnp.result_type(float))
    y = jnp.asarray(y, X.dtype)
    if X.ndim != 2 or y.shape != X.shape[:1]:
        raise ValueError(f"expected X of shape (n, d) and y of shape (n,), got {X.shape} and {y.shape}")
    return X / jnp.sqrt(jnp.asarray(X.shape[1], X.dtype)), y


def checked_ridge(ridge, dtype, *, positive=False):
    """Validate a concrete ``ridge`` (``>= 0``, or ``> 0``); tracers pass through."""
    ridge = real_array("ridge", ridge, low=0.0, low_open=positive)
    return jnp.asarray(ridge, dtype)


def relative(value, reference):
    return jnp.where(reference > 0, value / jnp.where(reference > 0, reference, 1.0), value)
