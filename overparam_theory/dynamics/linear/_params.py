"""The linear-dynamics model's declared parameters and fields (the contract of :mod:`overparam_theory._spec`).

The data model is the ridge model's (``x ~ N(0, Sigma)``, ``y = <x, beta> + eps``): the same
``alpha``, ``noise``, ``signal``, ``spectrum`` and ``teacher_power``; ``time`` (a trailing axis,
not a grid axis) and ``learning_rate`` (gradient descent; ``None``: gradient flow) are added.
"""

from __future__ import annotations

from ..._spec import SIGNAL, SPECTRUM, TEACHER_POWER, Field, Integer, Interval, Param, Vector, simulate_options, theory_options
from ...ridge import _params as _ridge

DIM = 200
"""Default input dimension of the simulation (the command line uses it too)."""

TIME = Param(
    "time", Vector(Interval(0.0, allow_inf=True), ndim=None), cli=True, cli_default="0:20:41",
    help="times t >= 0 (inf: the least-squares limit), any shape: its axes trail every field; "
    "gradient descent: t = steps * learning_rate",
    symbol="t (gradient-flow time of L(w) = ||y - X w||^2/(2n))",
)
ALPHA = _ridge.ALPHA.replace(
    help="samples per input dimension n/d; the least-squares interpolation peak is at alpha = 1",
    symbol="alpha = n/d (gamma = 1/alpha)",
)
NOISE = _ridge.NOISE.replace(
    help="label-noise variance (a variance); the risks are excess risks except risk = excess_risk + noise"
)
LEARNING_RATE = Param(
    "learning_rate", Interval(0.0, low_open=True), None, nullable=True, cli=True,
    help="gradient-descent step on L(w) = ||y - X w||^2/(2n) (a single number); None: gradient flow",
    symbol="eta (time t = k eta after k steps)",
    convention="loss (1/(2n))||y - X w||^2: half the ridge model's averaged loss",
)

MODEL_PARAMS = (TIME, ALPHA, NOISE, SIGNAL, SPECTRUM, TEACHER_POWER, LEARNING_RATE)

N_NODES = Param(
    "n_nodes", Integer(16), None, nullable=True, role="theory",
    help="quadrature nodes, a power of two (default 1024 isotropic, 256 with a spectrum)",
)

PARAMS = MODEL_PARAMS + theory_options(N_NODES) + simulate_options(DIM, 16, _ridge.CONDITIONAL.replace(cli=False))

EARLY_STOPPING_PARAMS = (ALPHA, NOISE, SIGNAL, SPECTRUM, TEACHER_POWER) + theory_options(
    Param("t_min", Interval(0.0, low_open=True), 1e-3, role="theory", help="smallest time of the log-spaced search grid"),
    Param("t_max", Interval(0.0, low_open=True), 1e6, role="theory", help="largest time of the search grid (> t_min)"),
    Param("n_grid", Integer(8), 256, role="theory", help="times of the log-spaced search grid"),
    Param("n_refine", Integer(1), 60, role="theory", help="golden-section steps in log t (each shrinks the bracket by 0.618)"),
)

FIELDS = (
    Field("risk", "total test error excess_risk + noise", label="test risk (excess + noise)"),
    Field("excess_risk", "E (w(t) - beta)^T Sigma (w(t) - beta), test-label noise excluded"),
    Field("bias", "the part of excess_risk due to the teacher (noise = 0)"),
    Field("variance", "the part of excess_risk due to the label noise"),
    Field("train_error", "mean squared training residual (1/n)||y - X w(t)||^2"),
)
