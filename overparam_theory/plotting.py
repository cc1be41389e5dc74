"""Matplotlib figures: theory curves (:func:`plot_theory`) and theory against simulation
(:func:`plot_comparison`, ``Comparison.plot``).

Figures are laid out for papers: at most three panels per row, axis labels in words with the
paper's symbols (from the model declaration), the fixed parameters in the title, one colour per
value of a second swept parameter, a log axis where positive values span more than a factor 50.
"""

from __future__ import annotations

import math
import os

import numpy as np

__all__ = ["plot_theory", "plot_comparison"]

_MAX_COLUMNS = 3


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _panels(plt, n: int):
    """A grid of ``n`` panels, at most :data:`_MAX_COLUMNS` per row (unused panels removed)."""
    ncols = min(n, _MAX_COLUMNS)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.0 * ncols, 3.2 * nrows + 0.5), squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        fig.delaxes(ax)
    return fig, flat[:n]


def _param_label(spec, name: str) -> str:
    for p in spec.params:
        if p.name == name:
            return p.axis_label
    return name.replace("_", " ")


def _field_label(spec, name: str) -> str:
    for f in spec.fields:
        if f.name == name:
            return f.axis_label
    return name.replace("_", " ")


def _format(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, float, np.integer, np.floating)):
        return f"{float(value):g}"
    return str(value)


def _describe(value):
    """A short title text for a setting, or ``None`` to leave it out: numbers, flags and names as
    they are; a discrete spectrum as its number of levels and eigenvalue range."""
    if isinstance(value, (str, bool, int, float, np.number, np.bool_)):
        return _format(value)
    eigenvalues = getattr(value, "eigenvalues", None)
    if eigenvalues is not None and hasattr(value, "weights"):
        eig = np.asarray(eigenvalues, float)
        if eig.size == 1:
            return f"identity x {_format(eig.item())}"
        return f"{eig.size} levels in [{_format(eig.min())}, {_format(eig.max())}]"
    return None


def _settings_line(settings: dict, skip=()) -> str:
    """``name = value`` for the settings :func:`_describe` can state in a few characters."""
    shown = {k: _describe(v) for k, v in settings.items() if k not in skip}
    return ", ".join(f"{k} = {v}" for k, v in shown.items() if v is not None)


def _title(fig, head: str, settings_line: str):
    """``head`` and the fixed settings, wrapped at ", " to the figure's width (fontsize 10: about
    13 characters per inch), so that a one-panel figure does not cut its title off."""
    import textwrap

    width = max(40, int(fig.get_figwidth() * 13))
    lines = [head] + (textwrap.wrap(settings_line, width, break_long_words=False, break_on_hyphens=False)
                      if settings_line else [])
    fig.suptitle("\n".join(lines), fontsize=10)


def _finish(fig, path):
    fig.tight_layout()
    if path is not None:
        os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
        fig.savefig(path, dpi=150)
        _pyplot().close(fig)
    return fig


def _scales(ax, xs, ys):
    from .compare import is_log_scale

    if is_log_scale(xs):
        ax.set_xscale("log")
    if is_log_scale(ys):
        ax.set_yscale("log")


def _finite(y):
    y = np.asarray(y, float)
    return np.where(np.isfinite(y), y, np.nan)


def _group_label(groups: dict, j: int) -> str | None:
    return ", ".join(f"{k} = {_format(np.ravel(v)[j])}" for k, v in groups.items()) or None


