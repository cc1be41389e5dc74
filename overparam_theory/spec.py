"""The model contract, public: declare a model once and get validation, the CLI, ``compare``,
``list``, the documentation tables and the contract test from the declaration.

Example (a complete model in a few lines: ``tests/test_contract.py`` declares one)::

    from overparam_theory.spec import Field, Interval, ModelSpec, Param, register, validated
    PARAMS = (Param("alpha", Interval(0, low_open=True), grid=True, cli_default="0.5:2:4"),) + ...
    SPEC = register(ModelSpec(name="toy", summary="...", params=PARAMS, fields=(Field("energy", "..."),),
                              theory=theory, simulate=simulate, dim=100, smoke=dict(alpha=[0.5, 1.0])))

See :mod:`overparam_theory._spec` for the meaning of every attribute.
"""

from ._spec import (
    ALPHA as ALPHA,
    FLIP as FLIP,
    LABEL_NOISE as LABEL_NOISE,
    NONZERO_VARIANCE as NONZERO_VARIANCE,
    SIGNAL as SIGNAL,
    SPARSITY as SPARSITY,
    REGISTRY as REGISTRY,
    REQUIRED as REQUIRED,
    SPECTRUM as SPECTRUM,
    TEACHER_POWER as TEACHER_POWER,
    Boolean as Boolean,
    Choice as Choice,
    CliOption as CliOption,
    Constraint as Constraint,
    Field as Field,
    Instance as Instance,
    Integer as Integer,
    Interval as Interval,
    ModelSpec as ModelSpec,
    Param as Param,
    SpecError as SpecError,
    Vector as Vector,
    parse_grid as parse_grid,
    parse_kind as parse_kind,
    references_in as references_in,
    register as register,
    resolve as resolve,
    simulate_options as simulate_options,
    theory_options as theory_options,
    unregister as unregister,
    validated as validated,
)
from .numerics.diagnostics import Diagnostics as Diagnostics
from .numerics.diagnostics import Status as Status
from .numerics.diagnostics import ok as ok
from .numerics.diagnostics import with_diagnostics as with_diagnostics
from .numerics.grid import evaluate as evaluate
