"""Finite-size sampling of the Gaussian linear-regression model (``ridge`` and ``linear_dynamics``).

At dimension ``dim`` a point with sample ratio ``alpha`` uses ``n = round(alpha * dim)`` samples
``x_i = Sigma^{1/2} z_i``, ``z_i ~ N(0, I_dim)``, with ``Sigma`` diagonal: the identity
(isotropic) or the spectrum's eigenvalues, each level repeated ``weight * dim`` times.  The
teacher ``beta`` is a uniform direction with ``||beta||^2 = signal`` (isotropic) or has
``beta_j = +-sqrt(teacher_power_k / mult_k)`` with random signs on the coordinates of level
``k``; labels are ``y = X beta + eps``, ``eps ~ N(0, noise)``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import _draws as draws
from .._montecarlo import seed_batched


class Design(NamedTuple):
    """The design and teacher of a simulation grid at dimension ``dim``.

    ``sqrt_eig`` and ``teacher_amp`` are per coordinate ``(dim,)``; ``signal`` (zero with a
    spectrum, whose teacher is ``teacher_amp``) and ``n_samples`` have the grid's shape.
    """

    isotropic: bool
    sqrt_eig: np.ndarray
    teacher_amp: np.ndarray
    signal: np.ndarray
    n_samples: np.ndarray


def design_diagonal(spectrum, teacher_power, dim):
    """Per-coordinate ``sqrt(eigenvalue)`` and teacher amplitude ``sqrt(teacher_power_k / mult_k)``
    (zero without ``teacher_power``) for a ``dim``-dimensional design, ``mult_k = weight_k * dim``."""
    mult = np.asarray(spectrum.weights) * dim
    if np.max(np.abs(mult - np.round(mult))) > 1e-8:
        raise ValueError(
            f"dim={dim} does not give integer multiplicities weights*dim={mult}; choose dim so that every "
            "spectrum level has an integer number of directions"
        )
    mult = np.round(mult).astype(int)
    eig = np.repeat(np.asarray(spectrum.eigenvalues), mult)
    if teacher_power is None:
        amp = np.zeros_like(eig)
    else:
        per_dir = np.divide(np.asarray(teacher_power), mult, out=np.zeros(len(mult)), where=mult > 0)
        amp = np.repeat(np.sqrt(per_dir), mult)
    return np.sqrt(eig), amp


def finite_design(alpha, signal, spectrum, teacher_power, shape, dim) -> Design:
    """:class:`Design` of the resolved teacher (``spectrum=None``: isotropic with ``signal``) on a
    grid of ``shape``, with ``n = round(alpha * dim) >= 1`` samples per point."""
    isotropic = spectrum is None
    if isotropic:
        sqrt_eig, amp = np.ones(dim), np.zeros(dim)
        signal_b = np.broadcast_to(signal, shape)
    else:
        sqrt_eig, amp = design_diagonal(spectrum, teacher_power, dim)
        signal_b = np.zeros(shape)
    n_b = np.rint(np.broadcast_to(alpha, shape) * dim).astype(int)
    if (n_b < 1).any():
        raise ValueError(f"alpha * dim must give at least one sample; got alpha={alpha} with dim={dim}")
    return Design(isotropic, sqrt_eig, amp, signal_b, n_b)


def padding_ratio(dim: int) -> float:
    """Largest factor by which :func:`sample_buckets` pads a sample size at dimension ``dim``:
    2 up to ``dim = 400``, then ``1 + 400/dim`` down to 1.1.  At small ``dim`` compiling a
    program (about a second) costs more than running it on twice the rows; at large ``dim`` the
    solves dominate and the buckets get finer."""
    return 1.0 + min(1.0, max(0.1, 400.0 / dim))


def sample_buckets(n_samples, dim: int) -> np.ndarray:
    """The padded sample size of every point (same shape as ``n_samples``).

    Simulations compile one program per sample size; rounding every ``n`` up to a bucket lets
    one program serve a range of sizes (the rows past ``n`` are zero and masked:
    :func:`~overparam_theory.numerics.linalg.ridge_solve`).  Buckets are geometric with ratio
    :func:`padding_ratio` and never cross ``dim``: below it they count down from ``dim - 1``
    (``ceil((dim - 1)/r^k)``), from it they count up (``ceil(dim r^k)``), so that a bucket's
    estimator form (dual below ``dim``, primal from it) is that of every size it holds.
    """
    n_samples = np.asarray(n_samples, dtype=int)
    ratio = padding_ratio(dim)
    below = {math.ceil((dim - 1) / ratio**k) for k in range(int(math.log(max(dim - 1, 1)) / math.log(ratio)) + 2)}
    top = max(int(n_samples.max(initial=dim)), dim)
    above = {math.ceil(dim * ratio**k) for k in range(int(math.log(top / dim) / math.log(ratio)) + 2)}
    candidates = np.array(sorted({b for b in below if 1 <= b < dim} | above))
    return candidates[np.searchsorted(candidates, n_samples, side="left")]


def draw(key, signal, sqrt_eig, teacher_amp, n, isotropic_teacher):
    """One seed's ``(X (n, d), beta (d,), E beta_j^2 (d,), z (n,))``; the label noise is
    ``sqrt(noise) z``.  All from one Gaussian draw (:mod:`overparam_theory._draws`); the
    teacher's random signs (``teacher_power``) are the signs of their Gaussians."""
    d = sqrt_eig.shape[0]
    X, g, z = draws.standard_normals(key, (n, d), (d,), (n,))
    X = X * sqrt_eig
    if isotropic_teacher:
        beta = jnp.sqrt(signal) * g / jnp.linalg.norm(g)
        beta_second_moment = jnp.full((d,), signal / d)
    else:
        beta = teacher_amp * draws.signs(g)
        beta_second_moment = teacher_amp**2
    return X, beta, beta_second_moment, z


def map_points(one, keys, point_params, shared, devices):
    """``one(key, *point_params[i], *shared)`` for every grid point ``i`` (``lax.map``) and every
    key in ``keys[i]`` (:func:`~overparam_theory._montecarlo.seed_batched`): a dict of
    ``(points, n_seeds, ...)`` arrays."""

    def per_point(point):
        k, *params = point
        return seed_batched(one, k, (*params, *shared), devices)

    return jax.lax.map(per_point, (keys, *point_params))
