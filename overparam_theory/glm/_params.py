"""The GLM family's declared parameters and fields (the contract of :mod:`overparam_theory._spec`),
and the parameter tuples of its threshold functions."""

from __future__ import annotations

import dataclasses

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
from ..estimators import ERM_SOLVER_OPTIONS, LOSS, erm_simulate_options
from ._channels import CLASSIFIERS, TEACHERS

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
    help="penalty lambda >= 0 on the *summed* loss, sum_mu l + (lambda/2)|w|^2 (scikit-learn C = 1/lambda on "
    "features x/sqrt d); hinge needs > 0 in theory (ridge -> 0+ is the max-margin limit)",
    symbol="lambda",
    convention="penalty on the summed loss: scikit-learn C = 1/ridge on the features x/sqrt(d)",
    cli_default="0.01",
    differentiable=True,
)
TEACHER = Param(
    "teacher",
    Choice(TEACHERS),
    "sign",
    help="teacher channel y = sign(z + noise) with label flips (sign, probit, logistic), or 'linear' regression",
    symbol="P(y | z)",
)
NOISE = Param(
    "noise",
    Interval(0.0),
    0.0,
    grid=True,
    help="variance of the teacher's pre-sign noise (probit: Gaussian, logistic: logistic-distributed; "
    "linear teacher: label noise); 0 for the sign teacher",
    symbol="Delta (a variance)",
    cli_default="0",
    differentiable=True,
)
FLIP = Param(
    "flip",
    Interval(0.0, 0.5),
    0.0,
    grid=True,
    help="label-flip probability in [0, 1/2] (classification teachers)",
    symbol="epsilon",
    cli_default="0",
    differentiable=True,
)
SIGNAL = Param(
    "signal",
    Interval(0.0, low_open=True),
    1.0,
    grid=True,
    help="teacher variance rho = |w*|^2/d > 0 (with a spectrum: the total variance of the teacher field, "
    ">= sum_k eigenvalue_k teacher_power_k)",
    symbol="rho",
    cli_default="1",
    differentiable=True,
)
GLM_TEACHER_POWER = dataclasses.replace(
    TEACHER_POWER,
    help="teacher squared norm per unit dimension in each eigenspace of the spectrum "
    "(sums to |w*|^2/d; default: the spectrum's weights)",
    symbol="||P_k w*||^2 / d",
)

MODEL_PARAMS = (ALPHA, RIDGE, LOSS, TEACHER, NOISE, FLIP, SIGNAL, SPECTRUM, GLM_TEACHER_POWER)

PARAMS = MODEL_PARAMS + theory_options(*ERM_SOLVER_OPTIONS) + erm_simulate_options()

FIELDS = (
    Field("test_error", "classification error on a fresh noisy label (linear teacher: E(y - x.w/sqrt d)^2)"),
    Field("clean_test_error", "disagreement with sign(z), arccos(cosine)/pi (linear teacher: E(z - x.w/sqrt d)^2)"),
    Field("test_loss", "E l(y, x.w/sqrt d) on a fresh sample"),
    Field("train_loss", "mean training loss per sample (penalty excluded)"),
    Field(
        "train_error",
        "fraction of misclassified training samples (linear: mean squared training residual); not compared "
        "by default: per seed a multiple of 1/n, so its seed variance is degenerate at small rates",
        compare=False,
    ),
    Field("m", "overlap w.w*/d (with a spectrum: w^T Sigma w*/d)"),
    Field("q", "squared norm |w|^2/d (with a spectrum: w^T Sigma w/d)"),
    Field("cosine", "m / sqrt(rho q), the cosine between the estimator and the teacher"),
)

# ---------------------------------------------------------------------------------------------
# Threshold functions (Gardner capacity, Cover, separability, logistic-MLE boundary, max-margin).

ON_FAILURE = next(p for p in theory_options() if p.name == "on_failure")
CLASSIFIER = dataclasses.replace(TEACHER, constraint=Choice(CLASSIFIERS), help="classification teacher channel")

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
    "signal",
    Interval(0.0),
    REQUIRED,
    grid=True,
    help="gamma^2 = Var(x . beta) >= 0 (Sur-Candes; gamma = 0: global null)",
    symbol="gamma^2",
)
MLE_BOUNDARY_PARAMS = (
    GAMMA2,
    Param("intercept", Interval(), 0.0, grid=True, help="true intercept beta0 of the logistic model", symbol="beta0"),
    ON_FAILURE,
)
MLE_PARAMS = (
    Param(
        "kappa",
        Interval(0.0, 1.0, low_open=True, high_open=True),
        REQUIRED,
        grid=True,
        help="p/n in (0, 1) (our 1/alpha)",
        symbol="kappa = p/n",
    ),
    GAMMA2,
    ON_FAILURE,
)
