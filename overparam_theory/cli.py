"""``overparam-theory``: the command line, generated from the model declarations.

``overparam-theory {list,theory,simulate,compare} MODEL [options]``: every option, its help and
default come from the registered model's :class:`~overparam_theory._spec.ModelSpec`.  A grid
value is a number, a comma list or ``start:stop:num``; several multi-valued grid parameters form
a Cartesian product.  Invalid input exits with status 2 and a one-line ``error:``; an
interrupted run exits with 130 and leaves no half-written file.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import itertools
import json
import os
import sys

import numpy as np

from ._results import json_safe
from ._spec import REGISTRY, REQUIRED, Boolean, Choice, Integer, Interval, Vector, parse_grid

__all__ = ["main", "parse_grid", "build_parser"]

PROG = "overparam-theory"
_SIMULATION_OPTIONS = ("dim", "n_seeds", "seed", "devices", "progress")
_EPILOG = ("GRID values: a number (0.5), a comma list (0.1,0.5,1), start:stop:num (num evenly spaced points, "
           "both ends included: 0:1:11 is 0, 0.1, ..., 1) or start:stop:num:log (num log-spaced points: "
           "1e-3:10:9:log). Several multi-valued parameters form a Cartesian product, one row per combination. "
           "A grid starting with '-' is written with '=': --alpha=-1:2:3. Defaults are the Python defaults; a "
           "parameter Python requires has a demonstration grid. Conventions: docs/conventions.md.")
_COMMANDS = {
    "theory": "Evaluate MODEL's asymptotic theory on a grid and write MODEL_theory.csv (or .json): one row per "
    "grid point with the parameters, every result field and the solver diagnostics.",
    "simulate": "Run MODEL's finite-size simulation on a grid and write MODEL_simulate.csv (or .json): seed "
    "mean and standard error of every field per grid point.",
    "compare": "Run theory and simulation with the same parameters (overparam_theory.compare) and write "
    "MODEL_compare.csv, .json and .png; print theory, simulation mean +- stderr and z per point.",
}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _param_help(p) -> str:
    extra = [f"symbol: {p.symbol}"] * bool(p.symbol) + [f"convention: {p.convention}"] * bool(p.convention)
    return "; ".join([p.help or p.name, *extra, f"valid: {p.describe()}"])


def _add_model_options(parser, spec, command):
    group = parser.add_argument_group(f"{spec.name} parameters")
    roles = ("model",) if command == "theory" else ("model", "simulate")
    for p in spec.params:
        if not p.on_cli or p.role not in roles or p.name in _SIMULATION_OPTIONS:
            continue
        c, kw = p.constraint, dict(dest=p.name, help=_param_help(p))
        if p.grid or isinstance(c, Vector):
            text = cli_default_text(p)
            kw.update(type=c.parse, default=c.parse(text), metavar="GRID")
            kw["help"] += f" (default: {text}" + ("; required in Python" if p.default is REQUIRED else "") + ")"
        elif isinstance(c, Choice):
            kw.update(choices=c.options, default=p.default)
            kw["help"] += f" (default: {p.default})"
        elif isinstance(c, Boolean):
            kw.update(action=argparse.BooleanOptionalAction, default=p.default)
        elif isinstance(c, (Integer, Interval)):
            kw.update(type=c.parse if isinstance(c, Integer) else float, default=p.default, metavar="X")
            kw["help"] += f" (default: {p.default})"
        group.add_argument(_flag(p.name), **kw)
    for opt in spec.cli_options:
        group.add_argument(_flag(opt.name), dest=opt.name, type=lambda text, parse=opt.parse: (text, parse(text)),
                           default=(opt.default, opt.parse(opt.default)), metavar=opt.metavar,
                           help=f"{opt.help} (default: {opt.default})")


def cli_default_text(p) -> str:
    """The command-line default of a grid parameter: the Python default, so that both interfaces
    compute the same thing; a parameter Python requires (or leaves to ``None``: "not given")
    takes the spec's ``cli_default``, a demonstration grid."""
    if p.default is REQUIRED or p.default is None:
        return p.cli_default
    if p.cli_default is not None and not np.array_equal(parse_grid(p.cli_default), np.atleast_1d(p.default)):
        raise ValueError(f"{p.name}: cli_default {p.cli_default!r} differs from the Python default {p.default!r}")
    return f"{p.default:g}"


