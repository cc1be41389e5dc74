"""The committee model's declared parameters and fields (the contract of :mod:`overparam_theory._spec`)."""

from __future__ import annotations

from ..._spec import Field, Integer, Interval, Param, Vector, simulate_options, theory_options

TIME = Param(
    "time",
    Vector(Interval(0.0), ndim=None),
    help="non-decreasing times t = steps/N >= 0 of the trajectory (1-D); the trailing axis of every field",
    symbol="t = steps/N (Saad & Solla's alpha)",
    cli=True,
    cli_default="0:300:61",
)

MODEL_PARAMS = (
    TIME,
    Param("student_width", Integer(1), 2, help="hidden units K of the student", symbol="K"),
    Param("teacher_width", Integer(1), 2, help="hidden units M of the teacher", symbol="M"),
    Param(
        "learning_rate",
        Interval(0.0, low_open=True),
        0.5,
        grid=True,
        help="first-layer SGD learning rate; w_i moves by learning_rate/sqrt(N) per sample",
        symbol="eta (Saad & Solla; Goldt et al.)",
        convention="online SGD on (1/2)(yhat - y)^2, step eta/sqrt(N), time t = steps/N",
        cli_default="0.5",
    ),
    Param(
        "noise",
        Interval(0.0),
        0.0,
        grid=True,
        help="variance of the Gaussian noise on the teacher's output (a variance)",
        symbol="sigma^2 (Goldt et al. write sigma zeta)",
        cli_default="0",
    ),
    Param(
        "second_layer_learning_rate",
        Interval(0.0),
        0.0,
        grid=True,
        help="learning rate of the student's second layer (v_i moves by eta_v/N per sample); 0: fixed v, "
        "the soft committee machine",
        symbol="eta_v",
        cli_default="0",
    ),
    Param(
        "initial_Q",
        Vector(Interval(), ndim=2),
        None,
        nullable=True,
        cli=False,
        help="(K, K) student overlaps w_i.w_k/N at t = 0 (default 0.25 I)",
        symbol="Q(0)",
    ),
    Param(
        "initial_R",
        Vector(Interval(), ndim=2),
        None,
        nullable=True,
        cli=False,
        help="(K, M) student-teacher overlaps w_i.B_n/N at t = 0 (default 1e-3 (1 + [i == n mod M]))",
        symbol="R(0)",
    ),
    Param(
        "teacher_T",
        Vector(Interval(), ndim=2),
        None,
        nullable=True,
        cli=False,
        help="(M, M) teacher overlaps B_n.B_m/N (default I)",
        symbol="T",
    ),
    Param(
        "student_v",
        Vector(Interval(), ndim=1),
        None,
        nullable=True,
        cli=False,
        help="(K,) initial second-layer weights of the student (default ones)",
        symbol="v(0)",
    ),
    Param(
        "teacher_v",
        Vector(Interval(), ndim=1),
        None,
        nullable=True,
        cli=False,
        help="(M,) second-layer weights of the teacher (default ones)",
        symbol="v*",
    ),
)

THEORY_PARAMS = theory_options(
    Param(
        "rtol",
        Interval(0.0, low_open=True),
        None,
        nullable=True,
        role="theory",
        help="relative tolerance of the adaptive integrator (default 1e-10 in float64, 1e-5 in float32)",
    ),
    Param(
        "atol",
        Interval(0.0, low_open=True),
        None,
        nullable=True,
        role="theory",
        help="absolute tolerance of the adaptive integrator (default 1e-12 in float64, 1e-7 in float32)",
    ),
    Param("max_steps", Integer(1), 1_000_000, role="theory", help="integrator steps (accepted + rejected) per point"),
    Param(
        "divergence_threshold",
        Interval(0.0, low_open=True),
        1e3,
        role="theory",
        help="an order parameter above this multiple of the initial scale counts as divergence",
    ),
)

PARAMS = MODEL_PARAMS + THEORY_PARAMS + simulate_options(500, 16)

FIELDS = (
    Field("test_error", "population error (1/2) E(yhat - y_clean)^2 along the trajectory"),
    Field("Q", "student overlaps w_i.w_k/N, (..., T, K, K)", compare=False),
    Field("R", "student-teacher overlaps w_i.B_n/N, (..., T, K, M)", compare=False),
    Field("student_v", "second-layer weights of the student, (..., T, K)", compare=False),
)
