"""Figures: the plotted data (x values, theory lines, series, labels), not only that a file exists."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import overparam_theory as ot  # noqa: E402
from overparam_theory import Estimate, compare, kernel, ridge  # noqa: E402
from overparam_theory.compare import below_resolution, normal_equivalent, z_scores  # noqa: E402


def _theory_lines(ax):
    return [line for line in ax.get_lines() if line.get_linestyle() == "-" and (line.get_label() or "").startswith("theory")]


def _errorbar_x(ax):
    """x values of the simulation error bars (the containers' data lines)."""
    return np.concatenate([np.asarray(c.lines[0].get_xdata(), float) for c in ax.containers])


def test_sweeping_ridge_puts_ridge_on_the_x_axis(tmp_path):
    ridges = np.array([1e-3, 1e-2, 1e-1, 1.0])
    rep = compare(ridge, alpha=1.5, ridge=ridges, noise=0.25, dim=40, n_seeds=2)
    assert rep.swept == ("ridge",) and rep.curve is not None and rep.curve.x == "ridge"
    np.testing.assert_allclose([rep.curve.values.min(), rep.curve.values.max()], [1e-3, 1.0])
    fig = rep.plot(tmp_path / "ridge.png")
    ax = fig.axes[0]
    np.testing.assert_allclose(np.sort(_errorbar_x(ax)), ridges)  # one point per ridge, not all at one x
    (line,) = _theory_lines(ax)
    np.testing.assert_allclose(line.get_xdata(), rep.curve.values)
    assert ax.get_xscale() == "log" and "ridge" in ax.get_xlabel() and ax.get_ylabel() == "excess risk"
    assert "alpha = 1.5" in fig._suptitle.get_text() and "2 seeds" in fig._suptitle.get_text()
    # bias at d = 40 has values below the resolution, drawn as crosses in the bias panel only; the
    # legend of the first panel explains every marker
    assert rep.by_difference["bias"].any() and not rep.by_difference["excess_risk"].any()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["theory", "simulation ±2 s.e.", "below resolution"]


def test_sweeping_n_samples_and_two_swept_parameters(tmp_path):
    eig, target = [1.0, 0.5, 0.1, 0.05], [1.0, 0.5, 0.1, 0.05]
    rep = compare(kernel, n_samples=np.array([4, 8, 16, 4, 8, 16]), ridge=np.array([1e-3] * 3 + [1e-1] * 3),
                  noise=0.1, eigenvalues=eig, target=target, n_seeds=3)
    assert rep.swept == ("n_samples", "ridge")
    assert rep.curve.groups["ridge"].tolist() == [1e-3, 1e-1]
    assert np.shape(rep.curve.theory.test_error) == (2, rep.curve.values.size)
    fig = rep.plot(tmp_path / "kernel.png")
    ax = fig.axes[0]
    lines = _theory_lines(ax)
    assert len(lines) == 2 and {ln.get_label() for ln in lines} == {"theory, ridge = 0.001", "theory, ridge = 0.1"}
    np.testing.assert_allclose(np.sort(_errorbar_x(ax)), [4, 4, 8, 8, 16, 16])
    assert len(fig.axes) == 5  # 5 fields: 3 + 2 panels
    assert fig.axes[0].get_position().y0 > fig.axes[3].get_position().y1  # wrapped to a second row


def test_plot_theory_public_function(tmp_path):
    alpha = np.linspace(0.2, 3, 50)
    fig = ot.plot_theory("ridge", tmp_path / "t.png", alpha=alpha, ridge=np.array([[1e-3], [1e-1]]), noise=0.25)
    assert (tmp_path / "t.png").stat().st_size > 10_000
    ax = fig.axes[0]
    lines = ax.get_lines()
    assert [ln.get_label() for ln in lines] == ["ridge = 0.001", "ridge = 0.1"]
    expected = ridge.theory(alpha=alpha, ridge=0.1, noise=0.25).excess_risk
    np.testing.assert_allclose(lines[1].get_ydata(), expected)
    assert ax.get_xlabel().startswith("alpha = n/d") and ax.get_ylabel() == "excess risk"
    assert "noise = 0.25" in fig._suptitle.get_text()
    with pytest.raises(ValueError, match="x-axis"):
        ot.plot_theory(ridge, alpha=0.5)


def test_plot_theory_one_dimensional_parameters_form_the_outer_grid():
    """``alpha`` (50 values) and ``ridge`` (a list of 2) do not broadcast in ``theory``; the plot
    takes their outer grid, one curve per ridge, as its docstring and the README promise."""
    alpha = np.linspace(0.2, 3, 50)
    fig = ot.plot_theory("ridge", alpha=alpha, ridge=[1e-3, 1e-1, 1.0], noise=0.25)
    lines = fig.axes[0].get_lines()
    assert [ln.get_label() for ln in lines] == ["ridge = 0.001", "ridge = 0.1", "ridge = 1"]
    for ln, lam in zip(lines, (1e-3, 1e-1, 1.0)):
        np.testing.assert_allclose(ln.get_xdata(), alpha)
        np.testing.assert_allclose(ln.get_ydata(), ridge.theory(alpha=alpha, ridge=lam, noise=0.25).excess_risk)
    # the x-axis is the first multi-valued parameter given; the other gives the curves
    fig = ot.plot_theory("ridge", ridge=[1e-3, 1e-1, 1.0], alpha=[0.5, 2.0], noise=0.25)
    assert fig.axes[0].get_xlabel().startswith("ridge") and len(fig.axes[0].get_lines()) == 2


def test_normal_equivalent_of_student_t():
    # t(1) 97.5% quantile 12.706 -> z = 1.96; large dof -> t itself; extremes stay finite and signed
    assert normal_equivalent(12.7062047, 1) == pytest.approx(1.959964, abs=1e-5)
    assert normal_equivalent(-2.0, None) == -2.0
    assert normal_equivalent(2.0, 1e7) == pytest.approx(2.0, abs=1e-5)
    z = normal_equivalent(np.array([1e8, -1e8, 0.0, np.inf, np.nan]), 1)
    assert 5 < z[0] < 40 and z[1] == -z[0] and z[2] == 0 and z[3] == np.inf and np.isnan(z[4])


def test_values_below_resolution_are_compared_by_difference():
    # the README's glm hinge case: train_loss theory 5.5e-7 (a Gaussian tail) vs an exact 0 at n = 90
    th = np.array([5.491e-7, 0.0768, 0.2507])
    est = Estimate(np.array([5.846e-15, 0.08183, 0.2514]), np.array([2.1e-15, 0.0096, 0.0072]), 16)
    mask, resolution = below_resolution(th, est, 300)
    assert mask.tolist() == [True, False, False] and resolution == pytest.approx(0.2514 / 300)
    assert abs(z_scores(th, est, dof=None)[0]) > 1e8  # the headline before: t = 2.6e8
    # a real discrepancy above the resolution is still a z-score
    mask, _ = below_resolution(np.array([1e-2, 0.25]), Estimate(np.array([0.0, 0.25]), np.array([1e-4, 1e-2]), 16), 300)
    assert not mask[0]


@pytest.mark.slow
def test_readme_glm_hinge_comparison_headline_is_meaningful():
    """The README's ``compare glm --alpha 0.3:4:6 --ridge 0.01 --loss hinge --flip 0.1 --dim 300`` (16 seeds):
    max |z| was 2.6e8 from train_loss at the separable points; 42 values of seed noise plus the
    O(1/d) bias stay below 4.5."""
    from overparam_theory import glm

    rep = compare(glm, alpha=np.linspace(0.3, 4, 6), ridge=0.01, loss="hinge", flip=0.1, dim=300)
    assert rep.by_difference["train_loss"][:2].all() and rep.max_abs_z < 4.5, rep.table()


def test_titles_state_every_fixed_setting_and_fit_the_figure():
    """A one-panel figure (committee) wraps its settings line instead of cutting it off; a
    spectrum given as an object is described (levels and range) rather than dropped."""
    from overparam_theory import spectra

    fig = ot.plot_theory("committee", time=np.linspace(0, 50, 11), learning_rate=[0.5, 1.0])
    title = fig._suptitle.get_text()
    assert "second_layer_learning_rate = 0" in title and "teacher_width = 2" in title
    assert max(len(line) for line in title.splitlines()) <= fig.get_figwidth() * 13
    fig = ot.plot_theory("ridge", alpha=[0.5, 1.0, 2.0], ridge=0.1, spectrum=spectra.two_level(0.2, 5.0, 0.5))
    assert "spectrum = 2 levels in [0.5, 5]" in fig._suptitle.get_text()
