"""The model contract: every model family is declared once, as data.

A :class:`ModelSpec` lists a model's parameters (:class:`Param`: constraint, default, whether it
is a grid axis, help text, the paper's symbol, the penalty convention), its result fields
(:class:`Field`), its ``theory`` and ``simulate`` functions, the simulator's default ``dim``,
an optional time axis and the references.  Everything else is derived from it:

- input validation (:func:`validated`, a decorator that also fails at import when a function's
  keywords or defaults disagree with the declaration);
- the command line (``overparam-theory``: options, help, ``list``, tables, plots);
- :func:`overparam_theory.compare`;
- the documentation tables (:func:`markdown_tables`);
- the contract test run over every registered model (``tests/test_contract.py``).

Constraints are small frozen dataclasses (introspectable like scikit-learn's
``_parameter_constraints``): each validates a value, describes its valid range in words, parses
its command-line text and generates values it must refuse (used by the contract test).
"""

from __future__ import annotations

import abc
import dataclasses
import functools
import importlib
import inspect
import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ._validation import broadcast, choice, is_traced, positive_int, real_array

__all__ = [
    "REQUIRED",
    "Constraint",
    "Interval",
    "Choice",
    "Integer",
    "Boolean",
    "Vector",
    "Instance",
    "Param",
    "Field",
    "CliOption",
    "ModelSpec",
    "SpecError",
    "validated",
    "theory_options",
    "simulate_options",
]


class SpecError(TypeError):
    """A model declaration disagrees with the function it declares (raised at import)."""


class _Required:
    def __repr__(self):
        return "REQUIRED"


REQUIRED = _Required()
"""Default of a parameter the caller must give."""


def _fmt(v) -> str:
    if v == math.inf:
        return "inf"
    if v == -math.inf:
        return "-inf"
    return f"{v:g}"


# ---------------------------------------------------------------------------------------------
# Command-line text.


def parse_grid(text: str) -> np.ndarray:
    """Parse a command-line grid into a 1-D float array.

    Forms: a number (``0.5``); a comma list (``0.1,0.5,1``); ``start:stop:num`` -- ``num``
    evenly spaced points from ``start`` to ``stop``, both included (``numpy.linspace``; ``num``
    is a count, not a step); ``start:stop:num:log`` -- ``num`` log-spaced points
    (``numpy.geomspace``, ``start`` and ``stop`` of the same sign and non-zero); ``:lin`` may be
    written out.  A ``num`` that is not a whole number (``0:1:0.1``, read as a step) is refused
    with the count that was probably meant.

    Raises ``argparse.ArgumentTypeError`` (so argparse names the option) on bad syntax; range
    checks are left to the parameter's constraint.
    """
    import argparse

    s = str(text).strip()
    forms = "expected a number, a comma list 'a,b,c', 'start:stop:num' or 'start:stop:num:log'"
    try:
        if ":" in s:
            parts = [p.strip() for p in s.split(":")]
            spacing = parts.pop().lower() if len(parts) == 4 else "lin"
            if len(parts) != 3 or spacing not in ("lin", "log"):
                raise ValueError
            start, stop, count = float(parts[0]), float(parts[1]), float(parts[2])
            if not count.is_integer():
                guess = (stop - start) / count + 1 if count > 0 else float("nan")
                hint = (f" (for a step of {count:g} from {start:g} to {stop:g}: {start:g}:{stop:g}:{round(guess)})"
                        if math.isfinite(guess) and guess >= 1 and abs(guess - round(guess)) < 1e-9 else "")
                raise argparse.ArgumentTypeError(
                    f"invalid grid {text!r}: the third entry of start:stop:num is the number of points "
                    f"(a whole number), not a step{hint}")
            num = int(count)
            if num < 1:
                raise argparse.ArgumentTypeError(f"invalid grid {text!r}: the number of points in start:stop:num must be >= 1")
            if spacing == "log":
                if start == 0 or stop == 0 or (start < 0) != (stop < 0):
                    raise argparse.ArgumentTypeError(
                        f"invalid grid {text!r}: a log grid needs start and stop non-zero and of the same sign")
                values = np.geomspace(start, stop, num)
            else:
                values = np.linspace(start, stop, num)
        elif "," in s:
            values = np.array([float(p) for p in s.split(",") if p.strip() != ""])
            if values.size == 0:
                raise ValueError
        else:
            values = np.array([float(s)])
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: {forms}") from None
    if not np.all(np.isfinite(values)):
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: values must be finite numbers")
    return values