def plot_comparison(report, path=None, *, fields=None, x=None):
    """One panel per observable: the dense theory curve (line), the theory at the simulated
    points (open circles) and simulation means with ±2 standard-error bars, against the swept
    parameter ``x`` (default: the first one the caller varied), one colour per value of a
    second swept parameter.  Values compared by absolute difference (both below the
    resolution) are drawn as grey crosses.  Points where the theory is infinite (an
    interpolation threshold) are left out of the line.  Saves to ``path`` when given; returns
    the figure.
    """
    from ._spec import resolve

    plt = _pyplot()
    spec = resolve(report.model)
    fields = tuple(fields or report.fields)
    x_name = x or (report.swept[0] if report.swept else next(iter(report.parameters)))
    shape = np.shape(report.z[fields[0]])
    xs = np.broadcast_to(report.parameters[x_name], shape).ravel()
    others = [k for k in report.swept if k != x_name and k in report.parameters]
    keys = list(zip(*(np.broadcast_to(report.parameters[k], shape).ravel() for k in others))) or [()] * xs.size
    series = list(dict.fromkeys(keys))
    curve = report.curve if report.curve is not None and report.curve.x == x_name else None
    fig, axes = _panels(plt, len(fields))
    for ax, f in zip(axes, fields):
        est = getattr(report.simulation, f)
        th = np.broadcast_to(np.asarray(getattr(report.theory, f), float), shape).ravel()
        mean = np.broadcast_to(np.asarray(est.mean, float), shape).ravel()
        err = 2 * np.broadcast_to(np.asarray(est.stderr, float), shape).ravel()
        flagged = np.broadcast_to(report.by_difference.get(f, False), shape).ravel()
        for j, key in enumerate(series):
            colour = f"C{j % 10}"
            sim_colour = "C3" if len(series) == 1 else colour  # one series: red simulation, blue theory
            sel = np.array([k == key for k in keys])
            label = ", ".join(f"{k} = {_format(v)}" for k, v in zip(others, key))
            if curve is not None:
                cy = np.asarray(getattr(curve.theory, f), float)
                cy = cy[j] if cy.ndim == 2 else cy
                ax.plot(curve.values, _finite(cy), "-", color=colour, lw=1.5,
                        label=f"theory{', ' + label if label else ''}")
            ax.plot(xs[sel], _finite(th[sel]), "o", mfc="none", color=colour, ms=5,
                    label=None if curve is not None else f"theory{', ' + label if label else ''}")
            ok = sel & ~flagged
            ax.errorbar(xs[ok], mean[ok], yerr=err[ok], fmt=".", color=sim_colour, ecolor=sim_colour, capsize=2, alpha=0.9,
                        label="simulation ±2 s.e." if j == 0 else None)
            if np.any(sel & flagged):
                ax.plot(xs[sel & flagged], mean[sel & flagged], "x", color="0.4", ms=5,
                        label="below resolution" if j == 0 else None)
        _scales(ax, xs, np.concatenate([th[np.isfinite(th)], mean[np.isfinite(mean)]]))
        ax.set_xlabel(_param_label(spec, x_name))
        ax.set_ylabel(_field_label(spec, f))
        ax.grid(alpha=0.3)
    # one legend for every panel's markers (e.g. "below resolution" may appear in only one panel)
    entries = {}
    for ax in axes:
        for handle, text in zip(*ax.get_legend_handles_labels()):
            entries.setdefault(text, handle)
    axes[0].legend(list(entries.values()), list(entries), fontsize=7)
    sim = f"d = {report.dim}, " if report.dim else ""
    fixed = _settings_line(report.settings, skip=set(report.swept))
    _title(fig, f"{spec.name}: theory vs simulation ({sim}{report.n_seeds} seeds), max |z| = {report.max_abs_z:.2f}", fixed)
    return _finish(fig, path)


def plot_theory(model, path=None, *, x=None, fields=None, **parameters):
    """Evaluate ``model.theory(**parameters)`` and plot every per-point field against ``x``.

    Args:
        model: a model module, its ``SPEC`` or a registered name (``"ridge"``).
        path: file to save to (``.png``, ``.pdf``, ...); ``None`` only returns the figure.
        x: the x-axis parameter (default: the first parameter given with more than one value;
            ``time`` for trajectory models).  Each other multi-valued parameter gives one curve
            per value: one-dimensional values form the outer grid (as on the command line);
            arrays of higher dimension broadcast as in ``theory`` (e.g. ``ridge[:, None]``).
        fields: the fields to plot (default: every field with one value per point).
        **parameters: the model's parameters, as for ``model.theory``.

    Returns:
        The matplotlib figure.

    Example::

        plot_theory("ridge", "risk.png", alpha=np.linspace(0.1, 3, 300), ridge=[1e-3, 1e-1], noise=0.25)
    """
    from ._spec import REQUIRED, resolve

    spec = resolve(model)
    parameters = _outer_grid(spec, parameters)
    result = spec.theory(**parameters)
    # the title states the model's defaults too (the settings the curves depend on)
    defaults = {p.name: p.default for p in spec.params if p.role == "model" and p.default is not REQUIRED
                and p.default is not None and p.name not in parameters}
    return plot_theory_result(spec, result, {**parameters, **defaults}, path, x=x, fields=fields)


