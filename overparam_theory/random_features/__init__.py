"""Random-features ridge regression (Mei & Montanari 2022): exact double-descent curves.

``theory`` / ``simulate`` share parameters (``alpha = n/d``, ``width = N/d``, ``ridge``,
``activation``, ``signal``, ``nonlinear_signal``, ``noise``) and field names
(``excess_risk``, ``bias``, ``variance``, ``bias_factor``, ``variance_factor``).  See
``../shared/theory/regression.md`` section 3 and docs/conventions.md.
"""

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

NAME = "random_features"
PARAMETERS = ("alpha", "width", "ridge", "activation", "signal", "nonlinear_signal", "noise")
GRID_PARAMETERS = ("alpha", "width", "ridge", "signal", "nonlinear_signal", "noise")
FIELDS = ("excess_risk", "bias", "variance", "bias_factor", "variance_factor")
