"""The GLM family's declared parameters and fields (the contract of :mod:`overparam_theory._spec`),
and the parameter tuples of its threshold functions."""

from __future__ import annotations

from .. import _spec
from .._spec import (
    REQUIRED,
    SPECTRUM,
    TEACHER_POWER,
    Choice,
    Field,
    Interval,
    Param,
    theory_options,
)
from ..estimators import ALPHA, ERM_SOLVER_OPTIONS, LOSS, RIDGE, erm_simulate_options

TEACHERS = ("sign", "probit", "logistic", "linear")
"""The teacher channels P(y | z) (``_channels``)."""
CLASSIFIERS = ("sign", "probit", "logistic")
"""The classification teachers (labels +-1)."""

TEACHER = Param(
    "teacher", Choice(TEACHERS), "sign", symbol="P(y | z)",
    help="teacher channel y = sign(z + noise) with label flips (sign, probit, logistic), or 'linear' regression",
)
NOISE = Param(
    "noise", Interval(0.0), 0.0, grid=True, differentiable=True, cli_default="0", symbol="Delta (a variance)",
    help="variance of the teacher's pre-sign noise (probit: Gaussian, logistic: logistic-distributed; "
    "linear teacher: label noise); 0 for the sign teacher",
)
FLIP = _spec.FLIP.replace(help="label-flip probability in [0, 1/2] (classification teachers)")
SIGNAL = Param(
    "signal", Interval(0.0, low_open=True), 1.0, grid=True, differentiable=True, cli_default="1", symbol="rho",
    help="teacher variance rho = |w*|^2/d > 0 (with a spectrum: the total variance of the teacher field, "
    ">= sum_k eigenvalue_k teacher_power_k)",
)
GLM_TEACHER_POWER = TEACHER_POWER.replace(
    symbol="||P_k w*||^2 / d",
    help="teacher squared norm per unit dimension in each eigenspace of the spectrum "
    "(sums to |w*|^2/d; default: the spectrum's weights)",
)

MODEL_PARAMS = (ALPHA, RIDGE, LOSS, TEACHER, NOISE, FLIP, SIGNAL, SPECTRUM, GLM_TEACHER_POWER)

PARAMS = MODEL_PARAMS + theory_options(*ERM_SOLVER_OPTIONS) + erm_simulate_options()

FIELDS = (
    Field("test_error", "classification error on a fresh noisy label (linear teacher: E(y - x.w/sqrt d)^2)", label="test error"),
    Field("clean_test_error", "disagreement with sign(z), arccos(cosine)/pi (linear teacher: E(z - x.w/sqrt d)^2)", label="test error (noiseless labels)"),
    Field("test_loss", "E l(y, x.w/sqrt d) on a fresh sample"),
    Field("train_loss", "mean training loss per sample (penalty excluded)"),
    Field(
        "train_error",
        "fraction of misclassified training samples (linear: mean squared training residual); not compared "
        "by default: per seed a multiple of 1/n, so its seed variance is degenerate at small rates",
        compare=False,
    ),
    Field("m", "overlap w.w*/d (with a spectrum: w^T Sigma w*/d)", label="overlap m = w·w*/d"),
    Field("q", "squared norm |w|^2/d (with a spectrum: w^T Sigma w/d)", label="squared norm q = ‖w‖²/d"),
    Field("cosine", "m / sqrt(rho q), the cosine between the estimator and the teacher", label="cosine m/√(ρq)"),
)

# ---------------------------------------------------------------------------------------------
# Threshold functions (Gardner capacity, Cover, separability, logistic-MLE boundary, max-margin).

ON_FAILURE = next(p for p in theory_options() if p.name == "on_failure")
CLASSIFIER = TEACHER.replace(constraint=Choice(CLASSIFIERS), help="classification teacher channel")

CHANNEL_PARAMS = (CLASSIFIER, NOISE, FLIP, SIGNAL, ON_FAILURE)
MAX_MARGIN_PARAMS = (ALPHA,) + CHANNEL_PARAMS
MARGIN_PARAMS = (
    Param("margin", Interval(0.0), 0.0, grid=True, help="margin kappa >= 0 of the spherical perceptron", symbol="kappa"),
)
COVER_PARAMS = (
    Param("n_samples", Interval(1.0, integer=True), REQUIRED, grid=True, help="number of points n >= 1", symbol="n"),
    Param("dim", Interval(1.0, integer=True), REQUIRED, grid=True, help="dimension d >= 1", symbol="d"),
)
GAMMA2 = Param(
    "signal", Interval(0.0), REQUIRED, grid=True, symbol="gamma^2",
    help="gamma^2 = Var(x . beta) >= 0 (Sur-Candes; gamma = 0: global null)",
)
MLE_BOUNDARY_PARAMS = (
    GAMMA2,
    Param("intercept", Interval(), 0.0, grid=True, help="true intercept beta0 of the logistic model", symbol="beta0"),
    ON_FAILURE,
)
MLE_PARAMS = (
    Param(
        "kappa", Interval(0.0, 1.0, low_open=True, high_open=True), REQUIRED, grid=True, symbol="kappa = p/n",
        help="p/n in (0, 1) (our 1/alpha)",
    ),
    GAMMA2,
    ON_FAILURE,
)
