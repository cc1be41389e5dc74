"""overparam_theory: exact high-dimensional asymptotics of solvable overparameterized models.

Every model family is a module with ``theory(...)`` (the proportional-limit prediction) and
``simulate(...)`` (a finite-size Monte Carlo simulation with the same parameters and field
names); :func:`compare` runs both and reports z-scores.  Conventions follow
``docs/conventions.md``: ``alpha = n/d``, ``noise`` a variance, ``signal`` a squared norm.

Importing the package turns on JAX's persistent compilation cache in a per-user directory, so
that programs compile once per machine (:mod:`overparam_theory._cache`; opt out with the
environment variable ``OVERPARAM_THEORY_CACHE=0`` or :func:`disable_compilation_cache`).

The model declarations load without JAX; each implementation (and JAX) is imported at its first
use (:mod:`overparam_theory._lazy`), so the command line answers ``--help`` at once.
"""

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from . import _cache

_cache.enable_by_default()  # before the first compile (noqa: E402 below)

from ._cache import compilation_cache_dir as compilation_cache_dir  # noqa: E402
from ._cache import default_cache_dir as default_cache_dir  # noqa: E402
from ._cache import disable_compilation_cache as disable_compilation_cache  # noqa: E402
from ._cache import enable_compilation_cache as enable_compilation_cache  # noqa: E402
from . import ridge as ridge  # noqa: I001  (import order = registration order = CLI order)
from . import kernel as kernel
from . import random_features as random_features
from . import glm as glm
from . import amp as amp
from . import lasso as lasso
from . import mixtures as mixtures
from . import dynamics as dynamics
from ._lazy import attach as _attach
from ._spec import REGISTRY as _REGISTRY
from ._spec import ModelSpec as ModelSpec

if TYPE_CHECKING:  # imported at first use (_lazy.attach reads this block)
    from . import distributed as distributed
    from . import numerics as numerics
    from ._results import Estimate as Estimate
    from .compare import Comparison as Comparison
    from .compare import compare as compare
    from .numerics import spectra as spectra
    from .plotting import plot_theory as plot_theory

try:
    __version__ = version("overparam_theory")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+local"

_FAMILIES = (ridge, kernel, random_features, glm, amp, lasso, mixtures, dynamics.linear, dynamics.committee)
MODELS = {family.SPEC.name: family for family in _FAMILIES if hasattr(family, "SPEC")}
"""Model name -> model module; each module's ``SPEC`` (:class:`ModelSpec`) declares it."""
SPECS = {name: family.SPEC for name, family in MODELS.items()}
"""Model name -> :class:`ModelSpec` (the declaration the CLI, compare and docs derive from)."""
for _name, _declared in SPECS.items():  # registration order = the order above (CLI and docs list models so)
    _REGISTRY.pop(_name, None)
    _REGISTRY[_name] = _declared

__getattr__, __dir__, _LAZY = _attach(__name__)
