"""The Bernoulli-Gaussian prior ``P_0 = (1 - eps) delta_0 + eps N(0, v)`` and its scalar denoiser.

``eps = sparsity`` in ``(0, 1]`` (``eps = 1``: the Gaussian prior ``N(0, v)``) and
``v = nonzero_variance``; ``rho = E[w^2] = eps v``.  Given the scalar Gaussian channel
``r = w + sqrt(Sigma) xi`` (GAMP's ``R``, SE's effective observation with ``Sigma = 1/q_hat``)
the posterior of ``w`` has

    pi(r)  = P(w != 0 | r),  logit pi = log(eps/(1 - eps)) - (1/2) log(1 + v/Sigma)
                                        + r^2 v / (2 Sigma (Sigma + v)),
    f_a    = E[w | r]   = pi v r / (v + Sigma),
    f_v    = Var[w | r] = pi (v Sigma/(v + Sigma) + (v r/(v + Sigma))^2) - f_a^2,
    log Z0 = log[(1 - eps) + eps sqrt(Sigma/(Sigma + v)) exp(r^2 v / (2 Sigma (Sigma + v)))],

where ``Z0 = E_{P_0}[exp(B w - A w^2/2)]`` at ``A = 1/Sigma``, ``B = r/Sigma`` (Zdeborova &
Krzakala 2016, eqs. (70)-(71); Krzakala, Mezard, Sausset, Sun & Zdeborova, J. Stat. Mech. 2012,
section 4).  The SE prior side (:func:`prior_moments`) averages over ``r`` with ``w ~ P_0``:
``q = E[f_a^2]`` (Nishimori: ``= E[w f_a]``), ``mmse = rho - q`` and ``psi_0 = E[log Z0]``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ..numerics.gaussian import normal_panel_rule

# Panel edges (in units of the transition width) around the posterior's switch-on radius.
_GRADING = np.concatenate([-(2.0 ** np.arange(5, -2, -1)), [0.0], 2.0 ** np.arange(-1, 6)])  # logit up to +-32


def posterior(r, Sigma, sparsity, nonzero_variance):
    """``(f_a, f_v, log Z0)`` of the Bernoulli-Gaussian prior (module docstring).

    ``f_v = pi v Sigma/(v + Sigma) + pi (1 - pi) (v r/(v + Sigma))^2`` uses both ``pi`` and
    ``1 - pi`` from the logit, so it has full relative accuracy when it is tiny.
    """
    v, eps = nonzero_variance, sparsity
    shrink = v / (v + Sigma)
    dense = eps >= 1
    safe_eps = jnp.where(dense, 0.5, eps)
    log_slab = 0.5 * jnp.log(Sigma / (Sigma + v)) + 0.5 * r * r * shrink / Sigma
    logit = jnp.log(safe_eps) - jnp.log1p(-safe_eps) + log_slab
    pi = jnp.where(dense, 1.0, jax.nn.sigmoid(logit))
    one_minus_pi = jnp.where(dense, 0.0, jax.nn.sigmoid(-logit))
    mean_nz = shrink * r
    f_a = pi * mean_nz
    f_v = pi * shrink * Sigma + pi * one_minus_pi * mean_nz * mean_nz
    log_z0 = jnp.where(dense, log_slab, jnp.logaddexp(jnp.log1p(-safe_eps), jnp.log(safe_eps) + log_slab))
    return f_a, f_v, log_z0


def _switch_radius(Sigma, sparsity, nonzero_variance):
    """``|r|`` where ``logit pi = 0`` (0 for the Gaussian prior), and the width of the switch."""
    v, eps = nonzero_variance, sparsity
    safe_eps = jnp.where(eps >= 1, 0.5, eps)
    c = 2.0 * Sigma * (Sigma + v) / v * (jnp.log1p(-safe_eps) - jnp.log(safe_eps) + 0.5 * jnp.log1p(v / Sigma))
    positive = c > 0
    r0 = jnp.where(positive, jnp.sqrt(jnp.where(positive, c, 1.0)), 0.0)  # no NaN derivative at c = 0
    width = Sigma * (Sigma + v) / (v * jnp.maximum(r0, jnp.sqrt(Sigma)))
    return jnp.where(eps >= 1, 0.0, r0), width


def gaussian_prior_moments(q_hat, nonzero_variance):
    """:func:`prior_moments` of the Gaussian prior ``N(0, v)`` (``sparsity = 1``) in closed form:
    ``q = v^2 q_hat/(1 + v q_hat)``, ``mmse = v/(1 + v q_hat)``,
    ``psi_0 = (v q_hat - log(1 + v q_hat))/2`` (``E r^2 = v + Sigma`` in ``log Z0``)."""
    v = nonzero_variance
    vq = v * q_hat
    return v * vq / (1.0 + vq), v / (1.0 + vq), 0.5 * (vq - jnp.log1p(vq))


def prior_moments(q_hat, sparsity, nonzero_variance):
    """SE prior side at SNR ``q_hat``: ``(q, mmse, psi_0)``.

    ``q = E[f_a^2]`` (the overlap), ``mmse = E[f_v]`` (``= rho - q`` by the Nishimori identity,
    but computed directly so that it keeps its relative accuracy near perfect recovery) and
    ``psi_0 = E[log Z0]``.  The average over ``w ~ P_0`` is split into the zero and the
    Gaussian component, each an expectation over ``r / std`` by a composite Gauss-Legendre rule
    with panel edges graded around the switch-on radius of ``pi(r)`` (which sharpens as
    ``Sigma -> 0``).  ``q_hat = 0`` gives ``q = 0``, ``mmse = rho``, ``psi_0 = 0``.
    """
    v, eps = nonzero_variance, sparsity
    informative = q_hat > 0
    Sigma = 1.0 / jnp.where(informative, q_hat, 1.0)
    r0, width = _switch_radius(Sigma, eps, v)
    stds = jnp.stack([jnp.sqrt(Sigma), jnp.sqrt(Sigma + v)], -1)  # zero / non-zero component
    centres = r0[..., None] / stds
    widths = width[..., None] / stds
    edges = jnp.concatenate([centres[..., None] + widths[..., None] * _GRADING,
                             -centres[..., None] - widths[..., None] * _GRADING], -1)
    u, weights = normal_panel_rule(edges, n_per_panel=8, n_uniform=16)
    r = stds[..., None] * u
    f_a, f_v, log_z0 = posterior(r, Sigma[..., None, None], eps[..., None, None], v[..., None, None])
    mix = jnp.stack([1.0 - eps + 0.0 * Sigma, eps + 0.0 * Sigma], -1)
    average = lambda h: jnp.sum(mix * jnp.sum(weights * h, -1), -1)  # noqa: E731
    q, mmse, psi = average(f_a * f_a), average(f_v), average(log_z0)
    return jnp.where(informative, q, 0.0), jnp.where(informative, mmse, eps * v), jnp.where(informative, psi, 0.0)
