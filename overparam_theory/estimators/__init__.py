"""Finite-size empirical-risk minimisers shared by the simulators of the ERM families
(:mod:`~overparam_theory.glm`, :mod:`~overparam_theory.mixtures`).

Every estimator uses pre-activations ``x . w / sqrt(d)`` (inputs with ``O(1)`` coordinates, so
fields are ``O(1)``) and the **sum** of the losses plus an l2 penalty on ``w``, with an optional
unpenalised intercept ``b``:

    (w_hat, b_hat) = argmin_{w, b}  sum_mu loss(y_mu (x_mu . w / sqrt(d) + b)) + (ridge / 2) ||w||^2,

``b = 0`` without intercept; labels ``y in {-1, +1}`` for the classification losses: square
``0.5 (1 - t)^2`` (``= 0.5 (y - x.w/sqrt(d) - b)^2``, also for real-valued ``y``), logistic
``log(1 + e^{-t})``, hinge ``max(0, 1 - t)``; and the hard-margin SVM
``min ||w||^2  s.t.  y_mu (x_mu . w / sqrt(d) + b) >= 1`` (then ``q = ||w||^2 / d = 1 / kappa^2``).
A code minimising the *mean* loss plus ``(ridge_mean / 2)||w||^2`` has ``ridge = n ridge_mean``.

scikit-learn equivalences, all on the features ``x / sqrt(d)``:

* :func:`fit_square`: ``Ridge(alpha=ridge, fit_intercept=intercept)``;
* :func:`fit_logistic` (= :func:`fit_smooth` with :func:`logistic_loss`):
  ``LogisticRegression(C=1/ridge, fit_intercept=intercept)``;
* :func:`fit_hinge`: ``LinearSVC(C=1/ridge, loss="hinge", fit_intercept=False)`` without
  intercept, ``SVC(kernel="linear", C=1/ridge)`` with one;
* :func:`fit_max_margin`: the ``C -> infinity`` limit of the above (for separable data it
  coincides exactly with :func:`fit_hinge` once ``ridge <= 1 / max_mu a_mu``, ``a`` its dual).

All functions are JAX-native: fixed shapes, ``lax.while_loop`` iterations, no host callbacks,
so they ``jit`` and ``vmap`` over a leading seed axis of ``X, y`` (and ``ridge``).  They run in
the dtype of ``X``; call them under ``jax.enable_x64(True)`` for the accuracies quoted.  Each
returns a :class:`FitResult` with an accuracy certificate: the relative gradient norm (square,
smooth losses: Newton with Armijo backtracking on the exact Hessian) or the rigorous relative
duality gap (hinge, max-margin: a Mehrotra predictor-corrector interior-point method on the
dual QP, :mod:`._interior_point`).  :func:`fit` dispatches on the loss.
"""

from typing import TYPE_CHECKING

from .._lazy import attach
from ._params import ALPHA, ERM_SOLVER_OPTIONS, LOSS, RIDGE, LossChoice, erm_simulate_options

if TYPE_CHECKING:  # imported at first use (overparam_theory._lazy)
    from ._common import FitResult, NotSeparableWarning
    from ._fit import fit
    from ._interior_point import fit_hinge, fit_max_margin
    from ._losses import hinge_loss, logistic_loss, square_loss
    from ._newton import fit_logistic, fit_smooth, fit_square

__all__ = [
    "FitResult",
    "NotSeparableWarning",
    "fit",
    "fit_square",
    "fit_logistic",
    "fit_smooth",
    "fit_hinge",
    "fit_max_margin",
    "square_loss",
    "logistic_loss",
    "hinge_loss",
    "LOSS",
    "ALPHA",
    "RIDGE",
    "ERM_SOLVER_OPTIONS",
    "erm_simulate_options",
    "LossChoice",
]

__getattr__, __dir__, _LAZY = attach(__name__)
