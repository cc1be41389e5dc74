"""The kernel model's declared parameters and fields (the contract of :mod:`overparam_theory._spec`).

``n_samples`` is declared on the reals ``(0, inf)``: the eigenlearning theory is a smooth
function of a real ``n`` (and ``jax.grad`` works through it).  Only the simulation needs whole
numbers; :func:`~overparam_theory.kernel.simulate` checks that by hand, and the command line
rounds the parsed grid to integers (:func:`~overparam_theory.kernel._cli.cli_build`).
"""

from __future__ import annotations

import numpy as np

from .._spec import LABEL_NOISE, Field, Instance, Interval, Param, Vector, simulate_options, theory_options

_EIGENVALUES = Vector(Interval(0.0))


def check_eigenvalues(name, value):
    """A non-empty 1-D array of kernel eigenvalues ``>= 0`` with at least one positive one."""
    eig = _EIGENVALUES.check(name, value)
    if not np.any(eig > 0):
        raise ValueError(f"{name} must contain a positive eigenvalue (every mode has eta_k = 0)")
    return eig


N_SAMPLES = Param(
    "n_samples", Interval(0.0, low_open=True), grid=True, differentiable=True, cli_default="10:300:10",
    symbol="n (Simon et al.); p (Bordelon et al.)",
    help="number of training samples n > 0 (real values allowed in the theory; integers in the simulation)",
)
RIDGE = Param(
    "ridge", Interval(0.0), 0.0, grid=True, differentiable=True,
    symbol="delta (Simon et al.); lambda (Bordelon et al.)",
    help="ridge of the predictor k(x)^T (K + ridge I_n)^{-1} y, NOT multiplied by n; 0 is the ridgeless interpolant",
    convention="(K + ridge I_n), not n ridge: scikit-learn KernelRidge(alpha = ridge); the linear-ridge "
    "penalty on the averaged loss is ridge/n",
)
NOISE = LABEL_NOISE.replace(
    symbol="sigma^2 (Bordelon et al.)",
    help="label-noise variance (a variance); test_error includes it, excess_risk does not",
)
EIGENVALUES = Param(
    "eigenvalues",
    Instance(
        "a non-empty 1-D array of reals in [0, inf) with at least one positive entry",
        check_eigenvalues,
        ("text", np.array([]), np.array([np.nan]), np.array([-1.0]), np.zeros(3), np.ones((2, 2))),
    ),
    symbol="eta_k",
    help="kernel eigenvalues eta_k under the data distribution (no normalisation), one per mode",
)
TARGET = Param(
    "target", Vector(Interval()), symbol="v_k (Bordelon et al.: v_k^2 = eta_k w_k^2)",
    help="target coefficients v_k in the kernel eigenbasis (the coefficients, not their squares), one per eigenvalue",
)

MODEL_PARAMS = (N_SAMPLES, RIDGE, NOISE, EIGENVALUES, TARGET)

PARAMS = MODEL_PARAMS + theory_options() + simulate_options(None, 16)

FIELDS = (
    Field("test_error", "test mean squared error, including the label noise of the test point"),
    Field("excess_risk", "E_x (f_hat - f*)^2 = test_error - noise"),
    Field("bias", "the part of excess_risk due to the target (noiseless labels)"),
    Field("variance", "the part of excess_risk due to the label noise"),
    Field("train_error", "mean squared training residual (1/n)||y - f_hat(X)||^2"),
)
