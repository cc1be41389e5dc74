"""Online SGD of the soft committee machine (two-layer erf network) in the teacher-student setup.

- :func:`theory`: the order-parameter ODEs of Saad & Solla (1995) / Goldt et al. (2019),
  integrated adaptively in JAX (:func:`~overparam_theory.numerics.ode.dopri5`) on a grid of
  learning rates and noise levels.
- :func:`simulate`: online SGD at finite input dimension ``dim``, batched over seeds, with
  the same parameters and field names.

Equations and conventions: ``docs/theory/committee.md``.

References:
    - Saad & Solla, Phys. Rev. Lett. 74, 4337 (1995) and Phys. Rev. E 52, 4225 (1995), section II (ODEs),
      section IV A (symmetric plateau), appendix (erf integrals)
    - Goldt, Advani, Saxe, Krzakala & Zdeborova, NeurIPS 2019 (arXiv:1906.08632), eqs. (1)-(10)
    - Dormand & Prince, J. Comput. Appl. Math. 6, 19 (1980) (the 5(4) integrator)
"""

from typing import TYPE_CHECKING

from ..._lazy import attach
from ..._spec import Deferred, ModelSpec, references_in
from ._params import FIELDS as _FIELDS
from ._params import PARAMS as _PARAMS

if TYPE_CHECKING:  # imported at first use (overparam_theory._lazy)
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

SPEC = ModelSpec(
    "committee", "online SGD of a soft committee machine (erf units), teacher-student: Saad-Solla / Goldt et al. ODEs",
    _PARAMS, _FIELDS, Deferred(__name__, "theory"), Deferred(__name__, "simulate"), references_in(__doc__),
    dim=500, time_axis="time", smoke=dict(time=[0.0, 1.0, 3.0], learning_rate=[0.5, 1.0]), smoke_dim=40,
)

NAME, PARAMETERS, GRID_PARAMETERS, FIELDS, TIME_AXIS = SPEC.module_constants()

__all__ = [
    "SPEC", "NAME", "PARAMETERS", "GRID_PARAMETERS", "FIELDS", "TIME_AXIS",
    "RESULT_FIELDS", "STATUS_NAMES", "CommitteeSimulation", "CommitteeTheory", "default_initial_conditions", "i2",
    "i3", "i4", "j2", "order_parameter_rhs", "simulate", "test_error", "theory",
]

__getattr__, __dir__, _LAZY = attach(__name__)
