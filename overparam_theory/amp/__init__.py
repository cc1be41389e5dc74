"""Bayes-optimal generalized linear models: state evolution and GAMP (classification.md section 4).

- :func:`theory`: the Bayes-optimal fixed points (uninformed = what GAMP reaches, informed, and
  the information-theoretic choice by free entropy) with the MMSE, overlap and test error, for a
  Bernoulli-Gaussian prior and the ``linear``, ``sign`` (with flips), ``relu`` and ``abs``
  channels, on a broadcast grid with diagnostics and implicit gradients.
- :func:`state_evolution`: the per-iteration SE trajectory of GAMP.
- :func:`simulate`: GAMP at finite ``dim``, batched over seeds, with the same names.
- thresholds: :func:`algorithmic_threshold` (noiseless compressed sensing) and
  :func:`it_threshold`.

LASSO / basis pursuit state evolution lives in :mod:`overparam_theory.lasso`.
"""

from ._channels import CHANNELS, Channel, log_z_out
from ._priors import posterior, prior_moments
from ._simulation import AMPSimulation, gamp, simulate
from ._theory import RESULT_FIELDS, AMPTheory, population_errors, state_evolution, theory
from ._thresholds import algorithmic_threshold, it_threshold

NAME = "amp"
PARAMETERS = ("alpha", "channel", "noise", "flip", "sparsity", "nonzero_variance", "initial_snr")
GRID_PARAMETERS = ("alpha", "noise", "flip", "sparsity", "nonzero_variance", "initial_snr")
FIELDS = RESULT_FIELDS

__all__ = [
    "NAME",
    "PARAMETERS",
    "GRID_PARAMETERS",
    "FIELDS",
    "CHANNELS",
    "AMPTheory",
    "AMPSimulation",
    "theory",
    "state_evolution",
    "simulate",
    "gamp",
    "Channel",
    "log_z_out",
    "posterior",
    "prior_moments",
    "population_errors",
    "algorithmic_threshold",
    "it_threshold",
]
