"""Binary Gaussian-mixture classification: l2-penalised ERM with optional unpenalised intercept and
class imbalance, max-margin, separability, Bayes-optimal error (classification.md section 5).

- :func:`theory`: saddle-point equations of Mignacco, Krzakala, Lu, Urbani, Zdeborova, ICML 2020
  (arXiv:2002.11544) on a broadcast grid, with diagnostics and implicit gradients.
- :func:`simulate`: the same estimators at finite ``dim``, batched over seeds.
- :func:`bayes_optimal`, :func:`separability_threshold`, :func:`max_margin`,
  :func:`support_vector_abundance`.

Conventions: docs/mixtures.md (``Delta = noise``, ``rho = imbalance``, ``lambda = ridge`` on the
summed loss, scikit-learn ``C = 1/ridge`` on features ``x/sqrt(d)``).
"""

from ._simulation import MixtureSimulation, simulate
from ._theory import RESULT_FIELDS, BayesOptimal, MixtureTheory, bayes_optimal, theory
from ._thresholds import (
    MaxMargin,
    NotSeparableWarning,
    SeparabilityThreshold,
    SupportVectorAbundance,
    max_margin,
    separability_threshold,
    support_vector_abundance,
)

NAME = "mixtures"
PARAMETERS = ("alpha", "ridge", "loss", "noise", "imbalance", "intercept")
GRID_PARAMETERS = ("alpha", "ridge", "noise", "imbalance")
# train_error and support_fraction are left out of the default comparison: per seed they are
# multiples of 1/n (degenerate seed variance at small rates); tests check them separately.
FIELDS = ("test_error", "train_loss", "m", "q", "bias", "cosine")

__all__ = [
    "FIELDS",
    "GRID_PARAMETERS",
    "NAME",
    "PARAMETERS",
    "RESULT_FIELDS",
    "BayesOptimal",
    "MaxMargin",
    "MixtureSimulation",
    "MixtureTheory",
    "NotSeparableWarning",
    "SeparabilityThreshold",
    "SupportVectorAbundance",
    "bayes_optimal",
    "max_margin",
    "separability_threshold",
    "simulate",
    "support_vector_abundance",
    "theory",
]