def _add_common(parser, spec, command):
    out = parser.add_argument_group("output")
    out.add_argument("--out", metavar="DIR", default="results",
                     help="directory for the files written (default: results); '-' writes the table to stdout "
                     "(CSV, or JSON with --format json) and nothing else there (messages go to stderr)")
    out.add_argument("--name", metavar="STEM", default=None,
                     help="file name stem (default: MODEL_COMMAND followed by every setting that differs from its "
                     "default, e.g. ridge_theory_noise=0.25_ridge=1e-3, so runs with other settings do not "
                     "overwrite each other)")
    if command != "compare":
        out.add_argument("--format", choices=("csv", "json"), default="csv", help="table format (default: csv)")
    if command == "theory":
        out.add_argument("--plot", action="store_true", help="also write STEM.png: every field against the first "
                         "swept parameter, one curve per value of a second")
        out.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                         help="progress bar with ETA on stderr for grids of more than 8 points (default: on when "
                         "stderr is a terminal)")
        return
    sim = parser.add_argument_group("simulation")
    if spec.dim is not None:
        sim.add_argument("--dim", type=Integer(1).parse, default=spec.dim, metavar="D",
                         help=f"input dimension d of the simulation (default: {spec.dim})")
    n_seeds = spec.param("n_seeds").default
    sim.add_argument("--n-seeds", type=Integer(2).parse, default=n_seeds, metavar="S",
                     help=f"independent repetitions per point, >= 2 (default: {n_seeds})")
    sim.add_argument("--seed", type=Integer(0).parse, default=0, metavar="K",
                     help="integer seed >= 0; every grid point draws independent seeds from it (default: 0)")
    sim.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                     help="progress report on stderr (default: on when stderr is a terminal)")
    if command == "compare":
        sim.add_argument("--fail-above", type=float, default=None, metavar="Z",
                         help="exit with status 1 when the largest |z| over points and fields exceeds Z")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Exact asymptotics of solvable overparameterized models, checked against simulation.",
        epilog=f"Quick start: {PROG} compare ridge --ridge 1e-3 --noise 0.25 --out results/   |   {PROG} SUBCOMMAND MODEL --help",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks instead of one-line errors")
    sub = parser.add_subparsers(dest="command", metavar="SUBCOMMAND", required=True)
    p_list = sub.add_parser("list", help="list the models, their parameters and fields")
    p_list.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p_list.set_defaults(func=_cmd_list, _parser=p_list)
    for command, description in _COMMANDS.items():
        p_cmd = sub.add_parser(command, help=description.split(" and write")[0], description=description)
        models = p_cmd.add_subparsers(dest="model", metavar="MODEL", required=True)
        for name, spec in REGISTRY.items():
            p = models.add_parser(name, help=spec.summary, description=f"{description} Model: {spec.summary}.", epilog=_EPILOG)
            _add_model_options(p, spec, command)
            _add_common(p, spec, command)
            p.set_defaults(func=_HANDLERS[command], _parser=p, _spec=spec)
    return parser


# ---------------------------------------------------------------------------------------------
# From options to keyword arguments, and from results to rows.


def _expand(grid: dict):
    """Scalars stay scalars, one multi-valued parameter stays 1-D, several form a flattened
    Cartesian product (the first multi-valued parameter varies fastest)."""
    multi = [k for k, v in grid.items() if np.size(v) > 1]
    out = {k: float(np.ravel(v)[0]) for k, v in grid.items() if np.size(v) == 1}
    if len(multi) == 1:
        out[multi[0]] = np.asarray(grid[multi[0]], float)
    elif multi:
        cols = np.array(list(itertools.product(*(grid[k] for k in reversed(multi)))), float).T[::-1]
        out.update(zip(multi, cols))
    return {k: out[k] for k in grid}, multi


def _model_args(args, command):
    spec = args._spec
    roles = ("model",) if command == "theory" else ("model", "simulate")
    cli_params = [p for p in spec.params if p.on_cli and p.role in roles and p.name not in _SIMULATION_OPTIONS]
    grid = {p.name: getattr(args, p.name) for p in cli_params if p.grid}
    options = {o.name: getattr(args, o.name) for o in spec.cli_options}
    built = spec.cli_build({k: v[1] for k, v in options.items()}, grid) if spec.cli_build else {}
    fixed = {p.name: getattr(args, p.name) for p in cli_params if not p.grid}
    grid, multi = _expand(grid)
    described = {k: v[0] for k, v in options.items()}
    described.update({k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in fixed.items()})
    return spec, grid, multi, {**fixed, **built}, described


