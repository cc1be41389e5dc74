"""Small dense linear-algebra pieces shared by the simulators."""

from __future__ import annotations

import jax.numpy as jnp


def ridge_solve(X, y, penalty, n_rows=None):
    """``argmin_b (1/n)||y - X b||^2 + penalty ||b||^2`` (min-norm least squares at ``penalty = 0``).

    Uses the smaller Gram matrix: ``(X^T X/n + penalty I)^{-1} X^T y/n`` when ``n >= d``, else
    ``X^T (X X^T/n + penalty I)^{-1} y/n`` (equal for ``penalty > 0``; the min-norm interpolator
    ``X^+ y`` at ``penalty = 0``).  ``y`` may hold several right-hand sides as columns.
    scikit-learn's ``Ridge(alpha=n * penalty, fit_intercept=False)`` is the same estimator.

    ``n_rows`` (optional, may be traced): the number of real samples when ``X`` holds zero rows
    past it (:func:`padded_rows`), so that one compiled program serves every sample size up to
    ``X.shape[0]``.  Zero rows leave ``X^T X`` and ``X^T y`` unchanged; in the dual form their
    diagonal entries of the Gram matrix are set to one, so their coefficients vanish.  The
    padding must not cross ``d``: ``X.shape[0] >= d`` exactly when ``n_rows >= d``.
    """
    n_pad, d = X.shape
    n = n_pad if n_rows is None else n_rows
    if n_pad >= d:
        gram = X.T @ X / n + penalty * jnp.eye(d, dtype=X.dtype)
        return jnp.linalg.solve(gram, X.T @ y / n)
    return X.T @ jnp.linalg.solve(dual_gram(X, penalty, n_rows), y / n)


def dual_gram(X, penalty, n_rows=None):
    """``X X^T/n + penalty I`` (``n = n_rows`` or ``X.shape[0]``), with a unit diagonal on the
    zero rows past ``n_rows`` (see :func:`ridge_solve`)."""
    n_pad = X.shape[0]
    if n_rows is None:
        return X @ X.T / n_pad + penalty * jnp.eye(n_pad, dtype=X.dtype)
    diagonal = jnp.where(padded_rows(n_rows, n_pad), penalty, 1.0).astype(X.dtype)
    return X @ X.T / n_rows + jnp.diag(diagonal)


def padded_rows(n_rows, n_pad):
    """``(n_pad,)`` mask of the real rows (``index < n_rows``) of a zero-padded sample."""
    return jnp.arange(n_pad) < n_rows