def parse_kind(text: str, name: str, forms: dict) -> tuple:
    """Parse ``KIND`` or ``KIND:a,b,c`` into ``(kind, [finite floats])``; ``forms`` maps each KIND to
    its syntax (``"two-level:FRAC,TOP,BOTTOM"``), from which the number of arguments is read."""
    import argparse

    kind, _, rest = str(text).strip().partition(":")
    kind = kind.strip().lower()
    if kind not in forms:
        raise argparse.ArgumentTypeError(f"invalid {name} {text!r}: choose from {', '.join(forms.values())}")
    expected = forms[kind].count(",") + (1 if ":" in forms[kind] else 0)
    try:
        args = [float(p) for p in rest.split(",")] if rest.strip() else []
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid {name} {text!r}: expected {forms[kind]}") from None
    if len(args) != expected or not all(math.isfinite(a) for a in args):
        raise argparse.ArgumentTypeError(f"invalid {name} {text!r}: expected {forms[kind]} with finite numbers")
    return kind, args


# ---------------------------------------------------------------------------------------------
# Constraints.


class Constraint(abc.ABC):
    """Base class: ``check(name, value)`` returns the validated value or raises ``ValueError``."""

    @abc.abstractmethod
    def check(self, name: str, value):
        """The validated value of argument ``name``, or ``ValueError`` naming it."""

    @abc.abstractmethod
    def describe(self) -> str:
        """The valid values in words (error messages, CLI help, docs tables)."""

    def invalid_examples(self) -> tuple:
        """Values :meth:`check` must refuse (the contract test feeds them to every function)."""
        return ("not a number", object())

    def parse(self, text: str):
        """The value of a command-line string (``argparse.ArgumentTypeError`` on bad syntax)."""
        return text


@dataclass(frozen=True)
class Interval(Constraint):
    """Real numbers (arrays broadcast over the grid) in an interval; ``integer`` also requires
    whole numbers (e.g. a sample count); ``allow_inf`` admits the infinite end points of an
    unbounded side (e.g. ``time = inf``, a limit).  Tracers (``jit``/``grad``/``vmap``) pass
    unchecked."""

    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    integer: bool = False
    allow_inf: bool = False

    def describe(self) -> str:
        left = "(" if self.low_open or (self.low == -math.inf and not self.allow_inf) else "["
        right = ")" if self.high_open or (self.high == math.inf and not self.allow_inf) else "]"
        kind = "integers" if self.integer else "reals"
        return f"{kind} in {left}{_fmt(self.low)}, {_fmt(self.high)}{right}"

    def check(self, name, value):
        arr = real_array(
            name, value, low=self.low, high=self.high, low_open=self.low_open, high_open=self.high_open,
            allow_inf=self.allow_inf,
        )
        if not is_traced(arr) and arr.size == 0:
            raise ValueError(f"{name} must be a non-empty array of {self.describe()}, got an empty array")
        if self.integer and not is_traced(arr) and np.any(arr != np.round(arr)):
            bad = arr[arr != np.round(arr)].ravel()[0]
            raise ValueError(f"{name} must be a whole number ({self.describe()}), got {bad:g}")
        return arr

    def invalid_examples(self):
        out = ["text", float("nan"), np.array([[1.0, 2.0 + 1j]]), np.array([])]
        if self.low > -math.inf:
            out.append(self.low - 1.0 if not self.low_open else self.low)
        if self.high < math.inf:
            out.append(self.high + 1.0 if not self.high_open else self.high)
        if self.integer:
            below = self.low if self.low > -math.inf else 0.0
            out.append(below + 1.5)
        return tuple(out)

    def parse(self, text):
        values = parse_grid(text)
        if self.integer:
            values = np.rint(values)
            _, first = np.unique(values, return_index=True)
            values = values[np.sort(first)]
        return values


