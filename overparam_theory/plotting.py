"""Matplotlib figures: theory lines with simulation error bars (``Comparison.plot``)."""

from __future__ import annotations

import os

import numpy as np


def plot_comparison(report, path=None, *, fields=None, x=None):
    """One panel per observable: the dense theory curve (line), the theory at the simulated
    points (open circles) and simulation means with +-2 standard-error bars.  Points where the
    theory is infinite (interpolation threshold) are left out of the line.  Returns the figure.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from .compare import swept_parameter

    fields = tuple(fields or report.fields)
    x_name = swept_parameter(report.parameters, x)
    xs = np.broadcast_to(report.parameters[x_name], np.shape(report.z[fields[0]])).ravel()
    fig, axes = plt.subplots(1, len(fields), figsize=(4.2 * len(fields), 3.6), squeeze=False)
    for ax, f in zip(axes[0], fields):
        est = getattr(report.simulation, f)
        th = np.asarray(getattr(report.theory, f), float).ravel()
        if report.curve is not None and report.curve[0] == x_name:
            cx, cy = report.curve[1], np.asarray(getattr(report.curve[2], f), float)
            ax.plot(cx, np.where(np.isfinite(cy), cy, np.nan), "-", color="C0", label="theory")
        ax.plot(xs, np.where(np.isfinite(th), th, np.nan), "o", mfc="none", color="C0", ms=5)
        ax.errorbar(
            xs,
            np.asarray(est.mean).ravel(),
            yerr=2 * np.asarray(est.stderr).ravel(),
            fmt=".",
            color="C3",
            capsize=2,
            label=f"simulation (±2 s.e., {est.n_seeds} seeds)",
        )
        finite = np.concatenate([th[np.isfinite(th)], np.asarray(est.mean).ravel()])
        if finite.size and np.all(finite > 0) and finite.max() / max(finite.min(), 1e-300) > 50:
            ax.set_yscale("log")
        ax.set_xlabel(x_name)
        ax.set_title(f)
        ax.grid(alpha=0.3)
    dim = getattr(report.simulation, "dim", None)
    title = f"{report.model}: theory vs simulation" + (f" (d = {dim})" if dim else "")
    fig.suptitle(f"{title}, max |z| = {report.max_abs_z:.2f}")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    if path is not None:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        fig.savefig(path, dpi=120)
        plt.close(fig)
    return fig


def plot_theory(spec, grid, multi, result, path, *, time=None):
    """Every field of ``spec`` against the first swept grid parameter (one curve per value of
    the others), or against ``time`` for a trajectory model (one curve per grid point)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    # One value per grid point (and time): matrix-valued fields (the committee's overlaps) are
    # left to the table and the Python API.
    n_points = np.broadcast(*[np.asarray(v) for v in grid.values()]).size if grid else 1
    per_point = n_points * (np.size(time) if time is not None else 1)
    fields = [f for f in spec.field_names if np.size(getattr(result, f)) == per_point]
    fig, axes = plt.subplots(1, len(fields), figsize=(4.2 * len(fields), 3.6), squeeze=False)
    if time is not None:
        time = np.asarray(time, float)
        xs, x_name = time, "time"
        curves = lambda y: [(np.asarray(c), ", ".join(f"{k}={np.ravel(grid[k])[j]:g}" for k in multi) or None)
                            for j, c in enumerate(np.reshape(y, (-1, time.size)))]
    else:
        x_name = multi[0] if multi else next(iter(grid))
        size = np.size(getattr(result, fields[0]))
        xs = np.broadcast_to(grid[x_name], size)
        others = [k for k in multi if k != x_name]
        keys = [tuple(np.broadcast_to(grid[k], size)[i] for k in others) for i in range(size)]

        def curves(y):
            out = []
            for key in dict.fromkeys(keys):
                sel = np.array([kk == key for kk in keys])
                out.append((sel, ", ".join(f"{k}={v:g}" for k, v in zip(others, key)) or None))
            return out

    for ax, f in zip(axes[0], fields):
        y = np.atleast_1d(np.asarray(getattr(result, f), float))
        for j, (sel, label) in enumerate(curves(y)):
            cx, cy = (xs, sel) if time is not None else (xs[sel], y[sel])
            ax.plot(cx, np.where(np.isfinite(cy), cy, np.nan), "-", marker="." if np.size(cx) < 40 else None,
                    color=f"C{j % 10}", label=label)
        finite = y[np.isfinite(y)]
        if finite.size and np.all(finite > 0) and finite.max() / finite.min() > 50:
            ax.set_yscale("log")
        ax.set_xlabel(x_name)
        ax.set_title(f)
        ax.grid(alpha=0.3)
    if axes[0][0].get_legend_handles_labels()[1]:  # more than one curve
        axes[0][0].legend(fontsize=7)
    fig.suptitle(f"{spec.name}: theory")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
