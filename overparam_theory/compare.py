"""Theory versus finite-size simulation: z-scores per point and field, tables and plots.

For every observable, at every simulated point, the statistic is
``t = (simulation mean - theory) / simulation standard error`` (the theory is evaluated at the
*realised* sample ratio ``n/d``, and width ``N/d``, when the simulator reports them).  With ``S``
seeds, ``t`` follows Student's t distribution with ``S - 1`` degrees of freedom when the theory
is exact, so :func:`compare` reports the **normal-equivalent** score ``z = Phi^{-1}(F_{S-1}(t))``:
the same two-sided p-value as ``t`` under ``t_{S-1}``, so that one threshold means the same at 2
seeds as at 64 (``t = 12.7`` at 2 seeds is ``z = 1.96``).

Two cases are not compared by ``z``:

- values that agree within rounding (``|mean - theory| <= 1e-10 max(1, |theory|)``) count as
  ``z = 0``, as do matching infinities;
- values that are both **below the resolution** of the comparison, ``|theory|`` and
  ``|mean| <= scale / d`` with ``scale`` the field's largest magnitude over the compared points
  (theory and simulation) and ``d`` the simulation dimension (``1e-3`` without one), are compared
  by absolute difference: they agree within the resolution, and their ``z`` is ``0``.  A finite-
  size simulation cannot resolve a value ``O(1/d)`` of the field's scale (e.g. the training loss
  of a hinge classifier in the separable phase: the theory's Gaussian tail ``5e-7`` against an
  exact ``0`` at ``n = 90`` samples), and dividing by a standard error of ``1e-15`` made ``z``
  meaningless.  :attr:`Comparison.by_difference` says which values were compared this way.

Seed noise alone gives ``|z| ~ N(0, 1)``; the finite-size ``O(1/d)`` bias of the simulation adds a
systematic offset, so judge ``|z|`` together with ``d`` and the number of seeds (the tests state
both).
"""

from __future__ import annotations

import csv
import inspect
import json
import os
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from ._results import Estimate, json_safe
from ._spec import resolve

#: Resolution of a comparison without a simulation dimension, relative to the field's scale.
DEFAULT_RESOLUTION = 1e-3


class Curve(NamedTuple):
    """A dense theory curve for plots.

    Attributes:
        x: name of the swept parameter (the x-axis).
        values: the dense x values, shape ``(n,)``.
        theory: the theory result on the grid ``groups x values``: fields shaped
            ``(n_groups, n)`` (``(n,)`` when nothing else varies).
        groups: ``{name: (n_groups,) values}`` of the other swept parameters (one curve per
            combination; empty when only ``x`` varies).
    """

    x: str
    values: np.ndarray
    theory: object
    groups: dict


