"""Bayes-optimal learning in generalized linear models: replica-symmetric state evolution.

Model (Barbier, Krzakala, Macris, Miolane & Zdeborova, PNAS 116 (2019) 5451, "BKMMZ";
``docs/theory/amp.md``): teacher ``w*_i ~ P_0`` i.i.d. (Bernoulli-
Gaussian, :mod:`._priors`: ``sparsity`` ``eps``, ``nonzero_variance`` ``v``,
``rho = E[w*^2] = eps v``), inputs ``x_mu ~ N(0, I_d)``, ``n = alpha d`` labels
``y_mu ~ P_out(. | x_mu . w*/sqrt(d))`` (:mod:`._channels`).  The statistician knows ``P_0`` and
``P_out``.  Overlaps are per coordinate: ``q = E[w_hat . w*]/d = E|w_hat|^2/d`` (Nishimori),
``mse = |w_hat - w*|^2/d = rho - q``.

State evolution (SE) of GAMP = the replica-symmetric saddle point (BKMMZ eqs. (9)-(11);
Zdeborova & Krzakala, Adv. Phys. 2016, eqs. (96)-(97)), written for ``E = rho - q``
(the response ``V`` of the channel equals ``E`` in the Bayes-optimal setting):

    q_hat = alpha E_{xi, y}[g(y; sqrt(q) xi, rho - q)^2],           (channel side)
    E_new = rho - E_{w ~ P_0, xi}[f_a(w + xi/sqrt(q_hat), 1/q_hat)^2]  (prior side: mmse(q_hat))

and the free entropy (minus the free energy) of a fixed point

    Phi(q, q_hat) = psi_0(q_hat) + alpha Psi_out(q) - q q_hat / 2,
    psi_0 = E log Z_0,   Psi_out = E_{xi, y} log Z_out(y; sqrt(q) xi, rho - q).

The SE map ``E -> E_new`` is monotone non-decreasing, so the iteration from the *uninformed*
start (``E ~ rho``) decreases to the largest fixed point (what GAMP reaches from a random start)
and from the *informed* start (``E ~ 0``) increases to the smallest.  When the two differ the
model has a first-order transition: the Bayes-optimal MMSE is the fixed point of larger
``Phi`` (BKMMZ Theorem 1), which GAMP misses in the "hard" phase.  ``theory`` returns both
branches, their free entropies and the Bayes-optimal choice.

Noiseless channels (``noise = 0``, an explicit case): for ``linear``, ``relu`` and ``abs`` the
data can pin ``w*`` exactly.  Linearising SE at ``E -> 0`` gives ``E_new ~ eps E / (alpha kappa)``
(``kappa = 1``, or ``1/2`` for relu, whose zero outputs carry no exact equation), so perfect
recovery (``mse = 0``, ``Phi = +inf``: the channel's differential entropy diverges) is a stable
fixed point iff ``alpha kappa > eps`` -- the information-theoretic threshold ``alpha_IT = eps /
kappa`` (Wu & Verdu, IEEE TIT 2010 for ``linear``; BKMMZ Table 1: ``alpha_IT = 1`` for noiseless
phase retrieval).  The informed branch then *is* perfect recovery; the uninformed iteration
reaching ``E < 1e-13 rho`` is declared perfect recovery (its geometric convergence to 0 never
meets a relative tolerance).  Symmetric channels (``abs``) have the trivial fixed point ``q = 0``
(``g = 0`` at ``omega = 0``); the uninformed start carries an infinitesimal side information of
SNR ``initial_snr`` (default ``1e-6``) so that an unstable trivial point is left, and a stable
one is reported as ``q = 0`` once ``q < 1e-13 rho``.

Numerics (``docs/theory/amp.md`` section 5): each branch is a safeguarded secant solve of
``T(E) = E`` that keeps the monotone iteration's side of the fixed point (:func:`_solve_branch`).
The prior side uses a composite Gauss-Legendre rule graded around the switch-on radius of the
sparse posterior (:func:`._priors.prior_moments`, relative error ~1e-13), or the closed form of
the Gaussian prior; ``sign`` without flips is a Gauss-Hermite sum (:func:`_sign_average`), with
flips a panel rule in ``xi`` graded at ``sqrt((V + Delta)/q)``; noiseless ``relu``/``abs`` use
``z = omega + sqrt(V) eta`` split at the kink ``z = 0``, noisy ones a 2-D ``(xi, y)`` rule over
the closed-form components of ``Z_out`` (:func:`_noisy_average`); ``linear`` is closed form.
Gradients with respect to the parameters are implicit: ``dE = d_theta T / (1 - d_E T)`` at the
fixed point (a custom JVP, evaluated only when differentiating).
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._spec import validated
from .._validation import any_concrete, is_traced
from ..numerics.batching import CPU_WORK_BUDGET, map_points
from ..numerics.diagnostics import Diagnostics, diagnostics, ok, with_diagnostics
from ..numerics.gaussian import erfcx, gauss_hermite_nodes, normal_panel_rule, normal_split_rule
from ..numerics.grid import evaluate
from ._channels import PINNED_FRACTION, Channel, field_moments, log_z_out
from ._params import CLASSIFICATION_CHANNELS
from ._params import FIELDS, PARAMS, STATE_EVOLUTION_PARAMS
from ._priors import gaussian_prior_moments, prior_moments

_LOG_2PI = math.log(2.0 * math.pi)
_FLOOR = 1e-13  # relative: E (noiseless perfect recovery) or q (trivial point) below it is exactly 0
# relu/abs noiseless rule (_noiseless_average: nodes per panel / uniform panels in xi, per
# half-line in eta): relative error <= 3e-9 against a (16, 32, 40) rule over q in [0.01, 0.9999].
_QUAD = {"xi_panel": 6, "xi_uniform": 16, "eta": 32}
# relu/abs noisy 2-D rule (_noisy_average: xi nodes per half-line, y nodes per side of each
# positive-part component, Gauss-Hermite nodes of the relu atom).  Measured against the
# (96, 128, 96) rule, q in {0.01, 0.1, 0.3, 0.6, 0.9, 0.99, 0.999, 0.9999}, V = 1 - q, noise in
# {0.01, 0.1, 1}: relative error of E[g^2] (E[log Z_out]) <= 7.4e-6 (3.7e-7) for relu at noise
# 0.01, 3e-7 (6e-9) at 0.1, 5e-9 (6e-9) at 1; abs (no atom) <= 4e-9 (1.2e-8).  (40, 48, 24):
# 9.2e-7, 3e-7, 9e-11, abs 7e-11 at 1.7x the cost.  The former 3-D (xi, eta, zeta) rule of ~2e5 nodes had
# 2.5e-4, 7e-5, 2e-6 and abs 3e-7.  The reference agrees with that rule refined to
# (16, 32, 40, 30) to 2e-13 for abs and to 3e-7 for relu (the limit of its zeta integral).
_NOISY = {"relu": (32, 40, 24), "abs": (32, 32, 0)}
_THETA = 1e-3  # one solver step shrinks E or q by at most this factor
_THETA_LEAVING = 1.0 / 16.0  # ... this one leaving an unstable point (validated, s > 1)
_THETA_UNTRUSTED = 0.25  # ... and this one before the secant model is validated
_AGREE = 0.25  # secant model validated: consecutive slopes s agree to this fraction of |1 - s|
_MAX_FACTOR = 1e8  # cap on the solver's extrapolation factor
_SIGN_NODES = 40  # Gauss-Hermite nodes of the sign channel without flips (_sign_average)
_XI_LIMIT = 11.0  # |xi| beyond: Gaussian mass below float64 resolution
_XI_HALF = np.array([0.5, 1.0, 2.0, 3.0, 4.5, 6.0, 8.0, 11.0])
_XI_GRADING = np.concatenate([-_XI_HALF[::-1], [0.0], _XI_HALF])  # panel edges, units of the width of a = omega/sqrt(V)


@with_diagnostics
class AMPTheory(NamedTuple):
    """Bayes-optimal GLM asymptotics; every field has the broadcast shape of the parameters.

    Attributes (uninformed branch = what (G)AMP reaches from an uninformed start, the quantity
    :func:`~overparam_theory.amp.simulate` measures):
        mse: ``|w_hat - w*|^2/d`` of the uninformed fixed point (``rho - overlap``).
        overlap: ``q = w_hat . w*/d`` there.
        test_error: Bayes-optimal generalisation error at that fixed point: the label error
            ``P(y != sign(omega))`` for ``sign``; the prediction MSE ``E(y - E[y|x, data])^2``
            (label noise included) for ``linear``/``relu``/``abs``.
        clean_test_error: the same against the noiseless label (``sign(z)``, ``phi(z)``).
        free_entropy: ``Phi`` at the uninformed fixed point.
        q_hat: the channel SNR ``q_hat`` there.
        informed_mse, informed_free_entropy: the fixed point reached from ``E ~ 0``
            (``0`` and ``+inf`` for noiseless perfect recovery).
        mmse, bayes_overlap, bayes_test_error, bayes_clean_test_error: the Bayes-optimal
            (information-theoretic) values: the branch of larger free entropy.
        coexistence: ``True`` where the two branches differ (a first-order transition region:
            metastable, or GAMP suboptimal where the informed branch wins).
        diagnostics: :class:`~overparam_theory.numerics.diagnostics.Diagnostics` of both
            branches (``OK`` when both converged; ``iterations`` and the relative ``residual``
            are the larger of the two); ``converged``, ``status``, ``iterations``, ``residual``
            are properties.
    """

    mse: jax.Array
    overlap: jax.Array
    test_error: jax.Array
    clean_test_error: jax.Array
    free_entropy: jax.Array
    q_hat: jax.Array
    informed_mse: jax.Array
    informed_free_entropy: jax.Array
    mmse: jax.Array
    bayes_overlap: jax.Array
    bayes_test_error: jax.Array
    bayes_clean_test_error: jax.Array
    coexistence: jax.Array
    diagnostics: Diagnostics


RESULT_FIELDS = tuple(f.name for f in FIELDS if f.compare)


def check_flip(channel: str, flip) -> None:
    """The cross-field rule (single values are checked by PARAMS): ``flip`` is for ``sign`` only."""
    if channel not in CLASSIFICATION_CHANNELS and any_concrete(lambda f: f != 0, flip):
        raise ValueError(f"flip (label-flip probability) applies to channel='sign' only, not {channel!r}")


# ---------------------------------------------------------------------------------------------
# Channel side


class Modes(NamedTuple):
    """Static (compile-time) facts about a whole grid that select cheaper exact rules.

    ``noise`` (relu/abs): ``"zero"`` when every ``noise`` is 0 (no label-noise integral),
    ``"positive"`` when every one is positive (only the 2-D noisy rule; ``"any"`` evaluates both);
    ``prior``: ``"gauss"`` when every ``sparsity`` is 1 (closed-form prior side);
    ``flip``: ``"zero"`` when every ``flip`` is 0 (sign: the Gauss-Hermite channel rule).
    Each is ``"any"`` otherwise (or when the parameter is traced).
    """

    noise: str = "any"
    prior: str = "any"
    flip: str = "any"


ANY = Modes()


def _sign_average(channel: Channel, q, V):
    """``(E[g^2], E[log Z_out])`` of the noisy sign channel without flips, by Gauss-Hermite.

    With ``u = omega/sqrt(S)``, ``S = V + Delta``, ``c = sqrt(q/S)`` and ``Z_y = Phi(y u)``:
    ``E[g^2] = E_xi[phi(u) h(u)]/S`` with ``h = sum_y phi(u)/Z_y`` and
    ``E[log Z_out] = E_xi[phi(u) k(u)]`` with ``k = sum_y Z_y log Z_y/phi(u)``.  The factor
    ``phi(c xi) phi(xi)`` is a centred Gaussian in ``xi``, so
    ``E_xi[phi(c xi) f(c xi)] = E_t[f(t c/sqrt(1 + c^2))]/sqrt(2 pi (1 + c^2))``, ``t ~ N(0, 1)``
    (exact), and ``h``, ``k`` (Mills ratios, growing like ``|u|``) are analytic in a strip:
    ``_SIGN_NODES`` = 40 Gauss-Hermite nodes give <= 7.5e-15 relative for every ``c`` (against
    96 nodes, and 48 nodes against SciPy ``quad`` to ~1e-15, ``q/S`` from 1e-4 to 1e6: the width
    of ``phi(c xi)`` needs no grading).  Both ``Z_y`` come from one ``erfcx``.
    """
    S = V + channel.noise
    c2 = q / S
    t_np, w_np = gauss_hermite_nodes(_SIGN_NODES)
    u = jnp.asarray(t_np, jnp.result_type(q)) * jnp.sqrt(c2 / (1.0 + c2))
    # one erfcx per node: e = erfcx(|u|/sqrt 2), Phi(-|u|) = tail = e exp(-u^2/2)/2
    e = erfcx(jnp.abs(u) * (1.0 / math.sqrt(2.0)))
    tail = 0.5 * e * jnp.exp(-0.5 * u * u)
    h = math.sqrt(2.0 / math.pi) / e + jnp.exp(-0.5 * u * u) / (math.sqrt(2.0 * math.pi) * (1.0 - tail))
    k = math.sqrt(0.5 * math.pi) * e * (jnp.log(0.5 * e) - 0.5 * u * u + (1.0 - tail) * jnp.log1p(-tail) / tail)
    norm = 1.0 / jnp.sqrt(2.0 * jnp.pi * (1.0 + c2))
    return norm * jnp.sum(w_np * h) / S, norm * jnp.sum(w_np * k)


def _sinh_rule(width, n_nodes):
    """Nodes ``xi`` and weights for ``E[f(xi)]``, ``xi ~ N(0, 1)``, resolving a feature of
    ``f`` of width ``width <= 1`` at ``xi = 0``: on each half-line ``xi = width sinh(tau)``,
    ``tau`` in ``[0, asinh(11/width)]`` by Gauss-Legendre (the map puts nodes on every scale
    from ``width`` to the Gaussian bulk; the integrand is analytic in ``tau``).  Shape ``(2 n,)``."""
    x_np, w_np = np.polynomial.legendre.leggauss(n_nodes)
    dtype = jnp.result_type(width)
    half = 0.5 * jnp.arcsinh(_XI_LIMIT / width)
    tau = half * (jnp.asarray(x_np, dtype) + 1.0)
    xi = width * jnp.sinh(tau)
    w = half * jnp.asarray(w_np, dtype) * width * jnp.cosh(tau) * jnp.exp(-0.5 * xi * xi) / math.sqrt(2.0 * math.pi)
    return jnp.concatenate([-xi, xi]), jnp.concatenate([w, w])


def _positive_part_rule(omega, V, noise, n_nodes):
    """Nodes ``y`` and weights ``w`` with ``sum w Phi(b(y)) G(y) ~ int N(y; omega, S) Phi(b(y)) G(y) dy``,
    the component of ``Z_out`` from ``z > 0`` (``y = z + sqrt(Delta) zeta``, ``z ~ N(omega, V)``),
    ``b = (omega Delta + y V)/(S sigma)``.  In ``y = omega + sqrt(S) s`` the weight is
    ``phi(s) Phi(omega/sigma + kappa s)``, ``kappa = sqrt(V/Delta)``: a step of width ``1/kappa`` at
    ``s0 = -omega sqrt(S)/V``, so the split rule at ``s0`` (both half-lines) is used."""
    S = V + noise
    s, w = normal_split_rule(-omega * jnp.sqrt(S) / V, n_nodes=n_nodes)  # omega.shape + (2 n,)
    return omega[..., None] + jnp.sqrt(S) * s, w  # Phi(b(y)) = Phi(omega/sigma + kappa s)


def _log_cdf_and_mills(b):
    """``(log Phi(b), phi(b)/Phi(b))`` from one ``erfcx`` (full relative accuracy both tails)."""
    x = jnp.abs(b) * (1.0 / math.sqrt(2.0))
    e = erfcx(x)
    tail = 0.5 * e * jnp.exp(-0.5 * b * b)  # Phi(-|b|)
    neg = b < 0
    log_cdf = jnp.where(neg, jnp.log(0.5 * e) - 0.5 * b * b, jnp.log1p(-tail))
    mills = jnp.where(neg, math.sqrt(2.0 / math.pi) / e, jnp.exp(-0.5 * (_LOG_2PI + b * b)) / (1.0 - tail))
    return log_cdf, mills


def _noisy_log_z(kind, y, omega, V, noise):
    """``(log Z_out, g, log Phi(b), log Phi(b'))`` of the noisy (``Delta > 0``) relu / abs channel:
    the closed-form components of :mod:`._channels` without the second derivative or the
    ``Delta = 0`` branch, and the log step factors of the components (``b' = -a`` for relu's
    atom, ``-(omega Delta - y V)/(S sigma)`` for abs's ``z < 0`` part)."""
    S = V + noise
    sigma = jnp.sqrt(V * noise / S)
    k = noise / (S * sigma)
    log_n = lambda u: -0.5 * (_LOG_2PI + jnp.log(S) + (u - omega) ** 2 / S)  # noqa: E731
    b = (omega * noise + y * V) / (S * sigma)
    lc, m = _log_cdf_and_mills(b)
    L1, d1 = log_n(y) + lc, (y - omega) / S + m * k
    if kind == "relu":
        a = omega / jnp.sqrt(V)
        lc0, m0 = _log_cdf_and_mills(-a)
        L0 = lc0 - 0.5 * (_LOG_2PI + jnp.log(noise) + y * y / noise)
        d0 = -m0 / jnp.sqrt(V)
    else:
        b0 = -(omega * noise - y * V) / (S * sigma)
        lc0, m0 = _log_cdf_and_mills(b0)
        L0, d0 = log_n(-y) + lc0, (-y - omega) / S - m0 * k
    log_z = jnp.logaddexp(L0, L1)
    p1 = jnp.exp(L1 - log_z)
    return log_z, d0 + p1 * (d1 - d0), lc, lc0


def _noisy_average(channel: Channel, q, V, n_xi, n_y, n_zeta):
    """``(E[g^2], E[log Z_out])`` of the noisy (``Delta > 0``) relu / abs channel by a 2-D
    ``(xi, y)`` rule: ``omega = sqrt(q) xi`` by :func:`_sinh_rule` of width ``sqrt(V/q)``, and per
    ``xi`` the label ``y`` integrated against each closed-form component of ``Z_out`` (module
    ``_channels``) with its own rule: the blurred relu atom ``Phi(-omega/sqrt V) N(y; 0, Delta)`` by
    Gauss-Hermite in ``y/sqrt(Delta)``, the positive parts (``z > 0``; for abs also ``z < 0``, the
    same with ``-omega``) by :func:`_positive_part_rule`; abs is even in ``xi`` (half the
    nodes).  ``g``, ``log Z_out`` and the step factors at every node are the closed forms of
    :func:`._channels.log_z_out` (:func:`_noisy_log_z`)."""
    kind, noise, _ = channel
    safe_q = jnp.maximum(q, jnp.finfo(jnp.result_type(q)).tiny)
    xi, w_xi = _sinh_rule(jnp.minimum(jnp.sqrt(V / safe_q), 1.0), n_xi)
    if kind == "abs":  # Z_out(y; -omega) = Z_out(y; omega): the half-line xi >= 0, twice
        xi, w_xi = xi[n_xi:], 2.0 * w_xi[n_xi:]
    omega = jnp.sqrt(q) * xi
    y_pos, w_pos = _positive_part_rule(omega, V, noise, n_y)
    if kind == "relu":
        zeta, w_zeta = gauss_hermite_nodes(n_zeta)
        y = jnp.concatenate([jnp.broadcast_to(jnp.sqrt(noise) * zeta, omega.shape + zeta.shape), y_pos], -1)
        log_z, g, lc, lc0 = _noisy_log_z(kind, y, omega[:, None], V, noise)
        # the atom Phi(-a) N(y; 0, Delta) by Gauss-Hermite, the z > 0 part by its rule times Phi(b)
        w_y = jnp.concatenate([jnp.exp(lc0) * w_zeta, w_pos * jnp.exp(lc[:, n_zeta:])], -1)
    else:
        y_neg, w_neg = _positive_part_rule(-omega, V, noise, n_y)
        y = jnp.concatenate([y_pos, y_neg], -1)
        log_z, g, lc, lc0 = _noisy_log_z(kind, y, omega[:, None], V, noise)
        n = y_pos.shape[-1]
        w_y = jnp.concatenate([w_pos * jnp.exp(lc[:, :n]), w_neg * jnp.exp(lc0[:, n:])], -1)
    weights = w_xi[:, None] * w_y
    return jnp.sum(weights * g * g), jnp.sum(weights * log_z)


def channel_average(channel: Channel, q, V, modes: Modes = ANY):
    """``(E[g^2], E[log Z_out])`` over ``omega = sqrt(q) xi`` and ``y ~ Z_out(.; omega, V)``.

    The two averages of SE and of the free entropy at overlap ``q`` and response ``V``
    (module docstring, "Numerics"); ``modes`` (static, :class:`Modes`) selects the cheaper
    exact rules that a whole grid allows.
    """
    kind, noise, flip = channel
    if kind == "linear":
        S = V + noise
        return 1.0 / S, -0.5 * (_LOG_2PI + jnp.log(S) + 1.0)
    safe_q = jnp.maximum(q, jnp.finfo(jnp.result_type(q)).tiny)
    if kind == "sign" and modes.flip == "zero":
        return _sign_average(channel, q, V)
    if kind == "sign":
        width = jnp.sqrt((V + noise) / safe_q)
        xi, w = normal_panel_rule(width * _XI_GRADING, n_per_panel=8, n_uniform=16)
        omega = jnp.sqrt(q) * xi
        labels = jnp.asarray([1.0, -1.0], xi.dtype)
        log_z, g, _ = log_z_out(channel, labels, omega[:, None], V)
        z_out = jnp.exp(log_z)
        info = jnp.sum(w * jnp.sum(z_out * g * g, -1))
        ent = jnp.sum(w * jnp.sum(jnp.where(z_out > 0, z_out * log_z, 0.0), -1))
        return info, ent
    if modes.noise == "positive":
        return _noisy_average(channel, q, V, *_NOISY[kind])
    noiseless = _noiseless_average(channel, q, V)
    if modes.noise == "zero":
        return noiseless
    noisy = _noisy_average(channel._replace(noise=jnp.where(noise > 0, noise, 1.0)), q, V, *_NOISY[kind])
    return tuple(jnp.where(noise > 0, a, b) for a, b in zip(noisy, noiseless))


def _noiseless_average(channel: Channel, q, V):
    """relu / abs with ``Delta = 0``: ``omega = sqrt(q) xi`` by a panel rule graded at the width
    ``sqrt(V/q)``, ``z = omega + sqrt(V) eta`` split at the kink ``z = 0``, ``y = phi(z)``."""
    kind = channel.kind
    safe_q = jnp.maximum(q, jnp.finfo(jnp.result_type(q)).tiny)
    width = jnp.sqrt(V / safe_q)
    xi, w_xi = normal_panel_rule(width * _XI_GRADING, n_per_panel=_QUAD["xi_panel"], n_uniform=_QUAD["xi_uniform"])
    omega = jnp.sqrt(q) * xi
    sqrt_V = jnp.sqrt(V)
    eta, w_eta = normal_split_rule(-omega / sqrt_V, n_nodes=_QUAD["eta"])  # (n_xi, 2 n_eta)
    z = omega[:, None] + sqrt_V * eta
    y = jnp.maximum(z, 0.0) if kind == "relu" else jnp.abs(z)
    log_z, g, _ = log_z_out(channel, y, omega[:, None], V)
    weights = w_xi[:, None] * w_eta
    return jnp.sum(weights * g * g), jnp.sum(weights * log_z)


# ---------------------------------------------------------------------------------------------
# Generalisation error from the overlaps


def _regression_error(kind, m, q, rho, noise):
    """``E[(y - E[phi(z) | omega])^2]`` for ``(z, omega)`` Gaussian with covariance
    ``[[rho, m], [m, q]]`` (``q = 0``: predict the mean), and the same without label noise."""
    safe_q = jnp.where(q > 0, q, 1.0)
    std_cond = jnp.sqrt(jnp.maximum(rho - jnp.where(q > 0, m * m / safe_q, 0.0), 0.0))
    slope = jnp.where(q > 0, m / jnp.sqrt(safe_q), 0.0)
    xi, w = normal_split_rule(jnp.zeros((), jnp.result_type(m)), n_nodes=32)
    first, _ = field_moments(kind, slope * xi, std_cond)
    _, total_second = field_moments(kind, jnp.zeros_like(rho), jnp.sqrt(rho))
    clean = jnp.maximum(total_second - jnp.sum(w * first * first), 0.0)
    return clean + noise, clean


def population_errors(channel: Channel, m, q, rho):
    """``(test_error, clean_test_error)`` of the predictor built on ``omega = x . w_hat/sqrt d``
    with overlaps ``m = w_hat . w*/d`` and ``q = |w_hat|^2/d`` (module ``AMPTheory`` docs).

    ``sign``: ``flip + (1 - 2 flip) arccos(m / sqrt(q (rho + Delta)))/pi`` and
    ``arccos(m / sqrt(q rho))/pi``; regression channels: the prediction MSE of
    ``E[phi(z) | omega]`` (with / without the label noise ``Delta``).
    """
    kind, noise, flip = channel
    if kind == "sign":
        safe_q = jnp.where(q > 0, q, 1.0)
        cos_clean = jnp.where(q > 0, m / jnp.sqrt(safe_q * rho), 0.0)
        cos_label = jnp.where(q > 0, m / jnp.sqrt(safe_q * (rho + noise)), 0.0)
        clean = jnp.arccos(jnp.clip(cos_clean, -1.0, 1.0)) / jnp.pi
        label = flip + (1.0 - 2.0 * flip) * jnp.arccos(jnp.clip(cos_label, -1.0, 1.0)) / jnp.pi
        return label, clean
    return _regression_error(kind, m, q, rho, noise)


# ---------------------------------------------------------------------------------------------
# State evolution


def se_map(channel: Channel, alpha, sparsity, nonzero_variance, q, E, modes: Modes = ANY):
    """One SE step from overlap ``q`` and error ``E = rho - q`` (both carried, each accurate
    when small): ``(q_new, E_new, q_hat, free entropy at (q, q_hat))`` (module docstring)."""
    info, psi_out = channel_average(channel, q, E, modes)
    q_hat = alpha * info
    if modes.prior == "gauss":
        q_new, E_new, psi_0 = gaussian_prior_moments(q_hat, nonzero_variance)
    else:
        q_new, E_new, psi_0 = prior_moments(q_hat, sparsity, nonzero_variance)
    return q_new, E_new, q_hat, psi_0 + alpha * psi_out - 0.5 * q * q_hat


def _difference(q_a, E_a, q_b, E_b):
    """``E_a - E_b`` (``= q_b - q_a``) from whichever carried pair is smaller: full relative
    accuracy near perfect recovery (``E -> 0``) and near the trivial point (``q -> 0``)."""
    return jnp.where(E_a + E_b <= q_a + q_b, E_a - E_b, q_b - q_a)


def _solve_branch(channel, alpha, sparsity, nonzero_variance, q0, E0, tol, max_iter, modes):
    """Safeguarded secant solve of ``T(E) = E`` from ``(q0, E0)``: the fixed point that plain
    iteration from the start reaches.  Returns ``(q, E, converged, iterations, residual, special)``.

    ``T`` (the SE map ``E -> E_new``) is monotone non-decreasing, so plain iteration moves
    monotonically, in the direction ``d = sign(T(E0) - E0)``, to the nearest fixed point on that
    side (the largest one from the uninformed start, the smallest from the informed one) and
    never crosses a fixed point.  The solver keeps that:

    - the *iterate* ``x`` is only replaced by a point on the start side (``d (T(c) - c) > 0``);
      a candidate that lands past a fixed point (``d (T(c) - c) < 0``) is never an iterate:
      it becomes the far end ``b`` of a bracket, which is rigorous: by monotonicity a point
      where ``T - E`` has changed sign lies at or past the fixed point sought.  The next candidate
      is then the Illinois regula falsi point of ``[x, b]``, but never short of the plain step
      ``T(x)``;
    - from an iterate the candidate is the plain step stretched by a factor ``m``:
      ``x + m (T(x) - x)``; ``m`` is the secant (Newton) factor ``1/(1 - s)`` of the slope ``s``
      of ``T`` between the last two iterates, but at most twice the previous factor (1 at the
      start; halved after a landing past the fixed point), never past ``b``, and never shrinking
      ``E`` or ``q`` by more than ``_THETA`` in one step (the endpoints ``E = 0`` or ``q = 0``
      are approached geometrically and detected below ``_FLOOR rho``, as before).  Where
      ``s >= 1`` (leaving an unstable point) ``m`` doubles.

    The factor grows at most geometrically, so a far jump needs a long run of accepted steps
    consistent with the secant model; a step cannot pass a fixed point unnoticed *except* by
    jumping over a whole pair (the test ``d (T - E)`` is the same on both sides of a pair).  Near
    a pair (a spinodal) ``T - E`` is locally a concave (convex) parabola seen from above
    (below), where secant extrapolation from the start side never overshoots; the regression
    tests compare with plain iteration at the phase-retrieval and compressed-sensing spinodals.
    The residual is the secant estimate ``|T(c) - c|/(1 - s)`` of the distance from the last
    candidate ``c`` to the fixed point, relative to ``min(E, q)``; the returned ``(q, E)`` is
    ``T(c)``.  ``special`` marks the exact endpoints: noiseless perfect recovery (``E = 0``) or
    the trivial point ``q = 0`` of a symmetric channel.
    """
    rho = sparsity * nonzero_variance
    floor = _FLOOR * rho
    noiseless = channel.noise == 0
    can_pin = channel.kind in PINNED_FRACTION
    dtype = jnp.result_type(E0)

    def at_endpoint(q, E):
        pinned = (E < floor) & noiseless if can_pin else jnp.zeros((), bool)
        return pinned | (q < floor)

    def cond(state):
        return (~state["done"]) & (state["k"] < max_iter)

    def body(st):
        qc, Ec = st["c"]
        q1, E1 = se_map(channel, alpha, sparsity, nonzero_variance, qc, Ec, modes)[:2]
        g = _difference(q1, E1, qc, Ec)  # T(c) - c
        first = st["k"] == 0
        d = jnp.where(first, jnp.sign(g), st["d"])
        start = d * g > 0
        qx, Ex, gx, q1x, E1x = st["x"]
        dcx = _difference(qc, Ec, qx, Ex)
        slope = 1.0 + (g - gx) / jnp.where(dcx == 0, 1.0, dcx)  # secant slope of T between c and x
        slope_ok = ~first & (dcx != 0) & jnp.isfinite(slope)
        err = jnp.where(slope_ok & (slope < 1), jnp.abs(g) / jnp.where(slope < 1, 1.0 - slope, 1.0), jnp.inf)
        err = jnp.where(g == 0, 0.0, err)
        res = err / jnp.maximum(jnp.minimum(E1, q1), floor)
        bad = ~(jnp.isfinite(E1) & jnp.isfinite(q1))
        done = (res <= tol) | at_endpoint(q1, E1) | bad | (d == 0)

        # the iterate and the bracket
        x = tuple(jnp.where(start, a, b) for a, b in zip((qc, Ec, g, q1, E1), st["x"]))
        qx, Ex, gx, q1x, E1x = x
        over_again = ~start & st["over"]
        qb = jnp.where(start, st["qb"], qc)
        Eb = jnp.where(start, st["Eb"], Ec)
        gb = jnp.where(start, st["gb"], g)
        has_b = st["has_b"] | ~start
        # Illinois: a second landing past the fixed point in a row halves the iterate's weight
        gx_rf = jnp.where(over_again, 0.5 * gx, gx)

        # the secant model is trusted once two consecutive slopes agree (locally linear T)
        validated = start & slope_ok & st["s_ok"] & (jnp.abs(slope - st["s"]) <= _AGREE * jnp.abs(1.0 - slope))
        attracting = slope < 1
        newton = 1.0 / jnp.where(attracting, 1.0 - slope, 1.0)
        grown = jnp.minimum(2.0 * st["m"], _MAX_FACTOR)
        m_new = jnp.where(validated, jnp.where(attracting, jnp.minimum(newton, grown), grown), 1.0)
        m = jnp.where(start, m_new, jnp.maximum(1.0, 0.5 * st["m"]))
        dxb = jnp.where(has_b, _difference(qb, Eb, qx, Ex), d * jnp.inf)  # b - x
        step_try = m * gx
        rf = -gx_rf * dxb / jnp.where(has_b & (gb != gx_rf), gb - gx_rf, 1.0)  # regula falsi point - x
        past_b = has_b & (d * step_try >= d * dxb)
        step_safe = jnp.where(d * rf > d * gx, rf, gx)  # not short of the plain step
        step_safe = jnp.where(d * step_safe < d * dxb, step_safe, 0.5 * dxb)
        step = jnp.where(start & ~past_b, step_try, step_safe)
        # E and q change by at most a factor 1/theta beyond the plain step (theta = _THETA only
        # for a validated contraction: the geometric approach to an endpoint; _THETA_LEAVING for
        # the validated geometric escape from an unstable point, e.g. the trivial q = 0 of abs)
        theta = jnp.where(validated, jnp.where(attracting, _THETA, _THETA_LEAVING), _THETA_UNTRUSTED)
        extra = jnp.clip(step - gx, jnp.maximum(-(1.0 - theta) * E1x, -(1.0 / theta - 1.0) * q1x),
                         jnp.minimum((1.0 - theta) * q1x, (1.0 / theta - 1.0) * E1x))
        c = (q1x - extra, E1x + extra)
        s_new = jnp.where(start, slope, st["s"])
        s_ok = jnp.where(start, slope_ok, st["s_ok"])
        return dict(
            c=c, x=x, qb=qb, Eb=Eb, gb=gb, has_b=has_b, over=~start, m=m, d=d, out=(q1, E1), s=s_new, s_ok=s_ok,
            k=st["k"] + 1, res=res, done=done,
        )

    zero = jnp.zeros((), dtype)
    init = dict(
        c=(q0, E0), x=(q0, E0, zero, q0, E0), qb=zero, Eb=zero, gb=zero, has_b=jnp.asarray(False),
        over=jnp.asarray(False), m=jnp.ones((), dtype), d=zero, out=(q0, E0), s=zero, s_ok=jnp.asarray(False),
        k=jnp.asarray(0, jnp.int32), res=jnp.asarray(jnp.inf, dtype), done=jnp.asarray(False),
    )
    st = jax.lax.while_loop(cond, body, init)
    (q, E), k, res = st["out"], st["k"], st["res"]
    special = at_endpoint(q, E)
    trivial = special & (q < floor)
    q = jnp.where(special, jnp.where(trivial, 0.0, rho), q)
    E = jnp.where(special, jnp.where(trivial, rho, 0.0), E)
    converged = jnp.isfinite(E) & jnp.isfinite(q) & ((res <= tol) | special)
    res = jnp.where(special, 0.0, res)
    return q, E, converged, k, res, special


@functools.partial(jax.custom_jvp, nondiff_argnums=(0, 1))
def _fixed_point(kind, modes, E, special, alpha, noise, flip, sparsity, nonzero_variance):
    """The solved fixed point ``E`` with the implicit-function derivative
    ``dE = d_theta T/(1 - d_E T)`` (endpoints: zero derivative); evaluated only when differentiated."""
    return E


@_fixed_point.defjvp
def _fixed_point_jvp(kind, modes, primals, tangents):
    E, special, *theta = primals
    dtheta = tangents[2:]
    rho = theta[3] * theta[4]
    safe = jnp.where(special, 0.5 * rho, E)

    def T(e, alpha, noise, flip, sparsity, nonzero_variance):
        rho = sparsity * nonzero_variance
        channel = Channel(kind, noise, flip)
        return se_map(channel, alpha, sparsity, nonzero_variance, rho - e, e, modes)[1]

    _, slope = jax.jvp(lambda e: T(e, *theta), (safe,), (jnp.ones_like(safe),))
    _, d_theta = jax.jvp(lambda *th: T(safe, *th), tuple(theta), tuple(dtheta))
    return E, jnp.where(special, 0.0, d_theta / (1.0 - slope))


def _point(kind, modes, tol, max_iter):
    def run(alpha, noise, flip, sparsity, nonzero_variance, initial_snr):
        channel = Channel(kind, noise, flip)
        rho = sparsity * nonzero_variance
        solve = lambda q0, E0: _solve_branch(  # noqa: E731
            channel, alpha, sparsity, nonzero_variance, q0, E0, tol, max_iter, modes
        )
        if modes.prior == "gauss":
            q0, E0, _ = gaussian_prior_moments(initial_snr, nonzero_variance)
        else:
            q0, E0, _ = prior_moments(initial_snr, sparsity, nonzero_variance)
        unf = solve(q0, E0)
        informed = lambda: solve(rho * (1.0 - 1e-10), 1e-10 * rho)  # noqa: E731  (start at E ~ 0)
        if kind in PINNED_FRACTION:
            # noiseless, alpha kappa > eps: perfect recovery is the (stable) informed fixed point,
            # known without iterating (a real branch when points run one at a time, see _work)
            exact = (noise == 0) & (alpha * PINNED_FRACTION[kind] > sparsity)
            like = jax.eval_shape(informed)
            fixed = lambda: tuple(  # noqa: E731
                jnp.asarray(f, s.dtype) for f, s in zip((rho, 0.0 * rho, True, 0, 0.0 * rho, True), like)
            )
            inf = jax.lax.cond(exact, fixed, informed)
        else:
            inf = informed()

        def branch(q, E, special):
            perfect = special & (E == 0)
            E = _fixed_point(
                kind, modes, jax.lax.stop_gradient(E), special, alpha, noise, flip, sparsity, nonzero_variance
            )
            q = jnp.where(special, q, rho - E)
            safe_q, safe_E = jnp.where(perfect, 0.5 * rho, q), jnp.where(perfect, 0.5 * rho, E)
            _, _, q_hat, phi = se_map(channel, alpha, sparsity, nonzero_variance, safe_q, safe_E, modes)
            err, clean = population_errors(channel, q, q, rho)
            return E, q, err, clean, jnp.where(perfect, jnp.inf, phi), jnp.where(perfect, jnp.inf, q_hat)

        E_u, q_u, err_u, clean_u, phi_u, qhat_u = branch(unf[0], unf[1], unf[5])
        E_i, q_i, err_i, clean_i, phi_i, _ = branch(inf[0], inf[1], inf[5])
        coexist = jnp.abs(E_u - E_i) > 1e-7 * rho
        informed_wins = coexist & (phi_i > phi_u)
        pick = lambda a, b: jnp.where(informed_wins, b, a)  # noqa: E731
        converged = unf[2] & inf[2]
        values = (
            E_u, q_u, err_u, clean_u, phi_u, qhat_u, E_i, phi_i,
            pick(E_u, E_i), pick(q_u, q_i), pick(err_u, err_i), pick(clean_u, clean_i),
        )
        values = tuple(jnp.where(converged, v, jnp.nan) for v in values)
        return (*values, coexist & converged, converged, jnp.maximum(unf[3], inf[3]), jnp.maximum(unf[4], inf[4]))

    return run


def _work(kind, modes):
    """Array elements one point touches (sets the vmap batch size of ``map_points``).

    relu/abs with noise declare a quarter of the CPU budget, so that four points run side by
    side: a step touches ~1e4 nodes there and iteration counts still vary across a grid (~10 to
    ~100, where plain iteration needed ~80 to ~5,000), but one point at a time left the per-step
    overhead unshared.  Benchmark cases 9-10 (200 points, noise 0.1, idle 2-core CPU): one at a
    time 9.5 / 16.8 ms per point, four 6.4 / 10.5, eight 10.2 (abs); the values agree to
    1.5e-15.  Grids that may be noiseless keep one point at a time, where the perfect-recovery
    shortcut is a real branch (under vmap both sides of the ``cond`` would run)."""
    if kind in ("relu", "abs"):
        return CPU_WORK_BUDGET // 4 if modes.noise == "positive" else CPU_WORK_BUDGET
    return {"linear": 8, "sign": 2048}[kind]


def _theory_kernel(alpha, noise, flip, sparsity, nonzero_variance, initial_snr, *, kind, modes, tol, max_iter):
    out = map_points(
        _point(kind, modes, tol, max_iter),
        (alpha, noise, flip, sparsity, nonzero_variance, initial_snr),
        work_per_point=_work(kind, modes),
    )
    *values, converged, iterations, residual = out
    return AMPTheory(*values, diagnostics(converged, iterations, residual))


def _all_equal(value, target) -> bool:
    return not is_traced(value) and bool(np.all(np.asarray(value) == target))


def _all_positive(value) -> bool:
    return not is_traced(value) and bool(np.all(np.asarray(value) > 0))


def _modes(channel, noise, flip, sparsity) -> Modes:
    """The static :class:`Modes` of a grid (concrete parameters only; traced ones give ``"any"``)."""
    return Modes(
        noise=("zero" if _all_equal(noise, 0) else "positive" if _all_positive(noise) else "any")
        if channel in ("relu", "abs") else "any",
        prior="gauss" if _all_equal(sparsity, 1) else "any",
        flip="zero" if channel == "sign" and _all_equal(flip, 0) else "any",
    )


@validated(PARAMS, "theory")
def theory(
    *, alpha, channel, noise, flip, sparsity, nonzero_variance, initial_snr, tol, max_iter, dtype, on_failure
) -> AMPTheory:
    """Bayes-optimal MMSE, overlap and test error of a GLM, and what GAMP reaches.

    Args:
        alpha: samples per dimension ``n/d > 0``.
        channel: ``"linear"``, ``"sign"``, ``"relu"`` or ``"abs"`` (:mod:`._channels`).
        noise: variance ``Delta >= 0`` of the Gaussian noise (added to the output of
            ``linear``/``relu``/``abs``; before the sign for ``sign``).  ``0`` is the exact
            noiseless channel (module docstring).
        flip: label-flip probability in ``[0, 1/2]`` (``sign`` only).
        sparsity: fraction ``eps`` in ``(0, 1]`` of non-zero teacher weights (``1``: Gaussian prior).
        nonzero_variance: variance ``v > 0`` of the non-zero weights (``rho = eps v``).
        initial_snr: SNR ``>= 0`` of the side information of the uninformed start
            (``E0 = mmse(initial_snr)``); it only matters for symmetric channels (``abs``),
            where ``0`` stays at the trivial fixed point ``q = 0``.
        tol, max_iter: relative tolerance on ``E`` and ``rho - E`` and the iteration cap per branch.
        dtype: ``"float64"`` (default) or ``"float32"``.
        on_failure: ``"warn"``, ``"raise"`` or ``"ignore"`` for points that did not converge
            (their values are NaN and flagged in ``diagnostics``).

    ``alpha``, ``noise``, ``flip``, ``sparsity``, ``nonzero_variance`` and ``initial_snr``
    broadcast together.

    Returns:
        :class:`AMPTheory`.

    References:
        Barbier, Krzakala, Macris, Miolane, Zdeborova, PNAS 116 (2019) 5451 (arXiv:1708.03395),
        eqs. (9)-(11), Theorem 1 and Table 1; Zdeborova & Krzakala, Adv. Phys. 65 (2016) 453,
        section VI; Gardner & Derrida (1989), Gyorgyi & Tishby (1990) for the perceptron
        (``test_error ~ 0.4417/alpha``, Opper & Haussler 1991).
    """
    check_flip(channel, flip)
    tol = float(tol)
    if dtype == "float32":
        tol = max(tol, 1e-6)
    static = dict(kind=channel, modes=_modes(channel, noise, flip, sparsity), tol=tol, max_iter=int(max_iter))
    return evaluate(
        _theory_kernel,
        (alpha, noise, flip, sparsity, nonzero_variance, initial_snr),
        static=static,
        dtype=dtype,
        on_failure=on_failure,
        what=f"Bayes-optimal state evolution ({channel} channel)",
    )


@validated(STATE_EVOLUTION_PARAMS, "theory")
def state_evolution(*, alpha, channel, noise, flip, sparsity, nonzero_variance, initial_snr, n_steps, dtype):
    """The SE trajectory ``E_t`` (``t = 0 .. n_steps``) of GAMP from the uninformed start.

    ``E_0 = mmse(initial_snr)``, ``E_{t+1} = T(E_t)``: the predicted ``|w_hat^t - w*|^2/d`` of
    the GAMP iterate ``t`` of :func:`~overparam_theory.amp.simulate` started from the same side
    information.  Returns an array of shape ``broadcast shape + (n_steps + 1,)``.
    """
    check_flip(channel, flip)
    static = dict(kind=channel, modes=_modes(channel, noise, flip, sparsity), n_steps=int(n_steps))
    out = evaluate(
        _trajectory_kernel,
        (alpha, noise, flip, sparsity, nonzero_variance, initial_snr),
        static=static,
        dtype=dtype,
        on_failure="ignore",
        what=f"state-evolution trajectory ({channel} channel)",
    )
    return out.mse


class _Trajectory(NamedTuple):
    mse: jax.Array  # grid shape + (n_steps + 1,)
    diagnostics: Diagnostics  # a fixed number of steps: always OK


def _trajectory_point(kind, modes, n_steps):
    def one(alpha, noise, flip, sparsity, nonzero_variance, initial_snr):
        channel = Channel(kind, noise, flip)
        rho = sparsity * nonzero_variance

        def step(state, _):
            q, E = state
            # noiseless perfect recovery stays at E = 0 (V = 0 has no finite SE map)
            pinned = E < _FLOOR * rho
            q_new, E_new, _, _ = se_map(
                channel, alpha, sparsity, nonzero_variance, jnp.where(pinned, 0.5 * rho, q),
                jnp.where(pinned, 0.5 * rho, E), modes,
            )
            state = (jnp.where(pinned, rho, q_new), jnp.where(pinned, 0.0, E_new))
            return state, state[1]

        if modes.prior == "gauss":
            q0, E0, _ = gaussian_prior_moments(initial_snr, nonzero_variance)
        else:
            q0, E0, _ = prior_moments(initial_snr, sparsity, nonzero_variance)
        _, traj = jax.lax.scan(step, (q0, E0), None, length=n_steps)
        return (jnp.concatenate([E0[None], traj]),)

    return one


def _trajectory_kernel(alpha, noise, flip, sparsity, nonzero_variance, initial_snr, *, kind, modes, n_steps):
    (traj,) = map_points(
        _trajectory_point(kind, modes, n_steps),
        (alpha, noise, flip, sparsity, nonzero_variance, initial_snr),
        work_per_point=_work(kind, modes),
    )
    return _Trajectory(traj, ok(alpha.shape, traj.dtype))
