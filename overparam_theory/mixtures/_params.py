"""The Gaussian-mixture family's declared parameters and fields (the contract of
:mod:`overparam_theory._spec`), and the parameter tuples of its threshold functions."""

from __future__ import annotations

import dataclasses

from .._spec import REQUIRED, Boolean, Field, Interval, Param, theory_options
from ..estimators import ERM_SOLVER_OPTIONS, LOSS, erm_simulate_options

ALPHA = Param(
    "alpha",
    Interval(0.0, low_open=True),
    grid=True,
    help="samples per input dimension alpha = n/d > 0",
    symbol="alpha = n/d",
    cli_default="0.2:4:12",
    differentiable=True,
)
RIDGE = Param(
    "ridge",
    Interval(0.0),
    1e-2,
    grid=True,
    help="penalty lambda >= 0 on the *summed* loss, sum_mu l + (lambda/2)|w|^2, intercept unpenalised "
    "(scikit-learn C = 1/lambda on features x/sqrt d); hinge needs > 0 (ridge -> 0+: mixtures.max_margin)",
    symbol="lambda",
    convention="penalty on the summed loss: scikit-learn C = 1/ridge on the features x/sqrt(d)",
    cli_default="0.01",
    differentiable=True,
)
NOISE = Param(
    "noise",
    Interval(0.0, low_open=True),
    1.0,
    grid=True,
    help="variance Delta > 0 of the Gaussian noise around the class means +-v*/sqrt d",
    symbol="Delta",
    cli_default="1",
    differentiable=True,
)
IMBALANCE = Param(
    "imbalance",
    Interval(0.0, 1.0, low_open=True, high_open=True),
    0.5,
    grid=True,
    help="fraction rho_+ in (0, 1) of samples with label +1",
    symbol="rho_+",
    cli_default="0.5",
    differentiable=True,
)
INTERCEPT = Param(
    "intercept",
    Boolean(),
    False,
    help="fit an unpenalised intercept b (default: no intercept, b = 0)",
    symbol="b",
)

MODEL_PARAMS = (ALPHA, RIDGE, LOSS, NOISE, IMBALANCE, INTERCEPT)

PARAMS = MODEL_PARAMS + theory_options(*ERM_SOLVER_OPTIONS) + erm_simulate_options()

FIELDS = (
    Field("test_error", "population classification error of sign(x.w/sqrt d + b)"),
    Field("train_loss", "mean training loss per sample (penalty excluded)"),
    Field(
        "train_error",
        "fraction of misclassified training samples; not compared by default (per seed a multiple of 1/n)",
        compare=False,
    ),
    Field("m", "overlap w.v*/d with the cluster mean direction"),
    Field("q", "squared norm |w|^2/d"),
    Field("bias", "the intercept b (0 without intercept)"),
    Field("cosine", "m / sqrt(q)"),
    Field(
        "support_fraction",
        "fraction of training samples with margin <= 1 (hinge: support vectors); not compared by default "
        "(per seed a multiple of 1/n)",
        compare=False,
    ),
)

# ---------------------------------------------------------------------------------------------
# Threshold functions.

ON_FAILURE = next(p for p in theory_options() if p.name == "on_failure")
SEPARABILITY_PARAMS = (dataclasses.replace(NOISE, default=REQUIRED), IMBALANCE, INTERCEPT)
MAX_MARGIN_PARAMS = (ALPHA, NOISE, IMBALANCE, INTERCEPT, ON_FAILURE)
ABUNDANCE_PARAMS = (
    dataclasses.replace(ALPHA, constraint=Interval(0.0, 1.0, low_open=True, high_open=True), help="n/d in (0, 1)"),
    NOISE,
    IMBALANCE,
    INTERCEPT,
)
BAYES_PARAMS = (ALPHA, NOISE)