def _theory_columns(result, shape, time_axis) -> dict:
    """Fields shaped like the rows or, with a time axis, like the points (repeated on every
    time row), and the diagnostics."""
    points = tuple(shape[:-1]) if time_axis else tuple(shape)
    cols = {}
    for name in result._fields:
        value = getattr(result, name)
        if name == "diagnostics":
            cols.update(status=value.status, converged=value.converged, iterations=value.iterations, residual=value.residual)
        elif np.shape(value) in (tuple(shape), points):
            cols[name] = value
    return cols


def _rows(params: dict, columns: dict, shape) -> list[dict]:
    rows = []
    for idx in np.ndindex(*shape):
        row = {k: float(np.broadcast_to(v, shape)[idx]) for k, v in params.items()}
        for name, value in columns.items():
            value = np.asarray(value)
            row[name] = value[idx[: value.ndim]].item()  # per-point values repeat along a time axis
        rows.append(row)
    return rows


def _row_params(spec, grid: dict, kwargs: dict) -> dict:
    """Parameter columns, broadcastable to the result (a time axis becomes a trailing column)."""
    if spec.time_axis is None:
        return grid
    out = {k: (np.reshape(v, np.shape(v) + (1,)) if np.ndim(v) else v) for k, v in grid.items()}
    out[spec.time_axis] = np.asarray(kwargs[spec.time_axis], float)
    return out


@contextlib.contextmanager
def _atomic(path: str):
    """Yield a temporary name next to ``path``; rename it to ``path`` only when the block ends
    normally (an interrupted run leaves no half-written file)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
    tmp = f"{path}.partial-{os.getpid()}{os.path.splitext(path)[1]}"
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)


def _write_rows(rows: list[dict], path: str, fmt: str, meta: dict) -> str:
    with _atomic(path) as tmp, open(tmp, "w", newline="") as fh:
        if fmt == "json":
            json.dump(json_safe({"summary": meta, "rows": rows}), fh, indent=1, allow_nan=False)
        else:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return path


# ---------------------------------------------------------------------------------------------
# Subcommands.


def _cmd_list(args):
    info = {
        name: {
            "description": spec.summary,
            "parameters": [p.name for p in spec.model_params],
            "grid_parameters": list(spec.grid_params),
            "fields": list(spec.compared_fields),
            "parameter_ranges": {p.name: p.describe() for p in spec.model_params},
            "field_meanings": {f.name: f.meaning for f in spec.fields},
            "references": list(spec.references),
        }
        for name, spec in REGISTRY.items()
    }
    if args.json:
        print(json.dumps(info, indent=1))
        return 0
    for name, d in info.items():
        print(f"{name}: {d['description']}\n  " + "\n  ".join(
            f"{key.replace('_', ' ') + ':':<17}{', '.join(d[key])}" for key in ("parameters", "grid_parameters", "fields")))
    print(f"\nOptions of a model: {PROG} theory MODEL --help")
    return 0


def _token(value) -> str:
    """A short, file-name-safe spelling of an option's value (grids by their form)."""
    if isinstance(value, tuple):  # a CliOption: (text, parsed)
        return str(value[0])
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    v = np.atleast_1d(np.asarray(value, float)).ravel()
    if v.size == 1:
        return f"{v[0]:g}"
    if v.size > 2 and np.allclose(v, np.linspace(v[0], v[-1], v.size), rtol=1e-9, atol=0):
        return f"{v[0]:g}-{v[-1]:g}x{v.size}"
    if v.size > 2 and np.all(v > 0) and np.allclose(v, np.geomspace(v[0], v[-1], v.size), rtol=1e-9, atol=0):
        return f"{v[0]:g}-{v[-1]:g}x{v.size}log"
    return "+".join(f"{x:g}" for x in v)


