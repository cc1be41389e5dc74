"""Spectral measures: Marchenko-Pastur closed forms vs random matrices and quadrature, traces,
the effective-regularisation root."""

import jax
import numpy as np
import pytest

from overparam_theory import spectra


@pytest.mark.parametrize("gamma", [0.3, 0.8, 1.0, 1.5, 4.0])
@pytest.mark.parametrize("lam", [1e-3, 0.1, 2.0])
def test_mp_stieltjes_solves_quadratic(gamma, lam):
    with jax.enable_x64(True):
        mp = spectra.marchenko_pastur(gamma)
        m = float(mp.stieltjes(lam))
        # gamma z m^2 - (1 - gamma - z) m + 1 = 0 at z = -lam, with m > 0
        z = -lam
        assert m > 0
        assert abs(gamma * z * m * m - (1 - gamma - z) * m + 1) < 1e-12 * max(1, m * m)
        # derivative: m'(-lam) = int dmu/(s+lam)^2 = -d m(-lam)/d lam
        dm = -float(jax.grad(lambda l: mp.stieltjes(l))(lam))
        assert abs(float(mp.stieltjes_derivative(lam)) - dm) < 1e-10 * dm


@pytest.mark.parametrize("gamma", [0.5, 2.0])
def test_mp_discretisation_matches_closed_form(gamma):
    with jax.enable_x64(True):
        mp = spectra.marchenko_pastur(gamma, scale=1.7)
        disc = mp.discretize(400)
        assert abs(float(np.sum(disc.weights)) - 1) < 1e-14
        for lam in (0.05, 0.5, 3.0):
            assert abs(float(spectra.stieltjes(disc, lam)) / float(mp.stieltjes(lam)) - 1) < 1e-9


def test_mp_against_random_matrix():
    rng = np.random.default_rng(0)
    n, d = 1500, 3000
    X = rng.standard_normal((n, d))
    eig = np.linalg.eigvalsh(X @ X.T / n)  # nonzero eigenvalues of X^T X / n
    lam = 0.3
    empirical = (np.sum(1 / (eig + lam)) + (d - n) / lam) / d
    with jax.enable_x64(True):
        assert abs(empirical / float(spectra.marchenko_pastur(d / n).stieltjes(lam)) - 1) < 5e-3


def test_constructors_and_validation():
    sp = spectra.discrete([3.0, 1.0, 0.0], multiplicities=[1, 2, 1])
    np.testing.assert_allclose(sp.weights, [0.25, 0.5, 0.25])
    assert abs(float(spectra.rank_fraction(sp)) - 0.75) < 1e-15
    tl = spectra.two_level(0.2, 5.0, 0.5)
    np.testing.assert_allclose(tl.weights, [0.2, 0.8])
    pl = spectra.power_law(2000, 1.5)
    assert pl.eigenvalues[0] == 1.0 and abs(pl.eigenvalues[-1] - 2000**-1.5) < 1e-18
    with pytest.raises(ValueError, match="eigenvalues"):
        spectra.discrete([-1.0, 2.0])
    with pytest.raises(ValueError, match="weights must sum to 1"):
        spectra.discrete([1.0, 2.0], weights=[0.5, 0.6])
    with pytest.raises(ValueError, match="frac_top"):
        spectra.two_level(1.5, 1.0, 1.0)
    with pytest.raises(ValueError, match="n_modes"):
        spectra.power_law(0, 1.0)
    with pytest.raises(ValueError, match="ratio"):
        spectra.marchenko_pastur(float("nan"))


def test_effective_regularization_root_properties():
    sp = spectra.two_level(0.3, 4.0, 0.25)
    with jax.enable_x64(True):
        for alpha, lam in [(0.5, 1e-3), (2.0, 0.1), (0.2, 0.0), (1.0, 1e-9)]:
            res = spectra.effective_regularization(sp, alpha, lam)
            kappa = float(np.exp(res.root))
            assert bool(res.converged)
            lhs = 1 - lam / kappa
            rhs = float(spectra.df1(sp, kappa)) / alpha
            assert abs(lhs - rhs) < 1e-13
            assert kappa >= lam
