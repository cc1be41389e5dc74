"""Kernel ridge regression learning curves: eigenlearning theory and synthetic-kernel simulation.

``theory`` / ``simulate`` share parameters (``n_samples``, ``ridge``, ``noise``,
``eigenvalues``, ``target``) and field names (``test_error``, ``excess_risk``, ``bias``,
``variance``, ``train_error``).  See ``../shared/theory/regression.md`` section 4.
"""

from ._simulation import KernelSimulation as KernelSimulation
from ._simulation import fit_kernel_ridge as fit_kernel_ridge
from ._simulation import simulate as simulate
from ._theory import KernelTheory as KernelTheory
from ._theory import theory as theory
from ._theory import to_ridge_parameters as to_ridge_parameters

NAME = "kernel"
PARAMETERS = ("n_samples", "ridge", "noise", "eigenvalues", "target")
GRID_PARAMETERS = ("n_samples", "ridge", "noise")  # one value per grid point (broadcast)
FIELDS = ("test_error", "excess_risk", "bias", "variance", "train_error")
