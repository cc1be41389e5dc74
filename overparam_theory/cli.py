"""``overparam-theory``: the command-line front end (theory tables, simulations, comparisons).

Subcommands::

    overparam-theory list [--json]
    overparam-theory theory   MODEL [parameters] [--out DIR] [--format csv|json] [--plot]
    overparam-theory simulate MODEL [parameters] [--dim D] [--n-seeds S] [--seed K] [--out DIR]
    overparam-theory compare  MODEL [parameters] [--dim D] [--n-seeds S] [--seed K] [--out DIR]
                              [--fail-above Z]

``MODEL`` is a key of :data:`overparam_theory.MODELS` (``ridge``, ``kernel``, ``random_features``,
``glm``);
``overparam-theory SUBCOMMAND MODEL --help`` lists that model's parameters.  A grid value is a
scalar (``0.5``), a comma list (``0.1,0.5,1``) or ``start:stop:num`` (``numpy.linspace``).
When several parameters have more than one value, their Cartesian product is evaluated (one
row per combination).  Invalid input exits with status 2 and a one-line ``error:`` message.

Conventions (docs/conventions.md): ``alpha = n/d``; the ridge of ``ridge`` is the penalty on
the *averaged* loss, the ridge of ``kernel`` is the one in ``(K + ridge I_n)`` (not multiplied
by ``n``); ``noise`` is a variance; ``signal`` a squared norm.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import sys

import numpy as np

from ._results import json_safe

__all__ = ["main", "parse_grid"]

PROG = "overparam-theory"


# ---------------------------------------------------------------------------------------------
# Parsing of values.


def parse_grid(text: str) -> np.ndarray:
    """Parse ``start:stop:num`` (linspace), ``a,b,c`` (list) or a scalar into a 1-D float array.

    Raises ``argparse.ArgumentTypeError`` (so argparse reports the option name) on bad syntax.
    Range checks are left to the library's validation.
    """
    s = str(text).strip()
    try:
        if ":" in s:
            parts = s.split(":")
            if len(parts) != 3:
                raise ValueError
            start, stop = float(parts[0]), float(parts[1])
            num = int(parts[2])
            if num < 1:
                raise argparse.ArgumentTypeError(f"{text!r}: the number of points in start:stop:num must be >= 1")
            values = np.linspace(start, stop, num)
        elif "," in s:
            values = np.array([float(p) for p in s.split(",") if p.strip() != ""])
            if values.size == 0:
                raise ValueError
        else:
            values = np.array([float(s)])
    except argparse.ArgumentTypeError:
        raise
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid value {text!r}: expected a number, a comma list 'a,b,c' or a grid 'start:stop:num'"
        ) from None
    if not np.all(np.isfinite(values)):
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: values must be finite numbers")
    return values


def parse_int_grid(text: str) -> np.ndarray:
    """Like :func:`parse_grid`, rounded to integers (duplicates removed, order kept)."""
    values = np.rint(parse_grid(text))
    _, first = np.unique(values, return_index=True)
    return values[np.sort(first)]


def _split_spec(text: str, name: str, forms: dict) -> tuple[str, list[float]]:
    """Parse ``KIND`` or ``KIND:a,b,c``; ``forms`` maps each KIND to its syntax (``KIND:A,B``),
    from which the number of arguments is read."""
    kind, _, rest = str(text).strip().partition(":")
    kind = kind.strip().lower()
    if kind not in forms:
        raise argparse.ArgumentTypeError(f"invalid {name} {text!r}: choose from {', '.join(forms.values())}")
    expected = forms[kind].count(",") + (1 if ":" in forms[kind] else 0)
    try:
        args = [float(p) for p in rest.split(",")] if rest.strip() else []
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid {name} {text!r}: expected {forms[kind]}") from None
    if len(args) != expected:
        raise argparse.ArgumentTypeError(f"invalid {name} {text!r}: expected {forms[kind]}")
    return kind, args


_RIDGE_SPECTRA = {
    "identity": "identity",
    "two-level": "two-level:FRAC,TOP,BOTTOM",
    "power-law": "power-law:N_MODES,EXPONENT",
}
_POWER_LAW = {"power-law": "power-law:EXPONENT"}
_TEACHERS = {"isotropic": "isotropic", "power-law": "power-law:EXPONENT"}
_KERNEL_SPECTRA = {"power-law": "power-law:N_MODES,EXPONENT"}


def _integer(value: float, name: str, text: str) -> int:
    if not float(value).is_integer():
        raise argparse.ArgumentTypeError(f"invalid {name} {text!r}: N_MODES must be an integer")
    return int(value)


def parse_ridge_spectrum(text: str):
    kind, args = _split_spec(text, "spectrum", _RIDGE_SPECTRA)
    if kind == "identity":
        return (kind,)
    if kind == "two-level":
        return (kind, *args)
    return (kind, _integer(args[0], "spectrum", text), args[1])


def parse_teacher(text: str):
    kind, args = _split_spec(text, "teacher", _TEACHERS)
    return (kind, *args)


def parse_kernel_spectrum(text: str):
    kind, args = _split_spec(text, "kernel spectrum", _KERNEL_SPECTRA)
    return (kind, _integer(args[0], "kernel spectrum", text), args[1])


def parse_target(text: str):
    kind, args = _split_spec(text, "target", _POWER_LAW)
    return (kind, *args)


def _spec_text(spec) -> str:
    kind, *args = spec
    fmt = lambda v: str(int(v)) if float(v).is_integer() else f"{v:g}"
    return kind + (":" + ",".join(fmt(a) for a in args) if args else "")


# ---------------------------------------------------------------------------------------------
# Model descriptions: CLI options -> library keyword arguments.


class _ModelCLI:
    """How one model family is exposed on the command line."""

    name: str
    grid_options: tuple  # (library name, flag, parser, default text, help)

    def add_arguments(self, parser):
        group = parser.add_argument_group(f"{self.name} parameters")
        for pname, flag, parse, default, help_ in self.grid_options:
            group.add_argument(
                flag,
                dest=pname,
                type=parse,
                default=parse(default),
                metavar="GRID",
                help=f"{help_} (default: {default})",
            )
        self.add_extra_arguments(group)

    def add_extra_arguments(self, group):
        pass

    def grid(self, args) -> dict:
        return {pname: getattr(args, pname) for pname, *_ in self.grid_options}

    def fixed(self, args) -> dict:
        """Non-grid keyword arguments (spectra, targets) built from the parsed options."""
        return {}

    def describe(self, args) -> dict:
        """Non-grid settings, as text, for the JSON metadata."""
        return {}

    time_axis = False  # results carry a trailing time axis (``--time``), one row per (point, time)


class _RidgeCLI(_ModelCLI):
    name = "ridge"
    grid_options = (
        (
            "alpha",
            "--alpha",
            parse_grid,
            "0.2:3:15",
            "samples per input dimension alpha = n/d > 0 (Hastie et al. write gamma = d/n = 1/alpha); "
            "the interpolation peak of min-norm least squares is at alpha = 1",
        ),
        (
            "ridge",
            "--ridge",
            parse_grid,
            "1e-3",
            "ridge penalty >= 0 on the averaged loss (1/n)||y - X b||^2 + ridge ||b||^2 "
            "(scikit-learn Ridge(alpha = n * ridge)); 0 is min-norm least squares",
        ),
        (
            "signal",
            "--signal",
            parse_grid,
            "1",
            "teacher squared norm ||beta||^2 = r^2 >= 0, with unit-variance covariate coordinates "
            "x ~ N(0, Sigma), Sigma = I when isotropic (a scalar when --spectrum is not identity)",
        ),
        (
            "noise",
            "--noise",
            parse_grid,
            "0.25",
            "label-noise variance sigma^2 >= 0 (a variance, not a standard deviation); "
            "the risks reported are excess risks, total test error = excess_risk + noise",
        ),
    )

    def add_extra_arguments(self, group):
        group.add_argument(
            "--spectrum",
            type=parse_ridge_spectrum,
            default=("identity",),
            metavar="SPEC",
            help="covariance Sigma of the covariates: 'identity' (Sigma = I, closed form of Hastie et al.; "
            "default), 'two-level:FRAC,TOP,BOTTOM' (a fraction FRAC of the d eigenvalues equal TOP, the rest "
            "BOTTOM; spectra.two_level) or 'power-law:N_MODES,EXPONENT' (eigenvalues k^-EXPONENT, "
            "k = 1..N_MODES, each on a fraction 1/N_MODES of the d directions; spectra.power_law). "
            "Simulations need every level to get an integer number of directions (e.g. --dim a multiple "
            "of N_MODES)",
        )
        group.add_argument(
            "--teacher",
            type=parse_teacher,
            default=("isotropic",),
            metavar="SPEC",
            help="teacher direction: 'isotropic' (uniform direction, ||beta||^2 = SIGNAL; default) or "
            "'power-law:EXPONENT' (needs a non-identity --spectrum): teacher_power_k = SIGNAL * w_k "
            "k^-EXPONENT / sum_j w_j j^-EXPONENT for the spectrum levels k = 1..K in the order listed "
            "under --spectrum (w_k = fraction of directions at level k), i.e. the squared teacher "
            "coefficient per direction is proportional to k^-EXPONENT and ||beta||^2 = SIGNAL",
        )

    def fixed(self, args):
        from .numerics import spectra

        kind, *p = args.spectrum
        teacher_kind, *tp = args.teacher
        if kind == "identity":
            if teacher_kind != "isotropic":
                raise ValueError(
                    "--teacher power-law needs an anisotropic --spectrum (two-level:... or power-law:...); "
                    "with --spectrum identity every direction is equivalent"
                )
            return {}
        spectrum = spectra.two_level(*p) if kind == "two-level" else spectra.power_law(int(p[0]), p[1])
        out = {"spectrum": spectrum}
        if teacher_kind == "power-law":
            signal = np.asarray(args.signal)
            if signal.size != 1:
                raise ValueError("signal must be a single value with --teacher power-law (it is the teacher's ||beta||^2)")
            w = np.asarray(spectrum.weights, float)
            k = np.arange(1, w.size + 1, dtype=float)
            power = w * k ** (-tp[0])
            out["teacher_power"] = float(signal[0]) * power / power.sum()
        return out

    def grid(self, args):
        grid = super().grid(args)
        if args.teacher[0] == "power-law":
            grid.pop("signal")  # folded into teacher_power
        return grid

    def describe(self, args):
        return {"spectrum": _spec_text(args.spectrum), "teacher": _spec_text(args.teacher)}


class _KernelCLI(_ModelCLI):
    name = "kernel"
    grid_options = (
        (
            "n_samples",
            "--n-samples",
            parse_int_grid,
            "10:300:10",
            "number of training samples n >= 1 (rounded to integers, duplicates removed)",
        ),
        (
            "ridge",
            "--ridge",
            parse_grid,
            "1e-3",
            "ridge >= 0 of the predictor k(x)^T (K + ridge I_n)^{-1} y, NOT multiplied by n "
            "(scikit-learn KernelRidge(alpha = ridge); the linear-ridge penalty is ridge/n); 0 is the "
            "ridgeless interpolant",
        ),
        (
            "noise",
            "--noise",
            parse_grid,
            "0.1",
            "label-noise variance >= 0 (a variance); test_error includes it, excess_risk does not",
        ),
    )

    def add_extra_arguments(self, group):
        group.add_argument(
            "--kernel-spectrum",
            type=parse_kernel_spectrum,
            default=parse_kernel_spectrum("power-law:2000,1.5"),
            metavar="SPEC",
            help="kernel eigenvalues: 'power-law:N_MODES,EXPONENT', eta_k = k^-EXPONENT for k = 1..N_MODES, "
            "no normalisation (default: power-law:2000,1.5). The simulation uses the synthetic kernel with "
            "Gaussian features z ~ N(0, I_N_MODES); cost per seed ~ n^2 N_MODES",
        )
        group.add_argument(
            "--target",
            type=parse_target,
            default=parse_target("power-law:1"),
            metavar="SPEC",
            help="target coefficients in the kernel eigenbasis: 'power-law:EXPONENT', v_k = k^-EXPONENT "
            "(the coefficients v_k, not their squares; default: power-law:1)",
        )

    def fixed(self, args):
        from .numerics import spectra

        _, n_modes, exponent = args.kernel_spectrum
        eig = np.asarray(spectra.power_law(n_modes, exponent).eigenvalues)
        k = np.arange(1, n_modes + 1, dtype=float)
        return {"eigenvalues": eig, "target": k ** (-args.target[1])}

    def describe(self, args):
        return {"kernel_spectrum": _spec_text(args.kernel_spectrum), "target": _spec_text(args.target)}


class _RandomFeaturesCLI(_ModelCLI):
    name = "random_features"
    grid_options = (
        (
            "alpha",
            "--alpha",
            parse_grid,
            "0.2:3:15",
            "samples per input dimension alpha = n/d > 0 (Mei & Montanari's psi_2)",
        ),
        (
            "width",
            "--width",
            parse_grid,
            "1",
            "random features per input dimension width = N/d > 0 (psi_1); the interpolation peak of the "
            "ridgeless fit is at width = alpha",
        ),
        (
            "ridge",
            "--ridge",
            parse_grid,
            "1e-3",
            "ridge lambda >= 0 in Mei & Montanari's convention: (N lambda/d)||a||^2 added to the averaged loss "
            "(1/n) sum (y - a^T z)^2; 0 is the min-norm interpolator",
        ),
        ("signal", "--signal", parse_grid, "1", "power of the linear part of the target F_1^2 = ||beta_1||^2 >= 0"),
        (
            "nonlinear_signal",
            "--nonlinear-signal",
            parse_grid,
            "0",
            "power of the nonlinear part of the target F_*^2 = E f_NL^2 >= 0",
        ),
        ("noise", "--noise", parse_grid, "0.25", "label-noise variance tau^2 >= 0 (a variance)"),
    )

    def add_extra_arguments(self, group):
        from .random_features._activations import BUILTINS

        group.add_argument(
            "--activation",
            choices=tuple(BUILTINS),
            default="relu",
            help="activation sigma of the features sigma(<theta, x>/sqrt d) (default: relu); its Hermite "
            "coefficients mu0, mu1, mu_star enter the theory ('linear' has mu_star = 0 and is refused by the "
            "theory)",
        )

    def fixed(self, args):
        return {"activation": args.activation}

    def describe(self, args):
        return {"activation": args.activation}


def _add_loss_argument(group):
    from .numerics.prox import LOSSES

    group.add_argument(
        "--loss", choices=tuple(LOSSES), default="logistic", help="ERM loss of the margin (default: logistic)"
    )


class _GLMCLI(_ModelCLI):
    name = "glm"
    grid_options = (
        ("alpha", "--alpha", parse_grid, "0.2:4:12", "samples per input dimension alpha = n/d > 0"),
        (
            "ridge",
            "--ridge",
            parse_grid,
            "0.01",
            "penalty lambda >= 0 on the *summed* loss, sum_mu l + (lambda/2)|w|^2 (scikit-learn C = 1/lambda on "
            "features x/sqrt d); hinge needs > 0 in theory (ridge -> 0+ is the max-margin limit)",
        ),
        (
            "noise",
            "--noise",
            parse_grid,
            "0",
            "variance of the teacher's pre-sign noise (probit: Gaussian, logistic: logistic-distributed; "
            "linear teacher: label noise); 0 for the sign teacher",
        ),
        ("flip", "--flip", parse_grid, "0", "label-flip probability in [0, 1/2]"),
        ("signal", "--signal", parse_grid, "1", "teacher variance rho = |w*|^2/d > 0"),
    )

    def add_extra_arguments(self, group):
        from .glm._channels import TEACHERS

        _add_loss_argument(group)
        group.add_argument(
            "--teacher",
            choices=TEACHERS,
            default="sign",
            help="teacher channel y = sign(z + noise) with label flips, or 'linear' regression (default: sign)",
        )

    def fixed(self, args):
        return {"loss": args.loss, "teacher": args.teacher}

    def describe(self, args):
        return {"loss": args.loss, "teacher": args.teacher}


class _AMPCLI(_ModelCLI):
    name = "amp"
    grid_options = (
        ("alpha", "--alpha", parse_grid, "0.2:4:12", "samples per input dimension alpha = n/d > 0"),
        (
            "noise",
            "--noise",
            parse_grid,
            "0",
            "variance Delta >= 0 of the Gaussian noise (added to the output of linear/relu/abs; before the sign "
            "for sign); 0 is the exact noiseless channel",
        ),
        ("flip", "--flip", parse_grid, "0", "label-flip probability in [0, 1/2] (sign channel only)"),
        ("sparsity", "--sparsity", parse_grid, "1", "fraction eps in (0, 1] of non-zero teacher weights (1: Gaussian prior)"),
        ("nonzero_variance", "--nonzero-variance", parse_grid, "1", "variance v > 0 of the non-zero teacher weights"),
        (
            "initial_snr",
            "--initial-snr",
            parse_grid,
            "1e-6",
            "SNR >= 0 of the side information of the uninformed start (breaks the symmetry of the abs channel)",
        ),
    )

    def add_extra_arguments(self, group):
        from .amp import CHANNELS

        group.add_argument(
            "--channel", choices=CHANNELS, default="sign", help="output channel of the teacher (default: sign)"
        )

    def fixed(self, args):
        return {"channel": args.channel}

    def describe(self, args):
        return {"channel": args.channel}


class _LassoCLI(_ModelCLI):
    name = "lasso"
    grid_options = (
        ("alpha", "--alpha", parse_grid, "0.1:1:10", "measurements per unknown alpha = n/N > 0 (the spec's delta)"),
        (
            "l1_penalty",
            "--l1-penalty",
            parse_grid,
            "0.5",
            "lambda >= 0 of (1/2)||y - A x||^2 + lambda ||x||_1, A_ij ~ N(0, 1/n) (scikit-learn Lasso alpha = lambda/n); "
            "0: basis pursuit / least squares",
        ),
        ("sparsity", "--sparsity", parse_grid, "0.1", "fraction eps in (0, 1] of non-zero entries of x0"),
        ("noise", "--noise", parse_grid, "0.01", "variance sigma^2 >= 0 of the measurement noise"),
        ("nonzero_variance", "--nonzero-variance", parse_grid, "1", "variance v > 0 of the non-zero entries of x0"),
    )


class _MixturesCLI(_ModelCLI):
    name = "mixtures"
    grid_options = (
        ("alpha", "--alpha", parse_grid, "0.2:4:12", "samples per input dimension alpha = n/d > 0"),
        (
            "ridge",
            "--ridge",
            parse_grid,
            "0.01",
            "penalty lambda >= 0 on the *summed* loss, sum_mu l + (lambda/2)|w|^2, intercept unpenalised "
            "(scikit-learn C = 1/lambda on features x/sqrt d); hinge needs > 0 (ridge -> 0+: mixtures.max_margin)",
        ),
        ("noise", "--noise", parse_grid, "1", "variance Delta > 0 of the Gaussian noise around the class means +-v*/sqrt d"),
        ("imbalance", "--imbalance", parse_grid, "0.5", "fraction rho_+ in (0, 1) of samples with label +1"),
    )

    def add_extra_arguments(self, group):
        _add_loss_argument(group)
        group.add_argument(
            "--intercept",
            action=argparse.BooleanOptionalAction,
            default=False,
            help="fit an unpenalised intercept b (default: no intercept, b = 0)",
        )

    def fixed(self, args):
        return {"loss": args.loss, "intercept": bool(args.intercept)}

    def describe(self, args):
        return {"loss": args.loss, "intercept": bool(args.intercept)}


def _add_time_argument(group, default, help_):
    group.add_argument(
        "--time", type=parse_grid, default=parse_grid(default), metavar="GRID", help=f"{help_} (default: {default})"
    )


class _LinearDynamicsCLI(_RidgeCLI):
    """Gradient flow / descent on least squares: the ridge model's options without --ridge,
    plus a time axis and an optional learning rate."""

    name = "linear_dynamics"
    time_axis = True
    grid_options = tuple(o for o in _RidgeCLI.grid_options if o[0] != "ridge")

    def add_extra_arguments(self, group):
        super().add_extra_arguments(group)
        _add_time_argument(
            group,
            "0:20:41",
            "times t >= 0 of the trajectory (gradient flow time; gradient descent: t = steps * learning rate); "
            "the results carry this as a trailing axis, one row per (grid point, time)",
        )
        group.add_argument(
            "--learning-rate",
            type=float,
            default=None,
            metavar="LR",
            help="gradient-descent step size on L(w) = |y - X w|^2/(2n); omitted: gradient flow",
        )

    def fixed(self, args):
        out = super().fixed(args)
        out.update(time=args.time, learning_rate=args.learning_rate)
        return out

    def describe(self, args):
        out = super().describe(args)
        out["learning_rate"] = "gradient flow" if args.learning_rate is None else args.learning_rate
        return out


class _CommitteeCLI(_ModelCLI):
    name = "committee"
    time_axis = True
    grid_options = (
        ("learning_rate", "--learning-rate", parse_grid, "0.5", "first-layer SGD learning rate eta > 0 (Saad & Solla)"),
        ("noise", "--noise", parse_grid, "0", "variance >= 0 of the Gaussian noise on the teacher's output"),
        (
            "second_layer_learning_rate",
            "--second-layer-learning-rate",
            parse_grid,
            "0",
            "learning rate >= 0 of the student's second layer (0: fixed, the soft committee machine)",
        ),
    )

    def add_extra_arguments(self, group):
        _add_time_argument(
            group, "0:300:61", "times t = steps/d >= 0 of the trajectory; one row per (grid point, time)"
        )
        group.add_argument("--student-width", type=_int_option("student-width"), default=2, metavar="K",
                           help="hidden units K >= 1 of the student (default: 2)")
        group.add_argument("--teacher-width", type=_int_option("teacher-width"), default=2, metavar="M",
                           help="hidden units M >= 1 of the teacher (default: 2)")

    def fixed(self, args):
        return {"time": args.time, "student_width": args.student_width, "teacher_width": args.teacher_width}

    def describe(self, args):
        return {"student_width": args.student_width, "teacher_width": args.teacher_width}


_CLIS = {"ridge": _RidgeCLI(), "kernel": _KernelCLI(), "random_features": _RandomFeaturesCLI(), "glm": _GLMCLI(), "amp": _AMPCLI(), "lasso": _LassoCLI(),
         "mixtures": _MixturesCLI(), "linear_dynamics": _LinearDynamicsCLI(), "committee": _CommitteeCLI()}


# ---------------------------------------------------------------------------------------------
# Grid handling and output.


def _expand(grid: dict):
    """Scalars stay scalars; one multi-valued parameter stays 1-D; several form a flattened
    Cartesian product (the first multi-valued parameter varies fastest)."""
    multi = [k for k, v in grid.items() if np.size(v) > 1]
    out = {k: float(np.ravel(v)[0]) for k, v in grid.items() if np.size(v) == 1}
    if len(multi) == 1:
        out[multi[0]] = np.asarray(grid[multi[0]], float)
    elif multi:
        # product over reversed order so that the first multi-valued parameter varies fastest
        combos = list(itertools.product(*(grid[k] for k in reversed(multi))))
        cols = np.array(combos, float).T[::-1]
        out.update({k: c for k, c in zip(multi, cols)})
    ordered = {k: out[k] for k in grid}
    return ordered, multi


def _fmt(value):
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    return float(value)


def _table(grid: dict, result, names, shape, suffixes=None) -> list[dict]:
    rows = []
    for idx in np.ndindex(shape):
        row = {k: float(np.broadcast_to(v, shape)[idx]) for k, v in grid.items()}
        for name in names:
            value = getattr(result, name)
            if suffixes is None:
                value = np.asarray(value)
                row[name] = _fmt(value[idx[: value.ndim]])  # per-point diagnostics lack the time axis
            else:
                for attr, suffix in suffixes:
                    row[name + suffix] = _fmt(np.broadcast_to(np.asarray(getattr(value, attr)), shape)[idx])
        rows.append(row)
    return rows


def _write_rows(rows: list[dict], path: str, fmt: str, meta: dict) -> str:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    if fmt == "json":
        with open(path, "w") as fh:
            json.dump(json_safe({"summary": meta, "rows": rows}), fh, indent=1, allow_nan=False)
    else:
        with open(path, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return path


def _scalar_fields(result, shape) -> list[str]:
    return [f for f in result._fields if np.shape(getattr(result, f)) == tuple(shape)]


def _point_fields(cli, result, shape) -> list[str]:
    """Per-point fields (diagnostics) of a trajectory model: shaped like the grid without the
    time axis; they are repeated on every time row."""
    if not cli.time_axis:
        return []
    lead = tuple(shape[:-1])
    return [f for f in result._fields if np.shape(getattr(result, f)) == lead and lead != tuple(shape)]


def _row_grid(cli, grid: dict, args) -> dict:
    """Parameter columns of the output table, broadcastable to the result shape (for trajectory
    models the grid gains a trailing axis and ``time`` is a column)."""
    if not cli.time_axis:
        return grid
    out = {k: (np.reshape(v, np.shape(v) + (1,)) if np.ndim(v) else v) for k, v in grid.items()}
    out["time"] = np.asarray(args.time, float)
    return out


def _plot_trajectories(model, grid, multi, result, path, time):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fields = model.FIELDS
    time = np.asarray(time, float)
    fig, axes = plt.subplots(1, len(fields), figsize=(4.2 * len(fields), 3.6), squeeze=False)
    for ax, f in zip(axes[0], fields):
        y = np.asarray(getattr(result, f), float).reshape(-1, time.size)
        for j, curve in enumerate(y):
            label = ", ".join(f"{k}={np.ravel(grid[k])[j]:g}" for k in multi) or None
            ax.plot(time, np.where(np.isfinite(curve), curve, np.nan), "-", color=f"C{j % 10}", label=label)
        finite = y[np.isfinite(y)]
        if finite.size and np.all(finite > 0) and finite.max() / finite.min() > 50:
            ax.set_yscale("log")
        ax.set_xlabel("time")
        ax.set_title(f)
        ax.grid(alpha=0.3)
    if multi:
        axes[0][0].legend(fontsize=7)
    fig.suptitle(f"{model.NAME}: theory")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _plot_theory(model, grid, multi, result, path, x_name):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fields = model.FIELDS
    size = np.size(getattr(result, fields[0]))  # the grid is flat (see _expand): 1-D or a scalar
    xs = np.broadcast_to(grid[x_name], size)
    others = [k for k in multi if k != x_name]
    keys = [tuple(np.broadcast_to(grid[k], size)[i] for k in others) for i in range(size)]
    fig, axes = plt.subplots(1, len(fields), figsize=(4.2 * len(fields), 3.6), squeeze=False)
    for ax, f in zip(axes[0], fields):
        y = np.atleast_1d(np.asarray(getattr(result, f), float))
        for j, key in enumerate(dict.fromkeys(keys)):
            sel = np.array([kk == key for kk in keys])
            label = ", ".join(f"{k}={v:g}" for k, v in zip(others, key)) or None
            yy = np.where(np.isfinite(y[sel]), y[sel], np.nan)
            ax.plot(xs[sel], yy, "-", marker="." if sel.sum() < 40 else None, color=f"C{j % 10}", label=label)
        finite = y[np.isfinite(y)]
        if finite.size and np.all(finite > 0) and finite.max() / finite.min() > 50:
            ax.set_yscale("log")
        ax.set_xlabel(x_name)
        ax.set_title(f)
        ax.grid(alpha=0.3)
    if others:
        axes[0][0].legend(fontsize=7)
    fig.suptitle(f"{model.NAME}: theory")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


# ---------------------------------------------------------------------------------------------
# Subcommands.


def _model_args(args):
    import overparam_theory as ot

    model = ot.MODELS[args.model]
    cli = _CLIS[args.model]
    fixed = cli.fixed(args)
    grid, multi = _expand(cli.grid(args))
    return model, cli, grid, multi, fixed


def _cmd_list(args):
    import overparam_theory as ot

    info = {}
    for name, module in ot.MODELS.items():
        doc = (module.__doc__ or "").strip().splitlines()
        info[name] = {
            "description": doc[0] if doc else "",
            "parameters": list(module.PARAMETERS),
            "grid_parameters": list(module.GRID_PARAMETERS),
            "fields": list(module.FIELDS),
        }
    if args.json:
        print(json.dumps(info, indent=1))
        return 0
    for name, d in info.items():
        print(f"{name}: {d['description']}")
        print(f"  parameters:      {', '.join(d['parameters'])}")
        print(f"  grid parameters: {', '.join(d['grid_parameters'])}")
        print(f"  fields:          {', '.join(d['fields'])}")
    print(f"\nOptions of a model: {PROG} theory MODEL --help")
    return 0


def _cmd_theory(args):
    model, cli, grid, multi, fixed = _model_args(args)
    result = model.theory(**grid, **fixed)
    shape = np.shape(getattr(result, model.FIELDS[0]))
    fields = _scalar_fields(result, shape) + _point_fields(cli, result, shape)
    rows = _table(_row_grid(cli, grid, args), result, fields, shape)
    meta = {"model": model.NAME, "command": "theory", **cli.describe(args)}
    path = os.path.join(args.out, f"{model.NAME}_theory.{args.format}")
    written = [_write_rows(rows, path, args.format, meta)]
    if args.plot:
        png = os.path.join(args.out, f"{model.NAME}_theory.png")
        if cli.time_axis:
            written.append(_plot_trajectories(model, grid, multi, result, png, args.time))
        else:
            x_name = multi[0] if multi else next(iter(grid))
            written.append(_plot_theory(model, grid, multi, result, png, x_name))
    n_bad = int(np.sum(~np.asarray(result.converged, bool)))
    print(f"{model.NAME} theory: {len(rows)} point(s)" + (f", {n_bad} not converged (NaN)" if n_bad else ""))
    for p in written:
        print(f"wrote {p}")
    return 0


def _sim_kwargs(model, args):
    kw = dict(n_seeds=args.n_seeds, seed=args.seed, progress=args.progress)
    if getattr(args, "dim", None) is not None:
        kw["dim"] = args.dim
    if getattr(args, "conditional", False):
        kw["conditional"] = True
    return kw


def _announce(model, grid, args):
    n_points = max([np.size(v) for v in grid.values()] or [1])
    dim = f" at d = {args.dim}" if getattr(args, "dim", None) is not None else ""
    print(
        f"simulating {model.NAME}: {n_points} point(s) x {args.n_seeds} seeds{dim} "
        "(the first run compiles one kernel per sample size; this can take a minute)",
        flush=True,
    )


def _cmd_simulate(args):
    model, cli, grid, multi, fixed = _model_args(args)
    _announce(model, grid, args)
    sim = model.simulate(**grid, **fixed, **_sim_kwargs(model, args))
    shape = np.shape(getattr(sim, model.FIELDS[0]).mean)
    rows = _table(_row_grid(cli, grid, args), sim, model.FIELDS, shape, suffixes=(("mean", "_mean"), ("stderr", "_stderr")))
    lead = len(shape) - (np.ndim(args.time) if cli.time_axis else 0)
    for row, idx in zip(rows, np.ndindex(shape)):
        if hasattr(sim, "n_samples"):
            row["n_samples"] = int(np.broadcast_to(np.asarray(sim.n_samples), shape[:lead])[idx[:lead]])
        if hasattr(sim, "alpha"):
            row["alpha_realized"] = float(np.broadcast_to(sim.alpha, shape[:lead])[idx[:lead]])
        row["n_seeds"] = args.n_seeds
    meta = {
        "model": model.NAME,
        "command": "simulate",
        "dim": getattr(sim, "dim", None),
        "n_seeds": args.n_seeds,
        "seed": args.seed,
        **cli.describe(args),
    }
    path = os.path.join(args.out, f"{model.NAME}_simulate.{args.format}")
    _write_rows(rows, path, args.format, meta)
    print(f"wrote {path}")
    return 0


def _cmd_compare(args):
    import overparam_theory as ot

    model, cli, grid, multi, fixed = _model_args(args)
    _announce(model, grid, args)
    # simulate-only options (progress, conditional) are forwarded by compare() to simulate alone
    report = ot.compare(model, **grid, **fixed, **_sim_kwargs(model, args))
    stem = os.path.join(args.out, f"{report.model}_compare")
    os.makedirs(args.out, exist_ok=True)
    written = [report.to_csv(stem + ".csv"), report.to_json(stem + ".json")]
    report.plot(stem + ".png")
    written.append(stem + ".png")
    print(report.table())
    for p in written:
        print(f"wrote {p}")
    if args.fail_above is not None and report.max_abs_z > args.fail_above:
        print(f"max |z| = {report.max_abs_z:.2f} exceeds --fail-above {args.fail_above:g}", file=sys.stderr)
        return 1
    return 0


# ---------------------------------------------------------------------------------------------
# Parser.


_EPILOG = (
    "GRID values: a number (0.5), a comma list (0.1,0.5,1) or start:stop:num (numpy.linspace, "
    "num points including both ends). Several multi-valued parameters are combined as a Cartesian "
    "product, one row per combination. A grid starting with a minus sign must be written with '=', "
    "e.g. --alpha=-1:2:3. Conventions: docs/conventions.md."
)


def _int_option(name):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid {name} {text!r}: expected an integer") from None
        return value

    return parse


def _add_common(parser, command, model):
    out = parser.add_argument_group("output")
    out.add_argument(
        "--out",
        metavar="DIR",
        default="results",
        help="directory for the files written (created if missing; default: results)",
    )
    if command in ("theory", "simulate"):
        out.add_argument(
            "--format",
            choices=("csv", "json"),
            default="csv",
            help="table format: one row per grid point (default: csv)",
        )
    if command == "theory":
        out.add_argument(
            "--plot",
            action="store_true",
            help="also write MODEL_theory.png: every field against the first multi-valued parameter",
        )
    if command in ("simulate", "compare"):
        sim = parser.add_argument_group("simulation")
        if model != "kernel":
            sim.add_argument(
                "--dim",
                type=_int_option("dim"),
                default={"glm": 500, "amp": 2000, "lasso": 1000, "mixtures": 500, "linear_dynamics": 500,
                         "committee": 500}.get(model, 200),
                metavar="D",
                help="input dimension d of the simulation; each point uses n = round(alpha * d) samples "
                "(and N = round(width * d) features for random_features) (default: 200; glm, mixtures, linear_dynamics, committee: 500; amp: 2000; lasso: N = 1000 unknowns)",
            )
        if model == "ridge":
            sim.add_argument(
                "--conditional",
                action="store_true",
                help="per seed, report the exact expectation over label noise and teacher given the design X "
                "(ridge.simulate(conditional=True)): same mean, much smaller seed-to-seed spread, so "
                "finite-d biases become visible in z",
            )
        sim.add_argument(
            "--n-seeds",
            type=_int_option("n-seeds"),
            default=16,
            metavar="S",
            help="independent repetitions per point, >= 2; standard errors are over seeds (default: 16)",
        )
        sim.add_argument(
            "--seed",
            type=_int_option("seed"),
            default=0,
            metavar="K",
            help="integer random seed >= 0; every grid point draws independent seeds from it (default: 0)",
        )
        sim.add_argument(
            "--progress",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="progress bar on stderr (default: on when stderr is a terminal)",
        )
    if command == "compare":
        parser.add_argument_group("result").add_argument(
            "--fail-above",
            type=float,
            default=None,
            metavar="Z",
            help="exit with status 1 when the largest |z| = |simulation mean - theory| / stderr over all "
            "points and fields exceeds Z (default: always exit 0). Seed noise alone gives |z| ~ |N(0,1)|; "
            "finite-d bias adds to it",
        )


_HANDLERS = {"theory": _cmd_theory, "simulate": _cmd_simulate, "compare": _cmd_compare}

_COMMANDS = {
    "theory": (
        "evaluate the asymptotic theory on a grid",
        "Evaluate MODEL's asymptotic theory on a grid and write MODEL_theory.csv (or .json): one row "
        "per grid point with the parameters, every scalar result field and the solver diagnostics "
        "(converged, iterations, residual).",
    ),
    "simulate": (
        "run the finite-size Monte Carlo simulation on a grid",
        "Run MODEL's finite-size simulation on a grid and write MODEL_simulate.csv (or .json): "
        "seed mean and standard error of every field per grid point.",
    ),
    "compare": (
        "compare theory and simulation (CSV, JSON, PNG, table)",
        "Run theory and simulation with the same parameters (overparam_theory.compare) and write "
        "MODEL_compare.csv, MODEL_compare.json and MODEL_compare.png; print the table of theory, "
        "simulation mean +- stderr and z per point.",
    ),
}


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Exact high-dimensional asymptotics of solvable overparameterized models, "
        "checked against finite-size simulation.",
        epilog=f"Quick start: {PROG} compare ridge --out results/   |   {PROG} SUBCOMMAND MODEL --help",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show full Python tracebacks instead of one-line error messages"
    )
    sub = parser.add_subparsers(dest="command", metavar="SUBCOMMAND", required=True)

    p_list = sub.add_parser("list", help="list the models, their parameters and fields", description="List the models.")
    p_list.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p_list.set_defaults(func=_cmd_list, _parser=p_list)

    for command, (short, long) in _COMMANDS.items():
        p_cmd = sub.add_parser(command, help=short, description=long, epilog=f"Options of a model: {PROG} {command} MODEL --help")
        models = p_cmd.add_subparsers(dest="model", metavar="MODEL", required=True)
        for name, cli in _CLIS.items():
            p = models.add_parser(
                name,
                help=f"{name} (see '{PROG} list')",
                description=f"{long} Model: {name}.",
                epilog=_EPILOG,
            )
            cli.add_arguments(p)
            _add_common(p, command, name)
            p.set_defaults(func=_HANDLERS[command], _parser=p)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``overparam-theory`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "progress", False) is None:
        args.progress = sys.stderr.isatty()
    if getattr(args, "n_seeds", 2) < 2:
        args._parser.error(f"argument --n-seeds: must be an integer >= 2, got {args.n_seeds}")
    if getattr(args, "seed", 0) < 0:
        args._parser.error(f"argument --seed: must be an integer >= 0, got {args.seed}")
    if getattr(args, "dim", 1) is not None and getattr(args, "dim", 1) < 1:
        args._parser.error(f"argument --dim: must be an integer >= 1, got {args.dim}")
    try:
        return args.func(args)
    except ValueError as exc:  # the library's validation errors name the bad argument
        if args.debug:
            raise
        args._parser.error(_cli_names(str(exc)))
    except OSError as exc:  # e.g. --out names an existing file or an unwritable directory
        if args.debug:
            raise
        args._parser.error(f"cannot write the output: {exc}")


def _cli_names(message: str) -> str:
    """Add the command-line spelling to a library message that names a parameter."""
    for lib, flag in (("n_samples", "--n-samples"), ("n_seeds", "--n-seeds"), ("nonlinear_signal", "--nonlinear-signal")):
        message = message.replace(lib, flag)
    first = message.split(" ", 1)[0]
    if first in {"alpha", "ridge", "signal", "noise", "dim", "seed", "width"}:
        message = f"--{first}: {message}"
    return message


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
