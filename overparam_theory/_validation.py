"""Validation of user input at the public boundary (shared by every model family).

Every public ``theory``/``simulate`` function validates its arguments here before any JAX
work starts, so that bad input raises a ``ValueError`` that names the argument and its valid
range instead of propagating a NaN.  Values that are JAX tracers (the user differentiates or
vmaps through a public function) cannot be inspected and are passed through unchanged.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np


def is_traced(value: Any) -> bool:
    """True when ``value`` is an abstract JAX tracer (inside ``jit``/``grad``/``vmap``).

    JAX is not imported here (declarations and the command line's ``--help`` stay JAX-free):
    before anything imported it, no value can be a tracer."""
    jax = sys.modules.get("jax")
    return jax is not None and isinstance(value, jax.core.Tracer)



def any_concrete(condition, value) -> bool:
    """``np.any(condition(value))`` for concrete values; ``False`` for tracers (left unchecked:
    validation of traced arguments is the caller's responsibility)."""
    return False if is_traced(value) else bool(np.any(condition(np.asarray(value))))

def _format_interval(low: float, high: float, low_open: bool, high_open: bool) -> str:
    left = "(" if low_open or low == -math.inf else "["
    right = ")" if high_open or high == math.inf else "]"
    fmt = lambda v: "inf" if v == math.inf else ("-inf" if v == -math.inf else f"{v:g}")
    return f"{left}{fmt(low)}, {fmt(high)}{right}"


def real_array(
    name: str,
    value: Any,
    *,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
    allow_inf: bool = False,
):
    """Check that ``value`` is a real array (or scalar) of finite numbers inside an interval.

    Returns a float64 NumPy array (or the tracer itself when traced).  Raises ``ValueError``
    naming ``name`` and the valid interval, quoting the first offending value.
    """
    if is_traced(value):
        return value
    if isinstance(value, (str, bytes)) or np.iscomplexobj(value):
        raise ValueError(f"{name} must be a real number or array of real numbers (got {value!r})")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a real number or array of real numbers (got {value!r})") from exc
    interval = _format_interval(low, high, low_open, high_open)
    if np.isnan(arr).any():
        raise ValueError(f"{name} must be a number in {interval}, got NaN")
    if not allow_inf and np.isinf(arr).any():
        bad = arr[np.isinf(arr)].ravel()[0]
        raise ValueError(f"{name} must be a finite number in {interval}, got {bad}")
    too_low = arr <= low if low_open else arr < low
    too_high = arr >= high if high_open else arr > high
    bad_mask = too_low | too_high
    if bad_mask.any():
        bad = arr[bad_mask].ravel()[0]
        raise ValueError(f"{name} must be in {interval}, got {bad:g}")
    return arr


def positive_int(name: str, value: Any, *, minimum: int = 1) -> int:
    """Check that ``value`` is an integer >= ``minimum``; return it as ``int``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        else:
            raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


def choice(name: str, value: Any, options) -> str:
    """Check that ``value`` is one of ``options`` (strings)."""
    options = tuple(options)
    if value not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}; got {value!r}")
    return value


def broadcast(**arrays):
    """Broadcast named arrays together; a shape mismatch raises ``ValueError`` naming them."""
    shapes = {k: np.shape(v) for k, v in arrays.items()}
    try:
        shape = np.broadcast_shapes(*shapes.values())
    except ValueError as exc:
        desc = ", ".join(f"{k} {s}" for k, s in shapes.items())
        raise ValueError(f"incompatible shapes, cannot broadcast: {desc}") from exc
    return shape
