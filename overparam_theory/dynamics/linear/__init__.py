"""Gradient-flow / gradient-descent dynamics of linear least squares (``docs/dynamics_linear.md``).

- :func:`theory`: asymptotic test risk, bias, variance and training error along the GF / GD
  path (Marchenko-Pastur quadrature for ``Sigma = I``; contour integrals of one- and
  two-resolvent deterministic equivalents for a discrete population spectrum).
- :func:`simulate`: the same quantities at finite ``dim`` (exact GF / GD through the
  eigendecomposition of ``X^T X / n``), batched over seeds.
- :func:`early_stopping`: optimal stopping time of gradient flow and its risk.
- :func:`fit_gd`: the GF / GD iterate ``w(t)`` for one design (reference implementation).

Import as ``from overparam_theory.dynamics import linear``.
"""

from ._simulation import LinearDynamicsSimulation as LinearDynamicsSimulation
from ._simulation import fit_gd as fit_gd
from ._simulation import simulate as simulate
from ._theory import RESULT_FIELDS as RESULT_FIELDS
from ._theory import EarlyStopping as EarlyStopping
from ._theory import LinearDynamicsTheory as LinearDynamicsTheory
from ._theory import early_stopping as early_stopping
from ._theory import theory as theory

NAME = "linear_dynamics"
TIME_AXIS = True  # fields carry a trailing time axis (overparam_theory.compare, the CLI)
PARAMETERS = ("time", "alpha", "noise", "signal", "spectrum", "teacher_power", "learning_rate")
GRID_PARAMETERS = ("alpha", "noise", "signal")  # one value per grid point (broadcast); time is trailing
FIELDS = RESULT_FIELDS

__all__ = [
    "NAME",
    "PARAMETERS",
    "GRID_PARAMETERS",
    "FIELDS",
    "theory",
    "simulate",
    "early_stopping",
    "fit_gd",
    "LinearDynamicsTheory",
    "LinearDynamicsSimulation",
    "EarlyStopping",
]
