"""Teacher channels ``P(y | z)`` of the teacher-student GLM (``docs/theory/glm.md``).

The teacher field is ``z = x . w* / sqrt(d) ~ N(0, rho)`` (``rho = signal``).  Classification
teachers are ``y = s * sign(z + zeta)`` with a label flip ``s = -1`` w.p. ``flip`` and a
pre-activation noise ``zeta`` of variance ``noise``:

============  =====================================  ==============================================
teacher       noise ``zeta``                         ``P(y = +1 | z)`` before flips
============  =====================================  ==============================================
``sign``      none (``noise`` must be 0)             ``1[z > 0]``
``probit``    Gaussian, variance ``noise`` (delta)   ``Phi(z / sqrt(noise))``
``logistic``  logistic, variance ``noise``           ``sigma(z / s)``, ``s = sqrt(3 noise) / pi``
``linear``    regression: ``y = z + zeta``, Gaussian variance ``noise`` (no sign, no flips)
============  =====================================  ==============================================

with flips ``P_+ = flip + (1 - 2 flip) P_+^clean``.  ``noise`` is a *variance* for every
teacher (the library-wide convention); the logistic teacher ``P(y = 1 | z) = sigma(beta z)`` has
``noise = pi^2 / (3 beta^2)``, see :func:`logistic_noise_from_beta`.  All classification
channels are symmetric, ``P(-y | -z) = P(y | z)``, so the saddle-point integrals reduce to the
label ``+1`` (``docs/theory/glm.md``).

Given the student field, the teacher field is ``z | xi ~ N(omega0, V0)``; :func:`p_plus` gives
``P_+ = E[P(+1 | z)]`` and ``D = dP_+/d omega0``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import _draws as draws
from ..numerics.gaussian import normal_cdf, normal_panel_rule, normal_pdf
from ._params import CLASSIFIERS, TEACHERS

_SIGMOID_GRADING = 2.0 ** np.arange(-2, 7)  # panel edges at centre +- width * grading


class Channel(NamedTuple):
    """A teacher channel with its (broadcastable) parameters.

    ``kind`` is static (a string); ``noise`` (variance) and ``flip`` are arrays.
    """

    kind: str
    noise: jax.Array
    flip: jax.Array


def logistic_noise_from_beta(beta):
    """``noise`` of the logistic teacher ``P(y=1|z) = sigma(beta z)``: ``pi^2 / (3 beta^2)``."""
    return math.pi**2 / (3.0 * jnp.asarray(beta, float) ** 2)


def _logistic_scale(noise):
    return jnp.sqrt(3.0 * noise) / math.pi


def _safe_sqrt(x):
    return jnp.sqrt(jnp.where(x > 0, x, 1.0))


def p_plus(channel: Channel, omega0, V0):
    """``(P_+, D)``: probability of label +1 when ``z ~ N(omega0, V0)``, and its ``omega0``-slope.

    For the logistic teacher the inner Gaussian average is a graded composite Gauss-Legendre rule
    (280 nodes, absolute error < 1e-14 for sigmoid widths 0.003 to 10).  ``V0 + noise = 0`` gives the sign step (``D`` = 0 off ``omega0 = 0``).
    """
    flip = channel.flip
    if channel.kind in ("sign", "probit"):
        var = V0 + (channel.noise if channel.kind == "probit" else 0.0)
        pos = var > 0
        s = _safe_sqrt(var)
        a = omega0 / s
        clean = jnp.where(pos, normal_cdf(a), (omega0 > 0).astype(a.dtype))
        slope = jnp.where(pos, normal_pdf(a) / s, 0.0)
    elif channel.kind == "logistic":
        scale = _logistic_scale(channel.noise)
        pos = scale > 0
        s_safe = jnp.where(pos, scale, 1.0)
        # Inner average over z ~ N(omega0, V0) by composite Gauss-Legendre with panels graded
        # around the sigmoid's centre u = -omega0/sqrt(V0) at its width s/sqrt(V0): Gauss-Hermite
        # converges slowly here (the sigmoid has poles at distance pi s; 48 nodes: 1e-8 error).
        sv0 = _safe_sqrt(V0)
        centre = (-omega0 / sv0)[..., None]
        width = (s_safe / sv0)[..., None]
        grading = jnp.asarray(_SIGMOID_GRADING, centre.dtype)
        lo, hi = jnp.broadcast_arrays(centre - width * grading, centre + width * grading)
        bp = jnp.concatenate([lo, jnp.broadcast_to(centre, lo.shape[:-1] + (1,)), hi], axis=-1)
        u, w = normal_panel_rule(bp, n_per_panel=8, n_uniform=16)
        arg = (omega0[..., None] + jnp.sqrt(jnp.maximum(V0, 0.0))[..., None] * u) / s_safe[..., None]
        sig = jax.nn.sigmoid(arg)
        logistic_p = jnp.sum(w * sig, axis=-1)  # accurate to ~1e-14 (tests/test_glm_channels.py)
        logistic_d = jnp.sum(w * sig * (1.0 - sig), axis=-1) / s_safe
        var_pos = V0 > 0
        sv = _safe_sqrt(V0)
        sign_p = jnp.where(var_pos, normal_cdf(omega0 / sv), (omega0 > 0).astype(omega0.dtype))
        sign_d = jnp.where(var_pos, normal_pdf(omega0 / sv) / sv, 0.0)
        clean = jnp.where(pos, logistic_p, sign_p)
        slope = jnp.where(pos, logistic_d, sign_d)
    else:
        raise ValueError(f"p_plus is defined for classification teachers {CLASSIFIERS}, not {channel.kind!r}")
    return flip + (1.0 - 2.0 * flip) * clean, (1.0 - 2.0 * flip) * slope


def label_moments(channel: Channel, rho):
    """``(E[y z] / rho, E[y^2])`` (``kappa_1`` of the square-loss closed form, and the label power).

    ``E[y z] = rho E[P'(z)] * 2`` by Stein's lemma for the classification channels; ``(1, rho +
    noise)`` for the linear teacher.
    """
    if channel.kind == "linear":
        return jnp.ones_like(rho), rho + channel.noise
    _, slope = p_plus(channel, jnp.zeros_like(rho), rho)
    return 2.0 * slope, jnp.ones_like(rho)


def test_errors(channel: Channel, m, q, rho):
    """``(test_error, clean_test_error)`` of the predictor ``sign(x . w / sqrt d)`` at overlaps
    ``m = w.w*/d``, ``q = |w|^2/d`` (closed forms; ``docs/theory/glm.md``).

    ``clean_test_error = arccos(m / sqrt(rho q)) / pi`` is the disagreement with ``sign(z)``;
    ``test_error`` is the error on a fresh noisy label.  For the logistic teacher the latter is
    ``E_xi[1(xi>0) P_-(xi) + 1(xi<0) P_+(xi)]`` on graded half-line panels.
    """
    cos = jnp.clip(m / jnp.sqrt(rho * q), -1.0, 1.0)
    clean = jnp.arccos(cos) / math.pi
    flip = channel.flip
    if channel.kind == "sign":
        noisy = clean
    elif channel.kind == "probit":
        noisy = jnp.arccos(jnp.clip(m / jnp.sqrt(q * (rho + channel.noise)), -1.0, 1.0)) / math.pi
    elif channel.kind == "logistic":
        # Student field xi (standardised); teacher z | xi ~ N(m xi / sqrt q, rho - m^2/q).
        # E over xi > 0 of P_-(xi) + E over xi < 0 of P_+(xi) = 2 E_{xi>0}[P_-(xi)] by symmetry.
        xi, wx = _half_line_nodes()
        omega0 = (m / jnp.sqrt(q))[..., None] * xi
        V0 = jnp.maximum(rho - m * m / q, 0.0)[..., None] * jnp.ones_like(xi)
        chan0 = Channel("logistic", channel.noise[..., None], jnp.zeros_like(flip)[..., None])
        p, _ = p_plus(chan0, omega0, V0)
        noisy = 2.0 * jnp.sum(wx * (1.0 - p), axis=-1)
    else:
        raise ValueError("test_errors is for classification teachers")
    return flip + (1.0 - 2.0 * flip) * noisy, clean


def _half_line_nodes():
    """Nodes/weights for ``E[f(Z) 1(Z > 0)]`` (Gauss-Legendre panels on [0, 11])."""
    x, w = np.polynomial.legendre.leggauss(12)
    edges = np.concatenate([[0.0], np.geomspace(1e-3, 1.0, 7), np.linspace(2.0, 11.0, 10)])
    lo, hi = edges[:-1, None], edges[1:, None]
    nodes = (0.5 * (hi + lo) + 0.5 * (hi - lo) * x).ravel()
    weights = (0.5 * (hi - lo) * w).ravel() * np.exp(-0.5 * nodes**2) / math.sqrt(2 * math.pi)
    return jnp.asarray(nodes), jnp.asarray(weights)


def sample_labels(channel_kind: str, z, noise, flip, g_noise, g_flip):
    """Labels for teacher fields ``z`` (any shape) from the channel (for the simulator), given
    independent standard Gaussians ``g_noise`` and ``g_flip`` of ``z``'s shape (the channel noise:
    Gaussian, or logistic by inverse-CDF transform, :mod:`overparam_theory._draws`; the flips)."""
    if channel_kind == "linear":
        return z + jnp.sqrt(noise) * g_noise
    if channel_kind == "sign":
        pre = z
    elif channel_kind == "probit":
        pre = z + jnp.sqrt(noise) * g_noise
    elif channel_kind == "logistic":
        pre = z + _logistic_scale(noise) * draws.logistic(g_noise)
    else:
        raise ValueError(f"teacher must be one of {TEACHERS}, got {channel_kind!r}")
    y = jnp.where(pre > 0, 1.0, -1.0).astype(z.dtype)
    return jnp.where(draws.bernoulli(g_flip, flip), -y, y)
