"""Gaussian equivalent of random features: the spectrum and teacher projections of the
feature covariance, in the form the anisotropic ridge theory (and the GLM solvers) accept.

Gaussian equivalence (Mei & Montanari 2022 section 5; Goldt et al. 2020; Hu & Lu 2022): for the
risk of ridge-type estimators, the features ``z = sigma(Theta x / sqrt d)`` (centred) behave like
``mu1 Theta x / sqrt d + mu_star g`` with ``g ~ N(0, I_N)`` independent, i.e. Gaussian features
with covariance ``Omega = mu1^2 Theta Theta^T / d + mu_star^2 I_N`` and cross-covariance
``E[z x^T] = mu1 Theta / sqrt d`` with the input.  The best linear predictor of the target in
``z`` is ``theta* = Omega^{-1} mu1 Theta beta_1 / sqrt d``; what it cannot represent,

    approximation_error = F_1^2 - theta*^T Omega theta* + F_*^2,

acts on the feature regression as extra label noise.  In the proportional limit the spectrum of
``Theta Theta^T / d`` is Marchenko-Pastur with ratio ``width = N/d`` (unit scale), so
``Omega``'s eigenvalues are ``omega = mu_star^2 + mu1^2 s``, ``s ~ MP(width)``, and an isotropic
``beta_1`` puts on the eigen-directions of eigenvalue ``omega`` the power

    teacher_power(omega) = width * mu1^2 F_1^2 s / omega^2   (per unit spectral weight).

Random-features ridge with ``alpha = n/d``, ``width = N/d`` and penalty ``(N ridge/d)||a||^2`` is
then anisotropic ridge (``overparam_theory.ridge``) with ``alpha_ridge = alpha/width``,
``ridge_ridge = width * ridge``, this spectrum and teacher, ``noise = tau^2 +
approximation_error``, and ``excess_risk_rf = excess_risk_ridge + approximation_error``.  With the
discretised MP law this reproduces Theorem 1 to ~1e-15 (tests/test_random_features_theory.py).
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np

from .._spec import Instance, Integer, Param, validated
from .._validation import is_traced
from ..numerics import spectra as _spectra
from ._activations import resolve_activation
from ._params import ACTIVATION, ACTIVATION_KINK, ALPHA, NOISE, NONLINEAR_SIGNAL, RIDGE, SIGNAL, WIDTH


def _single(param: Param) -> Param:
    """``param`` restricted to one number (the Gaussian equivalent is built for one point)."""
    interval = param.constraint

    def check(name, value):
        arr = interval.check(name, value)
        if not is_traced(arr) and np.ndim(arr) != 0:
            raise ValueError(f"{name} must be a single number ({interval.describe()}), got an array of shape {np.shape(arr)}")
        return arr

    return dataclasses.replace(
        param, constraint=Instance("a single number: " + interval.describe(), check), grid=False, cli=False
    )


_N_NODES = Param("n_nodes", Integer(1), 400, role="theory", help="quadrature nodes of the limit spectrum")
_EQUIVALENT_PARAMS = (
    _single(WIDTH),
    ACTIVATION,
    _single(SIGNAL),
    _single(NONLINEAR_SIGNAL),
    _single(NOISE),
    Param("dim", Integer(1), None, nullable=True, role="theory",
          help="None: the proportional limit; an integer d: one finite draw of Theta and beta_1"),
    Param("seed", Integer(0), 0, role="theory", help="NumPy seed of the finite draw (dim given)"),
    _N_NODES,
    ACTIVATION_KINK,
)
_RIDGE_PARAMS = (ALPHA, _single(WIDTH), RIDGE, ACTIVATION, _single(SIGNAL), _single(NONLINEAR_SIGNAL), _single(NOISE),
                 _N_NODES, ACTIVATION_KINK)


class GaussianEquivalent(NamedTuple):
    """Gaussian-equivalent feature model of random features.

    Attributes:
        spectrum: eigenvalues ``omega_k`` of the feature covariance ``Omega`` with weights
            (fractions of the ``N`` feature directions).
        teacher_power: squared norm of the best linear predictor ``theta*`` in each eigenspace
            (``sum_k teacher_power_k omega_k`` is the explained target variance).
        approximation_error: ``F_1^2 - theta*^T Omega theta* + F_*^2``, the part of the target
            no linear function of the features represents.
        noise: ``tau^2 + approximation_error``, the effective label noise of the feature
            regression.
        mu0, mu1, mu_star: the activation's coefficients (``mu0`` only shifts the features'
            mean and does not enter).
    """

    spectrum: _spectra.DiscreteSpectrum
    teacher_power: np.ndarray
    approximation_error: float
    noise: float
    mu0: float
    mu1: float
    mu_star: float


@validated(_EQUIVALENT_PARAMS, "theory")
def gaussian_equivalent(
    *, width, activation, signal, nonlinear_signal, noise, dim, seed, n_nodes, activation_kink
) -> GaussianEquivalent:
    """Spectrum and teacher projections of the Gaussian-equivalent feature model.

    Args:
        width: ``N/d > 0``.
        activation, activation_kink: as in :func:`~overparam_theory.random_features.theory`.
        signal, nonlinear_signal, noise: ``F_1^2``, ``F_*^2``, ``tau^2`` (``>= 0``).
        dim: ``None`` for the proportional limit (the MP law of ``Theta Theta^T/d`` discretised
            with ``n_nodes`` Gauss-Chebyshev nodes, plus its atom at 0 when ``width > 1``);
            an integer ``d`` to draw one ``Theta`` (rows uniform on the sphere of radius
            ``sqrt d``) and one ``beta_1`` (uniform direction) with ``seed`` and return that
            finite instance exactly (``N = round(width d)`` eigenvalues of weight ``1/N``).
        n_nodes: quadrature nodes of the limit spectrum.
    """
    width, f1, fstar, tau2 = float(width), float(signal), float(nonlinear_signal), float(noise)
    act = resolve_activation(activation, kink=activation_kink)
    mu1, ms2 = act.mu1, act.mu_star**2
    if dim is None:
        mp = _spectra.marchenko_pastur(width).discretize(n_nodes)
        s, w = np.asarray(mp.eigenvalues), np.asarray(mp.weights)
        omega = ms2 + mu1**2 * s
        with np.errstate(divide="ignore", invalid="ignore"):
            tpow = np.where(omega > 0, w * width * mu1**2 * f1 * s / np.where(omega > 0, omega, 1.0) ** 2, 0.0)
    else:
        d = dim
        n_feat = max(1, int(round(width * d)))
        rng = np.random.default_rng(seed)
        theta = rng.standard_normal((n_feat, d))
        theta *= np.sqrt(d) / np.linalg.norm(theta, axis=1, keepdims=True)
        beta = rng.standard_normal(d)
        beta *= np.sqrt(f1) / np.linalg.norm(beta)
        s, u = np.linalg.eigh(theta @ theta.T / d)
        s = np.clip(s, 0.0, None)
        omega = ms2 + mu1**2 * s
        cross = mu1 * (u.T @ (theta @ beta)) / np.sqrt(d)  # U^T E[z x^T] beta_1
        with np.errstate(divide="ignore", invalid="ignore"):
            tpow = np.where(omega > 0, cross**2 / np.where(omega > 0, omega, 1.0) ** 2, 0.0)
        w = np.full(n_feat, 1.0 / n_feat)
    explained = float(np.sum(tpow * omega))
    approx = max(f1 - explained, 0.0) + fstar
    spectrum = _spectra.DiscreteSpectrum(omega, w)
    return GaussianEquivalent(spectrum, tpow, approx, tau2 + approx, act.mu0, act.mu1, act.mu_star)


@validated(_RIDGE_PARAMS, "theory")
def to_ridge_parameters(
    *, alpha, width, ridge, activation, signal, nonlinear_signal, noise, n_nodes, activation_kink
):
    """Anisotropic-ridge parameters of the Gaussian-equivalent problem (proportional limit).

    Returns ``(params, offset)``: ``overparam_theory.ridge.theory(**params).excess_risk +
    offset`` is the random-features ``excess_risk`` (``offset`` = the approximation error).
    ``width`` must be a scalar (the spectrum depends on it); ``alpha`` and ``ridge`` broadcast.
    ``activation_kink`` as in :func:`~overparam_theory.random_features.theory`.
    """
    ge = gaussian_equivalent(
        width=width,
        activation=activation,
        signal=signal,
        nonlinear_signal=nonlinear_signal,
        noise=noise,
        n_nodes=n_nodes,
        activation_kink=activation_kink,
    )
    alpha, ridge = np.asarray(alpha), np.asarray(ridge)
    params = {
        "alpha": alpha / float(width),
        "ridge": float(width) * ridge,
        "spectrum": ge.spectrum,
        "teacher_power": ge.teacher_power,
        "noise": ge.noise,
    }
    return params, ge.approximation_error
