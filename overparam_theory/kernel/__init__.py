"""Kernel ridge regression learning curves: eigenlearning theory and synthetic-kernel simulation.

``theory`` / ``simulate`` share parameters (``n_samples``, ``ridge``, ``noise``,
``eigenvalues``, ``target``) and field names (``test_error``, ``excess_risk``, ``bias``,
``variance``, ``train_error``).  Equations and conventions: ``docs/theory/kernel.md``.

References:
    - Simon, Dickens, Karkada & DeWeese, TMLR 2023 (arXiv:2110.03922): the kappa equation, learnabilities L_k,
      overfitting coefficient E_0
    - Bordelon, Canatar & Pehlevan, ICML 2020 (arXiv:2002.02561): the same learning curve with
      kappa_BCP = n kappa
    - Canatar, Bordelon & Pehlevan, Nat. Commun. 12, 2914 (2021) (arXiv:2006.13198)
    - Jacot, Simsek, Spadaro, Hongler & Gabriel, NeurIPS 2020 (arXiv:2006.09796)
"""

from typing import TYPE_CHECKING

import numpy as _np

from .._lazy import attach
from .._spec import Deferred, ModelSpec, references_in
from ._cli import CLI_OPTIONS as _CLI_OPTIONS
from ._cli import cli_build as _cli_build
from ._params import FIELDS as _FIELDS
from ._params import PARAMS as _PARAMS

if TYPE_CHECKING:  # imported at first use (overparam_theory._lazy)
    from ._simulation import KernelSimulation as KernelSimulation
    from ._simulation import fit_kernel_ridge as fit_kernel_ridge
    from ._simulation import simulate as simulate
    from ._theory import KernelTheory as KernelTheory
    from ._theory import theory as theory
    from ._theory import to_ridge_parameters as to_ridge_parameters

_K = _np.arange(1, 51, dtype=float)

SPEC = ModelSpec(
    "kernel", "kernel ridge regression learning curves from the kernel spectrum (eigenlearning), synthetic-kernel simulation",
    _PARAMS, _FIELDS, Deferred(__name__, "theory"), Deferred(__name__, "simulate"), references_in(__doc__),
    dim=None, cli_options=_CLI_OPTIONS, cli_build=_cli_build,
    smoke=dict(n_samples=20.0, ridge=[1e-3, 0.1], noise=0.1, eigenvalues=_K**-1.5, target=1.0 / _K), smoke_dim=None,
)

NAME, PARAMETERS, GRID_PARAMETERS, FIELDS, TIME_AXIS = SPEC.module_constants()

__getattr__, __dir__, _LAZY = attach(__name__)