@dataclass(frozen=True)
class Choice(Constraint):
    """One of a fixed set of strings."""

    options: tuple

    def describe(self) -> str:
        return "one of " + ", ".join(map(repr, self.options))

    def check(self, name, value):
        return choice(name, value, self.options)

    def invalid_examples(self):
        return ("no-such-option", 3, None)


@dataclass(frozen=True)
class Integer(Constraint):
    """A single integer ``>= minimum`` (optionally ``<= maximum``)."""

    minimum: int = 1
    maximum: int | None = None

    def describe(self) -> str:
        return f"an integer >= {self.minimum}" + (f" and <= {self.maximum}" if self.maximum is not None else "")

    def check(self, name, value):
        if isinstance(value, np.ndarray) and value.ndim == 0:
            value = value.item()
        value = positive_int(name, value, minimum=self.minimum)
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"{name} must be {self.describe()}, got {value}")
        return value

    def invalid_examples(self):
        out = [self.minimum - 1, 2.5, "3", None, [2, 3]]
        if self.maximum is not None:
            out.append(self.maximum + 1)
        return tuple(out)

    def parse(self, text):
        import argparse

        try:
            return int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid value {text!r}: expected an integer") from None


@dataclass(frozen=True)
class Boolean(Constraint):
    """``True`` or ``False`` (NumPy booleans accepted)."""

    def describe(self) -> str:
        return "True or False"

    def check(self, name, value):
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        raise ValueError(f"{name} must be True or False, got {value!r}")

    def invalid_examples(self):
        return ("yes", 2, None)


@dataclass(frozen=True)
class Vector(Constraint):
    """A non-empty 1-D array of reals whose entries satisfy ``element`` (not a grid axis:
    e.g. kernel eigenvalues, a time axis)."""

    element: Interval = Interval()
    ndim: int | None = 1

    def describe(self) -> str:
        return f"a non-empty {'1-D ' if self.ndim == 1 else ''}array of {self.element.describe()}"

    def check(self, name, value):
        if is_traced(value):
            return value
        arr = self.element.check(name, value)
        if self.ndim is not None and arr.ndim != self.ndim:
            raise ValueError(f"{name} must be {self.describe()}, got an array of shape {arr.shape}")
        if arr.size == 0:
            raise ValueError(f"{name} must be {self.describe()}, got an empty array")
        return arr

    def invalid_examples(self):
        return ("text", np.array([]), np.array([np.nan])) + tuple(
            np.array([v]) for v in self.element.invalid_examples() if isinstance(v, float)
        )

    def parse(self, text):
        return parse_grid(text)


@dataclass(frozen=True)
class Instance(Constraint):
    """A value accepted by a custom check (an object such as a spectrum, an activation or a
    PRNG key); ``check_fn(name, value)`` returns the value or raises ``ValueError``."""

    description: str
    check_fn: Callable[[str, Any], Any]
    invalid: tuple = ("not-an-object", 3.5)

    def describe(self) -> str:
        return self.description

    def check(self, name, value):
        return self.check_fn(name, value)

    def invalid_examples(self):
        return self.invalid


# ---------------------------------------------------------------------------------------------
# Declarations.