def _stem(args, command: str) -> str:
    """``MODEL_COMMAND`` followed by ``name=value`` for every option that differs from its
    default (model parameters first, then the simulation options), or ``--name``.  Names longer
    than 120 characters end in a hash of the full settings instead."""
    if args.name:
        if os.sep in args.name or (os.altsep and os.altsep in args.name) or args.name in (".", ".."):
            raise ValueError(f"--name must be a file name stem without a directory, got {args.name!r}")
        return args.name
    parser = args._parser
    parts = []
    for action in parser._actions:
        dest = action.dest
        if dest in ("help", "out", "name", "format", "plot", "progress", "fail_above") or not action.option_strings:
            continue
        value, default = getattr(args, dest, None), action.default
        same = (value == default) if not isinstance(value, np.ndarray) else np.array_equal(value, default)
        if isinstance(value, tuple) and isinstance(default, tuple):
            same = value[0] == default[0]
        if not same:
            parts.append(f"{dest}={_token(value)}")
    stem = "_".join([f"{args._spec.name}_{command}", *parts])
    stem = "".join(c if c.isalnum() or c in "._=+-" else "-" for c in stem)
    if len(stem) > 120:
        import hashlib

        stem = stem[:100] + "_" + hashlib.sha1(stem.encode()).hexdigest()[:10]
    return stem


def _outputs(args, command: str):
    """``(directory or None for stdout, stem)``; progress and messages go to stderr when the
    table goes to stdout."""
    to_stdout = args.out == "-"
    if to_stdout and getattr(args, "plot", False):
        raise ValueError("--plot needs a directory: --out - writes only the table to stdout")
    return (None if to_stdout else args.out), _stem(args, command)


def _info(args, text: str) -> None:
    print(text, file=sys.stderr if args.out == "-" else sys.stdout, flush=True)


