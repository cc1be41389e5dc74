"""Finite-size simulation of GF / GD on linear least squares (same parameters as ``theory``).

For each grid point, ``n = round(alpha * dim)`` samples ``x_i = Sigma^{1/2} z_i``
(``Sigma`` diagonal, each spectrum level repeated ``weight * dim`` times), a teacher ``beta``
(isotropic: uniform direction with ``||beta||^2 = signal``; ``teacher_power``:
``beta_j = +-sqrt(teacher_power_k / mult_k)`` with random signs) and labels
``y = X beta + eps``, ``eps ~ N(0, noise)``.  With ``Sigma_hat = X^T X / n = V diag(s) V^T``,
``w(t) = V [psi(s) * V^T X^T y / n]`` exactly (GF: ``phi = exp(-t s)``; GD:
``phi = (1 - lr s)^k``; ``psi = (1 - phi)/s``), so every time costs one matrix product.
Per seed:

    bias = ||w_clean(t) - beta||_Sigma^2,   variance = ||w(t) - w_clean(t)||_Sigma^2,
    excess_risk = ||w(t) - beta||_Sigma^2,  risk = excess_risk + noise,
    train_error = (1/n)||y - X w(t)||^2,

``w_clean`` the iterate trained on the noiseless labels ``X beta``; the seed means estimate the
quantities of :func:`theory` (population risk, no test-set noise).
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..._montecarlo import resolve_devices, run_grid
from ..._precision import precision
from ..._results import Estimate, estimate
from ..._spec import validated
from ...ridge._sampling import draw, finite_design, map_points
from ._params import LEARNING_RATE, PARAMS, TIME
from ._theory import resolve_parameters, single_number


class LinearDynamicsSimulation(NamedTuple):
    """Monte Carlo estimates (seed mean and standard error), each ``grid_shape + time.shape``.

    ``alpha`` holds the realised ``n/dim`` of each point (``n = round(alpha * dim)``).
    """

    risk: Estimate
    excess_risk: Estimate
    bias: Estimate
    variance: Estimate
    train_error: Estimate
    alpha: np.ndarray
    n_samples: np.ndarray
    dim: int


def _phi_psi(s, t, k, lr, gd):
    """Filter functions at real eigenvalues ``s`` (``(d,)``) for times ``(T,)`` -> ``(T, d)``.

    Eigenvalues below ``1e-10 max(s)`` (zero up to rounding: the kernel of ``X^T X`` when
    ``n < d``) are set to 0, where ``phi = 1`` and ``psi = t`` (``0`` at ``t = inf``: the kernel
    components of ``X^T y`` vanish exactly, so the min-norm limit is finite)."""
    s = jnp.where(s > 1e-10 * jnp.max(s), s, 0.0)[None, :]
    pos = s > 0
    s_safe = jnp.where(pos, s, 1.0)
    if not gd:
        t = t[:, None]
        finite = jnp.isfinite(t)
        ts = jnp.where(finite, t, 0.0)
        one_minus = -jnp.expm1(-ts * s)  # 1 - phi, accurate for small t s
        one_minus = jnp.where(finite, one_minus, 1.0)
        psi = jnp.where(pos, one_minus / s_safe, jnp.where(finite, ts, 0.0))
        return 1.0 - one_minus, psi
    k = k[:, None]
    finite = jnp.isfinite(k)
    ks = jnp.where(finite, k, 0.0)
    base = 1.0 - lr * s
    odd = jnp.mod(ks, 2.0) == 1.0
    # 1 - (1 - lr s)^k without cancellation for 0 < lr s < 1
    small = base > 0
    one_minus_pos = -jnp.expm1(ks * jnp.log1p(-lr * jnp.where(small, s, 0.0)))
    phi_neg = jnp.abs(base) ** ks * jnp.where(odd, -1.0, 1.0)
    one_minus = jnp.where(small, one_minus_pos, 1.0 - phi_neg)
    one_minus = jnp.where(finite, one_minus, 1.0)
    psi = jnp.where(pos, one_minus / s_safe, jnp.where(finite, ks * lr, 0.0))
    return 1.0 - one_minus, psi


def fit_gd(X, y, *, time, learning_rate=None):
    """GF / GD iterates ``w(t)`` from ``w(0) = 0`` on ``(1/(2n))||y - X w||^2`` -> ``(T, d)``.

    Exact through the eigendecomposition of ``X^T X / n`` (GD: ``time`` multiples of
    ``learning_rate``).  Ali, Kolter & Tibshirani 2019, Lemma 1 (GF) and Lemma 3 (GD).
    """
    lr = single_number("learning_rate", LEARNING_RATE.check(learning_rate))
    gd = lr is not None
    lr = 1.0 if not gd else lr
    t = np.atleast_1d(TIME.check(time))
    k = np.where(np.isfinite(t), np.round(np.where(np.isfinite(t), t, 0.0) / lr), np.inf)
    with precision("float64"):
        X = jnp.asarray(X, jnp.float64)
        y = jnp.asarray(y, jnp.float64)
        return np.asarray(_fit_gd(X, y, jnp.asarray(t), jnp.asarray(k), lr, gd=gd))


@partial(jax.jit, static_argnames=("gd",))
def _fit_gd(X, y, t, k, lr, *, gd):
    n = X.shape[0]
    s, V = jnp.linalg.eigh(X.T @ X / n)
    _, psi = _phi_psi(s, t, k, lr, gd)
    g = V.T @ (X.T @ y / n)
    return (psi * g[None, :]) @ V.T


def _one_seed(key, noise, signal, sqrt_eig, teacher_amp, t, k, lr, *, n, isotropic_teacher, gd, conditional):
    X, beta, _, eps = draw(key, signal, sqrt_eig, teacher_amp, n, isotropic_teacher)
    eps = jnp.sqrt(noise) * eps
    eig = sqrt_eig**2
    s, V = jnp.linalg.eigh(X.T @ X / n)
    phi, psi = _phi_psi(s, t, k, lr, gd)  # (T, d)
    if conditional:
        return _conditional(s, V, phi, psi, eig, noise, signal, teacher_amp, n, isotropic_teacher)
    b = V.T @ beta
    e = V.T @ (X.T @ eps / n)
    u_bias = -phi * b[None, :]  # V^T (w_clean - beta)
    u_var = psi * e[None, :]  # V^T (w - w_clean)
    u = u_bias + u_var  # V^T (w - beta)
    if isotropic_teacher:  # Sigma = I: the Sigma norm is the Euclidean norm in any basis
        norm = lambda c: jnp.sum(c * c, axis=-1)
    else:
        norm = lambda c: jnp.sum(eig[None, :] * (c @ V.T) ** 2, axis=-1)
    bias, variance, excess = norm(u_bias), norm(u_var), norm(u)
    s_c = jnp.where(s > 1e-10 * jnp.max(s), s, 0.0)[None, :]
    # (1/n)||y - X w||^2 = u^T S u - 2 u . e + |eps|^2/n  (u = V^T (w - beta), e = V^T X^T eps/n)
    train = jnp.sum(s_c * u * u, axis=-1) - 2.0 * jnp.sum(u * e[None, :], axis=-1) + jnp.sum(eps**2) / n
    return {"risk": excess + noise, "excess_risk": excess, "bias": bias, "variance": variance, "train_error": train}


def _conditional(s, V, phi, psi, eig, noise, signal, teacher_amp, n, isotropic_teacher):
    """Exact expectations over the label noise and the teacher's random direction (isotropic:
    ``E beta beta^T = signal I/d``) or signs (``E beta beta^T = diag(amp^2)``) given the design."""
    d = s.shape[0]
    s_c = jnp.where(s > 1e-10 * jnp.max(s), s, 0.0)[None, :]
    e2 = noise * s_c / n  # E (V^T X^T eps / n)_k^2
    if isotropic_teacher:
        b2 = jnp.full((1, d), signal / d)
        bias = jnp.sum(phi**2, axis=-1) * signal / d
        variance = jnp.sum(psi**2 * e2, axis=-1)
    else:
        b2 = ((V**2).T @ teacher_amp**2)[None, :]  # E (V^T beta)_k^2
        M = jnp.einsum("ik,tk,jk->tij", V, phi, V)  # phi(S) per time
        bias = jnp.einsum("i,tij,j->t", eig, M**2, teacher_amp**2)
        variance = jnp.sum(psi**2 * e2 * ((V**2).T @ eig)[None, :], axis=-1)
    train = jnp.sum(s_c * phi**2 * b2, axis=-1) + jnp.sum(s_c * psi**2 * e2, axis=-1) - 2.0 * jnp.sum(psi * e2, axis=-1) + noise
    excess = bias + variance
    return {"risk": excess + noise, "excess_risk": excess, "bias": bias, "variance": variance, "train_error": train}


@partial(jax.jit, static_argnames=("size", "isotropic_teacher", "gd", "devices", "conditional"))
def _run_group(keys, noise, signal, sqrt_eig, teacher_amp, t, k, lr, *, size, isotropic_teacher, gd, devices, conditional):
    one = partial(_one_seed, n=size, isotropic_teacher=isotropic_teacher, gd=gd, conditional=conditional)
    return map_points(one, keys, (noise, signal), (sqrt_eig, teacher_amp, t, k, lr), devices)


@validated(PARAMS, "simulate")
def simulate(
    *, time, alpha, noise, signal, spectrum, teacher_power, learning_rate, dim, n_seeds, seed, conditional, devices, progress
) -> LinearDynamicsSimulation:
    """Monte Carlo counterpart of :func:`~overparam_theory.dynamics.linear.theory` at ``dim``.

    Args:
        time, alpha, noise, signal, spectrum, teacher_power, learning_rate: as in ``theory``.
        dim: input dimension ``d``; each point uses ``n = round(alpha * dim) >= 1`` samples.
        n_seeds: independent repetitions (design, teacher, noise) per grid point, ``>= 2``.
        seed: integer seed or JAX key (every grid point gets independent seeds).
        conditional: ``False`` (default): each seed draws design, teacher and noise.  ``True``:
            each seed reports the exact expectation over the label noise and the teacher's random
            direction / signs given the design (Rao-Blackwellised: same mean, seed-to-seed
            spread of relative order ``1/d``, which makes finite-size biases measurable).
        devices: ``None`` (vmap over seeds), ``"all"`` or a list of devices to shard seeds over.
        progress: print progress to stderr.

    Returns:
        :class:`LinearDynamicsSimulation`; each field an :class:`~overparam_theory.Estimate`
        shaped ``grid_shape + time.shape``.  GD stability is not checked here: an unstable
        ``learning_rate`` gives exploding (finite or inf) iterates, as real GD would.
    """
    p = resolve_parameters(time, alpha, noise, signal, spectrum, teacher_power, learning_rate)
    devices = resolve_devices(devices)
    design = finite_design(p.alpha, p.signal, p.spectrum, p.teacher_power, p.shape, dim)
    time_shape = np.shape(p.time)
    t_flat = np.reshape(p.time, (-1,)).astype(np.float64)
    gd = p.learning_rate is not None
    k_flat = np.zeros_like(t_flat) if not gd else np.reshape(p.steps, (-1,)).astype(np.float64)
    lr = 1.0 if not gd else p.learning_rate
    with precision("float64"):
        out = run_grid(
            partial(
                _run_group,
                sqrt_eig=jnp.asarray(design.sqrt_eig),
                teacher_amp=jnp.asarray(design.teacher_amp),
                t=jnp.asarray(t_flat),
                k=jnp.asarray(k_flat),
                lr=jnp.asarray(lr, jnp.float64),
            ),
            design.n_samples.ravel(),
            (np.broadcast_to(p.noise, p.shape).ravel(), design.signal.ravel()),
            seed=seed,
            n_seeds=n_seeds,
            label="dynamics.linear.simulate",
            progress=progress,
            static=dict(
                isotropic_teacher=design.isotropic,
                gd=gd,
                conditional=bool(conditional),
                devices=None if devices is None else tuple(devices),
            ),
        )
    fields = ("risk", "excess_risk", "bias", "variance", "train_error")
    ests = {}
    for f in fields:
        v = out[f]  # (points, n_seeds, T)
        v = np.moveaxis(v, 1, -1).reshape(p.shape + time_shape + (v.shape[1],))
        ests[f] = estimate(v, axis=-1)
    return LinearDynamicsSimulation(**ests, alpha=design.n_samples / dim, n_samples=design.n_samples, dim=dim)
