"""Asymptotic gradient-flow / gradient-descent dynamics of linear least squares.

Model and conventions (those of :mod:`overparam_theory.ridge`; ``docs/theory/linear_dynamics.md``):
``x ~ N(0, Sigma)`` with unit-scale coordinates, ``n`` samples in dimension ``d``,
``alpha = n/d`` (``gamma = d/n = 1/alpha``), labels ``y = <x, beta> + eps`` with
``noise = Var eps`` and ``signal = ||beta||^2`` (or ``teacher_power[k]``, the teacher's squared
norm inside the ``k``-th eigenspace of ``Sigma``).  The training loss is

    L(w) = (1/(2n)) ||y - X w||^2        (half the ridge module's averaged loss),

so ``grad L = Sigma_hat w - X^T y / n`` with ``Sigma_hat = X^T X / n``.  From ``w(0) = 0``,
gradient flow (GF) ``dw/dt = -grad L`` and gradient descent (GD)
``w_{k+1} = w_k - lr grad L`` (time ``t = k lr``) give (Ali, Kolter & Tibshirani, AISTATS 2019,
arXiv:1810.10082, Lemma 1 for GF and Lemma 3 for GD; Advani & Saxe 2017, arXiv:1710.03667)

    w(t) - beta = -phi(Sigma_hat) beta + psi(Sigma_hat) X^T eps / n,
    phi(s) = exp(-t s)  (GF)   or   (1 - lr s)^k  (GD),       psi(s) = (1 - phi(s)) / s,

and, averaged over the label noise,

    bias(t)        = beta^T phi(Sigma_hat) Sigma phi(Sigma_hat) beta,
    variance(t)    = (noise/n) Tr[Sigma chi(Sigma_hat)],           chi(s) = (1 - phi(s))^2 / s,
    excess_risk    = bias + variance,       risk = excess_risk + noise,
    train_error(t) = (1/n)||y - X w(t)||^2 = beta^T Sigma_hat phi(Sigma_hat)^2 beta
                     + noise [1 - (1/n) Tr(1 - phi(Sigma_hat)^2)].

Isotropic case (``Sigma = I``): ``Sigma_hat`` has the Marchenko-Pastur law ``mu_gamma`` (atom
``1 - 1/gamma`` at 0 when ``gamma > 1``, where ``phi = 1`` and ``chi = 0``), and

    bias = signal int phi^2 dmu_gamma,        variance = noise gamma int chi dmu_gamma,
    train_error = signal int s phi^2 dmu_gamma + noise (1 - gamma int (1 - phi^2) dmu_gamma)

(Ali et al. 2019, Marchenko-Pastur section; Advani & Saxe 2017, section 3).  The bulk integrals
use Gauss-Chebyshev quadrature of the second kind in ``s = mid + half cos(theta)`` (the square-root
edges become the rule's weight), the atom is added exactly, and the nested half rule gives a
per-point error estimate (``residual``).

Anisotropic case (``DiscreteSpectrum``): ``f(Sigma_hat)`` is written as a contour integral
``(1/2 pi i) oint f(z) (z - Sigma_hat)^{-1} dz`` around the continuous part of the spectrum of
``Sigma_hat`` and the resolvents are replaced by their deterministic equivalents (Bach 2023,
arXiv:2303.01372; Bodin & Macris 2021, arXiv:2110.11805), with ``kappa(z)`` the effective
regularisation of the ridge module continued to complex ``l = -z``
(``kappa + z = (kappa/alpha) sum_k w_k lam_k/(lam_k + kappa)``):

    (z - Sigma_hat)^{-1}                    ~ (kappa/z) (Sigma + kappa)^{-1},
    (z1 - S_hat)^{-1} Sigma (z2 - S_hat)^{-1} ~ (kappa1 kappa2/(z1 z2)) Sigma (Sigma+kappa1)^{-1}(Sigma+kappa2)^{-1}
                                               / (1 - (1/n) Tr[Sigma^2 (Sigma+kappa1)^{-1}(Sigma+kappa2)^{-1}]).

``phi(Sigma_hat) = I + (phi - 1)(Sigma_hat)``, and ``phi - 1``, ``chi``, ``s phi^2`` and
``1 - phi^2`` vanish at ``s = 0``: the contour only has to enclose the non-zero spectrum (the
atom at 0 is exact by construction).  The contour is an ellipse in ``log z`` around
``[log s_lo, log s_max]`` (``s_lo = lam_min (1 - sqrt gamma)^2`` a lower bound of the bulk,
``s_max`` the exact upper edge from the Silverstein-Choi critical point); it lies in
``Re z > 0`` where ``|exp(-t z)| <= 1``, so one time-independent contour serves every time,
and the trapezoid rule in the ellipse angle converges geometrically.  See
``docs/theory/linear_dynamics.md``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..._spec import validated
from ...numerics import spectra as _spectra
from ...numerics.diagnostics import Diagnostics, Status, diagnostics, with_diagnostics
from ...numerics.grid import bucket_size, evaluate, finalize
from ._params import EARLY_STOPPING_PARAMS, PARAMS

ISOTROPIC_NODES, ANISOTROPIC_NODES = 1024, 256  # default quadrature sizes (n_nodes)


@with_diagnostics
class LinearDynamicsTheory(NamedTuple):
    """Asymptotic risk curves of GF / GD on linear least squares.

    Every field has shape ``grid_shape + time.shape``: the broadcast shape of the grid
    parameters (``alpha``, ``noise`` and, isotropic, ``signal``) followed by the axes of
    ``time`` (the time axis/axes are always trailing).

    Attributes:
        risk: total test error ``excess_risk + noise``.
        excess_risk: ``E (w(t) - beta)^T Sigma (w(t) - beta)`` (test label noise excluded).
        bias: the part of ``excess_risk`` from the teacher (``noise = 0``).
        variance: the part from the label noise.
        train_error: ``(1/n) ||y - X w(t)||^2``.
        diagnostics: :class:`~overparam_theory.numerics.diagnostics.Diagnostics` per (point,
            time): status ``OK`` where the quadrature error estimate met the tolerance, the GD
            iteration is stable and (anisotropic) the ``kappa`` continuation converged;
            ``DIVERGED`` where gradient descent diverges (``learning_rate * s_max > 2``);
            ``MAX_ITERATIONS`` where the quadrature error exceeds the tolerance (raise
            ``n_nodes``); ``NONFINITE`` where the ``kappa`` continuation failed.  ``iterations``:
            contour nodes of the ``kappa`` Newton continuation (30 Newton steps each; 0 in the
            isotropic quadrature); ``residual``: estimated absolute quadrature error (full rule
            minus nested half rule) relative to ``signal + noise``.  ``converged``, ``status``,
            ``iterations``, ``residual`` are properties.
        stable: ``False`` where gradient descent diverges, ``learning_rate * s_max > 2``.
        max_eigenvalue: ``s_max``, the upper edge of the limiting spectrum of ``Sigma_hat``
            (grid-shaped).
    """

    risk: jax.Array
    excess_risk: jax.Array
    bias: jax.Array
    variance: jax.Array
    train_error: jax.Array
    diagnostics: Diagnostics
    stable: jax.Array
    max_eigenvalue: jax.Array


RESULT_FIELDS = ("risk", "excess_risk", "bias", "variance", "train_error")


class Parameters(NamedTuple):
    time: np.ndarray
    steps: np.ndarray | None
    alpha: np.ndarray
    noise: np.ndarray
    signal: np.ndarray | None
    spectrum: object
    teacher_power: np.ndarray | None
    learning_rate: float | None
    shape: tuple


# ---------------------------------------------------------------------------------------------
# Cross-field rules (shared with the simulator; single arguments are checked by the declared PARAMS).


def single_number(name, value):
    """A validated option that must be one number (a one-element array, e.g. from the command
    line, is accepted) as a ``float``; ``None`` stays ``None``."""
    if value is None:
        return None
    if np.size(value) != 1:
        raise ValueError(f"{name} must be a single number, got an array of shape {np.shape(value)}")
    return float(np.reshape(value, ()))


def gd_steps(time, learning_rate):
    """Gradient-descent step counts ``k = time / learning_rate`` (``inf`` stays ``inf``);
    ``ValueError`` unless every time is a whole number of steps."""
    k = time / learning_rate
    finite = np.isfinite(k)
    k_fin = np.where(finite, k, 0.0)
    off = finite & (np.abs(k_fin - np.rint(k_fin)) > 1e-9 * np.maximum(1.0, np.abs(k_fin)))
    if np.any(off):
        bad = np.asarray(time)[off].ravel()[0]
        raise ValueError(
            f"time must be a whole number of gradient-descent steps, time = k * learning_rate "
            f"(k = 0, 1, 2, ...), got time={bad:g} with learning_rate={learning_rate:g}"
        )
    return np.where(finite, np.rint(k_fin), np.inf)


def resolve_parameters(time, alpha, noise, signal, spectrum, teacher_power, learning_rate) -> Parameters:
    """The rules between validated arguments (``ValueError`` naming them): times in whole GD
    steps, and the teacher -- isotropic data take ``signal`` (default 1) and refuse
    ``teacher_power``; with a spectrum (every level of positive weight with a positive
    eigenvalue) exactly one of a scalar ``signal`` and ``teacher_power``."""
    learning_rate = single_number("learning_rate", learning_rate)
    steps = None if learning_rate is None else gd_steps(time, learning_rate)
    if spectrum is None:
        if teacher_power is not None:
            raise ValueError("teacher_power needs a spectrum (spectra.discrete(...)); for isotropic data use signal")
        signal = np.asarray(1.0) if signal is None else signal
        shape = np.broadcast_shapes(np.shape(alpha), np.shape(noise), np.shape(signal))
        return Parameters(time, steps, alpha, noise, signal, None, None, learning_rate, shape)
    spectrum, teacher_power = _spectra.validate_spectrum_teacher(spectrum, signal, teacher_power, all_positive=True)
    shape = np.broadcast_shapes(np.shape(alpha), np.shape(noise))
    return Parameters(time, steps, alpha, noise, None, spectrum, teacher_power, learning_rate, shape)


# ---------------------------------------------------------------------------------------------
# Filter functions (real or complex argument), vectorised over times (leading axis) and nodes.


def _filters(s, t, k, lr, gd):
    """``phi(s)`` for times ``t`` (``(T, 1)``) or GD steps ``k`` (``(T, 1)``); ``s`` is ``(1, N)``."""
    if not gd:
        finite = jnp.isfinite(t)
        ts = jnp.where(finite, t, 0.0)
        return jnp.where(finite, jnp.exp(-ts * s), 0.0)
    base = 1.0 - lr * s
    finite = jnp.isfinite(k)
    ks = jnp.where(finite, k, 0.0)
    if jnp.iscomplexobj(base):
        phi = jnp.exp(ks * jnp.log(base))  # principal log; |base| < 1 on the contour
    else:
        odd = jnp.mod(ks, 2.0) == 1.0
        phi = jnp.abs(base) ** ks * jnp.where((base < 0) & odd, -1.0, 1.0)
    return jnp.where(finite, phi, 0.0)


# ---------------------------------------------------------------------------------------------
# Isotropic: Gauss-Chebyshev quadrature of the Marchenko-Pastur bulk.


def _mp_rule(gamma, n_nodes):
    """Nodes ``s`` and weights (bulk density included) of the (n_nodes - 1)-point rule, and the
    weights of the nested half rule (zero on the odd nodes)."""
    m = n_nodes  # number of intervals; nodes i = 1..m-1
    i = jnp.arange(1, m, dtype=gamma.dtype)
    theta = i * jnp.pi / m
    lo, hi = (1.0 - jnp.sqrt(gamma)) ** 2, (1.0 + jnp.sqrt(gamma)) ** 2
    half, mid = 0.5 * (hi - lo), 0.5 * (hi + lo)
    s = mid - half * jnp.cos(theta)  # ascending
    sin2 = jnp.sin(theta) ** 2
    dens = half**2 / (2.0 * jnp.pi * gamma * s)
    w_full = (jnp.pi / m) * sin2 * dens
    even = (jnp.arange(1, m) % 2) == 0
    w_half = jnp.where(even, 2.0 * w_full, 0.0)
    return s, w_full, w_half, hi


def _isotropic_point(alpha, noise, signal, t, k, lr, *, gd, n_nodes):
    gamma = 1.0 / alpha
    s, w_full, w_half, s_max = _mp_rule(gamma, n_nodes)
    atom = jnp.maximum(0.0, 1.0 - 1.0 / gamma)
    phi = _filters(s[None, :], t[:, None], k[:, None], lr, gd)  # (T, N)
    one_m = 1.0 - phi
    chi = one_m**2 / s
    phi2 = phi * phi
    integrands = (phi2, chi, s * phi2, 1.0 - phi2)

    def combine(w):
        i_bias, i_chi, i_tb, i_tn = (f @ w for f in integrands)
        bias = signal * (i_bias + atom)
        variance = noise * gamma * i_chi
        train = signal * i_tb + noise * (1.0 - gamma * i_tn)
        return bias, variance, train

    full = combine(w_full)
    halfr = combine(w_half)
    scale = signal + noise + jnp.finfo(s.dtype).tiny
    err = jnp.max(jnp.stack([jnp.abs(a - b) for a, b in zip(full, halfr)]), axis=0) / scale
    stable = jnp.asarray(True) if not gd else lr * s_max <= 2.0
    return full + (err, stable, s_max, jnp.zeros((), jnp.int32))


# ---------------------------------------------------------------------------------------------
# Anisotropic: contour integrals of deterministic equivalents.


def _upper_edge(alpha, lam, w):
    """Upper edge of the limiting spectrum of ``Sigma_hat`` and the critical point ``m*``.

    ``z(m) = -1/m + (1/alpha) sum_k w_k lam_k / (1 + lam_k m)`` (Silverstein & Choi 1995); the
    largest edge is ``z(m*)`` with ``z'(m*) = 0`` on ``(-1/lam_max, 0)``, where
    ``z'(m) = 1/m^2 - (1/alpha) sum_k w_k lam_k^2/(1 + lam_k m)^2`` increases from ``-inf``.
    """
    lam_max = jnp.max(jnp.where(w > 0, lam, 0.0))

    def dz(m):
        return 1.0 / m**2 - jnp.sum(w * lam**2 / (1.0 + lam * m) ** 2) / alpha

    def body(_, br):
        lo, hi = br
        mid = 0.5 * (lo + hi)
        neg = dz(mid) < 0
        return jnp.where(neg, mid, lo), jnp.where(neg, hi, mid)

    lo, hi = jax.lax.fori_loop(0, 200, body, (-1.0 / lam_max, jnp.zeros_like(lam_max)))
    m_star = 0.5 * (lo + hi)
    z_star = -1.0 / m_star + jnp.sum(w * lam / (1.0 + lam * m_star)) / alpha
    return z_star, m_star


def _z_of_m(m, alpha, lam, w):
    return -1.0 / m + jnp.sum(w * lam / (1.0 + lam * m)) / alpha


def _kappa_on_contour(z_upper, z_start, m_star, alpha, lam, w, newton_steps=30):
    """``m = 1/kappa`` at the upper-half contour nodes by Newton continuation from the real
    point ``z_start > s_max`` (where ``m`` is the root of ``z(m) = z_start`` in ``(m*, 0)``)."""

    def body(_, br):
        lo, hi = br
        mid = 0.5 * (lo + hi)
        above = _z_of_m(mid, alpha, lam, w) > z_start  # z(m) increases on (m*, 0)
        return jnp.where(above, lo, mid), jnp.where(above, mid, hi)

    lo, hi = jax.lax.fori_loop(0, 200, body, (m_star, jnp.zeros_like(m_star)))
    m0 = (0.5 * (lo + hi)).astype(z_upper.dtype)

    def newton(m, z):
        def step(_, m):
            f = _z_of_m(m, alpha, lam, w) - z
            fp = 1.0 / m**2 - jnp.sum(w * lam**2 / (1.0 + lam * m) ** 2) / alpha
            return m - f / fp

        m = jax.lax.fori_loop(0, newton_steps, step, m)
        return m, m

    _, ms = jax.lax.scan(newton, m0, z_upper)
    res = jnp.abs(jax.vmap(lambda m, z: _z_of_m(m, alpha, lam, w) - z)(ms, z_upper)) / jnp.abs(z_upper)
    return ms, res


def _contour(alpha, lam, w, lr, *, gd, n_nodes):
    gamma = 1.0 / alpha
    s_max, m_star = _upper_edge(alpha, lam, w)
    lam_min = jnp.min(jnp.where(w > 0, lam, jnp.inf))
    s_lo = lam_min * jnp.maximum((1.0 - jnp.sqrt(gamma)) ** 2, 1e-12)
    left, right = jnp.log(s_lo), jnp.log(s_max)
    c, h = 0.5 * (left + right), 0.5 * (right - left)
    eta = 0.5 * jnp.arcsinh(0.5 * jnp.pi / h)
    if gd:
        # keep the right crossing inside the GD stability disk |1 - lr z| < 1 (i.e. z < 2/lr)
        cap = (jnp.log(2.0 / lr) - c) / h
        eta = jnp.where(cap > 1.0, jnp.minimum(eta, 0.5 * jnp.arccosh(jnp.maximum(cap, 1.0))), eta)
    theta = 2.0 * jnp.pi * (jnp.arange(n_nodes) + 0.5) / n_nodes
    wz = c + h * jnp.cosh(eta + 1j * theta)
    z = jnp.exp(wz)
    dz = z * h * jnp.sinh(eta + 1j * theta) * 1j  # dz/dtheta
    half = n_nodes // 2
    z_start = jnp.exp(c + h * jnp.cosh(eta))
    m_up, res = _kappa_on_contour(z[:half], z_start, m_star, alpha, lam, w)
    m = jnp.concatenate([m_up, jnp.conj(m_up[::-1])])
    ok = jnp.all(res < 1e-10) & jnp.all(jnp.imag(m_up) > 0)
    return z, dz, 1.0 / m, ok, s_max, jnp.max(res)


def _anisotropic_point(alpha, noise, t, k, lam, w, tp, lr, *, gd, n_nodes):
    z, dz, kappa, ok, s_max, _ = _contour(alpha, lam, w, lr, gd=gd, n_nodes=n_nodes)
    N = n_nodes
    r = kappa / z  # (N,)
    den1 = lam[None, :] + kappa[:, None]  # (N, K)
    tr_n = r * jnp.sum(w / den1, axis=1) / alpha  # (1/n) Tr (z - S)^{-1}
    tr_sig = r * jnp.sum(w * lam / den1, axis=1) / alpha  # (1/n) Tr Sigma (z - S)^{-1}
    quad = r * jnp.sum(tp / den1, axis=1)  # beta^T (z - S)^{-1} beta
    cross = r * jnp.sum(tp * lam / den1, axis=1)  # beta^T (z - S)^{-1} Sigma beta
    inv = 1.0 / den1
    num2 = jnp.einsum("ik,jk,k->ij", inv, inv, tp * lam)
    den2 = 1.0 - jnp.einsum("ik,jk,k->ij", inv, inv, w * lam**2) / alpha
    G2 = (r[:, None] * r[None, :]) * num2 / den2  # beta^T (z1-S)^{-1} Sigma (z2-S)^{-1} beta
    b0 = jnp.sum(tp * lam)

    phi = _filters(z[None, :], t[:, None], k[:, None], lr, gd)  # (T, N) complex
    f = phi - 1.0
    chi = f * f / z
    even = (jnp.arange(N) % 2) == 0

    def combine(mask, n_eff):
        wdz = jnp.where(mask, dz, 0.0) / (1j * n_eff)  # (1/2 pi i) * dtheta
        one = lambda F: jnp.real(F @ wdz)
        v = f * wdz[None, :]
        bias = b0 + 2.0 * one(f * cross) + jnp.real(jnp.einsum("ti,ij,tj->t", v, G2, v))
        variance = noise * one(chi * tr_sig)
        train = one(z * phi * phi * quad) + noise * (1.0 - one((1.0 - phi * phi) * tr_n))
        return bias, variance, train

    full = combine(jnp.ones(N, bool), N)
    halfr = combine(even, N // 2)
    scale = b0 + noise + jnp.finfo(jnp.real(z).dtype).tiny
    err = jnp.max(jnp.stack([jnp.abs(a - b) for a, b in zip(full, halfr)]), axis=0) / scale
    err = jnp.where(ok, err, jnp.inf)
    stable = jnp.asarray(True) if not gd else lr * s_max <= 2.0
    return full + (err, stable, s_max, jnp.full((), N // 2, jnp.int32))


# ---------------------------------------------------------------------------------------------
# Grid kernels (numerics.grid.evaluate): flat grid arrays, times shared.


def _result(out, noise, tol):
    """:class:`LinearDynamicsTheory` from the per-point outputs ``(bias, variance, train, err,
    stable, s_max, iterations)`` (leading axis: points; times trailing)."""
    bias, variance, train, err, stable, s_max, iters = out
    stable_t = jnp.broadcast_to(stable[..., None], bias.shape)
    converged = stable_t & (err <= tol)
    nan = jnp.nan
    bias = jnp.where(converged, bias, nan)
    variance = jnp.where(converged, variance, nan)
    train = jnp.where(converged, train, nan)
    excess = bias + variance
    risk = excess + noise[..., None]
    iters = jnp.broadcast_to(iters[..., None], bias.shape)
    diag = diagnostics(converged, iters, err)
    diag = diag._replace(status=jnp.where(stable_t, diag.status, Status.DIVERGED).astype(jnp.int32))
    return LinearDynamicsTheory(risk, excess, bias, variance, train, diag, stable_t, s_max)


def _isotropic_kernel(alpha, noise, signal, t, k, lr, *, gd, n_nodes, tol):
    fn = lambda a, s2, r2: _isotropic_point(a, s2, r2, t, k, lr, gd=gd, n_nodes=n_nodes)
    out = jax.lax.map(lambda p: fn(*p), (alpha, noise, signal), batch_size=max(1, min(alpha.shape[0], 64)))
    return _result(out, noise, tol)


def _anisotropic_kernel(alpha, noise, t, k, lam, w, tp, lr, *, gd, n_nodes, tol):
    fn = lambda a, s2: _anisotropic_point(a, s2, t, k, lam, w, tp, lr, gd=gd, n_nodes=n_nodes)
    out = jax.lax.map(lambda p: fn(*p), (alpha, noise), batch_size=max(1, min(alpha.shape[0], 8)))
    return _result(out, noise, tol)


def _tolerance(dtype):
    return 1e-9 if dtype == "float64" else 1e-4


def _evaluate(p: Parameters, dtype, n_nodes, time_flat, steps_flat):
    """Every field on the grid at the flat times: grid buckets by :func:`evaluate`, the time
    axis padded to a power of two (at least 8, repeating the last time) so that time axes of
    similar length share one compiled program; padding cut, failures not yet reported."""
    gd = p.learning_rate is not None
    lr = 1.0 if not gd else p.learning_rate
    k = np.zeros_like(time_flat) if steps_flat is None else steps_flat
    n_t = int(np.size(time_flat))
    pad = (0, bucket_size(n_t, 8) - n_t)
    t_pad, k_pad = np.pad(time_flat, pad, mode="edge"), np.pad(k, pad, mode="edge")
    static = dict(gd=gd, n_nodes=n_nodes, tol=_tolerance(dtype))
    if p.spectrum is None:
        grid, shared, kernel = (p.alpha, p.noise, p.signal), (t_pad, k_pad, lr), _isotropic_kernel
    else:
        spec = p.spectrum
        grid, shared = (p.alpha, p.noise), (t_pad, k_pad, spec.eigenvalues, spec.weights, p.teacher_power, lr)
        kernel = _anisotropic_kernel
    out = evaluate(kernel, grid, shared, static=static, dtype=dtype, on_failure="ignore")
    cut = lambda x: x[..., :n_t]
    return out._replace(
        **{f: cut(getattr(out, f)) for f in ("risk", "excess_risk", "bias", "variance", "train_error", "stable")},
        diagnostics=Diagnostics(*(cut(d) for d in out.diagnostics)),
    )


@validated(PARAMS, "theory")
def theory(
    *, time, alpha, noise, signal, spectrum, teacher_power, learning_rate, n_nodes, dtype, on_failure
) -> LinearDynamicsTheory:
    """Asymptotic risk, bias, variance and training error of GF / GD on least squares.

    Args:
        time: array of times ``t >= 0`` (``inf`` allowed: the min-norm / least-squares limit);
            its axes become the trailing axes of every field.  With ``learning_rate`` every
            time must be a whole number of steps, ``t = k * learning_rate``.
        alpha: samples per dimension ``n/d > 0`` (``gamma = 1/alpha``).
        noise: label-noise variance ``>= 0``.
        signal: ``||beta||^2 >= 0`` (default 1); with a spectrum an isotropic teacher of that norm.
        spectrum: ``None`` (``Sigma = I``, Marchenko-Pastur quadrature) or a
            :class:`~overparam_theory.numerics.spectra.DiscreteSpectrum` (contour integrals of
            deterministic equivalents); eigenvalues of positive weight must be ``> 0``.
        teacher_power: ``(K,)`` teacher squared norm per spectrum level (ridge convention).
        learning_rate: ``None`` for gradient flow, else the GD step ``lr > 0`` (time ``t = k lr``).
            Where ``lr * s_max > 2`` GD diverges: those points are NaN with ``stable=False``.
        n_nodes: quadrature size (default 1024 isotropic, 256 anisotropic; a power of two).
        dtype: ``"float64"`` (default, local x64) or ``"float32"``.
        on_failure: ``"warn"`` / ``"raise"`` / ``"ignore"`` for non-converged points (NaN + flag).

    Returns:
        :class:`LinearDynamicsTheory`, fields shaped ``broadcast(alpha, noise[, signal]) + time.shape``.

    References:
        Ali, Kolter, Tibshirani, AISTATS 2019 (arXiv:1810.10082), Lemma 1 (GF path) and the
        Marchenko-Pastur risk of gradient flow (same time scale: their ``beta(t)`` solves
        ``d beta/dt = X^T (y - X beta)/n``); Advani & Saxe 2017 (arXiv:1710.03667);
        Bodin & Macris, NeurIPS 2021 (arXiv:2110.11805) for the contour / resolvent route;
        Bach 2023 (arXiv:2303.01372) for the two-resolvent deterministic equivalent.
    """
    p = resolve_parameters(time, alpha, noise, signal, spectrum, teacher_power, learning_rate)
    if n_nodes is None:
        n_nodes = ISOTROPIC_NODES if p.spectrum is None else ANISOTROPIC_NODES
    if n_nodes & (n_nodes - 1):
        raise ValueError(f"n_nodes must be a power of two >= 16, got {n_nodes}")
    time_shape = np.shape(p.time)
    t_flat = np.reshape(p.time, (-1,))
    k_flat = None if p.steps is None else np.reshape(p.steps, (-1,))
    result = _evaluate(p, dtype, n_nodes, t_flat, k_flat)
    trailing = lambda x: x.reshape(x.shape[:-1] + time_shape)  # NumPy or traced
    result = result._replace(
        **{f: trailing(getattr(result, f)) for f in ("risk", "excess_risk", "bias", "variance", "train_error", "stable")},
        diagnostics=Diagnostics(*(trailing(d) for d in result.diagnostics)),
    )
    return finalize(result, on_failure, "linear dynamics quadrature / GD stability")


# ---------------------------------------------------------------------------------------------
# Early stopping.


@with_diagnostics
class EarlyStopping(NamedTuple):
    """Optimal stopping time of gradient flow and the risk there (grid-shaped fields).

    ``time`` is ``inf`` when the risk decreases for ever (e.g. ``noise = 0``), ``0`` when it
    never goes below its initial value.  ``diagnostics``: status ``OK`` where the quadrature
    met its tolerance and the golden section narrowed the bracket below ``1e-6`` in ``log t``
    (``MAX_ITERATIONS`` otherwise), ``iterations`` = ``n_refine``, ``residual`` the quadrature
    error estimate at the optimum.
    """

    time: jax.Array
    risk: jax.Array
    excess_risk: jax.Array
    bias: jax.Array
    variance: jax.Array
    diagnostics: Diagnostics


@validated(EARLY_STOPPING_PARAMS, "theory")
def early_stopping(
    *, alpha, noise, signal, spectrum, teacher_power, t_min, t_max, n_grid, n_refine, dtype, on_failure
) -> EarlyStopping:
    """Early-stopped gradient flow: ``argmin_t excess_risk(t)`` and its risk.

    A log-spaced search over ``[t_min, t_max]`` (``n_grid`` times, evaluated at once), plus
    ``t = 0`` and ``t = inf``, followed by ``n_refine`` golden-section steps in ``log t`` on the
    bracket around the grid minimum, vectorised over the grid points (the risk curve is smooth;
    the golden section converges to a local minimum inside the bracket).

    Ali, Kolter & Tibshirani (AISTATS 2019, arXiv:1810.10082, Marchenko-Pastur section) show that
    for isotropic ``Sigma`` the optimally stopped GF risk lies between 1 and 1.22 times the
    optimally tuned ridge risk (tested).

    Args:
        alpha, noise, signal, spectrum, teacher_power: as in :func:`theory` (gradient flow).
        t_min, t_max, n_grid: the log-spaced search grid.
        n_refine: golden-section steps (each shrinks the bracket by 0.618).

    Returns:
        :class:`EarlyStopping` with grid-shaped fields.
    """
    t_min, t_max = single_number("t_min", t_min), single_number("t_max", t_max)
    if t_max <= t_min:
        raise ValueError(f"t_max must be > t_min = {t_min:g}, got {t_max:g}")
    grid = np.concatenate([[0.0], np.geomspace(t_min, t_max, n_grid), [np.inf]])
    p = resolve_parameters(grid, alpha, noise, signal, spectrum, teacher_power, None)
    isotropic = p.spectrum is None
    th = _evaluate(p, dtype, ISOTROPIC_NODES if isotropic else ANISOTROPIC_NODES, grid, None)
    ex = np.asarray(th.excess_risk)
    ex_f = np.where(np.isnan(ex), np.inf, ex)
    j = np.argmin(ex_f, axis=-1)
    # Plateaus at rounding level: prefer t = 0 (nothing to learn) and then t = inf (risk still
    # decreasing, e.g. noise = 0) when they are within 1e-12 (signal + noise) of the minimum.
    scale = (np.broadcast_to(p.noise, p.shape) + np.broadcast_to(
        np.sum(p.teacher_power * p.spectrum.eigenvalues) if not isotropic else p.signal, p.shape))
    low = ex_f.min(axis=-1) + 1e-12 * scale
    j = np.where(ex_f[..., -1] <= low, grid.size - 1, j)
    j = np.where(ex_f[..., 0] <= low, 0, j)
    interior = (j > 0) & (j < grid.size - 1)
    lo = np.log(grid[np.clip(j - 1, 1, grid.size - 2)])
    hi = np.log(grid[np.clip(j + 1, 1, grid.size - 2)])
    lo, hi = np.where(interior, lo, 0.0), np.where(interior, hi, 1.0)
    points = (p.alpha, p.noise) + ((p.signal,) if isotropic else ())
    shared = () if isotropic else (p.spectrum.eigenvalues, p.spectrum.weights, p.teacher_power)
    out = evaluate(
        _early_stopping_kernel,
        points + (lo, hi, grid[j], interior),
        shared,
        static=dict(n_refine=n_refine, isotropic=isotropic, tol=_tolerance(dtype)),
        dtype=dtype,
        on_failure="ignore",
    )
    return finalize(out, on_failure, "linear dynamics early stopping")


def _gf_point(pts, shared, t, isotropic):
    """GF quantities of one grid point at its own times ``t`` (``(M,)``)."""
    if isotropic:
        a, s2, r2 = pts
        return _isotropic_point(a, s2, r2, t, jnp.zeros_like(t), 1.0, gd=False, n_nodes=ISOTROPIC_NODES)
    a, s2 = pts
    lam, w, tp = shared
    return _anisotropic_point(a, s2, t, jnp.zeros_like(t), lam, w, tp, 1.0, gd=False, n_nodes=ANISOTROPIC_NODES)


def _early_stopping_kernel(*args, n_refine, isotropic, tol):
    """Golden section in ``log t`` on ``[lo, hi]`` (points whose grid minimum is interior),
    vectorised over the flat grid (every step evaluates two times per point), then the GF
    quantities at the optimum (the grid minimum ``t_grid`` elsewhere)."""
    n_pts = 3 if isotropic else 2
    pts, (a, b, t_grid, interior), shared = args[:n_pts], args[n_pts : n_pts + 4], args[n_pts + 4 :]
    g = (math.sqrt(5.0) - 1.0) / 2.0

    def excess(t):
        out = jax.vmap(lambda pt, tt: _gf_point(pt, shared, tt, isotropic))(pts, t[:, None])
        return out[0][:, 0] + out[1][:, 0]

    def body(_, st):
        a, b = st
        c = b - g * (b - a)
        d = a + g * (b - a)
        left = excess(jnp.exp(c)) < excess(jnp.exp(d))
        return jnp.where(left, a, c), jnp.where(left, d, b)

    a, b = jax.lax.fori_loop(0, n_refine, body, (a, b))
    t_opt, width = jnp.exp(0.5 * (a + b)), jnp.abs(b - a)
    best_t = jnp.where(interior, t_opt, t_grid)
    out = jax.vmap(lambda pt, tt: _gf_point(pt, shared, tt, isotropic))(pts, best_t[:, None])
    bias, variance, err = out[0][:, 0], out[1][:, 0], out[3][:, 0]
    converged = (err <= tol) & (~interior | (width < 1e-6))
    excess_risk = bias + variance
    diag = diagnostics(converged, jnp.full(bias.shape, n_refine), err)
    return EarlyStopping(best_t, excess_risk + pts[1], excess_risk, bias, variance, diag)
