"""Result containers shared by every model family (all are JAX pytrees: NamedTuples).

JAX-free at import (the command line imports :func:`json_safe`); the functions that need JAX
import it when called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:
    import jax


class Estimate(NamedTuple):
    """A Monte Carlo estimate: the mean over independent seeds and its standard error.

    ``stderr`` is the sample standard deviation over seeds (``ddof=1``) divided by
    ``sqrt(n_seeds)``.
    """

    mean: jax.Array
    stderr: jax.Array
    n_seeds: int = 0


def estimate(samples, axis: int = 0) -> Estimate:
    """Seed mean and standard error of ``samples`` along ``axis`` (the seed axis)."""
    samples = np.asarray(samples, dtype=np.float64)
    n = samples.shape[axis]
    mean = samples.mean(axis=axis)
    stderr = samples.std(axis=axis, ddof=1) / np.sqrt(n) if n > 1 else np.full_like(mean, np.inf)
    return Estimate(mean, stderr, n)


def observable_fields(result) -> tuple[str, ...]:
    """Names of a simulation result's fields that hold :class:`Estimate` values."""
    return tuple(name for name in result._fields if isinstance(getattr(result, name), Estimate))


def finalize(result, on_failure: str, what: str):
    """Make a theory result user-facing.

    Concrete results become NumPy float arrays (usable outside JAX's x64 mode, which the
    library only enables locally); non-converged points are reported according to
    ``on_failure`` (``"warn"``, ``"raise"``, ``"ignore"``).  Traced results (the user is
    differentiating or jitting through a public function) pass through unchanged.
    """
    import jax

    from .numerics.fixed_point import check_convergence

    if any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(result)):
        return result
    result = jax.tree_util.tree_map(np.asarray, result)
    check_convergence(result, on_failure=on_failure, what=what)
    return result


def json_safe(obj):
    """``obj`` with non-finite floats replaced by the strings ``"inf"``, ``"-inf"``, ``"nan"``
    (strict JSON has no such numbers; ``float("inf")`` reads them back)."""
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, (float, np.floating)) and not np.isfinite(obj):
        return "nan" if np.isnan(obj) else ("inf" if obj > 0 else "-inf")
    return obj
