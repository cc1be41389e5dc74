"""The ridge model's declared parameters and fields (the contract of :mod:`overparam_theory._spec`)."""

from __future__ import annotations

from .._spec import SIGNAL, SPECTRUM, TEACHER_POWER, Boolean, Field, Interval, Param, simulate_options, theory_options


ALPHA = Param(
    "alpha",
    Interval(0.0, low_open=True),
    grid=True,
    help="samples per input dimension n/d; the min-norm interpolation peak is at alpha = 1",
    symbol="alpha = n/d (Hastie et al.: gamma = 1/alpha)",
    cli_default="0.2:3:15",
    differentiable=True,
)
NOISE = Param(
    "noise",
    Interval(0.0),
    0.0,
    grid=True,
    help="label-noise variance (a variance); the risks are excess risks, total = excess_risk + noise",
    symbol="sigma^2",
    cli_default="0.25",
    differentiable=True,
)

MODEL_PARAMS = (
    ALPHA,
    Param(
        "ridge",
        Interval(0.0),
        0.0,
        grid=True,
        help="ridge penalty on the averaged loss (1/n)||y - X b||^2 + ridge ||b||^2; 0 is min-norm least squares",
        symbol="lambda",
        convention="penalty on the averaged loss (scikit-learn Ridge(alpha = n * ridge))",
        cli_default="1e-3",
        differentiable=True,
    ),
    SIGNAL,
    NOISE,
    SPECTRUM,
    TEACHER_POWER,
)

PARAMS = (
    MODEL_PARAMS
    + theory_options()
    + simulate_options(
        200,
        16,
        Param(
            "conditional",
            Boolean(),
            False,
            role="simulate",
            cli=True,
            help="per seed, the exact expectation over label noise and teacher given the design "
            "(same mean, much smaller seed spread)",
        ),
    )
)

FIELDS = (
    Field("excess_risk", "E (beta_hat - beta)^T Sigma (beta_hat - beta), test-label noise excluded"),
    Field("bias", "the part of excess_risk due to the teacher (noise = 0)"),
    Field("variance", "the part of excess_risk due to the label noise"),
    Field("train_error", "mean squared training residual (1/n)||y - X beta_hat||^2"),
)
