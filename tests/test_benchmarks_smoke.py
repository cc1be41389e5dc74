"""Smoke test of ``benchmarks/run.py --quick``: the table is produced and the library agrees with
the plain NumPy/SciPy loop on every case.  Timings are printed by the script, never asserted."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

RUN = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"


def _load():
    spec = importlib.util.spec_from_file_location("benchmarks_run", RUN)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up in sys.modules
    spec.loader.exec_module(module)
    return module


QUICK_CASES = [
    "1. isotropic ridge", "2. anisotropic ridge", "3. kernel curve", "4. random features grid",
    "5. glm logistic curve", "6. glm hinge curve", "7. amp sign curve", "11. lasso curve",
    "12. mixture logistic curve", "13. gradient-flow trajectory", "14. committee ODE trajectory",
]


@pytest.mark.parametrize(
    "cases",
    [
        # fast: one case per kind of solver (closed form, scalar fixed point, 2-D quadrature
        # fixed point, ODE); the whole quick table took 35 s of the fast suite
        pytest.param(["1", "3", "5", "13"], id="subset"),
        pytest.param(None, id="all", marks=pytest.mark.slow),
    ],
)
def test_quick_benchmark_table_and_agreement(tmp_path, capsys, cases):
    bench = _load()
    out = tmp_path / "table.md"
    selection = ["--cases", *cases] if cases else []
    rows, text = bench.main(["--quick", "--repeats", "2", "--loop-repeats", "1", "--markdown", str(out), *selection])

    expected = QUICK_CASES if cases is None else [c for c in QUICK_CASES if c.split(".")[0] in cases]
    assert [r["case"] for r in rows] == expected
    for r in rows:
        assert r["points"] > 0 and 0 < r["loop_points"] <= r["points"]
        for key in ("first_call_s", "steady_s", "ours_pps", "loop_s", "loop_pps", "ratio"):
            assert np.isfinite(r[key]) and r[key] > 0, (r["case"], key, r[key])
        # The two implementations of the same equations agree.
        # Two independent adaptive integrators (rtol 1e-12) of the committee ODEs differ by ~1e-7:
        # the escape from the unstable plateau amplifies step-size differences.
        tol = 1e-6 if r["case"].startswith("14.") else 1e-8
        assert r["max_rel_diff"] < tol, (r["case"], r["max_rel_diff"])

    assert "| case | points | first call (s)" in text
    assert text.count("\n| ") >= 4  # header + three rows
    assert out.read_text().strip() == text.strip()
    printed = capsys.readouterr().out
    assert "jax backend:" in printed and "| 3. kernel curve |" in printed


def test_loop_subset_is_reported(capsys):
    bench = _load()
    rows, text = bench.main(["--quick", "--cases", "1", "--repeats", "1", "--loop-repeats", "1", "--loop-points", "100"])
    (row,) = rows
    assert row["loop_points"] == 100 < row["points"]
    assert "100 (extrapolated)" in text
    assert row["max_rel_diff"] < 1e-8


def test_case_numbers_select_cases(capsys):
    """``--cases`` selects by the case's number (quick mode has no cases 8-10)."""
    bench = _load()
    assert [c.number for c in bench.build_cases(True)] == [1, 2, 3, 4, 5, 6, 7, 11, 12, 13, 14]
    assert [c.number for c in bench.build_cases(False)] == list(range(1, 15))
    rows, _ = bench.main(["--quick", "--cases", "11", "--repeats", "1", "--loop-repeats", "1"])
    assert [r["case"] for r in rows] == ["11. lasso curve"] and rows[0]["max_rel_diff"] < 1e-8


@pytest.mark.slow  # six fresh processes, each compiling from an empty cache
def test_latency_benchmark_measures_cold_and_warm_processes(tmp_path):
    spec = importlib.util.spec_from_file_location("benchmarks_latency", RUN.with_name("latency.py"))
    latency = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(latency)
    rows, text = latency.main(["--models", "ridge", "--no-main-job", "--markdown", str(tmp_path / "latency.md")])
    assert [r["what"] for r in rows] == ["theory()", "simulate()", "CLI theory (process)"]
    assert latency.EXTRA_THEORY["amp"] and latency.MAIN_JOB[0] == "compare"  # rows the full run adds
    assert all(r["cold"] > 0 and r["warm"] > 0 for r in rows)
    assert (tmp_path / "latency.md").read_text().strip() == text