def _format_cell(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    return str(value)


def format_table(rows: list[dict], *, max_rows: int = 60) -> str:
    """Rows as an aligned plain-text table (the first and last rows when there are more than
    ``max_rows``)."""
    if not rows:
        return "(no rows)"
    names = list(rows[0])
    shown = rows if len(rows) <= max_rows else rows[: max_rows - 10] + [None] + rows[-10:]
    cells = [[_format_cell(r[n]) for n in names] if r is not None else None for r in shown]
    widths = [max(len(n), *(len(c[k]) for c in cells if c is not None)) for k, n in enumerate(names)]
    lines = ["  ".join(n.rjust(w) for n, w in zip(names, widths))]
    for c in cells:
        lines.append(f"... ({len(rows) - max_rows + 1} more rows) ..." if c is None else "  ".join(x.rjust(w) for x, w in zip(c, widths)))
    return "\n".join(lines)


def _emit(rows: list[dict], directory, stem: str, fmt: str, meta: dict):
    """Write the rows to ``directory/stem.fmt`` (atomically) or to stdout; returns the path."""
    if directory is None:
        if fmt == "json":
            json.dump(json_safe({"summary": meta, "rows": rows}), sys.stdout, indent=1, allow_nan=False)
            sys.stdout.write("\n")
        else:
            writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        sys.stdout.flush()
        return None
    return _write_rows(rows, os.path.join(directory, f"{stem}.{fmt}"), fmt, meta)


def _cmd_theory(args):
    from .numerics.grid import progress as theory_progress
    from .plotting import plot_theory_result

    directory, stem = _outputs(args, "theory")
    spec, grid, multi, fixed, described = _model_args(args, "theory")
    with theory_progress(bool(args.progress), f"{spec.name} theory"):
        result = spec.theory(**grid, **fixed)
    shape = np.shape(getattr(result, spec.field_names[0]))
    rows = _rows(_row_params(spec, grid, fixed), _theory_columns(result, shape, spec.time_axis), shape)
    meta = {"model": spec.name, "command": "theory", **described}
    written = [_emit(rows, directory, stem, args.format, meta)]
    if args.plot:
        png = os.path.join(directory, f"{stem}.png")
        with _atomic(png) as tmp:
            # titles state the options as given (``--spectrum two-level:0.2,5,0.5``), not the objects built
            plot_theory_result(spec, result, {**grid, **fixed, **described}, tmp)
        written.append(png)
    n_bad = int(np.sum(np.asarray(result.diagnostics.status) != 0))
    if directory is not None:
        print(format_table(rows))
    _info(args, f"{spec.name} theory: {len(rows)} row(s)" + (f", {n_bad} point(s) failed (NaN)" if n_bad else ""))
    _info(args, "\n".join(f"wrote {p}" for p in written if p is not None))
    return 0


def _sim_kwargs(spec, grid, args):
    """The simulation options; announces the run (simulations can take a while)."""
    kw = dict(n_seeds=args.n_seeds, seed=args.seed, progress=bool(args.progress))
    if spec.dim is not None:
        kw["dim"] = args.dim
    n_points = max([np.size(v) for v in grid.values()] or [1])
    _info(args, f"simulating {spec.name}: {n_points} point(s) x {args.n_seeds} seeds"
          + (f" at d = {args.dim}" if spec.dim is not None else ""))
    return kw


def _cmd_simulate(args):
    directory, stem = _outputs(args, "simulate")
    spec, grid, multi, fixed, described = _model_args(args, "simulate")
    sim = spec.simulate(**grid, **fixed, **_sim_kwargs(spec, grid, args))
    shape = np.shape(getattr(sim, spec.field_names[0]).mean)
    estimates = {f: getattr(sim, f) for f in spec.field_names if hasattr(sim, f)}
    columns = {f + suffix: getattr(e, attr) for f, e in estimates.items() for attr, suffix in (("mean", "_mean"), ("stderr", "_stderr"))}
    lead = len(shape) - (1 if spec.time_axis else 0)
    for name, column in (("n_samples", "n_samples"), ("alpha", "alpha_realized")):
        if hasattr(sim, name):
            columns[column] = np.broadcast_to(np.asarray(getattr(sim, name)), shape[:lead])
    rows = _rows(_row_params(spec, grid, fixed), columns, shape)
    for row in rows:
        row["n_seeds"] = args.n_seeds
    meta = {"model": spec.name, "command": "simulate", "dim": getattr(sim, "dim", None), "n_seeds": args.n_seeds,
            "seed": args.seed, **described}
    path = _emit(rows, directory, stem, args.format, meta)
    if directory is not None:
        print(format_table(rows))
        print(f"wrote {path}")
    return 0


def _cmd_compare(args):
    from .compare import compare

    directory, stem = _outputs(args, "compare")
    spec, grid, multi, fixed, described = _model_args(args, "compare")
    report = compare(spec, **grid, **fixed, **_sim_kwargs(spec, grid, args))
    # options as given (``--spectrum two-level:...``), not the objects built: title and JSON record
    report = dataclasses.replace(report, settings={**report.settings, **described})
    if directory is None:
        _emit(report.rows(), None, stem, "csv", report.record())
        print(report.table(), file=sys.stderr)
    else:
        stem = os.path.join(directory, stem)
        for suffix, write in ((".csv", report.to_csv), (".json", report.to_json), (".png", report.plot)):
            with _atomic(stem + suffix) as tmp:
                write(tmp)
        print(report.table())
        for suffix in (".csv", ".json", ".png"):
            print(f"wrote {stem + suffix}")
    if args.fail_above is not None and report.max_abs_z > args.fail_above:
        print(f"max |z| = {report.max_abs_z:.2f} exceeds --fail-above {args.fail_above:g}", file=sys.stderr)
        return 1
    return 0


_HANDLERS = {"theory": _cmd_theory, "simulate": _cmd_simulate, "compare": _cmd_compare}


def _cli_names(message: str, spec) -> str:
    """Prefix a library message that starts with a parameter's name by its option's spelling."""
    names = sorted((p.name for p in spec.params), key=len, reverse=True) if spec is not None else []
    first = next((n for n in names if message.startswith((n + " ", n + ":"))), None)
    return f"{_flag(first)}: {message}" if first else message


def main(argv=None) -> int:
    """Entry point of the ``overparam-theory`` console script; returns the exit status."""
    import overparam_theory  # noqa: F401  (registers every model)

    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "progress", False) is None:
        args.progress = sys.stderr.isatty()
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; no partial output was kept", file=sys.stderr)
        return 130
    except ValueError as exc:  # the library's validation errors name the bad argument
        if args.debug:
            raise
        args._parser.error(_cli_names(str(exc), getattr(args, "_spec", None)))
    except BrokenPipeError:  # the reader of --out - stopped early (``| head``): not an error to report
        with contextlib.suppress(OSError, ValueError):
            # point stdout at /dev/null so that the interpreter's final flush cannot fail again
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # what a shell reports for a process ended by SIGPIPE
    except OSError as exc:  # e.g. --out names an existing file or an unwritable directory
        if args.debug:
            raise
        args._parser.error(f"cannot write the output: {exc}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
