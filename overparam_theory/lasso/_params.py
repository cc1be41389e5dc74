"""The LASSO model's declared parameters and fields (the contract of :mod:`overparam_theory._spec`).

Conventions (Bayati & Montanari, IEEE TIT 58(4) 2012, Thm 1.4; ``docs/theory/lasso.md``):
``y = A x0 + w``, ``A`` of i.i.d. ``N(0, 1/n)`` entries, ``x_hat = argmin (1/2)||y - A x||^2 +
l1_penalty ||x||_1`` (scikit-learn ``Lasso(alpha=l1_penalty / n, fit_intercept=False)``).
"""

from __future__ import annotations

from .. import _spec
from .._spec import REQUIRED, Choice, Field, Integer, Interval, Param, simulate_options, theory_options

ALPHA = _spec.ALPHA.replace(
    cli_default="0.1:1:10",
    symbol="alpha = n/N (Bayati & Montanari: delta)",
    help="measurements per unknown n/N; least squares needs alpha > 1, min-l1 interpolation alpha < 1",
)

MODEL_PARAMS = (
    ALPHA,
    Param(
        "l1_penalty", Interval(0.0), None, grid=True, nullable=True, differentiable=True, cli_default="0.5",
        symbol="lambda",
        help="LASSO penalty on the summed loss (1/2)||y - A x||^2 + l1_penalty ||x||_1; 0 is least squares "
        "(alpha > 1) or the l1_penalty -> 0+ min-l1 / basis-pursuit limit (alpha < 1); exactly one of "
        "l1_penalty and threshold (theory)",
        convention="penalty on the summed loss (scikit-learn Lasso(alpha = l1_penalty / n, fit_intercept=False))",
    ),
    Param(
        "threshold", Interval(0.0), None, grid=True, nullable=True, differentiable=True, cli=False,
        symbol="alpha (Bayati & Montanari), theta",
        help="the state-evolution threshold instead of l1_penalty (theory only): > threshold_min(alpha), "
        "0 allowed for alpha > 1",
    ),
    _spec.SPARSITY.replace(
        default=REQUIRED, cli_default="0.1",
        help="fraction of non-zero entries of x0: x0_i ~ (1 - sparsity) delta_0 + sparsity N(0, nonzero_variance)",
    ),
    Param(
        "noise", Interval(0.0), 0.0, grid=True, differentiable=True, symbol="sigma^2",
        help="variance of the measurement noise w ~ N(0, noise I_n); 0 is the explicit noiseless case",
    ),
    _spec.NONZERO_VARIANCE.replace(help="variance of the non-zero entries of x0"),
)

_FAILURE = Choice(("warn", "raise", "ignore"))


def _min_dim(p: Param) -> Param:
    """``dim`` (the number of unknowns N) must be >= 2."""
    return p.replace(constraint=Integer(2), help="number of unknowns N of the simulation") if p.name == "dim" else p


PARAMS = (
    MODEL_PARAMS
    + theory_options()
    + tuple(
        _min_dim(p)
        for p in simulate_options(
            1000,
            16,
            Param("solver", Choice(("fista",)), "fista", role="simulate", help="LASSO solver (FISTA with adaptive restart)"),
            Param(
                "tol", Interval(0.0, low_open=True), 1e-10, role="simulate",
                help="FISTA stopping rule: relative proximal-gradient residual",
            ),
            Param("max_iter", Integer(1), 20000, role="simulate", help="FISTA iteration cap"),
            Param("dtype", Choice(("float64",)), "float64", role="simulate", help="float64 only (the tolerance needs it)"),
            Param(
                "on_failure", _FAILURE, "warn", role="simulate",
                help="a point with a FISTA solve that missed tol is NaN: warn, raise or ignore",
            ),
        )
    )
)

FIELDS = (
    Field("mse", "||x_hat - x0||^2 / N", label="MSE per unknown ‖x̂ − x₀‖²/N"),
    Field("nnz_fraction", "||x_hat||_0 / N, the fraction of non-zero coefficients", label="non-zero fraction ‖x̂‖₀/N"),
    Field("train_error", "||y - A x_hat||^2 / n", label="training error ‖y − Ax̂‖²/n"),
)
