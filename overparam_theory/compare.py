"""Theory versus finite-size simulation: z-scores per point and field, tables and plots.

For every observable the z-score is ``(simulation mean - theory) / simulation standard error``
at the simulated points (the theory is evaluated at the *realised* sample ratio ``n/d``, and
width ``N/d``, when the simulator reports them).  Seed noise alone gives ``|z| ~ N(0, 1)``; the
finite-size ``O(1/d)`` bias of the simulation adds a systematic offset, so judge ``|z|`` together
with ``d`` and the number of seeds (the tests state both).
"""

from __future__ import annotations

import csv
import inspect
import json
import os
from dataclasses import dataclass, field

import numpy as np

from ._results import Estimate, json_safe
from ._spec import resolve


@dataclass(frozen=True)
class Comparison:
    """Result of :func:`compare`.

    Attributes:
        model: model name.
        parameters: the parameters the comparison ran with (broadcast arrays).
        theory: the model's theory result at the simulated points.
        simulation: the model's simulation result.
        fields: names of the compared observables.
        z: ``{field: array of z-scores}``.
        curve: optional dense theory curve ``(x_name, x_values, theory_result)`` for plots.
    """

    model: str
    parameters: dict
    theory: object
    simulation: object
    fields: tuple
    z: dict
    curve: tuple | None = field(default=None)

    @property
    def max_abs_z(self) -> float:
        """Largest ``|z|`` over all fields and points (NaN-free by construction)."""
        return float(max(np.max(np.abs(v)) for v in self.z.values()))

    def rows(self) -> list[dict]:
        """One dict per point: parameters, and per field theory / mean / stderr / z."""
        shape = np.shape(self.z[self.fields[0]])
        out = []
        for idx in np.ndindex(shape):
            row = {k: float(np.broadcast_to(v, shape)[idx]) for k, v in self.parameters.items()}
            for f in self.fields:
                est: Estimate = getattr(self.simulation, f)
                row[f"{f}_theory"] = float(np.broadcast_to(getattr(self.theory, f), shape)[idx])
                row[f"{f}_sim_mean"] = float(np.broadcast_to(est.mean, shape)[idx])
                row[f"{f}_sim_stderr"] = float(np.broadcast_to(est.stderr, shape)[idx])
                row[f"{f}_z"] = float(self.z[f][idx])
            out.append(row)
        return out

    def table(self, fields=None) -> str:
        """A plain-text table of theory, simulation mean +- stderr and z per point."""
        fields = tuple(fields or self.fields)
        rows = self.rows()
        params = list(self.parameters)
        head = params + [f for f in fields]
        lines = ["  ".join(f"{h:>26}" if h in fields else f"{h:>10}" for h in head)]
        for r in rows:
            cells = [f"{r[p]:>10.4g}" for p in params]
            for f in fields:
                cells.append(
                    f"{r[f + '_theory']:>8.4g} | {r[f + '_sim_mean']:.4g}±{r[f + '_sim_stderr']:.2g} z={r[f + '_z']:+.1f}".rjust(26)
                )
            lines.append("  ".join(cells))
        lines.append(f"max |z| = {self.max_abs_z:.2f}")
        return "\n".join(lines)

    def to_csv(self, path) -> str:
        """Write :meth:`rows` as CSV; returns the path."""
        rows = self.rows()
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        return str(path)

    def to_json(self, path) -> str:
        """Write the rows and the summary (max |z|, dim, seeds) as strict JSON (non-finite
        numbers as the strings ``"inf"``, ``"-inf"``, ``"nan"``); returns the path."""
        sim = self.simulation
        meta = {
            "model": self.model,
            "max_abs_z": self.max_abs_z,
            "dim": getattr(sim, "dim", None),
            "n_seeds": int(getattr(sim, self.fields[0]).n_seeds),
        }
        with open(path, "w") as fh:
            json.dump(json_safe({"summary": meta, "rows": self.rows()}), fh, indent=1, allow_nan=False)
        return str(path)

    def plot(self, path=None, *, fields=None, x=None):
        """Theory line(s) and simulation error bars against the swept parameter; saves to ``path``."""
        from .plotting import plot_comparison

        return plot_comparison(self, path, fields=fields, x=x)


def z_scores(theory_values, est: Estimate, *, atol: float = 1e-10):
    """``(mean - theory) / stderr`` per point.

    Differences within rounding (``|mean - theory| <= atol * max(1, |theory|)``, e.g. a bias
    that is exactly zero in theory and ``1e-30`` in floating point) count as ``z = 0``; so do
    matching infinities.  A non-zero difference with zero standard error gives ``inf``.
    """
    th = np.asarray(theory_values, float)
    mean = np.asarray(est.mean, float)
    se = np.asarray(est.stderr, float)
    with np.errstate(invalid="ignore"):
        diff = mean - th
        agree = (np.isfinite(th) & (np.abs(diff) <= atol * np.maximum(1.0, np.abs(th)))) | (np.isinf(th) & (th == mean))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, diff / np.where(se > 0, se, 1.0), np.inf)
    return np.where(agree, 0.0, z)