def _outer_grid(spec, parameters: dict) -> dict:
    """Several one-dimensional multi-valued grid parameters -> their outer product (in the
    order given); unchanged when any grid parameter has more than one dimension."""
    grid = {k: v for k, v in parameters.items() if k in spec.grid_params and k != spec.time_axis and v is not None}
    if any(np.ndim(v) > 1 for v in grid.values()):
        return parameters
    multi = {k: np.asarray(v) for k, v in grid.items() if np.size(v) > 1}
    if len(multi) < 2:
        return parameters
    return {**parameters, **dict(zip(multi, np.meshgrid(*multi.values(), indexing="ij")))}


def plot_theory_result(spec, result, parameters: dict, path=None, *, x=None, fields=None, title=None):
    """:func:`plot_theory` for a computed ``result`` of ``spec.theory(**parameters)`` (the
    command line uses it with the grid it expanded)."""
    plt = _pyplot()
    time_axis = spec.time_axis
    grid = {k: v for k, v in parameters.items() if k in spec.grid_params and v is not None and np.ndim(v) > 0 and np.size(v) > 1}
    if time_axis is not None:
        grid.pop(time_axis, None)
    first = getattr(result, spec.field_names[0])
    shape = np.shape(first)
    if time_axis is not None:
        time = np.asarray(parameters[time_axis], float)
        point_shape = shape[: len(shape) - time.ndim]
    else:
        time, point_shape = None, shape
    per_point = int(np.prod(shape))
    fields = tuple(fields or (f for f in spec.field_names if np.size(getattr(result, f)) == per_point))
    if time is not None:
        x_name = time_axis
        series_params = list(grid)
    else:
        multi = [k for k, v in grid.items() if np.unique(np.asarray(v, float)).size > 1]
        x_name = x or (multi[0] if multi else next(iter(grid), None))
        if x_name is None:
            raise ValueError("plot_theory needs a parameter with more than one value for the x-axis (x=...)")
        series_params = [k for k in multi if k != x_name]
    n_points = int(np.prod(point_shape))
    columns = {k: np.broadcast_to(np.asarray(v, float), point_shape).ravel() for k, v in grid.items()}
    keys = list(zip(*(columns[k] for k in series_params))) or [()] * n_points
    series = list(dict.fromkeys(keys))
    fig, axes = _panels(plt, len(fields))
    for ax, f in zip(axes, fields):
        y = np.asarray(getattr(result, f), float)
        ys = []
        for j, key in enumerate(series):
            sel = np.array([k == key for k in keys])
            label = ", ".join(f"{k} = {_format(v)}" for k, v in zip(series_params, key)) or None
            colour = f"C{j % 10}"
            if time is not None:
                rows = np.reshape(y, (n_points, -1))[sel]
                for r, row in enumerate(rows):
                    ax.plot(time, _finite(row), "-", color=colour, label=label if r == 0 else None)
                cx, cy = time, rows.ravel()
            else:
                cx = np.broadcast_to(np.asarray(parameters[x_name], float), shape).ravel()[sel]
                cy = y.ravel()[sel]
                order = np.argsort(cx, kind="stable")
                ax.plot(cx[order], _finite(cy[order]), "-", marker="." if cx.size < 40 else None, color=colour, label=label)
            ys.append(cy)
        xs = time if time is not None else np.asarray(parameters[x_name], float)
        ally = np.concatenate(ys) if ys else np.array([])
        _scales(ax, xs, ally[np.isfinite(ally)])
        ax.set_xlabel(_param_label(spec, x_name))
        ax.set_ylabel(_field_label(spec, f))
        ax.grid(alpha=0.3)
    if axes[0].get_legend_handles_labels()[1]:
        axes[0].legend(fontsize=7)
    line = _settings_line({k: v for k, v in parameters.items() if k not in grid and k != time_axis})
    _title(fig, title or f"{spec.name}: theory", line)
    return _finish(fig, path)
