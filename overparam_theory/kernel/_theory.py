"""Kernel ridge regression learning curves from a kernel spectrum (eigenlearning theory).

Conventions (``docs/theory/kernel.md``): kernel
``K(x, x') = sum_k eta_k phi_k(x) phi_k(x')`` with eigenfunctions orthonormal under the data
distribution; target ``f*(x) = sum_k v_k phi_k(x)`` (``target`` holds the coefficients ``v_k``,
not their squares); labels ``y = f*(x) + eps`` with ``Var eps = noise`` (a variance);
``n_samples`` training points; predictor ``f_hat(x) = k(x)^T (K + ridge I_n)^{-1} y`` -- the
ridge is **not** multiplied by ``n``.

Equations (Simon, Dickens, Karkada & DeWeese 2023, eqs. for ``kappa``, ``L_k``, ``E_0``;
Bordelon, Canatar & Pehlevan 2020; Jacot et al. 2020):

    kappa > 0:  sum_k eta_k/(eta_k + kappa) + ridge/kappa = n,
    L_k = eta_k/(eta_k + kappa)                         (learnability of mode k),
    E0 = n/(n - sum_k L_k^2)                            (overfitting coefficient),
    test_error  = E0 (sum_k (1 - L_k)^2 v_k^2 + noise)  (includes the test-label noise),
    excess_risk = test_error - noise = E_x (f_hat - f*)^2 = bias + variance,
    bias = E0 sum_k (1 - L_k)^2 v_k^2,   variance = (E0 - 1) noise,
    train_error = (ridge/(n kappa))^2 test_error.

Ridgeless (``ridge = 0``) needs more positive-eigenvalue modes ``M+`` than samples for
``kappa > 0``; with ``M+ <= n`` it is least squares on the ``M+`` modes: ``kappa = 0``,
``L_k = 1`` on them, ``E0 = n/(n - M+)`` (``inf`` at ``M+ = n``).  Bordelon et al.'s
``kappa_BCP = n kappa`` and ``gamma = sum_k L_k^2 / n`` (``docs/conventions.md``).  This is
anisotropic ridge regression (``overparam_theory.ridge``) with ``Sigma``'s eigenvalues
``eta_k``, per-direction teacher ``v_k^2/eta_k``, ``alpha = n/M`` and ``ridge_linear =
ridge/n``; :func:`to_ridge_parameters` converts.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._spec import validated
from ..numerics import spectra as _spectra
from ..numerics.batching import map_points
from ..numerics.diagnostics import Diagnostics, diagnostics, with_diagnostics
from ..numerics.grid import evaluate
from ._params import MODEL_PARAMS, PARAMS


@with_diagnostics
class KernelTheory(NamedTuple):
    """Eigenlearning predictions, shaped like the broadcast parameters (``learnability`` has a
    trailing mode axis).

    Attributes:
        test_error: test MSE including the label noise of the test point.
        excess_risk: ``E_x (f_hat - f*)^2 = test_error - noise``.
        bias, variance: its parts from the target and from the label noise.
        train_error: mean squared training residual.
        learnability: ``L_k = eta_k/(eta_k + kappa)``, shape ``(..., K)``.
        effective_ridge: ``kappa`` (Simon et al.; ``kappa_BCP = n kappa``).
        overfitting_coefficient: ``E0 = n/(n - sum L_k^2)``.
        diagnostics: :class:`~overparam_theory.numerics.diagnostics.Diagnostics` of the
            ``kappa`` root (the ridgeless least-squares branch is closed form: status OK,
            0 iterations); ``converged``, ``status``, ``iterations``, ``residual`` are properties.
    """

    test_error: jax.Array
    excess_risk: jax.Array
    bias: jax.Array
    variance: jax.Array
    train_error: jax.Array
    learnability: jax.Array
    effective_ridge: jax.Array
    overfitting_coefficient: jax.Array
    diagnostics: Diagnostics


def check_target(eigenvalues, target):
    """Cross-field rule shared with the simulator (single values are checked by ``PARAMS``):
    one target coefficient per eigenvalue."""
    if np.shape(target) != np.shape(eigenvalues):
        raise ValueError(
            f"target must hold one coefficient v_k per eigenvalue: length {np.shape(eigenvalues)[0]}, "
            f"got shape {np.shape(target)}"
        )


def _point(n, ridge, noise, eig, v2):
    m = eig.shape[0]
    m_pos = jnp.sum(eig > 0)
    kappa_zero = (ridge == 0) & (n >= m_pos)
    spectrum = _spectra.DiscreteSpectrum(eig, jnp.full(m, 1.0 / m))
    n_s = jnp.where(kappa_zero, 0.5 * m_pos, n)
    root = _spectra.effective_regularization(spectrum, n_s / m, ridge / n_s)
    kappa = jnp.where(kappa_zero, 0.0, jnp.exp(root.root))
    positive = eig > 0
    learn = jnp.where(positive, eig / jnp.where(positive, eig + kappa, 1.0), 0.0)
    # n - sum L^2 = ridge/kappa + kappa sum eta/(eta+kappa)^2 (a sum of positive terms).
    kappa_s = jnp.where(kappa_zero, 1.0, kappa)
    gap_k = ridge / kappa_s + kappa_s * jnp.sum(eig / (eig + kappa_s) ** 2)
    gap_0 = n - m_pos
    gap = jnp.where(kappa_zero, gap_0, gap_k)
    e0 = jnp.where(gap > 0, n / jnp.where(gap > 0, gap, 1.0), jnp.inf)
    unlearned = jnp.sum((1.0 - learn) ** 2 * v2)
    bias = jnp.where(unlearned > 0, e0 * unlearned, 0.0)
    variance = jnp.where(noise > 0, (e0 - 1.0) * noise, 0.0)
    ratio = jnp.where(kappa_zero, gap_0 / n, ridge / (n * kappa_s))
    train = jnp.where(jnp.isfinite(e0), ratio**2 * (bias + variance + noise), 0.0)
    converged = kappa_zero | root.converged
    iterations = jnp.where(kappa_zero, 0, root.iterations)
    residual = jnp.where(kappa_zero, 0.0, root.residual)
    return bias, variance, train, learn, kappa, e0, converged, iterations, residual


def _curve(n, ridge, noise, eig, target):
    bias, var, train, learn, kappa, e0, conv, its, res = map_points(
        _point, (n, ridge, noise), (eig, target**2), work_per_point=eig.size
    )
    # A point whose root did not converge is reported as NaN *and* flagged, never as a number.
    keep = lambda v: jnp.where(conv, v, jnp.nan)
    return KernelTheory(
        keep(bias + var + noise),
        keep(bias + var),
        keep(bias),
        keep(var),
        keep(train),
        jnp.where(conv[..., None], learn, jnp.nan),
        kappa,
        e0,
        diagnostics(conv, its, res),
    )


@validated(PARAMS, "theory")
def theory(*, n_samples, ridge, noise, eigenvalues, target, dtype, on_failure) -> KernelTheory:
    """Kernel ridge regression learning curve (test, train, learnabilities, ``kappa``).

    Args:
        n_samples: number of training samples ``n > 0`` (real values allowed in the theory).
        ridge: ``>= 0``, the ridge in ``(K + ridge I_n)``; ``0`` is the ridgeless interpolant.
        noise: label-noise variance ``>= 0``.
        eigenvalues: ``(K,)`` kernel eigenvalues ``eta_k >= 0``.
        target: ``(K,)`` target coefficients ``v_k`` in the kernel eigenbasis.
        dtype, on_failure: as in :func:`overparam_theory.ridge.theory`.

    ``n_samples``, ``ridge`` and ``noise`` broadcast together.

    References:
        Simon et al., TMLR 2023 (arXiv:2110.03922); Bordelon, Canatar & Pehlevan, ICML 2020
        (arXiv:2002.02561); Canatar, Bordelon & Pehlevan, Nat. Commun. 12, 2914 (2021).
    """
    check_target(eigenvalues, target)
    return evaluate(
        _curve,
        (n_samples, ridge, noise),
        (eigenvalues, target),
        dtype=dtype,
        on_failure=on_failure,
        what="kernel effective-regularisation root",
    )


@validated(MODEL_PARAMS[:2] + MODEL_PARAMS[3:], "theory")
def to_ridge_parameters(*, n_samples, ridge, eigenvalues, target):
    """The anisotropic-ridge parameters of the same problem (``docs/theory/kernel.md``).

    Returns a dict with ``alpha = n/M``, ``ridge = ridge/n`` (penalty on the averaged loss),
    ``spectrum`` (eigenvalues ``eta_k``, weight ``1/M`` each) and ``teacher_power =
    v_k^2/eta_k`` (per-direction coefficient, multiplicity one), for
    :func:`overparam_theory.ridge.theory`; its ``excess_risk`` equals this module's.
    """
    check_target(eigenvalues, target)
    eig = np.asarray(eigenvalues, float)
    v = np.asarray(target, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        tpow = np.where(eig > 0, v**2 / np.where(eig > 0, eig, 1.0), 0.0)
    n = np.asarray(n_samples, float)
    return {
        "alpha": n / eig.size,
        "ridge": np.asarray(ridge, float) / n,
        "spectrum": _spectra.discrete(eig),
        "teacher_power": tpow,
    }
