"""GAMP at finite size vs state evolution (overparam_theory.amp.simulate).

z = (seed mean - theory) / standard error of the seed mean; seed = 0, never tuned.  Besides
seed noise, GAMP at dimension d carries O(1/sqrt(d))-O(1/d) finite-size corrections; at
d = 2000 they are below the stated tolerance for the points used here.
"""

import numpy as np
import pytest

from overparam_theory import amp


def _check(sim, th, traj, fields=amp.FIELDS, limit=4.0):
    for f in fields:
        est = getattr(sim, f)
        z = (est.mean - getattr(th, f)) / est.stderr
        assert np.all(np.abs(z) < limit), (f, est.mean, est.stderr, getattr(th, f), z)
    z_traj = (sim.mse_trajectory.mean - traj) / sim.mse_trajectory.stderr
    assert np.all(np.abs(z_traj[..., 1:]) < limit), z_traj


def test_gamp_tracks_state_evolution_sign_perceptron():
    """d = 2000, n = 4000, 8 seeds, 20 iterations."""
    kw = dict(alpha=2.0, channel="sign")
    sim = amp.simulate(**kw, dim=2000, n_iterations=20, n_seeds=8)
    _check(sim, amp.theory(**kw), amp.state_evolution(**kw, n_steps=20))


def test_gamp_tracks_state_evolution_sparse_linear():
    """Bernoulli-Gaussian prior (eps = 0.2), noise 1e-2, d = 2000, n = 1200, 8 seeds."""
    kw = dict(alpha=0.6, channel="linear", sparsity=0.2, noise=1e-2)
    sim = amp.simulate(**kw, dim=2000, n_iterations=20, n_seeds=8)
    _check(sim, amp.theory(**kw), amp.state_evolution(**kw, n_steps=20))


def test_simulation_result_shapes():
    sim = amp.simulate(alpha=[0.5, 1.0], channel="sign", dim=100, n_iterations=3, n_seeds=2)
    assert sim.mse.mean.shape == (2,) and sim.mse_trajectory.mean.shape == (2, 4)
    np.testing.assert_array_equal(sim.n_samples, [50, 100])
    assert np.all(np.isfinite(sim.mse_trajectory.mean))


@pytest.mark.slow
@pytest.mark.parametrize(
    "kw",
    [
        dict(alpha=1.5, channel="sign", noise=0.1, flip=0.05),
        dict(alpha=1.5, channel="relu", noise=0.05),
        dict(alpha=2.0, channel="abs", noise=0.05, initial_snr=0.05),
        dict(alpha=0.35, channel="linear", sparsity=0.1, noise=1e-4),
    ],
)
def test_gamp_tracks_state_evolution_slow(kw):
    """d = 4000, 8 seeds, 30 iterations (abs: side information SNR 0.05 breaks the symmetry,
    as in state_evolution)."""
    sim = amp.simulate(**kw, dim=4000, n_iterations=30, n_seeds=8)
    _check(sim, amp.theory(**kw), amp.state_evolution(**kw, n_steps=30))