@dataclass(frozen=True)
class Comparison:
    """Result of :func:`compare`.

    Attributes:
        model: model name.
        parameters: the grid parameters at the simulated points (broadcast arrays; ``alpha``
            and ``width`` are the realised ratios).
        theory: the model's theory result at the simulated points.
        simulation: the model's simulation result.
        fields: names of the compared observables.
        z: ``{field: array of normal-equivalent z-scores}`` (module docstring).
        curve: optional dense theory :class:`Curve` for plots.
        swept: the parameters the caller varied, in the order given (the first is the x-axis of
            :meth:`plot`).
        settings: the scalar parameters the caller gave (figure titles, file records).
        by_difference: ``{field: bool array}``, ``True`` where theory and simulation were both
            below the resolution and compared by absolute difference (``z = 0`` there).
        resolution: ``{field: float}``, the resolution ``scale/d`` of each field.
    """

    model: str
    parameters: dict
    theory: object
    simulation: object
    fields: tuple
    z: dict
    curve: Curve | None = field(default=None)
    swept: tuple = ()
    settings: dict = field(default_factory=dict)
    by_difference: dict = field(default_factory=dict)
    resolution: dict = field(default_factory=dict)

    @property
    def n_seeds(self) -> int:
        return int(getattr(self.simulation, self.fields[0]).n_seeds)

    @property
    def dim(self):
        return getattr(self.simulation, "dim", None)

    @property
    def max_abs_z(self) -> float:
        """Largest ``|z|`` over all fields and points (NaN-free by construction)."""
        return float(max(np.max(np.abs(v)) for v in self.z.values()))

    @property
    def n_by_difference(self) -> int:
        """How many (point, field) values were compared by absolute difference."""
        return int(sum(np.sum(v) for v in self.by_difference.values()))

    def summary(self) -> str:
        """One line: ``max |z|``, what it is, and the values compared by difference."""
        text = (f"max |z| = {self.max_abs_z:.2f} (normal-equivalent of Student's t with {self.n_seeds - 1} "
                f"degree(s) of freedom: {self.n_seeds} seeds" + (f", d = {self.dim}" if self.dim else "") + ")")
        if self.n_by_difference:
            parts = [f"{f} ({int(np.sum(m))})" for f, m in self.by_difference.items() if np.any(m)]
            text += (f"; {self.n_by_difference} value(s) compared by absolute difference, theory and simulation "
                     f"both below the resolution scale/d: " + ", ".join(parts))
        return text

    def rows(self) -> list[dict]:
        """One dict per point: parameters, and per field theory / mean / stderr / z and how it
        was compared (``"z"`` or ``"difference"``)."""
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
                flagged = f in self.by_difference and bool(np.broadcast_to(self.by_difference[f], shape)[idx])
                row[f"{f}_compared_by"] = "difference" if flagged else "z"
            out.append(row)
        return out

    def table(self, fields=None) -> str:
        """A plain-text table of theory, simulation mean +- stderr and z per point (``~0``:
        both below the resolution, compared by absolute difference), then :meth:`summary`."""
        fields = tuple(fields or self.fields)
        rows = self.rows()
        params = list(self.parameters)
        head = params + [f for f in fields]
        lines = ["  ".join(f"{h:>26}" if h in fields else f"{h:>10}" for h in head)]
        for r in rows:
            cells = [f"{r[p]:>10.4g}" for p in params]
            for f in fields:
                score = "~0" if r[f + "_compared_by"] == "difference" else f"z={r[f + '_z']:+.1f}"
                cells.append(f"{r[f + '_theory']:>8.4g} | {r[f + '_sim_mean']:.4g}±{r[f + '_sim_stderr']:.2g} {score}".rjust(26))
            lines.append("  ".join(cells))
        lines.append(self.summary())
        return "\n".join(lines)

    def record(self) -> dict:
        """The comparison's settings and summary (the JSON file's ``summary``)."""
        return {
            "model": self.model,
            "max_abs_z": self.max_abs_z,
            "z": "normal-equivalent of Student's t with n_seeds - 1 degrees of freedom",
            "dim": self.dim,
            "n_seeds": self.n_seeds,
            "swept": list(self.swept),
            "settings": {k: (np.asarray(v).tolist() if isinstance(v, np.ndarray) else v) for k, v in self.settings.items()},
            "resolution": self.resolution,
            "compared_by_difference": {f: int(np.sum(m)) for f, m in self.by_difference.items()},
        }

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
        """Write the rows and :meth:`record` as strict JSON (non-finite numbers as the strings
        ``"inf"``, ``"-inf"``, ``"nan"``); returns the path."""
        with open(path, "w") as fh:
            json.dump(json_safe({"summary": self.record(), "rows": self.rows()}), fh, indent=1, allow_nan=False)
        return str(path)

    def plot(self, path=None, *, fields=None, x=None):
        """Theory line(s) and simulation error bars against the swept parameter; saves to
        ``path`` and returns the figure (:func:`overparam_theory.plotting.plot_comparison`)."""
        from .plotting import plot_comparison

        return plot_comparison(self, path, fields=fields, x=x)


