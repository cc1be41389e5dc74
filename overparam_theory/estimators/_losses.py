"""Margin losses as functions of the margin ``t = y x . w / sqrt(d)``; the ``alpha``, ``ridge``
and ``loss`` parameter declarations shared by the ERM families (:mod:`~overparam_theory.glm`,
:mod:`~overparam_theory.mixtures`) live in :mod:`._params`."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ..numerics.prox import LOSSES
from ._params import LOSS_NAMES

__all__ = ["square_loss", "logistic_loss", "hinge_loss"]


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


assert tuple(LOSSES) == LOSS_NAMES, "the declaration (estimators._params) lists the built-in losses"
