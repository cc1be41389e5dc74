"""Convex margin losses with their proximal operators and Moreau envelopes, inside JAX.

Conventions (``docs/theory/glm.md`` sections 1 and 3): a margin loss is a convex
function ``l(t)`` of the margin ``t = y x`` (label ``y``, prediction ``x``); for a parameter
``V > 0``

    prox_V(t0)  = argmin_t [ l(t) + (t - t0)^2 / (2 V) ],
    M_V(t0)     = min_t    [ l(t) + (t - t0)^2 / (2 V) ]       (Moreau envelope),
    M_V'(t0)    = (t0 - prox_V(t0)) / V = l'(prox_V(t0)),

and for a label ``y`` the prox of ``x -> l(y x)`` is ``y prox_V(y omega)``.

Built-ins: ``SQUARE`` ``l = (1 - t)^2 / 2`` and ``HINGE`` ``l = max(0, 1 - t)`` have closed-form
proximal maps; ``LOGISTIC`` ``l = log(1 + e^{-t})`` is solved by a vectorised safeguarded
Newton iteration (below), as is any user loss made with :func:`margin_loss`.

Safeguarded Newton (``docs/theory/glm.md`` section 6, "Logistic prox").
``g(t) = t - t0 + V l'(t)`` is increasing; the root lies in the bracket between ``t0`` and
``t0 - V l'(t0)`` (for logistic ``[t0, t0 + V]``).
Each step takes the Newton candidate unless it leaves the current bracket *or* the previous
step failed to halve ``|g|``, in which case it bisects; the bracket shrinks at every step.  The
second rule matters: for large ``V`` (e.g. ``V = 14.45``, ``t0 ~ -8.5``) plain bracketed Newton
falls into a 2-cycle between the flat branches of the sigmoid and returns a value off by
``O(V)``.  Iteration stops when ``|g| <= 8 eps (|t| + |t0| + V |l'(t)|)`` or the bracket has
collapsed to rounding; the residual is tested over ``|t0| <= 1e3``, ``V in [1e-6, 1e5]``
(tests/test_prox.py).

Derivatives are implicit (``jax.custom_jvp``): ``d prox = (d t0 - l'(p) dV) / (1 + V l''(p))``.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Callable

import jax
import jax.numpy as jnp
from jax import lax

__all__ = ["MarginLoss", "margin_loss", "SQUARE", "LOGISTIC", "HINGE", "LOSSES", "resolve_loss"]


@dataclasses.dataclass(frozen=True, eq=False)
class MarginLoss:
    """A convex loss of the margin ``t = y x`` with its proximal machinery.

    Attributes:
        name: short name used in messages and tables.
        value: ``l(t)``, elementwise ``jnp`` function.
        derivative, second_derivative: ``l'`` and ``l''`` (elementwise; defaults by
            ``jax.grad`` when built with :func:`margin_loss`).  At a kink any subgradient.
        kinks: margins where ``l`` is not differentiable (the hinge has ``(1.0,)``); the
            prox is flat on ``t0 in [t_k + V l'(t_k-), t_k + V l'(t_k+)]`` and the solvers
            place quadrature panel boundaries at those ends.
        kink_slopes: the one-sided derivatives ``(l'(t_k-), l'(t_k+))`` per kink.
        smooth: ``l`` is twice continuously differentiable (Newton-type ERM solvers apply).
        closed_prox: optional closed form ``(t0, V) -> prox_V(t0)``.

    Instances compare by identity and are hashable, so they can be static arguments of
    ``jax.jit``.
    """

    name: str
    value: Callable
    derivative: Callable
    second_derivative: Callable
    kinks: tuple = ()
    kink_slopes: tuple = ()
    smooth: bool = True
    closed_prox: Callable | None = None

    def prox(self, t0, V):
        """``prox_V(t0)`` elementwise (broadcasting ``t0`` and ``V``)."""
        t0, V = jnp.broadcast_arrays(jnp.asarray(t0), jnp.asarray(V))
        if self.closed_prox is not None:
            return self.closed_prox(t0, V)
        return _newton_prox(self, t0, V)

    def prox_derivative(self, t0, V):
        """``d prox_V(t0) / d t0 = 1 / (1 + V l''(prox))`` (0 on a flat piece of a kink)."""
        t0, V = jnp.broadcast_arrays(jnp.asarray(t0), jnp.asarray(V))
        if self.closed_prox is not None:
            return jax.jvp(lambda a: self.closed_prox(a, V), (t0,), (jnp.ones_like(t0),))[1]
        p = self.prox(t0, V)
        return 1.0 / (1.0 + V * self.second_derivative(p))

    def moreau(self, t0, V):
        """Moreau envelope ``M_V(t0) = l(p) + (p - t0)^2 / (2 V)`` with ``p = prox_V(t0)``."""
        p = self.prox(t0, V)
        return self.value(p) + (p - t0) ** 2 / (2.0 * V)

    def breakpoints(self, V):
        """Values of ``t0`` where ``prox_V`` has a kink, shape ``(..., 2 * len(kinks))``."""
        if not self.kinks:
            return jnp.zeros(jnp.shape(V) + (0,), jnp.result_type(V, float))
        pts = []
        for t_k, (left, right) in zip(self.kinks, self.kink_slopes):
            pts += [t_k + V * left, t_k + V * right]
        return jnp.stack(jnp.broadcast_arrays(*pts), axis=-1)

    def __repr__(self) -> str:
        return f"MarginLoss({self.name!r})"


# ---------------------------------------------------------------------------------------------
# Safeguarded Newton prox for a generic smooth-or-kinked convex loss


def _prox_solve(loss, t0, V, max_iter=200):
    eps = jnp.finfo(jnp.result_type(t0, V)).eps
    d1 = loss.derivative

    def g_of(t):
        return t - t0 + V * d1(t)

    g0 = V * d1(t0)
    other = t0 - g0  # g(other) has the opposite sign of g(t0) (or is 0)
    lo = jnp.minimum(t0, other)
    hi = jnp.maximum(t0, other)
    t = 0.5 * (lo + hi)
    g = g_of(t)
    prev = jnp.full_like(g, jnp.inf)

    def done(t, g, lo, hi):
        scale = jnp.abs(t) + jnp.abs(t0) + V * jnp.abs(d1(t))
        return (jnp.abs(g) <= 8 * eps * scale) | (hi - lo <= 4 * eps * jnp.maximum(jnp.abs(t), 1e-300))

    def cond(state):
        i, t, g, lo, hi, prev = state
        return (i < max_iter) & ~jnp.all(done(t, g, lo, hi))

    def body(state):
        i, t, g, lo, hi, prev = state
        finished = done(t, g, lo, hi)
        lo = jnp.where(g < 0, t, lo)
        hi = jnp.where(g > 0, t, hi)
        slope = 1.0 + V * loss.second_derivative(t)
        newton = t - g / slope
        ok = (newton > lo) & (newton < hi) & (jnp.abs(g) <= 0.5 * prev) & jnp.isfinite(newton)
        t_new = jnp.where(ok, newton, 0.5 * (lo + hi))
        t_new = jnp.where(finished, t, t_new)
        g_new = jnp.where(finished, g, g_of(t_new))
        prev = jnp.where(finished, prev, jnp.abs(g))
        return i + 1, t_new, g_new, lo, hi, prev

    _, t, *_ = lax.while_loop(cond, body, (0, t, g, lo, hi, prev))
    return t


@functools.partial(jax.custom_jvp, nondiff_argnums=(0,))
def _newton_prox(loss, t0, V):
    return _prox_solve(loss, lax.stop_gradient(t0), lax.stop_gradient(V))


@_newton_prox.defjvp
def _newton_prox_jvp(loss, primals, tangents):
    t0, V = primals
    dt0, dV = tangents
    p = _newton_prox(loss, t0, V)
    denom = 1.0 + V * loss.second_derivative(p)
    return p, (dt0 - loss.derivative(p) * dV) / denom


# ---------------------------------------------------------------------------------------------
# Built-in losses


def _square_prox(t0, V):
    return (t0 + V) / (1.0 + V)


def _hinge_prox(t0, V):
    return jnp.where(t0 < 1.0 - V, t0 + V, jnp.where(t0 > 1.0, t0, jnp.ones_like(t0)))


SQUARE = MarginLoss(
    name="square",
    value=lambda t: 0.5 * (1.0 - t) ** 2,
    derivative=lambda t: t - 1.0,
    second_derivative=lambda t: jnp.ones_like(t),
    closed_prox=_square_prox,
)

LOGISTIC = MarginLoss(
    name="logistic",
    value=lambda t: jnp.logaddexp(0.0, -t),
    derivative=lambda t: -jax.nn.sigmoid(-t),
    second_derivative=lambda t: jax.nn.sigmoid(t) * jax.nn.sigmoid(-t),
)

HINGE = MarginLoss(
    name="hinge",
    value=lambda t: jnp.maximum(0.0, 1.0 - t),
    derivative=lambda t: jnp.where(t < 1.0, -1.0, 0.0).astype(jnp.result_type(t, float)),
    second_derivative=lambda t: jnp.zeros_like(t),
    kinks=(1.0,),
    kink_slopes=((-1.0, 0.0),),
    smooth=False,
    closed_prox=_hinge_prox,
)

LOSSES = {loss.name: loss for loss in (SQUARE, LOGISTIC, HINGE)}


def margin_loss(
    value: Callable,
    *,
    name: str = "custom",
    kinks: tuple = (),
    kink_slopes: tuple = (),
    prox: Callable | None = None,
) -> MarginLoss:
    """Build a :class:`MarginLoss` from a convex ``value(t)`` (elementwise, JAX-traceable).

    ``l'`` and ``l''`` come from ``jax.grad``; the prox is the safeguarded Newton solve unless a
    closed form ``prox(t0, V)`` is given.  A loss with kinks must list them with their one-sided
    slopes, e.g. ``margin_loss(lambda t: jnp.maximum(0, 1 - t) ** 2, name="squared_hinge")`` is
    smooth enough as is, while ``max(0, 1 - t)`` would need ``kinks=(1.0,),
    kink_slopes=((-1.0, 0.0),)``.  Example::

        huberised = margin_loss(lambda t: jnp.where(t > 0, jnp.log1p(jnp.exp(-t)), ...))
    """
    if not callable(value):
        raise ValueError(f"value must be a callable l(t), got {type(value).__name__}")
    if len(kinks) != len(kink_slopes):
        raise ValueError(f"kink_slopes must give (left, right) slopes for each of the {len(kinks)} kinks")
    scalar_d1 = jax.grad(lambda t: jnp.sum(value(t)))
    d1 = lambda t: scalar_d1(jnp.asarray(t, jnp.result_type(t, float)))  # noqa: E731
    d2 = lambda t: jax.grad(lambda s: jnp.sum(scalar_d1(s)))(jnp.asarray(t, jnp.result_type(t, float)))  # noqa: E731
    try:
        probe = jnp.linspace(-3.0, 3.0, 13)
        vals = [jnp.asarray(f(probe)) for f in (value, d1, d2)]
    except Exception as exc:  # noqa: BLE001 - report any tracing failure as bad input
        raise ValueError(f"value must be a JAX-traceable elementwise function of the margin: {exc}") from exc
    if any(v.shape != probe.shape for v in vals):
        raise ValueError("value must be elementwise: value(t) must have the shape of t")
    if bool(jnp.any(vals[2] < -1e-12)):
        raise ValueError("value must be convex: its second derivative is negative on [-3, 3]")
    return MarginLoss(
        name=str(name),
        value=value,
        derivative=d1,
        second_derivative=d2,
        kinks=tuple(float(k) for k in kinks),
        kink_slopes=tuple((float(a), float(b)) for a, b in kink_slopes),
        smooth=not kinks,
        closed_prox=prox,
    )


def resolve_loss(loss) -> MarginLoss:
    """A :class:`MarginLoss` from a name (``"square"``, ``"logistic"``, ``"hinge"``) or itself."""
    if isinstance(loss, MarginLoss):
        return loss
    if isinstance(loss, str) and loss in LOSSES:
        return LOSSES[loss]
    raise ValueError(
        f"loss must be one of {sorted(LOSSES)} or a MarginLoss (numerics.prox.margin_loss), got {loss!r}"
    )
