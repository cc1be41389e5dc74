"""The random-features model's declared parameters and fields (the contract of
:mod:`overparam_theory._spec`), and its command-line option ``--activation``."""

from __future__ import annotations

import argparse
import sys

import numpy as np

from .. import _spec
from .._spec import CliOption, Field, Instance, Integer, Interval, Param, simulate_options, theory_options
from .._validation import is_traced, real_array


ACTIVATION_NAMES = ("relu", "tanh", "erf", "sigmoid", "quadratic", "linear")
"""The built-in activations (their functions and coefficients: ``_activations.BUILTINS``)."""


def _activation_type() -> tuple:
    """``(Activation,)`` once its module is imported (an instance exists only then), else ``()``."""
    module = sys.modules.get(__package__ + "._activations")
    return (module.Activation,) if module is not None else ()


def check_activation(name: str, value):
    """The check of the ``activation`` parameter (before its coefficients are computed): a
    built-in name, an :class:`Activation` or a callable; returns ``value`` unchanged.  Whether a
    callable traces under JAX and is elementwise is checked by ``_activations.resolve_activation``."""
    if callable(value) or isinstance(value, _activation_type()):
        return value
    if isinstance(value, str):
        if value not in ACTIVATION_NAMES:
            raise ValueError(f"{name} must be one of {', '.join(map(repr, ACTIVATION_NAMES))} or a callable; got {value!r}")
        return value
    raise ValueError(
        f"{name} must be a name ({', '.join(ACTIVATION_NAMES)}), an Activation or a JAX-traceable callable; got {value!r}"
    )


def _check_kink(name, value):
    """A single real number (the location of the activation's kink)."""
    if is_traced(value):
        return value
    arr = real_array(name, value)
    if arr.ndim != 0:
        raise ValueError(f"{name} must be None or a single real number, got an array of shape {arr.shape}")
    return float(arr)


ALPHA = _spec.ALPHA.replace(symbol="psi_2 = n/d")
WIDTH = Param(
    "width", Interval(0.0, low_open=True), grid=True, differentiable=True, cli_default="1", symbol="psi_1 = N/d",
    help="random features per input dimension N/d; the interpolation peak of the ridgeless fit is at width = alpha",
)
RIDGE = Param(
    "ridge", Interval(0.0), 0.0, grid=True, differentiable=True, symbol="lambda",
    help="ridge penalty (N ridge/d)||a||^2 added to the averaged loss (1/n) sum (y - a^T z)^2; 0 is the min-norm interpolator",
    convention="the penalty carries the factor N/d: (N ridge/d)||a||^2 on the averaged loss (Mei & Montanari); "
    "scikit-learn Ridge(alpha = n N ridge/d, fit_intercept=False) on the features",
)
ACTIVATION = Param(
    "activation",
    Instance(
        "a built-in name (" + ", ".join(ACTIVATION_NAMES) + "), an Activation or a JAX-traceable elementwise callable",
        check_activation,
        ("swish", 3.5, None, np.ones(3)),
    ),
    "relu", symbol="sigma",
    help="activation sigma of the features sigma(<theta, x>/sqrt d); its Hermite coefficients mu0, mu1, mu_star "
    "enter the theory, which needs mu_star > 0 ('linear' is refused)",
)
SIGNAL = Param(
    "signal", Interval(0.0), 1.0, grid=True, differentiable=True, symbol="F_1^2",
    help="power of the linear part of the target ||beta_1||^2",
)
NONLINEAR_SIGNAL = Param(
    "nonlinear_signal", Interval(0.0), 0.0, grid=True, differentiable=True, symbol="F_*^2",
    help="power of the nonlinear part of the target E f_NL^2",
)
NOISE = _spec.LABEL_NOISE.replace(
    symbol="tau^2", help="label-noise variance (a variance); excess_risk excludes the test-label noise"
)
ACTIVATION_KINK = Param(
    "activation_kink",
    Instance("None or a single real number", _check_kink, ("text", float("nan"), np.array([0.0, 1.0]))), None,
    nullable=True,
    help="for a callable activation with a kink (abs, relu-like): its location, so that the Hermite "
    "coefficients are integrated with the split Gauss-Hermite rule",
)

MODEL_PARAMS = (ALPHA, WIDTH, RIDGE, ACTIVATION, SIGNAL, NONLINEAR_SIGNAL, NOISE, ACTIVATION_KINK)

PARAMS = (
    MODEL_PARAMS
    + theory_options()
    + simulate_options(
        200,
        16,
        Param(
            "n_test", Integer(1), None, role="simulate", nullable=True,
            help="fresh test points per seed (default max(2000, 10 dim)), evaluated in chunks of 1024",
        ),
    )
)

FIELDS = (
    Field("excess_risk", "E_x (f(x) - a_hat^T z(x))^2, test-label noise excluded (Mei & Montanari's R)"),
    Field("bias", "the error with noiseless labels, F_1^2 B + F_*^2 (V + 1)"),
    Field("variance", "the part of excess_risk due to the label noise, tau^2 V"),
    Field("bias_factor", "B of Theorem 1: the error per unit linear-signal power", label="bias factor B"),
    Field("variance_factor", "V of Theorem 1: the error per unit noise variance", label="variance factor V"),
)


def parse_activation(text: str) -> str:
    """A built-in activation name (``argparse.ArgumentTypeError`` otherwise)."""
    name = str(text).strip().lower()
    if name not in ACTIVATION_NAMES:
        raise argparse.ArgumentTypeError(f"invalid activation {text!r}: choose from {', '.join(ACTIVATION_NAMES)}")
    return name


CLI_OPTIONS = (
    CliOption(
        "activation",
        parse_activation,
        "relu",
        "activation sigma of the features sigma(<theta, x>/sqrt d): one of " + ", ".join(ACTIVATION_NAMES) + "; its "
        "Hermite coefficients mu0, mu1, mu_star enter the theory ('linear' has mu_star = 0 and is refused "
        "by the theory)",
        metavar="NAME",
    ),
)


def cli_build(options: dict, grid: dict) -> dict:
    """The ``activation`` keyword from the parsed ``--activation`` name."""
    return {"activation": options["activation"]}
