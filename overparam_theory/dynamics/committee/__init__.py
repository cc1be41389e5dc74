"""Online SGD of the soft committee machine (two-layer erf network) in the teacher-student setup.

- :func:`theory`: the order-parameter ODEs of Saad & Solla (1995) / Goldt et al. (2019),
  integrated adaptively in JAX on a grid of learning rates and noise levels.
- :func:`simulate`: online SGD at finite input dimension ``dim``, batched over seeds, with
  the same parameters and field names.
"""

from ._integrals import i2, i3, i4, j2
from ._simulation import CommitteeSimulation, simulate
from ._theory import (
    RESULT_FIELDS,
    STATUS_NAMES,
    CommitteeTheory,
    default_initial_conditions,
    order_parameter_rhs,
    test_error,
    theory,
)

NAME = "committee"
TIME_AXIS = True  # fields carry a trailing time axis (overparam_theory.compare, the CLI)
PARAMETERS = (
    "time", "student_width", "teacher_width", "learning_rate", "noise", "second_layer_learning_rate",
    "initial_Q", "initial_R", "teacher_T", "student_v", "teacher_v",
)
GRID_PARAMETERS = ("learning_rate", "noise", "second_layer_learning_rate")
FIELDS = ("test_error",)

__all__ = [
    "FIELDS",
    "GRID_PARAMETERS",
    "NAME",
    "PARAMETERS",
    "RESULT_FIELDS",
    "STATUS_NAMES",
    "CommitteeSimulation",
    "CommitteeTheory",
    "default_initial_conditions",
    "i2",
    "i3",
    "i4",
    "j2",
    "order_parameter_rhs",
    "simulate",
    "test_error",
    "theory",
]
