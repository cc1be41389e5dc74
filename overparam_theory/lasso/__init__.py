"""LASSO with Gaussian designs: AMP state-evolution theory and finite-size simulation.

``theory`` / ``simulate`` share parameters (``alpha = n/N``, ``l1_penalty``, ``sparsity``,
``noise``, ``nonzero_variance``) and field names (``mse``, ``nnz_fraction``, ``train_error``).
Conventions (``docs/theory/lasso.md``): ``A`` has i.i.d. ``N(0, 1/n)`` entries,
``x_hat = argmin (1/2)||y - A x||^2 + l1_penalty ||x||_1`` (scikit-learn:
``Lasso(alpha=l1_penalty / n, fit_intercept=False)``), ``x0_i ~ (1 - sparsity) delta_0 +
sparsity N(0, nonzero_variance)``, ``noise`` the variance of ``w``.  ``threshold`` is the SE
threshold parameter (the spec's ``alpha``).  References: Bayati & Montanari, IEEE TIT 2012
(Thm 1.4); Donoho, Maleki & Montanari, PNAS 2009.

- :func:`theory`: SE fixed point and calibration on a broadcast grid (jit, vmap, implicit
  gradients), with the noiseless, least-squares and min-l1 cases handled explicitly.
- :func:`phase_transition`: the Donoho-Tanner / SE phase transition ``rho_SE(alpha)``.
- :func:`threshold_min`: the smallest admissible SE threshold.
- :func:`simulate`, :func:`fit_lasso`: finite-size LASSO (FISTA in JAX, batched over seeds).

References:
    - Bayati & Montanari, IEEE TIT 58(4) 2012 (arXiv:1008.2581), Thm 1.4 (risk), Prop. 1.3-1.4 (fixed point,
      calibration)
    - Donoho, Maleki & Montanari, PNAS 106(45) 2009 (state evolution, phase transition rho_SE)
    - Donoho, Maleki & Montanari, IEEE TIT 57(10) 2011 (noise sensitivity, minimax threshold)
"""

from typing import TYPE_CHECKING

from .._lazy import attach
from .._spec import Deferred, ModelSpec, references_in
from ._params import FIELDS as _FIELDS
from ._params import PARAMS as _PARAMS

if TYPE_CHECKING:  # imported at first use (overparam_theory._lazy)
    from ._simulation import LassoFit as LassoFit
    from ._simulation import LassoSimulation as LassoSimulation
    from ._simulation import fit_lasso as fit_lasso
    from ._simulation import lipschitz_estimate as lipschitz_estimate
    from ._simulation import simulate as simulate
    from ._theory import LassoTheory as LassoTheory
    from ._theory import g_function as g_function
    from ._theory import phase_transition as phase_transition
    from ._theory import theory as theory
    from ._theory import threshold_min as threshold_min

SPEC = ModelSpec(
    "lasso", "LASSO with i.i.d. Gaussian designs and a Bernoulli-Gaussian signal: AMP state evolution and calibration",
    _PARAMS, _FIELDS, Deferred(__name__, "theory"), Deferred(__name__, "simulate"), references_in(__doc__),
    dim=1000, smoke=dict(alpha=[0.5, 1.5], l1_penalty=0.5, sparsity=0.2, noise=0.1), smoke_dim=60,
)

NAME, PARAMETERS, GRID_PARAMETERS, FIELDS, TIME_AXIS = SPEC.module_constants()

__getattr__, __dir__, _LAZY = attach(__name__)
