"""Small dense linear-algebra pieces shared by the simulators."""

from __future__ import annotations

import jax.numpy as jnp


def ridge_solve(X, y, penalty):
    """``argmin_b (1/n)||y - X b||^2 + penalty ||b||^2`` (min-norm least squares at ``penalty = 0``).

    Uses the smaller Gram matrix: ``(X^T X/n + penalty I)^{-1} X^T y/n`` when ``n >= d``, else
    ``X^T (X X^T/n + penalty I)^{-1} y/n`` (equal for ``penalty > 0``; the min-norm interpolator
    ``X^+ y`` at ``penalty = 0``).  ``y`` may hold several right-hand sides as columns.
    scikit-learn's ``Ridge(alpha=n * penalty, fit_intercept=False)`` is the same estimator.
    """
    n, d = X.shape
    if n >= d:
        gram = X.T @ X / n + penalty * jnp.eye(d, dtype=X.dtype)
        return jnp.linalg.solve(gram, X.T @ y / n)
    gram = X @ X.T / n + penalty * jnp.eye(n, dtype=X.dtype)
    return X.T @ jnp.linalg.solve(gram, y / n)
