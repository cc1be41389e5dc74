"""The ERM models' shared declarations (glm, mixtures): the loss, ``alpha``, the summed-loss
``ridge`` and the solver and simulation options (JAX-free, like every declaration)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .._spec import ALPHA as _ALPHA
from .._spec import Choice, Integer, Interval, Param, simulate_options

LOSS_NAMES = ("square", "logistic", "hinge")
"""The built-in margin losses (``numerics.prox.LOSSES``)."""


@dataclass(frozen=True)
class LossChoice(Choice):
    """A named margin loss (the command line offers the names) or a
    :class:`~overparam_theory.numerics.prox.MarginLoss` object (``numerics.prox.margin_loss``);
    the function receives the :class:`MarginLoss`."""

    def describe(self) -> str:
        return super().describe() + " or a numerics.prox.MarginLoss"

    def check(self, name, value):
        from ..numerics.prox import MarginLoss, resolve_loss  # JAX, at validation time only

        if isinstance(value, MarginLoss):
            return value
        return resolve_loss(super().check(name, value))


LOSS = Param(
    "loss", LossChoice(LOSS_NAMES), "logistic", symbol="l",
    help="ERM loss of the margin t = y x.w/sqrt(d): square 0.5(1 - t)^2, logistic log(1 + e^-t), hinge max(0, 1 - t)",
)

ALPHA = _ALPHA.replace(cli_default="0.2:4:12", help="samples per input dimension alpha = n/d > 0")
RIDGE = Param(
    "ridge", Interval(0.0), 1e-2, grid=True, differentiable=True, symbol="lambda",
    help="penalty lambda >= 0 on the *summed* loss, sum_mu l + (lambda/2)|w|^2 (scikit-learn C = 1/lambda on "
    "features x/sqrt d); hinge needs > 0 in theory (ridge -> 0+ is the max-margin limit)",
    convention="penalty on the summed loss: scikit-learn C = 1/ridge on the features x/sqrt(d)",
)


# Solver and simulation options shared by the ERM models (glm, mixtures).
ERM_SOLVER_OPTIONS = (
    Param(
        "solver", Choice(("auto", "fixed_point")), "auto", role="theory",
        help="'auto' (closed form where one exists, e.g. square loss) or 'fixed_point' (the general saddle-point solver)",
    ),
    Param(
        "tol", Interval(0.0, low_open=True), 1e-11, role="theory",
        help="fixed-point tolerance (relative residual in (atanh(cosine), log q, log V)); at least 1e-6 in float32",
    ),
    Param("max_iter", Integer(1), 5000, role="theory", help="fixed-point iteration cap"),
)


def erm_simulate_options(dim: int = 500, n_seeds: int = 16) -> tuple:
    """:func:`~overparam_theory._spec.simulate_options` with ``dim >= 2`` (the teacher or the
    class mean is a direction: two coordinates at least)."""
    return tuple(
        dataclasses.replace(p, constraint=Integer(2), help="input dimension d >= 2 of the simulation")
        if p.name == "dim" else p
        for p in simulate_options(dim, n_seeds)
    )
