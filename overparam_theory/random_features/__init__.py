"""Random-features ridge regression (Mei & Montanari 2022): exact double-descent curves.

``theory`` / ``simulate`` share parameters (``alpha = n/d``, ``width = N/d``, ``ridge``,
``activation``, ``signal``, ``nonlinear_signal``, ``noise``, ``activation_kink``) and field names
(``excess_risk``, ``bias``, ``variance``, ``bias_factor``, ``variance_factor``).  Equations and
conventions: ``docs/theory/random_features.md`` and ``docs/conventions.md``.

References:
    - Mei & Montanari, Comm. Pure Appl. Math. 75(4) 2022 (arXiv:1908.05355): Definition 1 (fixed point),
      Theorem 1 (risk), Theorem 3 (ridgeless), sec. 3.2 (optimal ridge), sec. 5 (Gaussian equivalence)
    - Goldt, Loureiro, Reeves, Krzakala, Mezard & Zdeborova, MSML 2021 (arXiv:2006.14709): Gaussian
      equivalence
    - Hu & Lu, IEEE Trans. Inf. Theory 2023 (arXiv:2009.07669): universality of random features
"""

from typing import TYPE_CHECKING

from .._lazy import attach
from .._spec import Deferred, ModelSpec, references_in
from ._params import CLI_OPTIONS as _CLI_OPTIONS
from ._params import FIELDS as _FIELDS
from ._params import PARAMS as _PARAMS
from ._params import cli_build as _cli_build

if TYPE_CHECKING:  # imported at first use (overparam_theory._lazy)
    from ._activations import Activation as Activation
    from ._equivalent import GaussianEquivalent as GaussianEquivalent
    from ._equivalent import gaussian_equivalent as gaussian_equivalent
    from ._equivalent import to_ridge_parameters as to_ridge_parameters
    from ._simulation import RandomFeaturesSimulation as RandomFeaturesSimulation
    from ._simulation import fit_random_features as fit_random_features
    from ._simulation import simulate as simulate
    from ._theory import RandomFeaturesTheory as RandomFeaturesTheory
    from ._theory import RandomFeaturesOptimalRidge as RandomFeaturesOptimalRidge
    from ._theory import activation as activation
    from ._theory import optimal_ridge as optimal_ridge
    from ._theory import theory as theory

SPEC = ModelSpec(
    "random_features", "random-features ridge regression on the sphere (Mei & Montanari): double descent in n/d and N/d, any activation",
    _PARAMS, _FIELDS, Deferred(__name__, "theory"), Deferred(__name__, "simulate"), references_in(__doc__),
    dim=200, cli_options=_CLI_OPTIONS, cli_build=_cli_build,
    smoke=dict(alpha=[0.5, 2.0], width=1.5, ridge=1e-2, nonlinear_signal=0.2, noise=0.25), smoke_dim=40,
)

NAME, PARAMETERS, GRID_PARAMETERS, FIELDS, TIME_AXIS = SPEC.module_constants()

__getattr__, __dir__, _LAZY = attach(__name__)
