"""One diagnostics type for every solve: a status code per grid point that carries its message.

Every theory result has a ``diagnostics`` field (:class:`Diagnostics`: ``status``,
``iterations``, ``residual``) and the convenience properties ``converged`` (``status == OK``),
``status``, ``iterations`` and ``residual`` (added by :func:`with_diagnostics`).  A point whose
status is not :attr:`Status.OK` has NaN values and is reported by :func:`report` (warning,
error or nothing, by the caller's ``on_failure``), never passed off as a number.
"""

from __future__ import annotations

import enum
import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "Status",
    "MESSAGES",
    "Diagnostics",
    "ConvergenceError",
    "ConvergenceWarning",
    "diagnostics",
    "ok",
    "raise_or_warn",
    "report",
    "with_diagnostics",
]


class Status(enum.IntEnum):
    """Outcome of a solve at one point."""

    OK = 0
    MAX_ITERATIONS = 1
    NONFINITE = 2
    DIVERGED = 3
    STEP_UNDERFLOW = 4
    MAX_STEPS = 5
    NO_BRACKET = 6
    INFEASIBLE = 7


MESSAGES = {
    Status.OK: "ok",
    Status.MAX_ITERATIONS: "iteration limit reached before the tolerance",
    Status.NONFINITE: "non-finite iterate",
    Status.DIVERGED: "diverged (an order parameter exceeded its bound)",
    Status.STEP_UNDERFLOW: "step-size underflow",
    Status.MAX_STEPS: "step limit exhausted before the last requested time",
    Status.NO_BRACKET: "no sign change in the bracket: no admissible root",
    Status.INFEASIBLE: "no solution in the admissible region",
}


class ConvergenceError(RuntimeError):
    """A solve failed at one or more grid points (``on_failure="raise"``)."""


class ConvergenceWarning(RuntimeWarning):
    """A solve failed at one or more grid points (``on_failure="warn"``)."""


class Diagnostics(NamedTuple):
    """Per-point solver diagnostics (a JAX pytree; arrays shaped like the grid).

    status: int32 :class:`Status` code (``MESSAGES[status]`` is its meaning).
    iterations: int32 number of iterations / accepted steps (0 for a closed form).
    residual: the solver's final relative residual (0 for a closed form; ``inf`` when the
        iterate was non-finite).
    """

    status: jax.Array
    iterations: jax.Array
    residual: jax.Array

    @property
    def converged(self):
        return self.status == Status.OK

    def messages(self) -> np.ndarray:
        """The message of every point's status (a NumPy array of strings)."""
        status = np.asarray(self.status)
        return np.vectorize(lambda s: MESSAGES.get(Status(int(s)), f"status {int(s)}"), otypes=[object])(status)


def diagnostics(converged, iterations, residual, *, failure: Status = Status.MAX_ITERATIONS) -> Diagnostics:
    """Diagnostics from a converged flag: ``OK`` where converged, else ``NONFINITE`` where the
    residual is not finite and ``failure`` otherwise.  Traceable (jit/vmap)."""
    converged = jnp.asarray(converged, bool)
    residual = jnp.asarray(residual)
    status = jnp.where(converged, Status.OK, jnp.where(jnp.isfinite(residual), int(failure), Status.NONFINITE))
    return Diagnostics(status.astype(jnp.int32), jnp.asarray(iterations, jnp.int32), residual)


def ok(shape, dtype=jnp.float64) -> Diagnostics:
    """Diagnostics of a closed form: every point ``OK`` after 0 iterations with residual 0."""
    return Diagnostics(jnp.zeros(shape, jnp.int32), jnp.zeros(shape, jnp.int32), jnp.zeros(shape, dtype))


def report(diag: Diagnostics, on_failure: str, what: str) -> None:
    """Warn (``ConvergenceWarning``), raise (``ConvergenceError``) or do nothing (``"ignore"``)
    for the points whose status is not ``OK``; the message counts each status and gives the
    worst finite residual and the first failed point's index.  Needs concrete arrays."""
    if on_failure == "ignore":
        return
    status = np.asarray(diag.status)
    bad = status != Status.OK
    n_bad = int(bad.sum())
    if n_bad == 0:
        return
    counts = ", ".join(
        f"{int(np.sum(status == s))} {MESSAGES[s]}" for s in Status if s != Status.OK and np.any(status == s)
    )
    residual = np.broadcast_to(np.asarray(diag.residual, float), status.shape)[bad]
    finite = residual[np.isfinite(residual)]
    worst = f"; worst relative residual {finite.max():.3g}" if finite.size else ""
    first = np.unravel_index(int(np.flatnonzero(bad.ravel())[0]), status.shape) if status.ndim else ()
    msg = (
        f"{what}: {n_bad} of {status.size} point(s) failed ({counts}{worst}); first at index {tuple(map(int, first))}; "
        "those points are NaN"
    )
    raise_or_warn(msg, on_failure, error=ConvergenceError, warning=ConvergenceWarning, stacklevel=4)


def raise_or_warn(
    msg: str, on_failure: str, *, error: type[Exception], warning: type[Warning], stacklevel: int = 3
) -> None:
    """Act on a failure by the caller's ``on_failure``: raise ``error(msg)`` (``"raise"``), warn
    ``msg`` as ``warning`` (``"warn"``; the default ``stacklevel`` names the caller's caller) or do
    nothing (``"ignore"``)."""
    if on_failure == "ignore":
        return
    if on_failure == "raise":
        raise error(msg)
    warnings.warn(msg, warning, stacklevel=stacklevel)


def with_diagnostics(cls):
    """Class decorator for a result NamedTuple with a ``diagnostics`` field: adds the read-only
    properties ``converged``, ``status``, ``iterations`` and ``residual``."""
    if "diagnostics" not in cls._fields:
        raise TypeError(f"{cls.__name__} has no diagnostics field")
    cls.converged = property(lambda self: self.diagnostics.status == Status.OK, doc="status == OK, per point")
    cls.status = property(lambda self: self.diagnostics.status, doc="Status code per point")
    cls.iterations = property(lambda self: self.diagnostics.iterations, doc="iterations per point")
    cls.residual = property(lambda self: self.diagnostics.residual, doc="final relative residual per point")
    return cls
