"""overparam_theory: exact high-dimensional asymptotics of solvable overparameterized models.

Every model family is a module with ``theory(...)`` (the proportional-limit prediction) and
``simulate(...)`` (a finite-size Monte Carlo simulation with the same parameters and field
names); :func:`compare` runs both and reports z-scores.  Conventions follow
``docs/conventions.md``: ``alpha = n/d``, ``noise`` a variance, ``signal`` a squared norm.
"""

from importlib.metadata import PackageNotFoundError, version

from . import amp as amp
from . import dynamics as dynamics
from . import glm as glm
from . import kernel as kernel
from . import lasso as lasso
from . import mixtures as mixtures
from . import numerics as numerics
from . import random_features as random_features
from . import ridge as ridge
from ._results import Estimate as Estimate
from .compare import Comparison as Comparison
from .compare import compare as compare
from .numerics import spectra as spectra

try:
    __version__ = version("overparam_theory")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+local"

MODELS = {
    "ridge": ridge,
    "kernel": kernel,
    "random_features": random_features,
    "glm": glm,
    "amp": amp,
    "lasso": lasso,
    "mixtures": mixtures,
    "linear_dynamics": dynamics.linear,
    "committee": dynamics.committee,
}
