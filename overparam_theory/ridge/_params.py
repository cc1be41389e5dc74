"""The ridge model's declared parameters and fields (the contract of :mod:`overparam_theory._spec`)."""

from __future__ import annotations

from .._spec import (
    ALPHA as _ALPHA,
    LABEL_NOISE,
    SIGNAL,
    SPECTRUM,
    TEACHER_POWER,
    Boolean,
    Field,
    Interval,
    Param,
    simulate_options,
    theory_options,
)

ALPHA = _ALPHA.replace(
    help="samples per input dimension n/d; the min-norm interpolation peak is at alpha = 1",
    symbol="alpha = n/d (Hastie et al.: gamma = 1/alpha)",
)
NOISE = LABEL_NOISE.replace(help="label-noise variance (a variance); the risks are excess risks, total = excess_risk + noise")
RIDGE = Param(
    "ridge", Interval(0.0), 0.0, grid=True, differentiable=True, symbol="lambda",
    help="ridge penalty on the averaged loss (1/n)||y - X b||^2 + ridge ||b||^2; 0 is min-norm least squares",
    convention="penalty on the averaged loss (scikit-learn Ridge(alpha = n * ridge))",
)
CONDITIONAL = Param(
    "conditional", Boolean(), False, role="simulate", cli=True,
    help="per seed, the exact expectation over label noise and teacher given the design "
    "(same mean, much smaller seed spread)",
)

MODEL_PARAMS = (ALPHA, RIDGE, SIGNAL, NOISE, SPECTRUM, TEACHER_POWER)
PARAMS = MODEL_PARAMS + theory_options() + simulate_options(200, 16, CONDITIONAL)

FIELDS = (
    Field("excess_risk", "E (beta_hat - beta)^T Sigma (beta_hat - beta), test-label noise excluded"),
    Field("bias", "the part of excess_risk due to the teacher (noise = 0)"),
    Field("variance", "the part of excess_risk due to the label noise"),
    Field("train_error", "mean squared training residual (1/n)||y - X beta_hat||^2"),
)
