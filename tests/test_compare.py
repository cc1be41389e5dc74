"""compare(): z-scores, tables, files and plots."""

import json

import numpy as np
import pytest

from overparam_theory import Estimate, compare, kernel, ridge
from overparam_theory.compare import z_scores


def test_z_scores_edge_cases():
    est = Estimate(np.array([1.0, 1e-30, 5.0, 2.0, np.inf]), np.array([0.5, 0.0, 0.0, 0.1, 1.0]), 4)
    th = np.array([0.0, 0.0, 4.0, np.inf, np.inf])
    assert z_scores(th, est, dof=None)[0] == 2.0  # t itself
    z = z_scores(th, est)
    # t = 2 with 4 seeds is Student t(3): the normal score of the same two-sided p-value (0.139)
    assert z[0] == pytest.approx(1.4783, abs=1e-4)
    assert z[1] == 0.0  # agreement within rounding, zero spread
    assert np.isinf(z[2])  # real disagreement with zero spread is not hidden
    assert np.isinf(z[3])  # finite simulation against a divergent theory
    assert z[4] == 0.0  # both infinite


def test_compare_report_files_and_plot(tmp_path):
    rep = compare(ridge, alpha=np.array([0.5, 1.5, 2.5]), ridge=0.1, signal=1.0, noise=0.2, dim=30, n_seeds=4, seed=1)
    assert set(rep.z) == set(ridge.FIELDS) and rep.z["bias"].shape == (3,)
    assert np.isfinite(rep.max_abs_z)
    csv_path = rep.to_csv(tmp_path / "r.csv")
    with open(csv_path) as fh:
        header = fh.readline().strip().split(",")
    assert header[:4] == ["alpha", "ridge", "signal", "noise"]
    assert "excess_risk_z" in header and "train_error_sim_stderr" in header
    with open(rep.to_json(tmp_path / "r.json")) as fh:
        meta = json.load(fh)["summary"]
    assert meta["dim"] == 30 and meta["n_seeds"] == 4
    rep.plot(tmp_path / "r.png")
    assert (tmp_path / "r.png").stat().st_size > 10_000
    assert "max |z|" in rep.table()
    # the dense theory curve spans the swept parameter
    name, grid, curve, groups = rep.curve
    assert groups == {}
    assert name == "alpha" and grid.min() == 0.5 and grid.max() == 2.5 and curve.excess_risk.shape == grid.shape


def test_compare_uses_realised_alpha():
    rep = compare(ridge, alpha=0.33, ridge=0.1, dim=10, n_seeds=3)  # n = round(3.3) = 3
    np.testing.assert_allclose(rep.parameters["alpha"], 0.3)


def test_compare_kernel_and_unknown_parameter():
    rep = compare(kernel, n_samples=np.array([5, 10]), ridge=0.01, eigenvalues=[1.0, 0.5, 0.1], target=[1.0, 0.5, 0.1], n_seeds=3)
    assert set(rep.parameters) == {"n_samples", "ridge"}  # the grid parameters that were given
    with pytest.raises(ValueError, match="unknown parameter"):
        compare(ridge, alpha=0.5, ridgee=0.1, dim=10, n_seeds=2)
