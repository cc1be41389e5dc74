"""Closed-form Gaussian averages of the erf activation (Saad & Solla 1995; Goldt et al. 2019).

Activation ``g(u) = erf(u / sqrt 2)`` with derivative ``g'(u) = sqrt(2/pi) exp(-u^2/2)``.  For a
centred Gaussian vector ``h`` with covariance ``C`` the averages entering the order-parameter
ODEs are (indices ``p, q, r, s`` pick entries of ``h``; ``C_pq`` the covariance):

- ``I2(p, q) = E[g(h_p) g(h_q)] = (2/pi) arcsin(C_pq / sqrt((1 + C_pp)(1 + C_qq)))``
  (Saad & Solla PRE 52, 4225 (1995), appendix; Goldt et al. arXiv:1906.08632, appendix);
- ``J2(p, q) = E[g'(h_p) g'(h_q)] = (2/pi) / sqrt((1 + C_pp)(1 + C_qq) - C_pq^2)``;
- ``I3(p, q, r) = E[g'(h_p) h_q g(h_r)]
  = (2/pi) (C_qr (1 + C_pp) - C_pq C_pr) / ((1 + C_pp) sqrt((1 + C_pp)(1 + C_rr) - C_pr^2))``;
- ``I4(p, q, r, s) = E[g'(h_p) g'(h_q) g(h_r) g(h_s)]
  = (4/pi^2) arcsin(L0 / sqrt(L1 L2)) / sqrt(L4)`` with
  ``L4 = (1 + C_pp)(1 + C_qq) - C_pq^2``,
  ``L0 = L4 C_rs - C_qr C_qs (1 + C_pp) - C_pr C_ps (1 + C_qq) + C_pq C_pr C_qs + C_pq C_ps C_qr``,
  ``L1 = L4 (1 + C_rr) - C_qr^2 (1 + C_pp) - C_pr^2 (1 + C_qq) + 2 C_pq C_pr C_qr``,
  ``L2 = L4 (1 + C_ss) - C_qs^2 (1 + C_pp) - C_ps^2 (1 + C_qq) + 2 C_pq C_ps C_qs``.

Derivation (docs/theory/committee.md): ``g'(h_p) g'(h_q)`` is a Gaussian factor
``(2/pi) exp(-(h_p^2 + h_q^2)/2)``; multiplying the density by it gives ``1/sqrt(L4)`` times a
Gaussian with covariance ``(C^{-1} + diag(1, 1, 0, 0))^{-1}``, under which ``E g g`` is ``I2``.
``I3`` follows from Stein's lemma in the same way.  All functions broadcast over their scalar
covariance arguments; tests/test_dynamics_committee.py checks each one against Gauss-Hermite
quadrature.
"""

from __future__ import annotations

import math

import jax.numpy as jnp

TWO_OVER_PI = 2.0 / math.pi


def i2(c11, c12, c22):
    """``E[g(u) g(v)]`` for ``(u, v)`` centred Gaussian with covariance ``[[c11, c12], [c12, c22]]``."""
    return TWO_OVER_PI * jnp.arcsin(c12 / jnp.sqrt((1.0 + c11) * (1.0 + c22)))


def j2(c11, c12, c22):
    """``E[g'(u) g'(v)]`` (same covariance convention as :func:`i2`)."""
    return TWO_OVER_PI / jnp.sqrt((1.0 + c11) * (1.0 + c22) - c12**2)


def i3(c11, c12, c13, c22, c23, c33):
    """``E[g'(u) v g(w)]`` for ``(u, v, w)`` with covariance entries ``c_ab`` (``c22`` unused)."""
    del c22
    lam3 = (1.0 + c11) * (1.0 + c33) - c13**2
    return TWO_OVER_PI * (c23 * (1.0 + c11) - c12 * c13) / ((1.0 + c11) * jnp.sqrt(lam3))


def i4(c11, c12, c13, c14, c22, c23, c24, c33, c34, c44):
    """``E[g'(u) g'(v) g(w) g(z)]`` for ``(u, v, w, z)`` with covariance entries ``c_ab``."""
    lam4 = (1.0 + c11) * (1.0 + c22) - c12**2
    lam0 = lam4 * c34 - c23 * c24 * (1.0 + c11) - c13 * c14 * (1.0 + c22) + c12 * c13 * c24 + c12 * c14 * c23
    lam1 = lam4 * (1.0 + c33) - c23**2 * (1.0 + c11) - c13**2 * (1.0 + c22) + 2.0 * c12 * c13 * c23
    lam2 = lam4 * (1.0 + c44) - c24**2 * (1.0 + c11) - c14**2 * (1.0 + c22) + 2.0 * c12 * c14 * c24
    return (4.0 / math.pi**2) * jnp.arcsin(lam0 / jnp.sqrt(lam1 * lam2)) / jnp.sqrt(lam4)


# ---------------------------------------------------------------------------------------------
# Whole-matrix versions on the joint covariance ``C`` of all P = K + M local fields.


def i2_matrix(C):
    """``I2[a, b] = E[g(h_a) g(h_b)]`` for every pair, ``C`` of shape ``(P, P)``."""
    d = jnp.diagonal(C)
    return i2(d[:, None], C, d[None, :])


def j2_matrix(C):
    """``J2[a, b] = E[g'(h_a) g'(h_b)]`` for every pair."""
    d = jnp.diagonal(C)
    return j2(d[:, None], C, d[None, :])


def i3_tensor(C):
    """``I3[p, q, r] = E[g'(h_p) h_q g(h_r)]``, shape ``(P, P, P)``."""
    d = jnp.diagonal(C)
    c11 = d[:, None, None]
    c33 = d[None, None, :]
    c12 = C[:, :, None]
    c13 = C[:, None, :]
    c23 = C[None, :, :]
    lam3 = (1.0 + c11) * (1.0 + c33) - c13**2
    return TWO_OVER_PI * (c23 * (1.0 + c11) - c12 * c13) / ((1.0 + c11) * jnp.sqrt(lam3))


def i4_tensor(C, n_first):
    """``I4[i, k, a, b] = E[g'(h_i) g'(h_k) g(h_a) g(h_b)]`` for ``i, k < n_first`` (the student
    units) and all ``a, b``; shape ``(n_first, n_first, P, P)``."""
    d = jnp.diagonal(C)
    s = slice(0, n_first)
    c11 = d[s][:, None, None, None]
    c22 = d[s][None, :, None, None]
    c33 = d[None, None, :, None]
    c44 = d[None, None, None, :]
    c12 = C[s, s][:, :, None, None]
    c13 = C[s, :][:, None, :, None]
    c14 = C[s, :][:, None, None, :]
    c23 = C[s, :][None, :, :, None]
    c24 = C[s, :][None, :, None, :]
    c34 = C[None, None, :, :]
    return i4(c11, c12, c13, c14, c22, c23, c24, c33, c34, c44)
