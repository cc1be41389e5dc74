"""Solver settings as immutable objects with documented tolerances (the optimistix style).

A model's solver receives one of these instead of loose ``tol`` / ``max_iter`` arguments; each
is a frozen, hashable dataclass (usable as a static argument of ``jax.jit``) that validates
itself on construction.  Every solve reports a
:class:`~overparam_theory.numerics.diagnostics.Diagnostics`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._validation import choice, positive_int, real_array

__all__ = ["FixedPoint", "Bracketed", "ODE"]


def _positive(name, value):
    value = real_array(name, value, low=0.0, low_open=True)
    if value.ndim:
        raise ValueError(f"{name} must be a single number > 0, got an array of shape {value.shape}")
    return float(value)


@dataclass(frozen=True)
class FixedPoint:
    """A damped / Anderson-accelerated fixed-point iteration ``x = f(x)``
    (:func:`~overparam_theory.numerics.fixed_point.fixed_point`).

    tol: stop when ``max |f(x) - x| / max(1, |x|) <= tol`` (float64; about 1e-6 for float32).
    max_iter: iteration bound (the point is reported ``MAX_ITERATIONS`` past it).
    method: ``"anderson"`` or ``"picard"``.
    damping: mixing in (0, 1].
    memory: Anderson history length.
    """

    tol: float = 1e-11
    max_iter: int = 5000
    method: str = "anderson"
    damping: float = 1.0
    memory: int = 5

    def __post_init__(self):
        object.__setattr__(self, "tol", _positive("tol", self.tol))
        object.__setattr__(self, "max_iter", positive_int("max_iter", self.max_iter))
        choice("method", self.method, ("anderson", "picard"))
        damping = _positive("damping", self.damping)
        if damping > 1:
            raise ValueError(f"damping must be in (0, 1], got {damping:g}")
        object.__setattr__(self, "damping", damping)
        object.__setattr__(self, "memory", positive_int("memory", self.memory))


@dataclass(frozen=True)
class Bracketed:
    """A safeguarded bracketed scalar root (Newton steps kept inside a shrinking bracket,
    bisection otherwise; :mod:`~overparam_theory.numerics.roots`).

    xtol: stop when the bracket is narrower than ``xtol * max(1, |x|)``.
    max_iter: iteration bound.
    """

    xtol: float = 1e-14
    max_iter: int = 200

    def __post_init__(self):
        object.__setattr__(self, "xtol", _positive("xtol", self.xtol))
        object.__setattr__(self, "max_iter", positive_int("max_iter", self.max_iter))


@dataclass(frozen=True)
class ODE:
    """An adaptive embedded Runge-Kutta integration (Dormand-Prince 5(4)).

    rtol, atol: local error control ``|err| <= atol + rtol |y|`` per component.
    max_steps: bound on accepted + rejected steps (``MAX_STEPS`` past it).
    """

    rtol: float = 1e-8
    atol: float = 1e-10
    max_steps: int = 1_000_000

    def __post_init__(self):
        object.__setattr__(self, "rtol", _positive("rtol", self.rtol))
        object.__setattr__(self, "atol", _positive("atol", self.atol))
        object.__setattr__(self, "max_steps", positive_int("max_steps", self.max_steps))