@dataclass(frozen=True)
class Param:
    """One keyword argument of a model's ``theory`` and/or ``simulate``.

    Attributes:
        name: the keyword.
        constraint: what values are valid (:class:`Constraint`).
        default: the default, or :data:`REQUIRED`.
        grid: a grid axis: arrays of these parameters broadcast together, one value per point.
        help: one line on meaning and convention (CLI help and docs tables).
        symbol: the paper's symbol (e.g. ``gamma = 1/alpha`` in Hastie et al.).
        convention: penalty or scaling convention in words (e.g. "penalty on the averaged loss").
        nullable: ``None`` is accepted (meaning "not given"; the function decides).
        role: ``"model"`` (theory and simulate), ``"theory"`` or ``"simulate"`` (solver and
            Monte Carlo options).
        cli: expose as a command-line option (grid parameters, choices, flags and integers are
            exposed by default; objects through :class:`CliOption`).
        cli_default: the command-line default as text (needed when ``default`` is REQUIRED or
            not a good command-line default).
        differentiable: ``jax.grad`` with respect to this grid parameter is supported.
    """

    name: str
    constraint: Constraint
    default: Any = REQUIRED
    grid: bool = False
    help: str = ""
    symbol: str = ""
    convention: str = ""
    nullable: bool = False
    role: str = "model"
    cli: bool | None = None
    cli_default: str | None = None
    differentiable: bool = False

    @property
    def axis_label(self) -> str:
        """The name in words with the paper's symbol, for figure axes (``"alpha = n/d"``,
        ``"width (psi_1 = N/d)"``)."""
        words = self.name.replace("_", " ")
        symbol = self.symbol.split(" (")[0].split(";")[0].strip()
        if not symbol or symbol == self.name:
            return words
        return symbol if symbol.startswith(self.name + " ") else f"{words} ({symbol})"

    def __post_init__(self):
        if self.role not in ("model", "theory", "simulate"):
            raise SpecError(f"Param {self.name}: role must be 'model', 'theory' or 'simulate'")
        if self.grid and not isinstance(self.constraint, Interval):
            raise SpecError(f"Param {self.name}: a grid parameter needs an Interval constraint")

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def on_cli(self) -> bool:
        if self.cli is not None:
            return self.cli
        return self.role == "model" and (
            self.grid or isinstance(self.constraint, (Choice, Boolean, Integer))
        )

    def check(self, value):
        if value is None and self.nullable:
            return None
        return self.constraint.check(self.name, value)

    def describe(self) -> str:
        text = self.constraint.describe()
        return text + (" or None" if self.nullable else "")

    def replace(self, **changes) -> "Param":
        """This declaration with ``changes`` (a family's variant of a shared parameter)."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Field:
    """A result field: name, one-line meaning, whether :func:`compare` uses it by default, and
    an optional short axis label for figures (default: the name in words)."""

    name: str
    meaning: str
    compare: bool = True
    label: str = ""

    @property
    def axis_label(self) -> str:
        return self.label or self.name.replace("_", " ")


@dataclass(frozen=True)
class CliOption:
    """A command-line option that builds library objects (e.g. ``--spectrum two-level:...``).

    ``parse(text)`` turns the text into a value (``argparse.ArgumentTypeError`` on bad syntax);
    the model's :attr:`ModelSpec.cli_build` turns the parsed values into keyword arguments.
    """

    name: str
    parse: Callable[[str], Any]
    default: str
    help: str
    metavar: str = "SPEC"


class Deferred:
    """A public function named by module and attribute, imported at its first use.

    A built-in model declares ``theory=Deferred("overparam_theory.ridge", "theory")``, so that its
    :class:`ModelSpec` (and the command line's ``--help``) loads without the JAX implementation;
    calling it, or reading its signature, imports the function and checks it against the spec.
    """

    def __init__(self, module: str, attribute: str):
        self.module, self.attribute = module, attribute
        self.check: Callable | None = None
        self._function: Callable | None = None

    def resolve(self) -> Callable:
        if self._function is None:
            function = getattr(importlib.import_module(self.module), self.attribute)
            if self.check is not None:
                self.check(function)
            self._function = function
        return self._function

    def __call__(self, *args, **kwargs):
        return self.resolve()(*args, **kwargs)

    def __getattr__(self, name: str):  # the function's own attributes (``params``, ...), not dunders
        if name.startswith("__") or name in ("_function", "check"):
            raise AttributeError(name)
        return getattr(self.resolve(), name)

    @property
    def __signature__(self) -> inspect.Signature:
        return inspect.signature(self.resolve())

    @property
    def __wrapped__(self) -> Callable:
        return self.resolve()

    def __repr__(self) -> str:
        return f"<deferred {self.module}.{self.attribute}>"


@dataclass(frozen=True)
class ModelSpec:
    """The declaration of one model family (see the module docstring).

    Attributes:
        name: the registry key (``overparam-theory theory NAME``).
        summary: one line: data model and estimator.
        params: every keyword of ``theory`` and ``simulate`` (:class:`Param`; model parameters,
            theory-only solver options, simulate-only Monte Carlo options).
        fields: the observables shared by theory and simulation (:class:`Field`).
        theory, simulate: the public functions (checked against ``params`` at import), or
            :class:`Deferred` references to them (checked at their first import).
        references: papers with the equations implemented.
        dim: the simulator's default input dimension (``None``: the simulator has none).
        time_axis: name of a trailing axis of every field (trajectory models), else ``None``.
        cli_options, cli_build: command-line options that build objects (spectra, targets) and
            the function turning their parsed values (and the grid) into keyword arguments.
        smoke, smoke_dim: small, fast parameters (and dimension) for the contract test.
        float32_rtol: documented float32-vs-float64 agreement at the smoke parameters.
    """

    name: str
    summary: str
    params: tuple
    fields: tuple
    theory: Callable
    simulate: Callable
    references: tuple = ()
    dim: int | None = 200
    time_axis: str | None = None
    cli_options: tuple = ()
    cli_build: Callable | None = None
    smoke: dict = field(default_factory=dict)
    smoke_dim: int | None = None
    float32_rtol: float = 1e-4

    def __post_init__(self):
        # A name may be declared twice only as a "theory" and a "simulate" option (e.g. a
        # simulator's own dtype / on_failure, with its own valid values); each function's
        # keywords are unique.
        for role in ("theory", "simulate"):
            names = [p.name for p in self.params_for(role)]
            if len(set(names)) != len(names):
                raise SpecError(f"{self.name}: duplicate parameter names for {role} in {names}")
        for role, fn in (("theory", self.theory), ("simulate", self.simulate)):
            if isinstance(fn, Deferred):  # checked when first imported
                fn.check = functools.partial(_check_signature, self, role)
            else:
                _check_signature(self, role, fn)
        if self.dim is not None:
            dim = self.param("dim", "simulate")
            if dim.default != self.dim:
                raise SpecError(f"{self.name}: simulate's dim default {dim.default} differs from the spec's dim {self.dim}")

    # --- lookups
    def param(self, name: str, role: str | None = None) -> Param:
        """The declaration of ``name`` (for ``role`` when a theory and a simulate option share it)."""
        for p in self.params if role is None else self.params_for(role):
            if p.name == name:
                return p
        raise KeyError(name)

    def params_for(self, role: str) -> tuple:
        return tuple(p for p in self.params if p.role in ("model", role))

    @property
    def model_params(self) -> tuple:
        return tuple(p for p in self.params if p.role == "model")

    @property
    def grid_params(self) -> tuple:
        return tuple(p.name for p in self.params if p.grid and p.role == "model")

    @property
    def field_names(self) -> tuple:
        return tuple(f.name for f in self.fields)

    @property
    def compared_fields(self) -> tuple:
        return tuple(f.name for f in self.fields if f.compare)

    # --- the names the per-module constants carry (a spec can stand where a module did)
    @property
    def NAME(self) -> str:
        return self.name

    @property
    def PARAMETERS(self) -> tuple:
        return tuple(p.name for p in self.model_params)

    @property
    def GRID_PARAMETERS(self) -> tuple:
        return self.grid_params

    @property
    def FIELDS(self) -> tuple:
        return self.compared_fields

    @property
    def TIME_AXIS(self) -> bool:
        return self.time_axis is not None

    def module_constants(self) -> tuple:
        """``NAME, PARAMETERS, GRID_PARAMETERS, FIELDS, TIME_AXIS``: the constants every model
        package has exported since the first release, derived from the spec."""
        return self.NAME, self.PARAMETERS, self.GRID_PARAMETERS, self.FIELDS, self.TIME_AXIS


REGISTRY: dict = {}
"""Registered models by name (the CLI, ``list`` and the contract test read it)."""


def register(spec: ModelSpec) -> ModelSpec:
    """Add ``spec`` to :data:`REGISTRY` (a model's package calls this once at import)."""
    if spec.name in REGISTRY and REGISTRY[spec.name] is not spec:
        raise SpecError(f"a different model named {spec.name!r} is already registered")
    REGISTRY[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    REGISTRY.pop(name, None)


def resolve(model) -> ModelSpec:
    """A :class:`ModelSpec` from a spec, a model module (its ``SPEC``) or a registered name."""
    if isinstance(model, ModelSpec):
        return model
    if isinstance(model, str):
        if model not in REGISTRY:
            raise ValueError(f"model must be one of {', '.join(REGISTRY)}; got {model!r}")
        return REGISTRY[model]
    spec = getattr(model, "SPEC", None)
    if not isinstance(spec, ModelSpec):
        raise ValueError(f"model must be a ModelSpec, a model module or a registered name, got {model!r}")
    return spec


def _check_signature(spec: ModelSpec, role: str, fn: Callable) -> None:
    """Fail at import when ``fn``'s keywords or defaults differ from the declaration."""
    sig = inspect.signature(fn)
    declared = {p.name: p for p in spec.params_for(role)}
    actual = {n: p for n, p in sig.parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    if set(sig.parameters) != set(actual):
        raise SpecError(f"{spec.name}.{role}: every argument must be keyword-only")
    missing, extra = set(declared) - set(actual), set(actual) - set(declared)
    if missing or extra:
        raise SpecError(
            f"{spec.name}.{role}: keywords disagree with the spec "
            f"(declared but not accepted: {sorted(missing)}; accepted but not declared: {sorted(extra)})"
        )
    for name, p in declared.items():
        default = actual[name].default
        default = REQUIRED if default is inspect.Parameter.empty else default
        if not _same_default(default, p.default):
            raise SpecError(f"{spec.name}.{role}: default of {name} is {default!r}, the spec says {p.default!r}")


def _same_default(a, b) -> bool:
    if a is REQUIRED or b is REQUIRED:
        return a is b
    try:
        return bool(np.all(a == b)) and type(a) is type(b)
    except Exception:  # noqa: BLE001 - objects without a usable ==
        return a is b


def validated(params: tuple, role: str):
    """Decorator: validate a keyword-only public function's arguments against ``params``.

    Every argument is checked by its :class:`Param` (``ValueError`` naming it and its valid
    range), unknown keywords are refused with the list of valid ones, the grid parameters are
    checked to broadcast together, and the function receives the validated values (NumPy
    float64 arrays for grid parameters; tracers pass through).  Cross-field rules stay in the
    function.  At decoration time the function's keywords and defaults must match ``params``.
    """
    declared = {p.name: p for p in params if p.role in ("model", role)}

    def decorate(fn):
        sig = inspect.signature(fn)
        if set(sig.parameters) != set(declared):
            missing, extra = set(declared) - set(sig.parameters), set(sig.parameters) - set(declared)
            raise SpecError(
                f"{fn.__module__}.{fn.__name__}: keywords disagree with the spec "
                f"(declared but not accepted: {sorted(missing)}; accepted but not declared: {sorted(extra)})"
            )
        for name, param in sig.parameters.items():
            if param.default is not inspect.Parameter.empty and not _same_default(param.default, declared[name].default):
                raise SpecError(f"{fn.__module__}.{fn.__name__}: default of {name} is {param.default!r}, "
                                f"the spec says {declared[name].default!r}")
        # The spec is the one source of defaults: the public signature is built from it.
        public = sig.replace(parameters=[
            inspect.Parameter(p.name, inspect.Parameter.KEYWORD_ONLY,
                              default=inspect.Parameter.empty if p.required else p.default)
            for p in (declared[name] for name in sig.parameters)
        ])
        grid = [p.name for p in declared.values() if p.grid]

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if args:
                raise ValueError(f"{fn.__name__}() takes keyword arguments only (got {len(args)} positional)")
            unknown = set(kwargs) - set(declared)
            if unknown:
                raise ValueError(
                    f"unknown argument(s) {', '.join(sorted(unknown))}; valid: {', '.join(declared)}"
                )
            values = {}
            for name, p in declared.items():
                if name in kwargs:
                    values[name] = p.check(kwargs[name])
                elif p.required:
                    raise ValueError(f"{name} is required ({p.describe()})")
                else:
                    values[name] = p.default
            shapes = {k: values[k] for k in grid if values[k] is not None}
            if shapes:
                broadcast(**shapes)
            return fn(**values)

        wrapper.params = tuple(declared.values())
        wrapper.__signature__ = public
        return wrapper

    return decorate


# ---------------------------------------------------------------------------------------------
# Options every model shares.


def _check_seed(name, value):
    from ._montecarlo import make_key

    make_key(value)  # raises ValueError naming seed
    return value


def _check_dtype(name, value):
    from ._precision import resolve_dtype

    return resolve_dtype(value)


def _check_devices(name, value):
    from ._montecarlo import resolve_devices

    if value is None or value == "all":
        return value
    if isinstance(value, str):
        raise ValueError(f"{name} must be None, 'all' or a non-empty list of JAX devices, got {value!r}")
    try:
        resolve_devices(value)
    except TypeError as exc:
        raise ValueError(f"{name} must be None, 'all' or a non-empty list of JAX devices, got {value!r}") from exc
    return value


def theory_options(*extra: Param) -> tuple:
    """``dtype`` and ``on_failure`` (every theory function), followed by ``extra``."""
    return (
        Param("dtype", Instance("'float64' or 'float32' (or the NumPy types)", _check_dtype, ("float16", 3)),
              "float64", role="theory",
              help="working precision; float64 is enabled locally, the process setting is untouched"),
        Param("on_failure", Choice(("warn", "raise", "ignore")), "warn", role="theory",
              help="what to do with points whose solve failed (they are NaN and flagged either way)"),
    ) + tuple(extra)


def simulate_options(dim: int | None, n_seeds: int = 16, *extra: Param) -> tuple:
    """``dim`` (when the model has one), ``n_seeds``, ``seed``, ``devices``, ``progress``, ``extra``."""
    out = ()
    if dim is not None:
        out += (Param("dim", Integer(1), dim, role="simulate", help="input dimension d of the simulation"),)
    return out + (
        Param("n_seeds", Integer(2), n_seeds, role="simulate", help="independent repetitions per point"),
        Param("seed", Instance("a non-negative integer or a JAX PRNG key", _check_seed, ("x", -1, 1.5, True)),
              0, role="simulate", help="random seed; every grid point folds in its own index"),
        Param("devices", Instance("None, 'all' or a list of JAX devices", _check_devices, ("some", 3)),
              None, nullable=True, role="simulate", help="devices to shard the seeds over"),
        Param("progress", Boolean(), False, role="simulate", help="progress report on stderr"),
    ) + tuple(extra)


# ---------------------------------------------------------------------------------------------
# Parameters shared by several families (a population covariance and its teacher).


def _check_spectrum(name, value):
    from .numerics import spectra

    if isinstance(value, spectra.MarchenkoPastur):
        raise ValueError(f"{name} must be a DiscreteSpectrum; use MarchenkoPastur.discretize(n_nodes)")
    if not isinstance(value, spectra.DiscreteSpectrum):
        raise ValueError(
            f"{name} must be None (Sigma = I) or a spectra.DiscreteSpectrum (spectra.discrete / two_level / "
            f"power_law), got {type(value).__name__}"
        )
    return value


SPECTRUM = Param(
    "spectrum", Instance("a spectra.DiscreteSpectrum", _check_spectrum), None, nullable=True, symbol="Sigma",
    help="covariance Sigma as a discrete spectral measure (eigenvalues, weights = fractions of d); None: Sigma = I",
)
SIGNAL = Param(
    "signal", Interval(0.0), None, grid=True, nullable=True, differentiable=True, cli_default="1", symbol="r^2",
    help="teacher squared norm ||beta||^2 (default 1); with a spectrum, an isotropic teacher of that norm",
)
TEACHER_POWER = Param(
    "teacher_power", Vector(Interval(0.0)), None, nullable=True, symbol="||P_k beta||^2",
    help="teacher squared norm in each eigenspace of the spectrum (sums to ||beta||^2)",
)

# The proportional limit's sample ratio, label noise and label flips, and the Bernoulli-Gaussian
# prior (a family adapts the help text and command-line default with Param.replace).
ALPHA = Param(
    "alpha", Interval(0.0, low_open=True), grid=True, differentiable=True, cli_default="0.2:3:15",
    help="samples per input dimension n/d", symbol="alpha = n/d",
)
LABEL_NOISE = Param(
    "noise", Interval(0.0), 0.0, grid=True, differentiable=True, symbol="sigma^2",
    help="label-noise variance (a variance)",
)
FLIP = Param(
    "flip", Interval(0.0, 0.5), 0.0, grid=True, differentiable=True, symbol="epsilon",
    help="label-flip probability in [0, 1/2]",
)
SPARSITY = Param(
    "sparsity", Interval(0.0, 1.0, low_open=True), 1.0, grid=True, differentiable=True, symbol="epsilon",
    help="fraction of non-zero entries: (1 - sparsity) delta_0 + sparsity N(0, nonzero_variance)",
)
NONZERO_VARIANCE = Param(
    "nonzero_variance", Interval(0.0, low_open=True), 1.0, grid=True, differentiable=True, symbol="v",
    help="variance of the non-zero entries",
)


def references_in(doc: str) -> tuple:
    """The ``References:`` section of a module docstring, one entry per ``- `` item.

    A family lists its papers once, in its package docstring (where ``help()`` shows them), and
    its spec reads them from there.  Under ``python -OO`` (docstrings stripped) it returns ``()``.
    """
    if doc is None:
        return ()
    lines = doc.split("\n")
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == "References:")
    except StopIteration:
        raise SpecError("the docstring has no 'References:' section") from None
    items: list = []
    for line in lines[start + 1:]:
        text = line.strip()
        if not text:
            break
        if text.startswith("- "):
            items.append(text[2:])
        elif items:
            items[-1] += " " + text
    if not items:
        raise SpecError("the docstring's 'References:' section lists no '- ' items")
    return tuple(items)


def with_defaults(spec: ModelSpec, **overrides) -> dict:
    """The spec's smoke-test parameters (small, fast) updated with ``overrides``."""
    return {**spec.smoke, **overrides}


def replace(spec: ModelSpec, **changes) -> ModelSpec:
    return dataclasses.replace(spec, **changes)