def swept_parameter(parameters: dict, x=None):
    """The parameter to put on the x-axis: ``x`` if given, else the first array-valued one."""
    if x is not None:
        return x
    for name, value in parameters.items():
        if np.size(value) > 1:
            return name
    return next(iter(parameters))


def compare(model, *, dim=None, n_seeds: int = 16, seed=0, fields=None, dense: int = 300, devices=None, **parameters):
    """Run ``model.theory`` and ``model.simulate`` with the same parameters and compare them.

    Args:
        model: a model module (``overparam_theory.ridge``, ...), its ``SPEC`` or a registered
            model name (``"ridge"``).
        dim: simulation dimension (models without one, like ``kernel``, ignore it).
        n_seeds, seed, devices: passed to ``model.simulate``.
        fields: observables to compare (default: the spec's fields marked ``compare``).
        dense: number of points of the dense theory curve used by plots (0 to skip).
        **parameters: the model's parameters (broadcast as in its ``theory``); options that
            only ``simulate`` takes (e.g. ``conditional``) are passed to it alone.

    Returns:
        :class:`Comparison` with z-scores per point and field.
    """
    model = resolve(model)
    sim_kwargs = dict(n_seeds=n_seeds, seed=seed, devices=devices)
    if dim is not None and model.dim is not None:
        sim_kwargs["dim"] = dim
    theory_names = set(inspect.signature(model.theory).parameters)
    simulation_names = set(inspect.signature(model.simulate).parameters)
    unknown = set(parameters) - theory_names - simulation_names
    if unknown:
        raise ValueError(f"unknown parameter(s) for model {model.name!r}: {', '.join(sorted(unknown))}")
    sim = model.simulate(**parameters, **sim_kwargs)
    parameters = {k: v for k, v in parameters.items() if k in theory_names}
    th_params = dict(parameters)
    for ratio in ("alpha", "width"):  # the realised n/d (and N/d: random features) of each point
        if hasattr(sim, ratio) and ratio in parameters:
            th_params[ratio] = getattr(sim, ratio)
    th = model.theory(**th_params)
    fields = tuple(fields or model.compared_fields)
    z = {f: z_scores(getattr(th, f), getattr(sim, f)) for f in fields}
    shape = np.shape(z[fields[0]])
    grid_names = model.grid_params
    if model.time_axis is not None:
        return _compare_trajectories(model, th_params, th, sim, fields, z, shape, grid_names, dense)
    shown = {
        k: np.asarray(th_params[k], float)
        for k in grid_names
        if th_params.get(k) is not None and np.broadcast_shapes(np.shape(th_params[k]), shape) == shape
    }
    curve = None
    x_name = swept_parameter({k: v for k, v in parameters.items() if k in shown}) if shown else None
    if dense and x_name is not None and np.size(parameters[x_name]) > 1 and len(shape) == 1:
        others_scalar = all(np.size(v) == 1 for k, v in shown.items() if k != x_name)
        if others_scalar:
            xs = np.asarray(parameters[x_name], float)
            grid = np.linspace(xs.min(), xs.max(), dense)
            if x_name == "n_samples":
                grid = np.unique(np.rint(grid).astype(int))
            dense_params = dict(parameters, **{x_name: grid})
            curve = (x_name, grid, model.theory(**dense_params, on_failure="ignore"))
    return Comparison(model.name, shown, th, sim, fields, z, curve)


def _compare_trajectories(model, parameters, th, sim, fields, z, shape, grid_names, dense):
    """:func:`compare` for models whose fields carry a trailing time axis (``model.TIME_AXIS``):
    results are shaped ``grid shape + time.shape``; ``time`` is shown first (the plots' x-axis)
    and the grid parameters gain a trailing axis so that every row is one (point, time) pair."""
    time = np.asarray(parameters["time"], float)
    lead = len(shape) - time.ndim
    shown = {"time": time}
    for k in grid_names:
        value = parameters.get(k)
        if value is None:
            continue
        value = np.asarray(value, float)
        if value.ndim <= lead and np.broadcast_shapes(value.shape, shape[:lead]) == shape[:lead]:
            shown[k] = np.reshape(value, value.shape + (1,) * time.ndim)
    curve = None
    if dense and lead == 0 and time.ndim == 1 and time.size > 1:
        lo, hi = float(time.min()), float(time.max())
        grid = np.geomspace(lo, hi, dense) if lo > 0 and hi / lo > 50 else np.linspace(lo, hi, dense)
        curve = ("time", grid, model.theory(**dict(parameters, time=grid), on_failure="ignore"))
    return Comparison(model.name, shown, th, sim, fields, z, curve)
