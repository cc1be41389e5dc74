"""Binary Gaussian-mixture classification: l2-penalised ERM with optional unpenalised intercept and
class imbalance, max-margin, separability, Bayes-optimal error (``docs/theory/mixtures.md``).

- :func:`theory`: saddle-point equations of Mignacco, Krzakala, Lu, Urbani, Zdeborova, ICML 2020
  (arXiv:2002.11544) on a broadcast grid, with diagnostics and implicit gradients.
- :func:`simulate`: the same estimators at finite ``dim``, batched over seeds
  (:mod:`overparam_theory.estimators`).
- :func:`bayes_optimal`; :func:`separability_threshold` (:mod:`._separability`);
  :func:`max_margin`, :func:`support_vector_abundance` (:mod:`._max_margin`).

Conventions: ``Delta = noise``, ``rho = imbalance``, ``lambda = ridge`` on the summed loss,
scikit-learn ``C = 1/ridge`` on features ``x/sqrt(d)``.

References:
    - Mignacco, Krzakala, Lu, Urbani & Zdeborova, ICML 2020 (arXiv:2002.11544), eqs. (8)-(10) and appendix A
    - Thrampoulidis, Oymak & Soltanolkotabi, 2020 (CGMT, rigorous)
    - Deng, Kammoun & Thrampoulidis, 2019 (arXiv:1911.05822) (separability)
"""

from typing import TYPE_CHECKING

from .._lazy import attach
from .._spec import Deferred, ModelSpec, references_in
from ._params import FIELDS as _FIELDS
from ._params import PARAMS as _PARAMS

if TYPE_CHECKING:  # imported at first use (overparam_theory._lazy)
    from ..estimators import NotSeparableWarning
    from ._max_margin import MaxMargin, MixtureMaxMargin, SupportVectorAbundance, max_margin, support_vector_abundance
    from ._separability import MixtureSeparabilityThreshold, SeparabilityThreshold, separability_threshold
    from ._simulation import MixtureSimulation, simulate
    from ._theory import RESULT_FIELDS, BayesOptimal, MixtureTheory, bayes_optimal, theory

SPEC = ModelSpec(
    "mixtures", "binary Gaussian mixture: l2-penalised ERM with optional unpenalised intercept and class imbalance",
    _PARAMS, _FIELDS, Deferred(__name__, "theory"), Deferred(__name__, "simulate"), references_in(__doc__),
    dim=500, smoke=dict(alpha=[0.5, 2.0], ridge=0.1, loss="logistic", noise=0.5), smoke_dim=60,
)

NAME, PARAMETERS, GRID_PARAMETERS, FIELDS, TIME_AXIS = SPEC.module_constants()

__all__ = [
    "SPEC", "NAME", "PARAMETERS", "GRID_PARAMETERS", "FIELDS", "TIME_AXIS",
    "RESULT_FIELDS", "BayesOptimal", "MixtureMaxMargin", "MaxMargin", "MixtureSimulation", "MixtureTheory",
    "NotSeparableWarning", "MixtureSeparabilityThreshold", "SeparabilityThreshold", "SupportVectorAbundance",
    "bayes_optimal", "max_margin", "separability_threshold", "simulate", "support_vector_abundance", "theory",
]

__getattr__, __dir__, _LAZY = attach(__name__)
