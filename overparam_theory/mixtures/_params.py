"""The Gaussian-mixture family's declared parameters and fields (the contract of
:mod:`overparam_theory._spec`), and the parameter tuples of its threshold functions."""

from __future__ import annotations

from .._spec import REQUIRED, Boolean, Field, Interval, Param, theory_options
from ..estimators import ALPHA, ERM_SOLVER_OPTIONS, LOSS, erm_simulate_options
from ..estimators import RIDGE as ERM_RIDGE

RIDGE = ERM_RIDGE.replace(
    help="penalty lambda >= 0 on the *summed* loss, sum_mu l + (lambda/2)|w|^2, intercept unpenalised "
    "(scikit-learn C = 1/lambda on features x/sqrt d); hinge needs > 0 (ridge -> 0+: mixtures.max_margin)",
)
NOISE = Param(
    "noise", Interval(0.0, low_open=True), 1.0, grid=True, differentiable=True, cli_default="1", symbol="Delta",
    help="variance Delta > 0 of the Gaussian noise around the class means +-v*/sqrt d",
)
IMBALANCE = Param(
    "imbalance", Interval(0.0, 1.0, low_open=True, high_open=True), 0.5, grid=True, differentiable=True,
    cli_default="0.5", symbol="rho_+",
    help="fraction rho_+ in (0, 1) of samples with label +1",
)
INTERCEPT = Param(
    "intercept", Boolean(), False, symbol="b",
    help="fit an unpenalised intercept b (default: no intercept, b = 0)",
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
    Field("m", "overlap w.v*/d with the cluster mean direction", label="overlap m = w·v*/d"),
    Field("q", "squared norm |w|^2/d", label="squared norm q = ‖w‖²/d"),
    Field("bias", "the intercept b (0 without intercept)", label="intercept b"),
    Field("cosine", "m / sqrt(q)", label="cosine m/√q"),
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
SEPARABILITY_PARAMS = (NOISE.replace(default=REQUIRED), IMBALANCE, INTERCEPT)
MAX_MARGIN_PARAMS = (ALPHA, NOISE, IMBALANCE, INTERCEPT, ON_FAILURE)
ABUNDANCE_PARAMS = (
    ALPHA.replace(constraint=Interval(0.0, 1.0, low_open=True, high_open=True), help="n/d in (0, 1)"),
    NOISE,
    IMBALANCE,
    INTERCEPT,
)
BAYES_PARAMS = (ALPHA, NOISE)
