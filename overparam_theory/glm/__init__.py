"""Teacher-student GLMs: l2-penalised ERM (square, logistic, hinge, custom convex losses),
max-margin, separability and Gardner capacity, and the logistic MLE (classification.md sections 1-3).

- :func:`theory`: the saddle-point equations (Aubin et al. 2020; Gaussian covariate model of
  Loureiro et al. 2021) on a broadcast grid, with diagnostics and implicit gradients.
- :func:`simulate`: the same estimators at finite ``dim``, batched over seeds.
- thresholds: :func:`max_margin`, :func:`separability_threshold`, :func:`gardner_capacity`,
  :func:`logistic_mle_boundary`, :func:`logistic_mle` (Sur-Candes).
"""

from ..numerics.prox import HINGE, LOGISTIC, SQUARE, MarginLoss, margin_loss
from ._channels import TEACHERS, logistic_noise_from_beta
from ._estimators import FitResult, fit_hinge, fit_logistic, fit_max_margin, fit_smooth, fit_square
from ._mle import LogisticMLE, logistic_mle
from ._simulation import GLMSimulation, simulate
from ._theory import RESULT_FIELDS, GLMTheory, theory
from ._thresholds import (
    MaxMargin,
    NotSeparableWarning,
    cover_separability_probability,
    gardner_capacity,
    logistic_mle_boundary,
    max_margin,
    separability_threshold,
)

NAME = "glm"
PARAMETERS = ("alpha", "ridge", "loss", "teacher", "noise", "flip", "signal", "spectrum", "teacher_power")
GRID_PARAMETERS = ("alpha", "ridge", "noise", "flip", "signal")  # one value per grid point (broadcast)
# Fields compared by default (overparam_theory.compare).  train_error is left out: per seed it is a
# multiple of 1/n, so at small rates every seed reads 0 and the seed variance (hence the z-score)
# is degenerate; tests/test_glm_simulation.py checks it with a binomial standard-error floor.
FIELDS = tuple(f for f in RESULT_FIELDS if f != "train_error")

__all__ = [
    "NAME",
    "FIELDS",
    "TEACHERS",
    "GLMTheory",
    "theory",
    "simulate",
    "GLMSimulation",
    "max_margin",
    "MaxMargin",
    "NotSeparableWarning",
    "separability_threshold",
    "gardner_capacity",
    "cover_separability_probability",
    "logistic_mle_boundary",
    "logistic_mle",
    "LogisticMLE",
    "FitResult",
    "fit_square",
    "fit_logistic",
    "fit_smooth",
    "fit_hinge",
    "fit_max_margin",
    "MarginLoss",
    "margin_loss",
    "SQUARE",
    "LOGISTIC",
    "HINGE",
    "logistic_noise_from_beta",
]