def normal_equivalent(t, dof):
    """The normal score with the same two-sided p-value as ``t`` under Student's ``t_dof``:
    ``sign(t) Phi^{-1}(1 - F_dof(-|t|))``, computed in log space (no underflow to ``inf`` before
    ``|z| ~ 38``); ``dof = None`` or ``inf`` returns ``t``."""
    t = np.asarray(t, float)
    if dof is None or not np.isfinite(dof):
        return t
    from scipy import special, stats

    with np.errstate(invalid="ignore", divide="ignore"):
        log_tail = stats.t.logsf(np.abs(t), dof)
        z = -special.ndtri_exp(log_tail)
    return np.where(np.isnan(t), np.nan, np.copysign(z, t))


def z_scores(theory_values, est: Estimate, *, atol: float = 1e-10, dof="auto"):
    """Normal-equivalent ``z`` of ``t = (mean - theory) / stderr`` per point (module docstring).

    Differences within rounding (``|mean - theory| <= atol * max(1, |theory|)``, e.g. a bias
    that is exactly zero in theory and ``1e-30`` in floating point) count as ``z = 0``; so do
    matching infinities.  A non-zero difference with zero standard error gives ``inf``.
    ``dof``: degrees of freedom of ``t`` (default ``est.n_seeds - 1``; ``None``: return ``t``).
    """
    th = np.asarray(theory_values, float)
    mean = np.asarray(est.mean, float)
    se = np.asarray(est.stderr, float)
    with np.errstate(invalid="ignore"):
        diff = mean - th
        agree = (np.isfinite(th) & (np.abs(diff) <= atol * np.maximum(1.0, np.abs(th)))) | (np.isinf(th) & (th == mean))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > 0, diff / np.where(se > 0, se, 1.0), np.inf)
    if dof == "auto":
        dof = est.n_seeds - 1 if est.n_seeds and est.n_seeds > 1 else None
    return np.where(agree, 0.0, normal_equivalent(t, dof))


def below_resolution(theory_values, est: Estimate, dim):
    """``(mask, resolution)``: where theory and simulation mean are both within
    ``resolution = scale / dim`` of zero (``scale``: the largest finite magnitude of either;
    ``dim = None``: :data:`DEFAULT_RESOLUTION` of it)."""
    th = np.asarray(theory_values, float)
    mean = np.broadcast_to(np.asarray(est.mean, float), np.broadcast_shapes(th.shape, np.shape(est.mean)))
    values = np.abs(np.concatenate([th.ravel(), mean.ravel()]))
    values = values[np.isfinite(values)]
    scale = float(values.max()) if values.size else 0.0
    resolution = scale / dim if dim else scale * DEFAULT_RESOLUTION
    with np.errstate(invalid="ignore"):
        mask = (np.abs(th) <= resolution) & (np.abs(mean) <= resolution) & (resolution > 0)
    return mask, resolution


def swept_parameter(parameters: dict, x=None):
    """The parameter to put on the x-axis: ``x`` if given, else the first one that takes more
    than one value."""
    if x is not None:
        return x
    for name, value in parameters.items():
        if _n_distinct(value) > 1:
            return name
    return next(iter(parameters))


def _n_distinct(value) -> int:
    try:
        return int(np.unique(np.asarray(value, float)).size)
    except (TypeError, ValueError):
        return 1


def dense_grid(values, n: int, *, integer: bool = False):
    """``n`` points spanning ``values``: log-spaced when they are positive and span more than a
    factor 50 (ridges, times), linear otherwise; unique integers for ``integer``."""
    xs = np.asarray(values, float)
    lo, hi = float(np.nanmin(xs)), float(np.nanmax(xs))
    grid = np.geomspace(lo, hi, n) if is_log_scale(xs) else np.linspace(lo, hi, n)
    return np.unique(np.rint(grid).astype(int)) if integer else grid


