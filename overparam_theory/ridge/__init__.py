"""Ridge regression and min-norm least squares: asymptotic theory and finite-size simulation.

``theory`` / ``simulate`` share parameters (``alpha = n/d``, ``ridge``, ``signal``, ``noise``,
``spectrum``, ``teacher_power``) and field names (``excess_risk``, ``bias``, ``variance``,
``train_error``).  Equations and conventions: ``docs/theory/ridge.md``.

References:
    - Hastie, Montanari, Rosset & Tibshirani, Ann. Statist. 50(2) 2022 (arXiv:1903.08560), Thms 1-2, sec. 5
    - Dobriban & Wager, Ann. Statist. 46(1) 2018
    - Bach, SIAM J. Math. Data Sci. 2024 (arXiv:2303.01372)
"""

from typing import TYPE_CHECKING

from .._lazy import attach
from .._spec import Deferred, ModelSpec, references_in
from ..numerics.spectra_cli import SPECTRUM_OPTION, TEACHER_OPTION, build_spectrum_teacher
from ._params import FIELDS as _FIELDS
from ._params import PARAMS as _PARAMS

if TYPE_CHECKING:  # imported at first use (overparam_theory._lazy)
    from ._optimal import OptimalRidge as OptimalRidge
    from ._optimal import optimal_ridge as optimal_ridge
    from ._simulation import RidgeSimulation as RidgeSimulation
    from ._simulation import fit_ridge as fit_ridge
    from ._simulation import simulate as simulate
    from ._theory import RidgeTheory as RidgeTheory
    from ._theory import theory as theory

SPEC = ModelSpec(
    "ridge", "ridge regression and min-norm least squares, x ~ N(0, Sigma), isotropic or with a discrete spectrum",
    _PARAMS, _FIELDS, Deferred(__name__, "theory"), Deferred(__name__, "simulate"), references_in(__doc__), dim=200,
    cli_options=(SPECTRUM_OPTION, TEACHER_OPTION), cli_build=build_spectrum_teacher,
    smoke=dict(alpha=[0.5, 2.0], ridge=0.1, noise=0.25), smoke_dim=50,
)
NAME, PARAMETERS, GRID_PARAMETERS, FIELDS, TIME_AXIS = SPEC.module_constants()
__getattr__, __dir__, _LAZY = attach(__name__)
