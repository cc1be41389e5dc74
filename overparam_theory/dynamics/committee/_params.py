"""The committee model's declared parameters and fields (the contract of :mod:`overparam_theory._spec`)."""

from __future__ import annotations

from ..._spec import Field, Integer, Interval, Param, Vector, simulate_options, theory_options

TIME = Param(
    "time", Vector(Interval(0.0), ndim=None), cli=True, cli_default="0:300:61",
    symbol="t = steps/N (Saad & Solla's alpha)",
    help="non-decreasing times t = steps/N >= 0 of the trajectory (1-D); the trailing axis of every field",
)


def _initial(name: str, ndim: int, symbol: str, help: str) -> Param:
    """An optional overlap matrix or weight vector (a Python-level option, not on the command line)."""
    return Param(name, Vector(Interval(), ndim=ndim), None, nullable=True, cli=False, symbol=symbol, help=help)


MODEL_PARAMS = (
    TIME,
    Param("student_width", Integer(1), 2, help="hidden units K of the student", symbol="K"),
    Param("teacher_width", Integer(1), 2, help="hidden units M of the teacher", symbol="M"),
    Param(
        "learning_rate", Interval(0.0, low_open=True), 0.5, grid=True, cli_default="0.5",
        symbol="eta (Saad & Solla; Goldt et al.)",
        help="first-layer SGD learning rate; w_i moves by learning_rate/sqrt(N) per sample",
        convention="online SGD on (1/2)(yhat - y)^2, step eta/sqrt(N), time t = steps/N",
    ),
    Param(
        "noise", Interval(0.0), 0.0, grid=True, cli_default="0", symbol="sigma^2 (Goldt et al. write sigma zeta)",
        help="variance of the Gaussian noise on the teacher's output (a variance)",
    ),
    Param(
        "second_layer_learning_rate", Interval(0.0), 0.0, grid=True, cli_default="0", symbol="eta_v",
        help="learning rate of the student's second layer (v_i moves by eta_v/N per sample); 0: fixed v, "
        "the soft committee machine",
    ),
    _initial("initial_Q", 2, "Q(0)", "(K, K) student overlaps w_i.w_k/N at t = 0 (default 0.25 I)"),
    _initial(
        "initial_R", 2, "R(0)", "(K, M) student-teacher overlaps w_i.B_n/N at t = 0 (default 1e-3 (1 + [i == n mod M]))"
    ),
    _initial("teacher_T", 2, "T", "(M, M) teacher overlaps B_n.B_m/N (default I)"),
    _initial("student_v", 1, "v(0)", "(K,) initial second-layer weights of the student (default ones)"),
    _initial("teacher_v", 1, "v*", "(M,) second-layer weights of the teacher (default ones)"),
)

THEORY_PARAMS = theory_options(
    Param(
        "rtol", Interval(0.0, low_open=True), None, role="theory", nullable=True,
        help="relative tolerance of the adaptive integrator (default 1e-10 in float64, 1e-5 in float32)",
    ),
    Param(
        "atol", Interval(0.0, low_open=True), None, role="theory", nullable=True,
        help="absolute tolerance of the adaptive integrator (default 1e-12 in float64, 1e-7 in float32)",
    ),
    Param("max_steps", Integer(1), 1_000_000, role="theory", help="integrator steps (accepted + rejected) per point"),
    Param(
        "divergence_threshold", Interval(0.0, low_open=True), 1e3, role="theory",
        help="an order parameter above this multiple of the initial scale counts as divergence",
    ),
)

PARAMS = MODEL_PARAMS + THEORY_PARAMS + simulate_options(500, 16)

FIELDS = (
    Field("test_error", "population error (1/2) E(yhat - y_clean)^2 along the trajectory", label="test error ½E(ŷ − y)²"),
    Field("Q", "student overlaps w_i.w_k/N, (..., T, K, K)", compare=False),
    Field("R", "student-teacher overlaps w_i.B_n/N, (..., T, K, M)", compare=False),
    Field("student_v", "second-layer weights of the student, (..., T, K)", compare=False),
)
