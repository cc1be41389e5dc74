"""Margin losses as functions of the margin ``t = y x . w / sqrt(d)``, and the ``loss`` parameter
declaration shared by the ERM families (:mod:`~overparam_theory.glm`,
:mod:`~overparam_theory.mixtures`)."""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp

from .._spec import Choice, Param
from ..numerics.prox import LOSSES, MarginLoss, resolve_loss

__all__ = ["square_loss", "logistic_loss", "hinge_loss", "LossChoice", "LOSS"]


def square_loss(t):
    """``0.5 (1 - t)^2`` as a function of the margin ``t = y x . w / sqrt(d)``."""
    return 0.5 * (1.0 - t) ** 2


@jax.custom_jvp
def logistic_loss(t):
    """``log(1 + exp(-t))``, overflow-free (``logaddexp``), derivative ``-sigmoid(-t)``."""
    return jnp.logaddexp(0.0, -t)


@logistic_loss.defjvp
def _logistic_loss_jvp(primals, tangents):
    (t,), (dt,) = primals, tangents
    return logistic_loss(t), -jax.nn.sigmoid(-t) * dt


def hinge_loss(t):
    """``max(0, 1 - t)`` (for evaluating objectives; :func:`fit_hinge` does not need it)."""
    return jnp.maximum(0.0, 1.0 - t)


@dataclass(frozen=True)
class LossChoice(Choice):
    """A named margin loss (the command line offers the names) or a
    :class:`~overparam_theory.numerics.prox.MarginLoss` object (``numerics.prox.margin_loss``);
    the function receives the :class:`MarginLoss`."""

    def describe(self) -> str:
        return super().describe() + " or a numerics.prox.MarginLoss"

    def check(self, name, value):
        if isinstance(value, MarginLoss):
            return value
        return resolve_loss(super().check(name, value))


LOSS = Param(
    "loss",
    LossChoice(tuple(LOSSES)),
    "logistic",
    help="ERM loss of the margin t = y x.w/sqrt(d): square 0.5(1 - t)^2, logistic log(1 + e^-t), hinge max(0, 1 - t)",
    symbol="l",
)