def is_log_scale(values) -> bool:
    """Positive values spanning more than a factor 50 are shown (and densified) on a log scale."""
    xs = np.asarray(values, float)
    xs = xs[np.isfinite(xs)]
    return bool(xs.size and xs.min() > 0 and xs.max() / xs.min() > 50)


def theory_curve(model, parameters: dict, x_name: str, dense: int, groups=()):
    """A dense :class:`Curve` of ``model.theory`` in ``x_name`` (one call: the other swept
    parameters ``groups`` take each combination that occurs in ``parameters``, broadcast against
    the dense axis)."""
    xs = np.asarray(parameters[x_name], float)
    grid = dense_grid(xs, dense, integer=x_name == "n_samples")
    call = dict(parameters, **{x_name: grid})
    combos = {}
    if groups:
        columns = [np.broadcast_to(np.asarray(parameters[g], float), xs.shape).ravel() for g in groups]
        combos = dict.fromkeys(zip(*columns))  # first-appearance order
        values = np.array(list(combos), float)  # (n_groups, len(groups))
        call[x_name] = grid[None, :]
        for j, g in enumerate(groups):
            call[g] = values[:, j : j + 1]
        combos = {g: values[:, j] for j, g in enumerate(groups)}
    return Curve(x_name, grid, model.theory(**call, on_failure="ignore"), combos)


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
        :class:`Comparison` with normal-equivalent z-scores per point and field (module
        docstring), the swept parameters and the dense theory curve for plots.
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
    settings = {k: v for k, v in parameters.items() if np.ndim(v) == 0 and not callable(v) and k != "progress"}
    parameters = {k: v for k, v in parameters.items() if k in theory_names}
    th_params = dict(parameters)
    for ratio in ("alpha", "width"):  # the realised n/d (and N/d: random features) of each point
        if hasattr(sim, ratio) and ratio in parameters:
            th_params[ratio] = getattr(sim, ratio)
    th = model.theory(**th_params)
    fields = tuple(fields or model.compared_fields)
    sim_dim = getattr(sim, "dim", None)
    z, by_difference, resolution = {}, {}, {}
    for f in fields:
        mask, resolution[f] = below_resolution(getattr(th, f), getattr(sim, f), sim_dim)
        z[f] = np.where(mask, 0.0, z_scores(getattr(th, f), getattr(sim, f)))
        by_difference[f] = mask
    shape = np.shape(z[fields[0]])
    grid_names = model.grid_params
    swept = tuple(k for k in parameters if k in grid_names and _n_distinct(parameters[k]) > 1)
    extra = dict(swept=swept, settings=settings, by_difference=by_difference, resolution=resolution)
    if model.time_axis is not None:
        return _compare_trajectories(model, th_params, th, sim, fields, z, shape, grid_names, dense, extra)
    shown = {
        k: np.asarray(th_params[k], float)
        for k in grid_names
        if th_params.get(k) is not None and np.broadcast_shapes(np.shape(th_params[k]), shape) == shape
    }
    curve = None
    if dense and swept and len(shape) == 1:
        constant = {k: np.ravel(v)[0] for k, v in parameters.items() if k in grid_names and k not in swept and np.size(v) > 1}
        curve = theory_curve(model, dict(parameters, **constant), swept[0], dense, groups=swept[1:])
    return Comparison(model.name, shown, th, sim, fields, z, curve, **extra)


def _compare_trajectories(model, parameters, th, sim, fields, z, shape, grid_names, dense, extra):
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
    extra = dict(extra, swept=("time",) + tuple(k for k in extra["swept"] if k != "time"))
    curve = None
    if dense and lead == 0 and time.ndim == 1 and time.size > 1:
        grid = dense_grid(time, dense)
        curve = Curve("time", grid, model.theory(**dict(parameters, time=grid), on_failure="ignore"), {})
    return Comparison(model.name, shown, th, sim, fields, z, curve, **extra)
