"""Precision policy: theory runs in float64 by default without changing the user's process.

JAX's 64-bit mode is a global flag; instead of setting it at import time we enter
``jax.enable_x64`` only around our own computations, so a user's float32 code elsewhere is
untouched while every number this library returns is float64 unless ``dtype="float32"`` is
asked for explicitly.
"""

from __future__ import annotations

import contextlib

import jax
import numpy as np

from ._validation import choice

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
