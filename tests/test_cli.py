"""Tests of the ``overparam-theory`` command line (in-process: ``main([...])``, no subprocess)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from overparam_theory.cli import main, parse_grid

# A tiny comparison grid shared by the simulate/compare tests, so that the jitted simulator
# compiles once per sample size for the whole module.
TINY = ["--alpha", "0.5,1.5,2.5", "--dim", "40", "--n-seeds", "4", "--seed", "1"]


def _written(directory, prefix: str, ext: str):
    """The one file ``prefix*.ext`` a command wrote (names carry the non-default settings)."""
    found = sorted(directory.glob(f"{prefix}*.{ext}"))
    assert len(found) == 1, found
    return found[0]


def _read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


# --------------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    "text, expected",
    [
        ("0.5", [0.5]),
        ("0.1,0.5,1", [0.1, 0.5, 1.0]),
        ("0:1:5", [0.0, 0.25, 0.5, 0.75, 1.0]),
        ("1e-3", [1e-3]),
    ],
)
def test_parse_grid(text, expected):
    np.testing.assert_allclose(parse_grid(text), expected)


# --------------------------------------------------------------------------------- list


def test_list_text(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for word in ("ridge", "kernel", "alpha", "n_samples", "excess_risk", "test_error"):
        assert word in out


def test_list_json(capsys):
    assert main(["list", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert set(info) == {"ridge", "kernel", "random_features", "glm", "amp", "lasso", "mixtures", "linear_dynamics", "committee"}
    assert info["glm"]["fields"][:2] == ["test_error", "clean_test_error"]
    assert info["random_features"]["fields"][:3] == ["excess_risk", "bias", "variance"]
    assert info["ridge"]["fields"] == ["excess_risk", "bias", "variance", "train_error"]
    assert "alpha" in info["ridge"]["grid_parameters"]
    assert info["kernel"]["description"]


# --------------------------------------------------------------------------------- help


@pytest.mark.parametrize("command", ["theory", "simulate", "compare"])
def test_help_documents_options(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "ridge", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for opt in ("--alpha", "--ridge", "--signal", "--noise", "--spectrum", "--teacher", "--out"):
        assert opt in out
    assert "n/d" in out and "variance" in out and "averaged loss" in out
    if command != "theory":
        assert "--dim" in out and "--n-seeds" in out and "--seed" in out
    with pytest.raises(SystemExit):
        main([command, "kernel", "--help"])
    out = capsys.readouterr().out
    for opt in ("--n-samples", "--ridge", "--noise", "--kernel-spectrum", "--target"):
        assert opt in out


# --------------------------------------------------------------------------------- theory


def test_theory_ridge_csv(tmp_path, capsys):
    assert main(["theory", "ridge", "--alpha", "0.5:2:4", "--ridge", "0.01", "--out", str(tmp_path)]) == 0
    path = _written(tmp_path, "ridge_theory", "csv")
    assert str(path) in capsys.readouterr().out
    rows = _read_csv(path)
    assert len(rows) == 4
    assert list(rows[0]) == [
        "alpha",
        "ridge",
        "signal",
        "noise",
        "excess_risk",
        "bias",
        "variance",
        "train_error",
        "effective_ridge",
        "status",
        "converged",
        "iterations",
        "residual",
    ]
    np.testing.assert_allclose([float(r["alpha"]) for r in rows], [0.5, 1.0, 1.5, 2.0])
    for r in rows:
        assert float(r["excess_risk"]) == pytest.approx(float(r["bias"]) + float(r["variance"]), rel=1e-12)
        assert r["converged"] == "True"


def test_theory_ridge_product_grid_json_and_plot(tmp_path):
    argv = ["theory", "ridge", "--alpha", "0.5,2", "--ridge", "0,0.1,1", "--format", "json", "--plot"]
    assert main(argv + ["--out", str(tmp_path)]) == 0
    data = json.loads((_written(tmp_path, "ridge_theory", "json")).read_text())
    rows = data["rows"]
    assert len(rows) == 6  # Cartesian product, alpha varying fastest
    assert [(r["alpha"], r["ridge"]) for r in rows[:3]] == [(0.5, 0.0), (2.0, 0.0), (0.5, 0.1)]
    assert data["summary"]["spectrum"] == "identity"
    assert (_written(tmp_path, "ridge_theory", "png")).stat().st_size > 0


def test_theory_ridge_anisotropic_teacher(tmp_path):
    argv = ["theory", "ridge", "--alpha", "0.5,2", "--spectrum", "two-level:0.25,4,0.5"]
    assert main(argv + ["--teacher", "power-law:1", "--signal", "2", "--out", str(tmp_path)]) == 0
    rows = _read_csv(_written(tmp_path, "ridge_theory", "csv"))
    assert "signal" not in rows[0]  # folded into teacher_power
    assert all(r["converged"] == "True" for r in rows)


def test_theory_kernel(tmp_path):
    argv = ["theory", "kernel", "--n-samples", "10:100:4", "--kernel-spectrum", "power-law:200,1.5"]
    assert main(argv + ["--out", str(tmp_path)]) == 0
    rows = _read_csv(_written(tmp_path, "kernel_theory", "csv"))
    assert [int(float(r["n_samples"])) for r in rows] == [10, 40, 70, 100]
    assert {"test_error", "excess_risk", "effective_ridge", "overfitting_coefficient", "residual"} <= set(rows[0])
    assert "learnability" not in rows[0]  # not a scalar per grid point


# --------------------------------------------------------------------------------- simulate / compare


def test_simulate_ridge(tmp_path):
    assert main(["simulate", "ridge", *TINY, "--out", str(tmp_path)]) == 0
    rows = _read_csv(_written(tmp_path, "ridge_simulate", "csv"))
    assert len(rows) == 3
    for f in ("excess_risk", "bias", "variance", "train_error"):
        assert f + "_mean" in rows[0] and f + "_stderr" in rows[0]
    assert [int(r["n_samples"]) for r in rows] == [20, 60, 100]


def test_simulate_ridge_conditional(tmp_path):
    argv = ["simulate", "ridge", "--alpha", "1.5", "--dim", "40", "--n-seeds", "4", "--conditional"]
    assert main(argv + ["--format", "json", "--out", str(tmp_path)]) == 0
    data = json.loads((_written(tmp_path, "ridge_simulate", "json")).read_text())
    assert data["summary"]["dim"] == 40 and len(data["rows"]) == 1
    assert data["rows"][0]["excess_risk_stderr"] > 0


def test_compare_ridge_writes_three_files(tmp_path, capsys):
    assert main(["compare", "ridge", *TINY, "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for ext in ("csv", "json", "png"):
        path = _written(tmp_path, "ridge_compare", ext)
        assert path.stat().st_size > 0
        assert f"wrote {path}" in out
    assert "max |z|" in out
    rows = _read_csv(_written(tmp_path, "ridge_compare", "csv"))
    assert len(rows) == 3 and "excess_risk_z" in rows[0]
    summary = json.loads((_written(tmp_path, "ridge_compare", "json")).read_text())["summary"]
    assert summary["dim"] == 40 and summary["n_seeds"] == 4

    # --fail-above: exit status 1 when max |z| exceeds the threshold (same grid: no recompile)
    assert main(["compare", "ridge", *TINY, "--out", str(tmp_path), "--fail-above", "1e9"]) == 0
    assert main(["compare", "ridge", *TINY, "--out", str(tmp_path), "--fail-above", "0"]) == 1
    assert "exceeds --fail-above" in capsys.readouterr().err


# --------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["theory", "ridge", "--alpha", "-1"], "--alpha"),
        (["theory", "ridge", "--noise", "-0.5"], "--noise"),
        (["theory", "ridge", "--alpha", "1:2"], "--alpha"),
        (["theory", "ridge", "--ridge", "abc"], "--ridge"),
        (["theory", "ridge", "--spectrum", "cubic"], "--spectrum"),
        (["theory", "ridge", "--teacher", "power-law:1"], "--teacher"),
        (["theory", "kernel", "--n-samples", "0"], "--n-samples"),
        (["theory", "nosuchmodel"], "nosuchmodel"),
        (["simulate", "ridge", "--n-seeds", "1"], "--n-seeds"),
        (["compare", "ridge", "--dim", "0"], "--dim"),
        (["compare", "ridge", "--fail-above", "x"], "--fail-above"),
        (["frobnicate"], "frobnicate"),
        (["theory", "random_features", "--width", "-1"], "--width"),
        (["theory", "random_features", "--nonlinear-signal", "-1"], "--nonlinear-signal"),
        (["theory", "random_features", "--activation", "swish"], "--activation"),
        (["theory", "random_features", "--activation", "linear"], "mu_star = 0"),
    ],
)
def test_bad_input_exits_2_with_message(argv, needle, capsys, tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(argv + ["--out", str(tmp_path)] if len(argv) > 1 else argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "error:" in err and needle in err
    assert "Traceback" not in err


def test_theory_random_features(tmp_path):
    argv = ["theory", "random_features", "--width", "0.5:2:4", "--alpha", "1", "--ridge", "0,0.1", "--activation", "tanh"]
    assert main(argv + ["--out", str(tmp_path), "--plot"]) == 0
    rows = _read_csv(_written(tmp_path, "random_features_theory", "csv"))
    assert len(rows) == 8 and {"width", "alpha", "bias_factor", "variance_factor", "converged"} <= set(rows[0])
    assert (_written(tmp_path, "random_features_theory", "png")).exists()


def test_glm_theory_and_bad_loss(tmp_path, capsys):
    assert main(["theory", "glm", "--alpha", "0.5,2", "--ridge", "0.1", "--loss", "hinge", "--flip", "0.1",
                 "--out", str(tmp_path)]) == 0
    with open(_written(tmp_path, "glm_theory", "csv")) as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2 and float(rows[1]["test_error"]) < float(rows[0]["test_error"])
    with pytest.raises(SystemExit) as exc:
        main(["theory", "glm", "--loss", "huber"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["theory", "glm", "--ridge", "-1"])
    assert exc.value.code == 2
    assert "ridge must be in [0, inf)" in capsys.readouterr().err



def test_amp_theory_and_bad_channel(tmp_path, capsys):
    """Noiseless compressed sensing (eps = 0.1): the hard phase shows as coexistence with an
    exact (0) Bayes-optimal MMSE, written as numbers, not NaN."""
    assert main(["theory", "amp", "--channel", "linear", "--sparsity", "0.1", "--alpha", "0.05,0.15,0.3",
                 "--out", str(tmp_path)]) == 0
    rows = _read_csv(_written(tmp_path, "amp_theory", "csv"))
    assert len(rows) == 3 and float(rows[1]["mmse"]) == 0 and float(rows[1]["mse"]) > 0
    assert float(rows[2]["mse"]) == 0 and float(rows[0]["mse"]) > 0
    with pytest.raises(SystemExit) as exc:
        main(["theory", "amp", "--channel", "tanh"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["theory", "amp", "--sparsity", "1.5"])
    assert exc.value.code == 2
    assert "sparsity must be in (0, 1]" in capsys.readouterr().err


def test_lasso_theory_and_bad_penalty(tmp_path, capsys):
    assert main(["theory", "lasso", "--alpha", "0.3,0.6", "--l1-penalty", "0.2", "--out", str(tmp_path)]) == 0
    rows = _read_csv(_written(tmp_path, "lasso_theory", "csv"))
    assert len(rows) == 2 and float(rows[1]["mse"]) < float(rows[0]["mse"])
    with pytest.raises(SystemExit) as exc:
        main(["theory", "lasso", "--l1-penalty", "-1"])
    assert exc.value.code == 2
    assert "l1_penalty" in capsys.readouterr().err


def test_mixtures_theory_and_bad_imbalance(tmp_path, capsys):
    assert main(["theory", "mixtures", "--alpha", "0.5,2", "--loss", "hinge", "--intercept", "--imbalance", "0.3",
                 "--out", str(tmp_path)]) == 0
    rows = _read_csv(_written(tmp_path, "mixtures_theory", "csv"))
    assert len(rows) == 2 and float(rows[1]["test_error"]) < float(rows[0]["test_error"])
    assert all(float(r["bias"]) != 0 for r in rows)  # an intercept is fitted under imbalance
    with pytest.raises(SystemExit) as exc:
        main(["theory", "mixtures", "--imbalance", "1.5"])
    assert exc.value.code == 2
    assert "imbalance" in capsys.readouterr().err


def test_linear_dynamics_trajectory_rows_and_compare(tmp_path):
    """Trajectory models: one row per (grid point, time); per-point diagnostics repeated."""
    assert main(["theory", "linear_dynamics", "--alpha", "0.5,2", "--noise", "0.2", "--time", "0:10:6", "--plot",
                 "--out", str(tmp_path)]) == 0
    rows = _read_csv(_written(tmp_path, "linear_dynamics_theory", "csv"))
    assert len(rows) == 12 and [float(r["time"]) for r in rows[:6]] == [0, 2, 4, 6, 8, 10]
    assert float(rows[0]["excess_risk"]) == pytest.approx(1.0) and rows[0]["converged"] == "True"
    assert {float(r["alpha"]) for r in rows[6:]} == {2.0}
    assert (_written(tmp_path, "linear_dynamics_theory", "png")).stat().st_size > 0
    assert main(["compare", "linear_dynamics", "--alpha", "0.7", "--noise", "0.3", "--time", "0:8:3", "--dim", "60",
                 "--n-seeds", "4", "--out", str(tmp_path), "--fail-above", "6"]) == 0
    rows = _read_csv(_written(tmp_path, "linear_dynamics_compare", "csv"))
    assert len(rows) == 3 and "risk_z" in rows[0] and float(rows[2]["time"]) == 8.0


def test_committee_theory_trajectory_and_bad_width(tmp_path, capsys):
    assert main(["theory", "committee", "--time", "0:200:5", "--learning-rate", "0.5,1", "--out", str(tmp_path)]) == 0
    rows = _read_csv(_written(tmp_path, "committee_theory", "csv"))
    assert len(rows) == 10 and rows[0]["status"] == "0"
    curve = [float(r["test_error"]) for r in rows[:5]]
    assert curve[-1] < curve[1] < curve[0]  # plateau at t = 50, then the escape
    with pytest.raises(SystemExit) as exc:
        main(["theory", "committee", "--student-width", "0"])
    assert exc.value.code == 2
    assert "student_width" in capsys.readouterr().err


# --------------------------------------------------------------------------------- ergonomics


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1e-3:1e1:5:log", [1e-3, 1e-2, 1e-1, 1.0, 10.0]),
        ("0:1:3:lin", [0.0, 0.5, 1.0]),
        ("-1:-100:3:log", [-1.0, -10.0, -100.0]),
    ],
)
def test_parse_grid_log_and_explicit_linear(text, expected):
    np.testing.assert_allclose(parse_grid(text), expected, rtol=1e-12)


@pytest.mark.parametrize(
    "text, message",
    [
        ("0:1:0.1", "number of points .* not a step .* 0:1:11"),  # start:step:stop habit, with the count meant
        ("0.2:3:2.5", "not a step"),
        ("0:1:5:log", "non-zero and of the same sign"),
        ("1:2:3:cubic", "start:stop:num:log"),
        ("1:2", "start:stop:num"),
    ],
)
def test_parse_grid_refuses_ambiguous_forms(text, message):
    import argparse

    with pytest.raises(argparse.ArgumentTypeError, match=message):
        parse_grid(text)


def test_theory_prints_the_numbers(tmp_path, capsys):
    assert main(["theory", "ridge", "--alpha", "0.5,2", "--ridge", "0.1", "--noise", "0.25", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0].split()
    assert header[:4] == ["alpha", "ridge", "signal", "noise"] and "excess_risk" in header
    from overparam_theory import ridge

    expected = ridge.theory(alpha=np.array([0.5, 2.0]), ridge=0.1, noise=0.25).excess_risk
    printed = [float(line.split()[header.index("excess_risk")]) for line in out.splitlines()[1:3]]
    np.testing.assert_allclose(printed, expected, rtol=1e-5)  # 6 significant digits


def test_out_dash_writes_only_the_table_to_stdout(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["theory", "ridge", "--alpha", "0.5:2:4", "--ridge", "0.01", "--out", "-"]) == 0
    captured = capsys.readouterr()
    rows = list(csv.DictReader(captured.out.splitlines()))
    assert len(rows) == 4 and float(rows[-1]["alpha"]) == 2.0 and "excess_risk" in rows[0]
    assert "4 row(s)" in captured.err and list(tmp_path.iterdir()) == []  # no file, messages on stderr
    assert main(["theory", "ridge", "--alpha", "0.5", "--out", "-", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"][0]["alpha"] == 0.5
    with pytest.raises(SystemExit) as exc:
        main(["theory", "ridge", "--out", "-", "--plot"])
    assert exc.value.code == 2 and "--plot needs a directory" in capsys.readouterr().err


def test_out_dash_into_a_reader_that_stops_early_is_quiet():
    """``overparam-theory theory ... --out - | head -3`` (README): the reader closes the pipe
    after a few lines; the command ends quietly with status 141 (SIGPIPE), no usage or error."""
    import subprocess
    import sys
    from pathlib import Path

    cmd = [sys.executable, "-m", "overparam_theory.cli", "theory", "ridge", "--alpha", "0.1:4:2000",
           "--ridge", "1e-4:1e1:30:log", "--out", "-", "--no-progress"]  # 60,000 rows: ~10 MB, more than a pipe holds
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=Path(__file__).parents[1]) as proc:
        assert proc.stdout.readline().startswith(b"alpha,ridge,")
        proc.stdout.close()
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=120) == 141 and err == "", err


def test_compare_records_and_titles_the_options_as_given(tmp_path, capsys, monkeypatch):
    """``--spectrum two-level:0.2,5,0.5`` appears in the JSON record and the figure title (the
    built spectrum object was dropped from both)."""
    import matplotlib.figure

    titles = []
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig",
                        lambda self, path, **kw: (titles.append(self._suptitle.get_text()), open(path, "wb").close()))
    assert main(["compare", "ridge", "--alpha", "0.5,2", "--spectrum", "two-level:0.2,5,0.5", "--ridge", "0.1",
                 "--dim", "30", "--n-seeds", "2", "--out", str(tmp_path), "--name", "run"]) == 0
    settings = json.loads((tmp_path / "run.json").read_text())["summary"]["settings"]
    assert settings["spectrum"] == "two-level:0.2,5,0.5" and settings["ridge"] == 0.1
    (title,) = titles
    assert "spectrum = two-level:0.2,5,0.5" in title and "ridge = 0.1" in title


def test_output_names_encode_the_settings(tmp_path, capsys):
    base = ["theory", "ridge", "--alpha", "0.2:3:15", "--out", str(tmp_path)]
    assert main(base) == 0  # every setting at its default: the plain name
    assert main(base + ["--ridge", "1e-3", "--noise", "0.25"]) == 0
    assert main(base[:2] + ["--alpha", "1e-2:10:4:log", "--out", str(tmp_path)]) == 0
    assert main(base + ["--name", "mine"]) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["mine.csv", "ridge_theory.csv", "ridge_theory_alpha=0.01-10x4log.csv",
                     "ridge_theory_ridge=0.001_noise=0.25.csv"], names
    with pytest.raises(SystemExit):
        main(base + ["--name", "../escape"])
    assert "without a directory" in capsys.readouterr().err


def test_command_line_defaults_are_the_python_defaults():
    import overparam_theory as ot
    from overparam_theory._spec import REQUIRED
    from overparam_theory.cli import build_parser, cli_default_text

    build_parser()  # raises if a declared command-line default disagrees with the Python one
    for spec in ot.SPECS.values():
        for p in spec.params:
            if p.grid and p.on_cli and p.default is not REQUIRED and p.default is not None:
                np.testing.assert_array_equal(parse_grid(cli_default_text(p)), [p.default], err_msg=f"{spec.name}.{p.name}")


def test_help_says_which_defaults_python_requires(capsys):
    with pytest.raises(SystemExit):
        main(["theory", "ridge", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "(default: 0.2:3:15; required in Python)" in out and "(default: 0)" in out


def test_theory_progress_bar_chunks_without_changing_values(capsys):
    from overparam_theory import ridge
    from overparam_theory.numerics.grid import progress

    alpha = np.linspace(0.2, 3, 21)
    plain = ridge.theory(alpha=alpha, ridge=0.01, noise=0.25)
    with progress(True, "ridge theory"):
        chunked = ridge.theory(alpha=alpha, ridge=0.01, noise=0.25)
    import jax

    for x, y in zip(jax.tree_util.tree_leaves(plain), jax.tree_util.tree_leaves(chunked), strict=True):
        np.testing.assert_array_equal(x, y)


def _readme_commands():
    """Every ``overparam-theory ...`` line of the README's shell blocks, without comments,
    pipes and the ``pip install ... &&`` prefix."""
    import shlex
    from pathlib import Path

    commands, fence = [], None
    for line in (Path(__file__).resolve().parents[1] / "README.md").read_text().splitlines():
        if line.startswith("```"):
            fence = None if fence is not None else line[3:].strip() or "text"
            continue
        line = line.split("#")[0].split("|")[0].strip()
        if fence in ("bash", "text") and "overparam-theory " in line and "[" not in line:  # not the synopsis
            commands.append(shlex.split(line[line.index("overparam-theory"):])[1:])
    return commands


def test_every_readme_command_parses_validates_and_is_named_as_documented():
    """The README's commands are valid as written (options exist, grids parse, values pass the
    model's constraints) and the files they write carry the names the README gives."""
    import overparam_theory  # noqa: F401  (registers the models)
    from overparam_theory.cli import _model_args, _stem, build_parser

    commands = _readme_commands()
    assert len(commands) >= 12 and ["compare", "ridge", "--ridge", "1e-3", "--noise", "0.25", "--out", "results/"] in commands
    parser = build_parser()
    for argv in commands:
        args = parser.parse_args(argv)
        if args.command == "list":
            continue
        spec, grid, _, fixed, _ = _model_args(args, args.command)
        for name, value in {**grid, **fixed}.items():
            spec.param(name).check(value)  # raises ValueError naming the parameter
        stem = _stem(args, args.command)
        if argv[:2] == ["compare", "ridge"] and "--spectrum" not in argv:
            assert stem == "ridge_compare_ridge=0.001_noise=0.25"
        if argv[:2] == ["theory", "ridge"] and "--plot" in argv:
            assert stem == "ridge_theory_alpha=0.1-4x200_ridge=0+0.01+0.1_noise=0.25"


def test_help_and_list_answer_without_importing_jax():
    """``--help`` and ``list`` read the model declarations only: JAX (about a second to import)
    and the implementations load at the first computation."""
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from overparam_theory.cli import main\n"
        "for argv in [['--help'], ['list'], *[[c, m, '--help'] for c in ('theory', 'simulate', 'compare') for m in %r]]:\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit as exc:\n"
        "        assert exc.code in (0, None), (argv, exc.code)\n"
        "print('JAX IMPORTED' if 'jax' in sys.modules else 'JAX NOT IMPORTED', file=sys.stderr)\n"
        "from overparam_theory import spectra, plot_theory, Estimate\n"  # then the lazy names load
        "assert spectra.__name__ == 'overparam_theory.numerics.spectra' and 'jax' in sys.modules\n"
    )
    import overparam_theory as ot

    out = subprocess.run([sys.executable, "-c", probe % (list(ot.MODELS),)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip().splitlines()[-1] == "JAX NOT IMPORTED"
