"""Unregularised logistic-regression MLE in the Sur-Candes parametrisation (``docs/theory/glm.md``).

Sur & Candes, PNAS 116 (2019) 14516 (system (5)); Candes & Sur, Ann. Statist. 48 (2020) (existence).
Their conventions: ``p`` features, ``n`` samples, ``kappa = p/n < 1``, ``x_ij ~ N(0, 1/n)``,
``P(y = 1 | x) = sigma(x . beta)``, ``gamma^2 = lim Var(x . beta)``.  In our GLM notation this is
``d = p``, ``alpha = 1/kappa``, ``signal = gamma^2``, the logistic teacher with ``beta = 1``
(``noise = pi^2/3``), logistic loss and ``ridge = 0``, and

    alpha_star   = m / rho                       (<beta_hat, beta>/|beta|^2 -> alpha_star),
    sigma_star^2 = (q - m^2/rho) / kappa          (= lim |beta_hat - alpha_star beta|^2 / p),
    lambda_star  = V,

so the MLE's coordinates are asymptotically ``beta_hat_j ~ alpha_star beta_j + sigma_star Z``
(note: ``sigma_star`` is per coordinate in *their* scaling, ``sqrt(kappa)`` times ours).
The likelihood-ratio statistic for ``k`` null coefficients is asymptotically
``(kappa sigma_star^2 / lambda_star) chi^2_k`` (Sur, Chen & Candes, PTRF 2019): ``lrt_scale``.

The MLE exists iff the data are not linearly separable: ``kappa < h(gamma)``
(:func:`~overparam_theory.glm.logistic_mle_boundary`).  Beyond the boundary the fields are
``inf`` with ``exists = False`` (documented, not NaN); at ``gamma = 0`` ``alpha_star`` is
undefined (NaN, documented) and ``sigma_star^2 = q / kappa``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .._spec import validated
from ..numerics.diagnostics import Diagnostics, with_diagnostics
from ._params import MLE_PARAMS
from ._separability import logistic_mle_boundary
from ._theory import theory


@with_diagnostics
class LogisticMLE(NamedTuple):
    """Sur-Candes quantities of the logistic MLE (arrays shaped like the broadcast inputs).

    Attributes:
        alpha_star: bias inflation ``<beta_hat, beta>/|beta|^2``.
        sigma_star: per-coordinate standard deviation of ``beta_hat - alpha_star beta``.
        lambda_star: the prox parameter ``V`` (``lambda`` in Sur-Candes).
        lrt_scale: ``kappa sigma_star^2 / lambda_star``, the LRT's chi-square scale.
        boundary: the existence boundary ``h(gamma)`` in ``kappa = p/n``.
        exists: ``kappa < h(gamma)``.
        m, q, V: the underlying GLM order parameters (our scaling).
        diagnostics: of the saddle-point solve (``OK`` with 0 iterations beyond the boundary);
            ``converged``, ``status``, ``iterations``, ``residual`` are properties.
    """

    alpha_star: np.ndarray
    sigma_star: np.ndarray
    lambda_star: np.ndarray
    lrt_scale: np.ndarray
    boundary: np.ndarray
    exists: np.ndarray
    m: np.ndarray
    q: np.ndarray
    V: np.ndarray
    diagnostics: Diagnostics


@validated(MLE_PARAMS, "theory")
def logistic_mle(*, kappa, signal, on_failure) -> LogisticMLE:
    """Asymptotic bias inflation, variance and LRT scale of the logistic MLE (Sur-Candes system).

    Args:
        kappa: ``p/n`` in ``(0, 1)`` (our ``1/alpha``).
        signal: ``gamma^2 = Var(x . beta) >= 0`` (``gamma = 0``: global null).
        on_failure: ``"warn"``, ``"raise"``, ``"ignore"`` for saddle points that did not converge.

    Returns:
        :class:`LogisticMLE`; points beyond the existence boundary have ``exists = False`` and
        ``inf`` estimates (the MLE is infinite there).
    """
    shape = np.broadcast_shapes(np.shape(kappa), np.shape(signal))
    kappa, signal = (np.broadcast_to(a, shape).astype(float).reshape(-1) for a in (kappa, signal))
    boundary = np.asarray(logistic_mle_boundary(signal=signal).kappa, dtype=float).reshape(-1)
    exists = kappa < boundary
    null = signal == 0
    size = kappa.size
    out = {k: np.full(size, np.inf) for k in ("alpha_star", "sigma_star", "lambda_star", "lrt_scale", "m", "q", "V")}
    status = np.zeros(size, np.int32)
    iterations = np.zeros(size, np.int32)
    residual = np.zeros(size)
    if np.any(exists):
        idx = exists
        alpha = 1.0 / kappa[idx]
        rho = np.where(null[idx], 1.0, signal[idx])
        # gamma = 0: labels independent of the inputs, i.e. a fair label flip on any teacher.
        th = theory(
            alpha=alpha,
            ridge=0.0,
            loss="logistic",
            teacher="logistic",
            noise=math.pi**2 / 3.0,
            flip=np.where(null[idx], 0.5, 0.0),
            signal=rho,
            on_failure=on_failure,
        )
        m = np.where(null[idx], 0.0, th.m)
        q = th.q
        a_star = np.where(null[idx], np.nan, m / rho)
        s2 = (q - np.where(null[idx], 0.0, m * m / rho)) * alpha
        out["alpha_star"][idx] = a_star
        out["sigma_star"][idx] = np.sqrt(s2)
        out["lambda_star"][idx] = th.V
        out["lrt_scale"][idx] = s2 / (alpha * th.V)
        out["m"][idx], out["q"][idx], out["V"][idx] = m, q, th.V
        status[idx], iterations[idx], residual[idx] = th.status, th.iterations, th.residual
    fields = (
        out["alpha_star"], out["sigma_star"], out["lambda_star"], out["lrt_scale"], boundary, exists,
        out["m"], out["q"], out["V"],
    )
    diag = Diagnostics(status.reshape(shape), iterations.reshape(shape), residual.reshape(shape))
    return LogisticMLE(*(f.reshape(shape) for f in fields), diag)
