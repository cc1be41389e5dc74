"""One entry point for the simulators: the estimator of a loss, with or without intercept."""

from __future__ import annotations

from ..numerics.prox import HINGE, LOGISTIC, SQUARE, resolve_loss
from ._common import FitResult
from ._interior_point import fit_hinge, fit_max_margin
from ._newton import fit_logistic, fit_smooth, fit_square

__all__ = ["fit"]


def fit(X, y, ridge, *, loss, intercept=False, hard_margin=False, tol=None) -> FitResult:
    """The ERM estimator of ``loss`` on ``(X, y)`` (keyword ``tol``: the iterative fitters'
    tolerance, their own default when ``None``; the square-loss closed form keeps its ``1e-8``
    acceptance threshold).

    ``loss``: ``"square"``, ``"logistic"``, ``"hinge"`` or a smooth
    :class:`~overparam_theory.numerics.prox.MarginLoss` (:func:`fit_smooth` with its ``value``);
    ``hard_margin=True`` is the hard-margin SVM (:func:`fit_max_margin`, ``ridge`` unused);
    ``intercept=True`` adds an unpenalised intercept (``FitResult.bias``).
    """
    loss = resolve_loss(loss)
    kw = {} if tol is None else {"tol": tol}
    if hard_margin:
        return fit_max_margin(X, y, intercept=intercept, **kw)
    if loss is SQUARE:
        return fit_square(X, y, ridge, intercept=intercept)
    if loss is LOGISTIC:
        return fit_logistic(X, y, ridge, intercept=intercept, **kw)
    if loss is HINGE:
        return fit_hinge(X, y, ridge, intercept=intercept, **kw)
    if loss.smooth:
        return fit_smooth(X, y, ridge, loss.value, intercept=intercept, **kw)
    raise ValueError(f"no finite-size solver for the non-smooth custom loss {loss.name!r}")
