"""Bayes-optimal generalized linear models: state evolution and GAMP (``docs/theory/amp.md``).

- :func:`theory`: the Bayes-optimal fixed points (uninformed = what GAMP reaches, informed, and
  the information-theoretic choice by free entropy) with the MMSE, overlap and test error, for a
  Bernoulli-Gaussian prior and the ``linear``, ``sign`` (with flips), ``relu`` and ``abs``
  channels, on a broadcast grid with diagnostics and implicit gradients.
- :func:`state_evolution`: the per-iteration SE trajectory of GAMP.
- :func:`simulate`: GAMP at finite ``dim``, batched over seeds, with the same names.
- thresholds: :func:`algorithmic_threshold` (noiseless compressed sensing) and
  :func:`it_threshold`.

LASSO / basis pursuit state evolution lives in :mod:`overparam_theory.lasso`.

References:
    - Barbier, Krzakala, Macris, Miolane & Zdeborova, PNAS 116 (2019) 5451 (arXiv:1708.03395), eqs. (9)-(11)
      (state evolution, free entropy), Theorem 1, Table 1 (thresholds)
    - Zdeborova & Krzakala, Adv. Phys. 65 (2016) 453, eqs. (96)-(97) and section VI (GAMP, Z_out)
    - Rangan, ISIT 2011 (GAMP)
    - Krzakala, Mezard, Sausset, Sun & Zdeborova, PRX 2 (2012) 021005, section IV (alpha_AMP)
    - Wu & Verdu, IEEE TIT 56 (2010) 3721 (alpha_IT of noiseless compressed sensing)
"""

from typing import TYPE_CHECKING

from .._lazy import attach
from .._spec import Deferred, ModelSpec, references_in
from ._params import CHANNELS as CHANNELS
from ._params import FIELDS as _FIELDS
from ._params import PARAMS as _PARAMS

if TYPE_CHECKING:  # imported at first use (overparam_theory._lazy)
    from ._channels import Channel, log_z_out
    from ._priors import posterior, prior_moments
    from ._simulation import AMPSimulation, gamp, simulate
    from ._theory import RESULT_FIELDS, AMPTheory, population_errors, state_evolution, theory
    from ._thresholds import algorithmic_threshold, it_threshold

SPEC = ModelSpec(
    "amp",
    "Bayes-optimal generalized linear models (Bernoulli-Gaussian prior; linear, sign, relu, abs channels): "
    "state evolution of GAMP and the information-theoretic MMSE",
    _PARAMS, _FIELDS, Deferred(__name__, "theory"), Deferred(__name__, "simulate"), references_in(__doc__),
    dim=2000, smoke=dict(alpha=[0.5, 2.0], channel="linear", sparsity=0.5, noise=0.01), smoke_dim=60,
)

NAME, PARAMETERS, GRID_PARAMETERS, FIELDS, TIME_AXIS = SPEC.module_constants()

__all__ = [
    "SPEC", "NAME", "PARAMETERS", "GRID_PARAMETERS", "FIELDS", "TIME_AXIS",
    "CHANNELS", "AMPTheory", "AMPSimulation", "theory", "state_evolution", "simulate", "gamp", "Channel", "log_z_out",
    "posterior", "prior_moments", "population_errors", "algorithmic_threshold", "it_threshold",
]

__getattr__, __dir__, _LAZY = attach(__name__)
