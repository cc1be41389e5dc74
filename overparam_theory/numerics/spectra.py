"""Spectral measures and their Stieltjes-type traces.

A spectral measure ``mu`` describes the eigenvalues of a covariance (or kernel) operator in the
proportional limit: ``mu = sum_k w_k delta_{lam_k}`` where ``w_k`` is the *fraction of the
dimension* ``d`` carried by eigenvalue ``lam_k`` (weights sum to one).  A finite ``d x d``
covariance with multiplicities ``mult_k`` has ``w_k = mult_k / d``.

Traces used by the deterministic equivalents (all normalised by ``d``):

- Stieltjes transform at a negative argument: ``s(lam) = int dmu(x) / (x + lam)``;
- degrees of freedom ``df1(kappa)/d = int x/(x + kappa) dmu`` and
  ``df2(kappa)/d = int x^2/(x + kappa)^2 dmu`` (Bach 2023; Atanasov et al. 2024);
- the effective regularisation ``kappa`` of ridge regression with penalty ``lam`` at sample
  ratio ``alpha = n/d``, the unique ``kappa > 0`` with
  ``1 - lam/kappa = df1(kappa)/n = (1/alpha) int x/(x+kappa) dmu``
  (``docs/theory/ridge.md`` section 4).

The Marchenko-Pastur law (Marchenko & Pastur 1967) is provided in closed form, including the
cancellation-free root selection of ``docs/theory/ridge.md`` section 3, and can be discretised for use
as a population spectrum.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._validation import positive_int, real_array
from .roots import RootResult, bracketed_root


class DiscreteSpectrum(NamedTuple):
    """A discrete spectral measure ``sum_k weights[k] * delta(eigenvalues[k])``.

    Attributes:
        eigenvalues: ``(K,)`` non-negative eigenvalues ``lam_k``.
        weights: ``(K,)`` fraction of the dimension carried by each eigenvalue; sums to one.
    """

    eigenvalues: jax.Array
    weights: jax.Array

    @property
    def n_levels(self) -> int:
        return int(np.shape(self.eigenvalues)[-1])


def discrete(eigenvalues, multiplicities=None, *, weights=None) -> DiscreteSpectrum:
    """Discrete spectrum from eigenvalues with multiplicities *or* weights (fractions of ``d``).

    ``multiplicities`` (counts, e.g. the eigenvalues of one finite ``d x d`` covariance) are
    normalised to weights ``mult_k / sum(mult)``; ``weights`` must already sum to one.  With
    neither, every eigenvalue has multiplicity one (``d = K``).
    """
    eig = real_array("eigenvalues", eigenvalues, low=0.0)
    if eig.ndim != 1 or eig.size == 0:
        raise ValueError(f"eigenvalues must be a non-empty 1-D array, got shape {np.shape(eig)}")
    if multiplicities is not None and weights is not None:
        raise ValueError("give either multiplicities or weights, not both")
    if weights is not None:
        w = real_array("weights", weights, low=0.0)
        if w.shape != eig.shape:
            raise ValueError(f"weights must have the shape of eigenvalues {eig.shape}, got {w.shape}")
        if abs(w.sum() - 1.0) > 1e-10:
            raise ValueError(f"weights must sum to 1 (fractions of the dimension), got sum {w.sum():.12g}")
    else:
        mult = np.ones_like(eig) if multiplicities is None else real_array("multiplicities", multiplicities, low=0.0)
        if mult.shape != eig.shape:
            raise ValueError(f"multiplicities must have the shape of eigenvalues {eig.shape}, got {mult.shape}")
        if mult.sum() <= 0:
            raise ValueError("multiplicities must not all be zero")
        w = mult / mult.sum()
    return DiscreteSpectrum(np.asarray(eig, np.float64), np.asarray(w, np.float64))


def identity() -> DiscreteSpectrum:
    """The isotropic spectrum ``Sigma = I`` (one atom at 1)."""
    return DiscreteSpectrum(np.ones(1), np.ones(1))


def two_level(frac_top, top, bottom) -> DiscreteSpectrum:
    """A fraction ``frac_top`` of the eigenvalues equal to ``top``, the rest to ``bottom``."""
    f = float(real_array("frac_top", frac_top, low=0.0, high=1.0))
    t = float(real_array("top", top, low=0.0))
    b = float(real_array("bottom", bottom, low=0.0))
    return DiscreteSpectrum(np.array([t, b]), np.array([f, 1.0 - f]))


def power_law(n_modes, exponent, *, scale=1.0) -> DiscreteSpectrum:
    """Finite power law ``lam_k = scale * k^(-exponent)``, ``k = 1..n_modes``, each of weight ``1/n_modes``.

    No normalisation is applied (e.g. ``k^(-1.5)``, ``k = 1..2000``; ``docs/theory/ridge.md``
    section 5).
    """
    m = positive_int("n_modes", n_modes)
    e = float(real_array("exponent", exponent, low=0.0, low_open=True))
    s = float(real_array("scale", scale, low=0.0, low_open=True))
    k = np.arange(1, m + 1, dtype=np.float64)
    return DiscreteSpectrum(s * k ** (-e), np.full(m, 1.0 / m))


# ---------------------------------------------------------------------------------------------
# Traces of a discrete measure (jit/vmap/grad friendly; `kappa` broadcasts against a scalar).


def validate_spectrum_teacher(spectrum, signal, teacher_power, *, all_positive: bool = False):
    """Validate a population spectrum and its teacher (the ``ridge.theory`` convention).

    ``spectrum`` must be a :class:`DiscreteSpectrum` with 1-D non-negative eigenvalues and
    weights summing to 1; ``all_positive`` requires every level of positive weight to have a
    positive eigenvalue (otherwise one positive level suffices).  The teacher is either
    ``signal`` (a scalar ``|beta|^2``, spread isotropically: ``teacher_power = signal * weights``)
    or ``teacher_power`` (per level), not both.  Returns ``(DiscreteSpectrum, teacher_power)``
    as NumPy arrays; raises ``ValueError`` naming the argument otherwise.
    """
    if isinstance(spectrum, MarchenkoPastur):
        raise ValueError("spectrum must be a DiscreteSpectrum; use MarchenkoPastur.discretize(n_nodes)")
    if not isinstance(spectrum, DiscreteSpectrum):
        raise ValueError(
            "spectrum must be a DiscreteSpectrum (spectra.discrete / two_level / power_law / identity), "
            f"got {type(spectrum).__name__}"
        )
    eig = real_array("spectrum.eigenvalues", spectrum.eigenvalues, low=0.0)
    w = real_array("spectrum.weights", spectrum.weights, low=0.0)
    if eig.ndim != 1 or eig.shape != w.shape:
        raise ValueError(
            f"spectrum.eigenvalues and spectrum.weights must be 1-D of equal length, got {eig.shape} and {w.shape}"
        )
    if abs(float(np.sum(w)) - 1.0) > 1e-10:
        raise ValueError(f"spectrum.weights must sum to 1, got {float(np.sum(w)):.12g}")
    if all_positive and np.any((eig <= 0) & (w > 0)):
        raise ValueError("spectrum.eigenvalues must be > 0 for every level of positive weight (drop null directions)")
    if not np.any((eig > 0) & (w > 0)):
        raise ValueError("spectrum must have a positive eigenvalue with positive weight")
    if teacher_power is None:
        signal = real_array("signal", 1.0 if signal is None else signal, low=0.0)
        if np.ndim(signal) != 0:
            raise ValueError("with a spectrum, signal must be a scalar (use teacher_power for a per-level teacher)")
        teacher_power = float(signal) * w
    else:
        if signal is not None:
            raise ValueError("give either signal or teacher_power, not both (sum(teacher_power) is the signal)")
        teacher_power = real_array("teacher_power", teacher_power, low=0.0)
        if teacher_power.shape != eig.shape:
            raise ValueError(
                f"teacher_power must have one entry per spectrum level: length {eig.shape[0]}, got shape "
                f"{teacher_power.shape}"
            )
    return DiscreteSpectrum(eig, w), teacher_power


def stieltjes(spectrum: DiscreteSpectrum, lam):
    """``int dmu(x) / (x + lam)`` for ``lam > 0`` (the Stieltjes transform at ``z = -lam``)."""
    return jnp.sum(spectrum.weights / (spectrum.eigenvalues + lam))


def df1(spectrum: DiscreteSpectrum, kappa):
    """``df1(kappa)/d = int x/(x + kappa) dmu`` (zero eigenvalues contribute zero, also at kappa=0)."""
    x = spectrum.eigenvalues
    return jnp.sum(spectrum.weights * jnp.where(x > 0, x / jnp.where(x > 0, x + kappa, 1.0), 0.0))


def df2(spectrum: DiscreteSpectrum, kappa):
    """``df2(kappa)/d = int x^2/(x + kappa)^2 dmu``."""
    x = spectrum.eigenvalues
    ratio = jnp.where(x > 0, x / jnp.where(x > 0, x + kappa, 1.0), 0.0)
    return jnp.sum(spectrum.weights * ratio**2)


def rank_fraction(spectrum: DiscreteSpectrum):
    """``rank(Sigma)/d``: the weight of the strictly positive eigenvalues."""
    return jnp.sum(jnp.where(spectrum.eigenvalues > 0, spectrum.weights, 0.0))


def _kappa_equation(log_kappa, args):
    spectrum, alpha, lam = args
    kappa = jnp.exp(log_kappa)
    # g(kappa) = 1 - lam/kappa - df1(kappa)/n, strictly increasing in kappa.
    return 1.0 - lam / kappa - df1(spectrum, kappa) / alpha


def effective_regularization(spectrum: DiscreteSpectrum, alpha, lam, *, xtol=1e-15, max_iter=200) -> RootResult:
    """Effective regularisation ``kappa`` of ridge regression (``docs/theory/ridge.md`` section 4).

    Solves ``1 - lam/kappa = (1/alpha) int x/(x + kappa) dmu(x)`` for ``kappa > 0`` at one
    point (vmap for grids), by a safeguarded Newton iteration in ``log kappa`` on the bracket
    ``[lam, lam + m1/alpha]`` (``m1 = int x dmu``), on which the equation has exactly one
    root.  For ``lam = 0`` a root exists only when ``alpha < rank(Sigma)/d`` (the
    overparameterised ridgeless limit, ``df1(kappa_0) = n``); the bracket is then
    ``(tiny, m1/alpha]``.  The caller handles ``lam = 0, alpha >= rank/d`` (``kappa = 0``).

    Returns a :class:`~overparam_theory.numerics.roots.RootResult` whose ``root`` is
    ``log kappa`` (differentiable in ``alpha``, ``lam`` and the spectrum).
    """
    m1 = jnp.sum(spectrum.weights * spectrum.eigenvalues)
    upper = lam + m1 / alpha
    tiny = 1e-30 * jnp.maximum(m1, 1e-300)
    lower = jnp.where(lam > 0, lam, tiny)
    # Widen slightly so that the exact endpoints (where g may vanish to rounding) are inside.
    # The equation's terms are O(1): |g| below a few ulps is as converged as it can get (near
    # the interpolation threshold g is flat in log kappa and the steps never meet xtol).
    ftol = 8.0 * float(jnp.finfo(jnp.result_type(upper)).eps)
    return bracketed_root(
        _kappa_equation,
        jnp.log(lower) - 1e-12,
        jnp.log(upper) + 1e-12,
        (spectrum, alpha, lam),
        xtol=xtol,
        ftol=ftol,
        max_iter=max_iter,
    )


# ---------------------------------------------------------------------------------------------
# Marchenko-Pastur law.


class MarchenkoPastur(NamedTuple):
    """Marchenko-Pastur law of ``S = X^T X / n`` for ``X`` an ``n x d`` matrix of i.i.d.
    unit-variance entries, ``ratio = gamma = d/n`` (so ``alpha = 1/gamma``), times ``scale``.

    For ``gamma > 1`` it has an atom of mass ``1 - 1/gamma`` at zero.  The bulk is
    ``[scale (1 - sqrt gamma)^2, scale (1 + sqrt gamma)^2]``.
    """

    ratio: jax.Array
    scale: jax.Array = 1.0

    def stieltjes(self, lam):
        """``m(-lam) = int dmu(x)/(x + lam)``, ``lam > 0``: the root of
        ``gamma z m^2 - (1 - gamma - z) m + 1 = 0`` at ``z = -lam`` with ``m > 0``, written
        without cancellation (``2/(D + a)`` for ``a > 0``, ``(D - a)/(2 gamma lam)`` otherwise;
        ``a = 1 - gamma + lam``, ``D = sqrt(a^2 + 4 gamma lam)``; ``docs/theory/ridge.md`` section 3)."""
        gamma, lam_s = self.ratio, lam / self.scale
        a = 1.0 - gamma + lam_s
        disc = jnp.sqrt(a * a + 4.0 * gamma * lam_s)
        safe = jnp.where(a > 0, a + disc, 1.0)
        m = jnp.where(a > 0, 2.0 / safe, (disc - a) / (2.0 * gamma * lam_s))
        return m / self.scale

    def stieltjes_derivative(self, lam):
        """``m'(-lam) = int dmu(x)/(x + lam)^2 = m (1 + gamma m) / D`` (per unit scale)."""
        gamma, lam_s = self.ratio, lam / self.scale
        a = 1.0 - gamma + lam_s
        disc = jnp.sqrt(a * a + 4.0 * gamma * lam_s)
        m = self.stieltjes(lam) * self.scale
        return m * (1.0 + gamma * m) / disc / self.scale**2

    def edges(self):
        """Bulk support ``(lower, upper)``."""
        r = jnp.sqrt(self.ratio)
        return self.scale * (1.0 - r) ** 2, self.scale * (1.0 + r) ** 2

    def atom_at_zero(self):
        """Mass of the atom at zero, ``max(0, 1 - 1/gamma)``."""
        return jnp.maximum(0.0, 1.0 - 1.0 / self.ratio)

    def density(self, x):
        """Bulk density ``sqrt((b - x)(x - a)) / (2 pi gamma x scale)`` (the atom excluded)."""
        lo, hi = self.edges()
        inside = (x > lo) & (x < hi)
        xs = jnp.where(inside, x, 0.5 * (lo + hi))
        dens = jnp.sqrt((hi - xs) * (xs - lo)) / (2.0 * jnp.pi * self.ratio * xs * self.scale)
        return jnp.where(inside, dens, 0.0)

    def discretize(self, n_nodes: int = 256) -> DiscreteSpectrum:
        """A ``DiscreteSpectrum`` whose weights are a Gauss-Chebyshev (second kind) rule for
        the bulk, plus the atom at zero when ``gamma > 1``.  Integrals of smooth functions
        against the bulk converge exponentially in ``n_nodes`` when ``gamma != 1``."""
        n = positive_int("n_nodes", n_nodes)
        gamma = float(self.ratio)
        scale = float(self.scale)
        lo, hi = (scale * (1 - np.sqrt(gamma)) ** 2, scale * (1 + np.sqrt(gamma)) ** 2)
        i = np.arange(1, n + 1)
        theta = i * np.pi / (n + 1)
        t = np.cos(theta)
        # int_{-1}^{1} sqrt(1-t^2) g(t) dt ~ sum w_i g(t_i), w_i = pi/(n+1) sin^2(theta_i).
        w_cheb = np.pi / (n + 1) * np.sin(theta) ** 2
        half, mid = 0.5 * (hi - lo), 0.5 * (hi + lo)
        x = mid + half * t
        # density = half^2 sqrt(1-t^2) / (2 pi gamma x scale), dx = half dt.
        w = w_cheb * half**2 / (2 * np.pi * gamma * x * scale)
        atom = max(0.0, 1.0 - 1.0 / gamma)
        w = w / w.sum() * (1.0 - atom)
        if atom > 0:
            x = np.concatenate([[0.0], x])
            w = np.concatenate([[atom], w])
        return DiscreteSpectrum(x, w)


def marchenko_pastur(ratio, *, scale=1.0) -> MarchenkoPastur:
    """Marchenko-Pastur law with ``ratio = d/n > 0`` and ``scale > 0`` (see :class:`MarchenkoPastur`)."""
    real_array("ratio", ratio, low=0.0, low_open=True)
    real_array("scale", scale, low=0.0, low_open=True)
    return MarchenkoPastur(ratio, scale)
