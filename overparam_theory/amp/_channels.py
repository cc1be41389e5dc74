"""Output channels ``P_out(y | z)`` of the Bayes-optimal GLM and their ``Z_out`` functions.

The teacher field is ``z = x . w* / sqrt(d)`` with ``x ~ N(0, I_d)``, so ``z ~ N(0, rho)``
with ``rho = E[w*_i^2]`` (``= sparsity * nonzero_variance``).  Channels (``noise`` ``Delta >= 0``
is a variance; ``flip`` a label-flip probability):

==========  ============================================  =====================================
channel     label                                         notes
==========  ============================================  =====================================
``linear``  ``y = z + sqrt(Delta) xi``                    ``Delta = 0``: compressed sensing
``sign``    ``y = s sign(z + sqrt(Delta) xi)``,           perceptron; ``s = -1`` w.p. ``flip``
            ``P(s = -1) = flip``
``relu``    ``y = max(0, z) + sqrt(Delta) xi``            ``Delta = 0``: ``y = 0`` w.p. 1/2
``abs``     ``y = |z| + sqrt(Delta) xi``                  phase retrieval (real)
==========  ============================================  =====================================

Everything the state evolution (SE) and GAMP need comes from the *partition function* of the
channel given a Gaussian estimate ``z ~ N(omega, V)`` of the field,

    Z_out(y; omega, V) = E_{z ~ N(omega, V)} P_out(y | z),
    g = d_omega log Z_out  (GAMP's ``f_out``),  dg = d_omega g,

(Zdeborova & Krzakala, Adv. Phys. 65 (2016) section VI.C; Rangan, ISIT 2011; Barbier, Krzakala,
Macris, Miolane & Zdeborova, PNAS 116 (2019) 5451, eq. (9)).  Each ``Z_out`` here is a sum of
closed-form components ``exp(L_k)``; for the noisy ReLU/abs channels with
``sigma^2 = V Delta / (V + Delta)`` and ``S = V + Delta`` they are

    relu:  Phi(-omega/sqrt V) N(y; 0, Delta) + N(y; omega, S) Phi((omega Delta + y V)/(S sigma)),
    abs:   N(y; omega, S) Phi((omega Delta + y V)/(S sigma)) + N(-y; omega, S) Phi(-(omega Delta - y V)/(S sigma)),

and with ``Delta = 0`` (an explicit branch, never a ``0/0``) relu has the atom
``Z_out(0) = Phi(-omega/sqrt V)`` plus the density ``N(y; omega, V)`` on ``y > 0``, abs has
``N(y; omega, V) + N(-y; omega, V)`` on ``y >= 0``.  For the sign channel
``Z_out(y) = flip + (1 - 2 flip) Phi(y omega / sqrt(V + Delta))`` and
``dg = -g (omega/(V + Delta) + g)`` (``docs/theory/amp.md``).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.special import logsumexp

from ..numerics.gaussian import log_normal_cdf, mills_ratio, normal_cdf
from ._params import CHANNELS

# Fraction of samples that pin the teacher field exactly in a noiseless continuous channel (the
# rest, ReLU outputs y = 0, only give its sign): perfect recovery is a stable SE fixed point
# iff alpha * PINNED_FRACTION > sparsity (see _theory).
PINNED_FRACTION = {"linear": 1.0, "relu": 0.5, "abs": 1.0}

_LOG_2PI = math.log(2.0 * math.pi)


class Channel(NamedTuple):
    """A channel: ``kind`` (static string), ``noise`` (variance ``Delta``) and ``flip`` arrays."""

    kind: str
    noise: jax.Array
    flip: jax.Array


def _log_normal(y, mean, var):
    return -0.5 * (_LOG_2PI + jnp.log(var) + (y - mean) ** 2 / var)


def _gauss_component(y_signed, omega, var):
    """``L = log N(y_signed; omega, var)`` with its first two ``omega`` derivatives."""
    return _log_normal(y_signed, omega, var), (y_signed - omega) / var, -1.0 / var + 0.0 * omega


def _truncated_component(y_signed, omega, V, noise, sign):
    """``log[N(y_signed; omega, S) Phi(b)]``, ``b = sign (omega Delta + y_signed V)/(S sigma)``.

    The Gaussian evidence of ``y_signed = z + noise`` times the posterior probability that ``z``
    lies on the side ``sign`` of 0 (``Delta > 0`` only; the caller masks ``Delta = 0``).
    """
    S = V + noise
    sigma = jnp.sqrt(V * noise / S)
    k = sign * noise / (S * sigma)  # db/domega
    b = sign * (omega * noise + y_signed * V) / (S * sigma)
    m = mills_ratio(-b)  # d log Phi(b) / db
    L = _log_normal(y_signed, omega, S) + log_normal_cdf(b)
    d1 = (y_signed - omega) / S + m * k
    d2 = -1.0 / S - m * (m + b) * k * k
    return L, d1, d2


def _stack(*components):
    L, d1, d2 = zip(*components)
    return jnp.stack(L, -1), jnp.stack(d1, -1), jnp.stack(d2, -1)


def components(channel: Channel, y, omega, V):
    """``(L, dL, d2L)``, each ``shape + (k,)``: ``Z_out = sum_k exp(L_k)`` and the
    ``omega`` derivatives of every ``L_k`` (the second derivative as needed by :func:`log_z_out`).

    ``y``, ``omega``, ``V``, ``channel.noise`` and ``channel.flip`` broadcast.
    """
    kind, noise, flip = channel
    dtype = jnp.result_type(y, omega, V)
    y, omega, V, noise, flip = jnp.broadcast_arrays(*(jnp.asarray(a, dtype) for a in (y, omega, V, noise, flip)))
    noisy = noise > 0
    safe_noise = jnp.where(noisy, noise, 1.0)
    neg_inf = jnp.asarray(-jnp.inf, dtype)
    if kind == "linear":
        return _stack(_gauss_component(y, omega, V + noise))
    if kind == "sign":
        S = V + noise
        u = y * omega / jnp.sqrt(S)
        log_clean = jnp.log1p(-2.0 * flip) + log_normal_cdf(u)
        L = jnp.logaddexp(jnp.where(flip > 0, jnp.log(jnp.where(flip > 0, flip, 1.0)), neg_inf), log_clean)
        # g = (1 - 2 flip) y phi(u) / (sqrt(S) Z_out), in log space (no underflow of phi or Phi)
        g = y * jnp.exp(jnp.log1p(-2.0 * flip) - 0.5 * (_LOG_2PI + u * u) - 0.5 * jnp.log(S) - L)
        return L[..., None], g[..., None], (-g * (omega / S + g))[..., None]
    if kind == "relu":
        a = omega / jnp.sqrt(V)
        ma = mills_ratio(a)
        zero = (log_normal_cdf(-a), -ma / jnp.sqrt(V), -ma * (ma - a) / V)
        # Delta > 0: the atom at z <= 0 blurred by the noise, and the part z > 0
        noisy_zero = (zero[0] + _log_normal(y, 0.0, safe_noise), zero[1], zero[2])
        noisy_pos = _truncated_component(y, omega, V, safe_noise, 1.0)
        # Delta = 0: y = 0 is the atom, y > 0 the density N(y; omega, V)
        clean_pos = _gauss_component(y, omega, V)
        at_zero = y <= 0
        first = [jnp.where(noisy, nz, jnp.where(at_zero, z0, neg_inf if i == 0 else 0.0 * z0))
                 for i, (nz, z0) in enumerate(zip(noisy_zero, zero))]
        second = [jnp.where(noisy, npos, jnp.where(at_zero, neg_inf if i == 0 else 0.0 * cp, cp))
                  for i, (npos, cp) in enumerate(zip(noisy_pos, clean_pos))]
        return _stack(tuple(first), tuple(second))
    if kind == "abs":
        noisy_p = _truncated_component(y, omega, V, safe_noise, 1.0)
        noisy_m = _truncated_component(-y, omega, V, safe_noise, -1.0)
        clean_p = _gauss_component(y, omega, V)
        clean_m = _gauss_component(-y, omega, V)
        plus = tuple(jnp.where(noisy, a, b) for a, b in zip(noisy_p, clean_p))
        minus = tuple(jnp.where(noisy, a, b) for a, b in zip(noisy_m, clean_m))
        return _stack(plus, minus)
    raise ValueError(f"channel must be one of {CHANNELS}, got {kind!r}")


def log_z_out(channel: Channel, y, omega, V):
    """``(log Z_out, g, dg)``: the log partition function, ``g = d_omega log Z_out`` and
    ``dg = d_omega g`` (GAMP's ``f_out`` and its derivative)."""
    L, d1, d2 = components(channel, y, omega, V)
    log_z = logsumexp(L, axis=-1)
    p = jnp.exp(L - log_z[..., None])
    p = jnp.where(jnp.isfinite(L), p, 0.0)
    d1 = jnp.where(p > 0, d1, 0.0)
    d2 = jnp.where(p > 0, d2, 0.0)
    g = jnp.sum(p * d1, -1)
    dg = jnp.sum(p * (d2 + d1 * d1), -1) - g * g
    return log_z, g, dg


def sample_labels(channel: Channel, z, key):
    """Labels ``y ~ P_out(. | z)`` (the table in the module docstring)."""
    kind, noise, flip = channel
    k_noise, k_flip = jax.random.split(key)
    xi = jax.random.normal(k_noise, z.shape, z.dtype)
    if kind == "linear":
        return z + jnp.sqrt(noise) * xi
    if kind == "sign":
        s = jnp.where(jax.random.uniform(k_flip, z.shape, z.dtype) < flip, -1.0, 1.0)
        return s * jnp.where(z + jnp.sqrt(noise) * xi > 0, 1.0, -1.0).astype(z.dtype)
    if kind == "relu":
        return jnp.maximum(z, 0.0) + jnp.sqrt(noise) * xi
    if kind == "abs":
        return jnp.abs(z) + jnp.sqrt(noise) * xi
    raise ValueError(f"channel must be one of {CHANNELS}, got {kind!r}")


def label_given_field(channel: Channel, z, zeta):
    """The label as a function of the field ``z`` and a standard normal noise ``zeta`` (the
    sample representation used by the SE quadrature; ``sign`` is handled separately)."""
    kind, noise, _ = channel
    if kind == "linear":
        return z + jnp.sqrt(noise) * zeta
    if kind == "relu":
        return jnp.maximum(z, 0.0) + jnp.sqrt(noise) * zeta
    if kind == "abs":
        return jnp.abs(z) + jnp.sqrt(noise) * zeta
    raise ValueError(f"no sample representation for channel {kind!r}")


def field_moments(kind, mean, std):
    """``E[phi(z)]`` and ``E[phi(z)^2]`` for ``z ~ N(mean, std^2)`` and the noiseless output
    ``phi`` of a continuous channel (closed forms; ``std = 0`` allowed)."""
    pos = std > 0
    s = jnp.where(pos, std, 1.0)
    t = jnp.where(pos, mean / s, jnp.sign(mean) * 40.0)
    pdf = jnp.exp(-0.5 * t * t) / math.sqrt(2.0 * math.pi)
    cdf = normal_cdf(t)
    second = mean * mean + std * std
    if kind == "linear":
        return mean, second
    if kind == "relu":
        first = jnp.where(pos, std * pdf + mean * cdf, jnp.maximum(mean, 0.0))
        second_r = jnp.where(pos, second * cdf + mean * std * pdf, jnp.maximum(mean, 0.0) ** 2)
        return first, second_r
    if kind == "abs":
        first = jnp.where(pos, 2.0 * std * pdf + mean * (2.0 * cdf - 1.0), jnp.abs(mean))
        return first, second
    raise ValueError(f"no field moments for channel {kind!r}")
