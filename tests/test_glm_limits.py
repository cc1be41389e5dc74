"""Limits connecting glm.theory with the max-margin, separability and logistic-MLE functions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize
from scipy.special import expit

from overparam_theory import glm

ALPHAS = np.array([0.5, 3.0])


def test_hinge_at_small_ridge_is_max_margin():
    """docs/theory/glm.md section 5 (Aubin et al. 2020): hinge ERM at small ridge has the max-margin q = 1/kappa^2 and
    cosine R (to ~1e-10 once ridge <= 1e-2 here), zero training loss, and approaches them
    continuously from larger ridge."""
    mm = glm.max_margin(alpha=ALPHAS)
    gaps = []
    for lam in (0.3, 0.1, 1e-2, 1e-3):
        h = glm.theory(alpha=ALPHAS, ridge=lam, loss="hinge")
        gaps.append(np.max(np.abs(h.cosine - mm.cosine)) + np.max(np.abs(h.q - mm.q) / mm.q))
        if lam <= 1e-2:
            np.testing.assert_allclose(h.q, 1.0 / mm.margin**2, rtol=1e-9)
            np.testing.assert_allclose(h.cosine, mm.cosine, atol=1e-9)
            np.testing.assert_allclose(h.test_error, mm.test_error, atol=1e-9)
            assert np.all(h.train_loss < 1e-12)
    assert gaps[0] > gaps[1] > 1e-6 > gaps[2]


def test_logistic_at_tiny_ridge_approaches_the_max_margin_direction():
    """Separable data: the logistic direction m/sqrt(q) tends to the max-margin cosine (slowly,
    like 1/log(1/ridge)), while q grows without bound."""
    mm = glm.max_margin(alpha=ALPHAS)
    gaps, qs = [], []
    for lam in (1e-2, 1e-4, 1e-6, 1e-8):
        th = glm.theory(alpha=ALPHAS, ridge=lam, loss="logistic")
        gaps.append(th.cosine - mm.cosine)
        qs.append(th.q)
    gaps, qs = np.array(gaps), np.array(qs)
    assert np.all(gaps > 0) and np.all(np.diff(gaps, axis=0) < 0)
    assert np.all(gaps[-1] < 0.4 * gaps[0])
    assert np.all(np.diff(qs, axis=0) > 0)


def test_logistic_ridge_zero_in_separable_phase_is_refused():
    alpha_s = float(glm.separability_threshold(flip=0.1).alpha_s)
    with pytest.raises(ValueError, match="separable"):
        glm.theory(alpha=0.9 * alpha_s, ridge=0.0, loss="logistic", flip=0.1)
    th = glm.theory(alpha=1.2 * alpha_s, ridge=0.0, loss="logistic", flip=0.1)
    assert th.converged and 0.1 < th.test_error < 0.5


def test_unregularised_logistic_is_the_small_ridge_limit():
    a = glm.theory(alpha=5.0, ridge=0.0, loss="logistic", flip=0.1)
    b = glm.theory(alpha=5.0, ridge=1e-7, loss="logistic", flip=0.1)
    np.testing.assert_allclose([a.m, a.q, a.test_error], [b.m, b.q, b.test_error], rtol=1e-5)


def test_gardner_capacity_and_logistic_boundary_at_zero_signal():
    """Spec: alpha_c(0) = 2 to 1e-8; the logistic MLE exists iff kappa < 1/2 at gamma = 0."""
    assert abs(float(glm.gardner_capacity(margin=0.0).alpha_c) - 2.0) < 1e-8
    assert abs(float(glm.logistic_mle_boundary(signal=0.0).kappa) - 0.5) < 1e-8
    mle = glm.logistic_mle(kappa=np.array([0.49, 0.51]), signal=0.0)
    assert mle.exists.tolist() == [True, False]
    assert np.isfinite(mle.sigma_star[0]) and np.isinf(mle.sigma_star[1])


# ------------------------------------------------------------------------ Sur-Candes, independently


def _sur_candes_reference(kappa, gamma, n_nodes=120):
    """Solve the Sur-Candes system (PNAS 2019, eq. 5) in *their* variables (alpha, sigma, lambda)
    with scipy.optimize.root and a tensor Gauss-Hermite rule: independent of glm.theory."""
    z, w = np.polynomial.hermite_e.hermegauss(n_nodes)
    w = w / math.sqrt(2 * math.pi)
    Z1, Z2 = np.meshgrid(z, z, indexing="ij")
    W = np.outer(w, w)

    def prox(x, lam):  # argmin_t lam log(1 + e^t) + (t - x)^2 / 2, vectorised Newton
        t = x.copy()
        for _ in range(100):
            g = t - x + lam * expit(t)
            t = t - g / (1 + lam * expit(t) * expit(-t))
        return t

    def equations(v):
        a, s, lam = v
        Q1 = gamma * Z1
        Q2 = -a * gamma * Z1 + math.sqrt(kappa) * s * Z2
        p = prox(Q2, lam)
        r1 = expit(Q1)
        e1 = np.sum(W * 2 * r1 * (lam * expit(p)) ** 2) - kappa**2 * s**2
        e2 = np.sum(W * r1 * Q1 * lam * expit(p))
        e3 = np.sum(W * 2 * r1 / (1 + lam * expit(p) * expit(-p))) - (1 - kappa)
        return [e1, e2, e3]

    sol = optimize.root(equations, [1.2, 3.0, 1.0], tol=1e-13)
    assert sol.success, sol.message
    return sol.x


@pytest.mark.parametrize("kappa, gamma2", [(0.1, 5.0), (0.2, 1.0)])
def test_logistic_mle_matches_the_sur_candes_system(kappa, gamma2):
    a_ref, s_ref, l_ref = _sur_candes_reference(kappa, math.sqrt(gamma2))
    ours = glm.logistic_mle(kappa=kappa, signal=gamma2)
    assert ours.exists and ours.converged
    np.testing.assert_allclose([ours.alpha_star, ours.sigma_star, ours.lambda_star], [a_ref, s_ref, l_ref], rtol=1e-7)


def test_logistic_mle_bad_input():
    with pytest.raises(ValueError, match="kappa"):
        glm.logistic_mle(kappa=1.2, signal=1.0)
    with pytest.raises(ValueError, match="signal"):
        glm.logistic_mle(kappa=0.1, signal=-1.0)
