"""Gradient-flow / gradient-descent dynamics of linear least squares (``docs/theory/linear_dynamics.md``).

- :func:`theory`: asymptotic test risk, bias, variance and training error along the GF / GD
  path (Marchenko-Pastur quadrature for ``Sigma = I``; contour integrals of one- and
  two-resolvent deterministic equivalents for a discrete population spectrum).
- :func:`simulate`: the same quantities at finite ``dim`` (exact GF / GD through the
  eigendecomposition of ``X^T X / n``), batched over seeds.
- :func:`early_stopping`: optimal stopping time of gradient flow and its risk.
- :func:`fit_gd`: the GF / GD iterate ``w(t)`` for one design (reference implementation).

The data model is the ridge model's; the command line shares its ``--spectrum`` / ``--teacher``
options (:mod:`overparam_theory.numerics.spectra_cli`).  Import as
``from overparam_theory.dynamics import linear``.

References:
    - Ali, Kolter & Tibshirani, AISTATS 2019 (arXiv:1810.10082), Lemma 1 (GF path), Lemma 3 (GD),
      Marchenko-Pastur risk of gradient flow and its comparison with ridge
    - Advani & Saxe 2017 (arXiv:1710.03667), section 3
    - Bodin & Macris, NeurIPS 2021 (arXiv:2110.11805): resolvent / contour route
    - Bach, SIAM J. Math. Data Sci. 2024 (arXiv:2303.01372): two-resolvent deterministic equivalent
    - Pezeshki, Mitra, Bengio & Lajoie, ICML 2022 (arXiv:2112.03215): epoch-wise double descent with two
      feature scales
"""

from typing import TYPE_CHECKING

from ..._lazy import attach
from ..._spec import Deferred, ModelSpec, references_in
from ...numerics.spectra_cli import SPECTRUM_OPTION, TEACHER_OPTION, build_spectrum_teacher
from ._params import DIM as _DIM
from ._params import FIELDS as _FIELDS
from ._params import PARAMS as _PARAMS

if TYPE_CHECKING:  # imported at first use (overparam_theory._lazy)
    from ._simulation import LinearDynamicsSimulation as LinearDynamicsSimulation
    from ._simulation import fit_gd as fit_gd
    from ._simulation import simulate as simulate
    from ._theory import RESULT_FIELDS as RESULT_FIELDS
    from ._theory import EarlyStopping as EarlyStopping
    from ._theory import LinearDynamicsTheory as LinearDynamicsTheory
    from ._theory import early_stopping as early_stopping
    from ._theory import theory as theory

SPEC = ModelSpec(
    "linear_dynamics", "gradient flow / descent on least squares from zero, x ~ N(0, Sigma): risk curves in time, early stopping",
    _PARAMS, _FIELDS, Deferred(__name__, "theory"), Deferred(__name__, "simulate"), references_in(__doc__),
    dim=_DIM, time_axis="time", cli_options=(SPECTRUM_OPTION, TEACHER_OPTION), cli_build=build_spectrum_teacher,
    smoke=dict(time=[0.0, 1.0, 10.0], alpha=0.5, noise=[0.1, 0.5]), smoke_dim=60,
)

NAME, PARAMETERS, GRID_PARAMETERS, FIELDS, TIME_AXIS = SPEC.module_constants()

__all__ = [
    "SPEC", "NAME", "PARAMETERS", "GRID_PARAMETERS", "FIELDS", "TIME_AXIS",
    "theory", "simulate", "early_stopping", "fit_gd", "LinearDynamicsTheory", "LinearDynamicsSimulation",
    "EarlyStopping",
]

__getattr__, __dir__, _LAZY = attach(__name__)
