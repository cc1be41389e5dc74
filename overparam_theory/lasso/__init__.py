"""LASSO with Gaussian designs: AMP state-evolution theory and finite-size simulation.

``theory`` / ``simulate`` share parameters (``alpha = n/N``, ``l1_penalty``, ``sparsity``,
``noise``, ``nonzero_variance``) and field names (``mse``, ``nnz_fraction``, ``train_error``).
Conventions (``../shared/theory/regression.md`` section 5): ``A`` has i.i.d. ``N(0, 1/n)``
entries, ``x_hat = argmin (1/2)||y - A x||^2 + l1_penalty ||x||_1`` (scikit-learn:
``Lasso(alpha=l1_penalty / n, fit_intercept=False)``), ``x0_i ~ (1 - sparsity) delta_0 +
sparsity N(0, nonzero_variance)``, ``noise`` the variance of ``w``.  ``threshold`` is the SE
threshold parameter (the spec's ``alpha``).  References: Bayati & Montanari, IEEE TIT 2012
(Thm 1.4); Donoho, Maleki & Montanari, PNAS 2009.

- :func:`theory`: SE fixed point and calibration on a broadcast grid (jit, vmap, implicit
  gradients), with the noiseless, least-squares and min-l1 cases handled explicitly.
- :func:`phase_transition`: the Donoho-Tanner / SE phase transition ``rho_SE(alpha)``.
- :func:`threshold_min`: the smallest admissible SE threshold.
- :func:`simulate`, :func:`fit_lasso`: finite-size LASSO (FISTA in JAX, batched over seeds).
"""

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

NAME = "lasso"
PARAMETERS = ("alpha", "l1_penalty", "threshold", "sparsity", "noise", "nonzero_variance")
GRID_PARAMETERS = ("alpha", "l1_penalty", "sparsity", "noise", "nonzero_variance")  # one value per grid point
FIELDS = ("mse", "nnz_fraction", "train_error")
