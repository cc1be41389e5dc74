"""Ridge regression and min-norm least squares: asymptotic theory and finite-size simulation.

``theory`` / ``simulate`` share parameters (``alpha = n/d``, ``ridge``, ``signal``, ``noise``,
``spectrum``, ``teacher_power``) and field names (``excess_risk``, ``bias``, ``variance``,
``train_error``).  See ``../shared/theory/regression.md`` sections 1-2 and docs/conventions.md.
"""

from ._optimal import OptimalRidge as OptimalRidge
from ._optimal import optimal_ridge as optimal_ridge
from ._simulation import RidgeSimulation as RidgeSimulation
from ._simulation import fit_ridge as fit_ridge
from ._simulation import simulate as simulate
from ._theory import RidgeTheory as RidgeTheory
from ._theory import theory as theory

NAME = "ridge"
PARAMETERS = ("alpha", "ridge", "signal", "noise", "spectrum", "teacher_power")
GRID_PARAMETERS = ("alpha", "ridge", "signal", "noise")  # one value per grid point (broadcast)
FIELDS = ("excess_risk", "bias", "variance", "train_error")
