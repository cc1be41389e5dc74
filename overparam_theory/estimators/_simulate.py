"""The grid driver shared by the ERM simulators (:func:`overparam_theory.glm.simulate`,
:func:`overparam_theory.mixtures.simulate`)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._montecarlo import resolve_devices, run_grid, summarize_fits
from .._precision import precision
from ..numerics.prox import HINGE

__all__ = ["ERMGrid", "erm_grid", "simulate_grid"]


class ERMGrid(NamedTuple):
    """A simulation grid flattened for :func:`simulate_grid`.

    Attributes:
        shape: broadcast shape of the grid parameters.
        flat: the grid parameters as flat float arrays, ``alpha`` and ``ridge`` first.
        n_samples: ``max(min_samples, round(alpha dim))`` per point.
        hard_margin: hinge loss at ``ridge = 0`` (the hard-margin SVM).
        devices: the devices to shard the seeds over (a tuple), or ``None`` for one device.
    """

    shape: tuple
    flat: list
    n_samples: np.ndarray
    hard_margin: bool
    devices: tuple | None


def erm_grid(loss, devices, dim, alpha, ridge, *params, min_samples=1) -> ERMGrid:
    """The :class:`ERMGrid` of ``(alpha, ridge, *params)``; ``ValueError`` for a non-smooth loss
    other than hinge (no finite-size solver) and for hinge with ``ridge = 0`` at only some points."""
    if not loss.smooth and loss is not HINGE:
        raise ValueError(f"simulate has no solver for the non-smooth custom loss {loss.name!r}")
    devices = resolve_devices(devices)
    grid = (alpha, ridge, *params)
    shape = np.broadcast_shapes(*(np.shape(v) for v in grid))
    hard_margin = loss is HINGE and bool(np.any(np.asarray(ridge) == 0))
    if hard_margin and not np.all(np.asarray(ridge) == 0):
        raise ValueError("ridge: with loss='hinge' use either ridge = 0 everywhere (hard margin) or ridge > 0 everywhere")
    flat = [np.broadcast_to(np.asarray(a, float), shape).reshape(-1) for a in grid]
    n_samples = np.maximum(min_samples, np.rint(flat[0] * dim)).astype(int)
    return ERMGrid(shape, flat, n_samples, hard_margin, None if devices is None else tuple(devices))


def simulate_grid(result_type, run_group, grid: ERMGrid, observables, *, what, loss, dim, seed, n_seeds, progress):
    """``result_type`` of a simulation: ``run_group(keys, *grid.flat, size=n)`` over the points in
    float64 (:func:`~overparam_theory._montecarlo.run_grid`, one compilation per ``n``), seed means
    of ``observables`` with failed fits counted and warned about as ``what``
    (:func:`~overparam_theory._montecarlo.summarize_fits`), and the realised ``alpha = n/dim``,
    ``n_samples``, ``dim`` and ``fit_failures``."""
    with precision("float64"):
        raw = run_grid(
            run_group,
            grid.n_samples,
            grid.flat,
            seed=seed,
            n_seeds=n_seeds,
            label=f"{what} ({loss.name}, d={dim})",
            progress=progress,
        )
    est, failures = summarize_fits(raw, observables, grid.shape, what=what, alpha=grid.flat[0], ridge=grid.flat[1])
    return result_type(
        **est,
        alpha=(grid.n_samples / dim).reshape(grid.shape),
        n_samples=grid.n_samples.reshape(grid.shape),
        dim=dim,
        fit_failures=failures,
    )
