"""Teacher-student GLMs: l2-penalised ERM (square, logistic, hinge, custom convex losses),
max-margin, separability and Gardner capacity, and the logistic MLE (``docs/theory/glm.md``).

- :func:`theory`: the saddle-point equations (Aubin et al. 2020; Gaussian covariate model of
  Loureiro et al. 2021) on a broadcast grid, with diagnostics and implicit gradients.
- :func:`simulate`: the same estimators at finite ``dim``, batched over seeds (the fitters of
  :mod:`overparam_theory.estimators`; ``fit_*`` and :class:`FitResult` are re-exported here).
- capacity and thresholds: :func:`gardner_capacity`, :func:`cover_separability_probability`
  (:mod:`._capacity`); :func:`separability_threshold`, :func:`logistic_mle_boundary`
  (:mod:`._separability`); :func:`max_margin` (:mod:`._max_margin`); :func:`logistic_mle`
  (Sur-Candes).

References:
    - Aubin, Krzakala, Lu & Zdeborova, NeurIPS 2020 (arXiv:2006.06560), eqs. (9)-(11)
    - Loureiro, Gerbelot, Cui, Goldt, Krzakala, Mezard & Zdeborova, NeurIPS 2021 (arXiv:2102.08127), Theorem 1
    - Thrampoulidis, Abbasi & Hassibi, NeurIPS 2018 (CGMT)
    - Gardner, J. Phys. A 21 (1988) 257 (capacity, max-margin)
    - Candes & Sur, Ann. Statist. 48(1) 2020 (arXiv:1804.09753), Theorems 1-2 (logistic MLE boundary)
    - Sur & Candes, PNAS 116 (2019) 14516 (logistic MLE)
"""

from typing import TYPE_CHECKING

from .._lazy import attach
from .._spec import Deferred, ModelSpec, references_in
from ._params import FIELDS as _FIELDS
from ._params import PARAMS as _PARAMS
from ._params import TEACHERS as TEACHERS

if TYPE_CHECKING:  # imported at first use (overparam_theory._lazy)
    from ..estimators import (
        FitResult,
        NotSeparableWarning,
        fit_hinge,
        fit_logistic,
        fit_max_margin,
        fit_smooth,
        fit_square,
    )
    from ..numerics.prox import HINGE, LOGISTIC, SQUARE, MarginLoss, margin_loss
    from ._capacity import CoverSeparability, GardnerCapacity, cover_separability_probability, gardner_capacity
    from ._channels import logistic_noise_from_beta
    from ._max_margin import GLMMaxMargin, MaxMargin, max_margin
    from ._mle import LogisticMLE, logistic_mle
    from ._separability import GLMSeparabilityThreshold, LogisticMLEBoundary, logistic_mle_boundary, separability_threshold
    from ._separability import GLMSeparabilityThreshold as SeparabilityThreshold
    from ._simulation import GLMSimulation, simulate
    from ._theory import RESULT_FIELDS, GLMTheory, theory

SPEC = ModelSpec(
    "glm",
    "teacher-student GLM: l2-penalised ERM (square, logistic, hinge, custom margin losses), isotropic or "
    "Gaussian covariate model",
    _PARAMS, _FIELDS, Deferred(__name__, "theory"), Deferred(__name__, "simulate"), references_in(__doc__),
    dim=500, smoke=dict(alpha=[0.5, 2.0], ridge=0.1, loss="logistic", flip=0.1), smoke_dim=60,
)

NAME, PARAMETERS, GRID_PARAMETERS, FIELDS, TIME_AXIS = SPEC.module_constants()

__all__ = [
    "SPEC", "NAME", "PARAMETERS", "GRID_PARAMETERS", "FIELDS", "TIME_AXIS",
    "RESULT_FIELDS", "TEACHERS", "GLMTheory", "theory", "simulate", "GLMSimulation", "max_margin", "GLMMaxMargin",
    "MaxMargin", "NotSeparableWarning", "separability_threshold", "GLMSeparabilityThreshold", "SeparabilityThreshold",
    "gardner_capacity", "GardnerCapacity", "cover_separability_probability", "CoverSeparability",
    "logistic_mle_boundary", "LogisticMLEBoundary", "logistic_mle", "LogisticMLE", "FitResult", "fit_square",
    "fit_logistic", "fit_smooth", "fit_hinge", "fit_max_margin", "MarginLoss", "margin_loss", "SQUARE", "LOGISTIC",
    "HINGE", "logistic_noise_from_beta",
]

__getattr__, __dir__, _LAZY = attach(__name__)
