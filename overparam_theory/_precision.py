"""Precision policy: theory runs in float64 by default without changing the user's process.

JAX's 64-bit mode is a global flag; instead of setting it at import time we enter
``jax.enable_x64`` only around our own computations, so a user's float32 code elsewhere is
untouched while every number this library returns is float64 unless ``dtype="float32"`` is
asked for explicitly.
"""

from __future__ import annotations

import contextlib

import jax
import jax.numpy as jnp
import numpy as np

from ._validation import choice, is_traced

DTYPES = ("float64", "float32")


def resolve_dtype(dtype) -> str:
    if dtype in (np.float64, "float64", "f8", float):
        return "float64"
    if dtype in (np.float32, "float32", "f4"):
        return "float32"
    return choice("dtype", dtype, DTYPES)


def precision(dtype="float64"):
    """Context manager: x64 on for ``"float64"``; the process default for ``"float32"``."""
    if resolve_dtype(dtype) == "float64":
        return jax.enable_x64(True)
    return contextlib.nullcontext()


def as_dtype(dtype, *values):
    """Cast validated inputs to the working dtype before they enter a jitted function: NumPy
    arrays for concrete values (cheap, no eager JAX op), ``jnp`` arrays for tracers."""
    ftype = np.float64 if resolve_dtype(dtype) == "float64" else np.float32
    return tuple(jnp.asarray(v, ftype) if is_traced(v) else np.asarray(v, ftype) for v in values)
