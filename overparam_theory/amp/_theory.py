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

Numerics: the prior side uses a composite Gauss-Legendre rule graded around the switch-on
radius of the sparse posterior (:func:`._priors.prior_moments`, relative error ~1e-13); the
channel side sums the two labels of ``sign`` over a panel rule in ``xi`` graded at the width
``sqrt((V + Delta)/q)`` of ``a = omega/sqrt(V + Delta)``; ``relu``/``abs`` use the sample
representation ``z = omega + sqrt(V) eta``, ``y = phi(z) + sqrt(Delta) zeta`` with the ``eta``
integral split at the kink ``z = 0`` and Gauss-Hermite in ``zeta``; ``linear`` is closed form.
Gradients with respect to the parameters are implicit: ``dE = d_theta T / (1 - d_E T)`` at the
fixed point.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._spec import validated
from .._validation import any_concrete, is_traced
from ..numerics.batching import CPU_WORK_BUDGET, map_points
from ..numerics.diagnostics import Diagnostics, diagnostics, ok, with_diagnostics
from ..numerics.gaussian import gauss_hermite_nodes, normal_panel_rule, normal_split_rule
from ..numerics.grid import evaluate
from ._channels import PINNED_FRACTION, Channel, field_moments, log_z_out
from ._params import CLASSIFICATION_CHANNELS
from ._params import FIELDS, PARAMS, STATE_EVOLUTION_PARAMS
from ._priors import prior_moments

_LOG_2PI = math.log(2.0 * math.pi)
_FLOOR = 1e-13  # relative: E (noiseless perfect recovery) or q (trivial point) below it is exactly 0
# relu/abs sample-representation rule (nodes per panel / uniform panels in xi, per half-line in
# eta, Gauss-Hermite in zeta).  Measured against a (16, 32, 40, 30) rule over q in [0.01, 0.9999]:
# relative error <= 3e-9 noiseless; abs with noise in [0.01, 1] <= 3e-7; relu with noise 1, 0.1,
# 0.01: 2e-6, 7e-5, 2.5e-4 (the switch between the y ~ 0 and y > 0 components is sharp in zeta
# at small noise; 16 zeta nodes give 6e-6 at twice the cost).
_QUAD = {"xi_panel": 6, "xi_uniform": 16, "eta": 32, "zeta": 8}
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


def channel_average(channel: Channel, q, V, noise_mode="any"):
    """``(E[g^2], E[log Z_out])`` over ``omega = sqrt(q) xi`` and ``y ~ Z_out(.; omega, V)``.

    The two averages of SE and of the free entropy at overlap ``q`` and response ``V``
    (module docstring, "Numerics").  ``noise_mode`` (static) is ``"zero"`` when every
    ``noise`` is 0, which drops the ``zeta`` integral of ``relu``/``abs``, or ``"any"``.
    """
    kind, noise, flip = channel
    if kind == "linear":
        S = V + noise
        return 1.0 / S, -0.5 * (_LOG_2PI + jnp.log(S) + 1.0)
    safe_q = jnp.maximum(q, jnp.finfo(jnp.result_type(q)).tiny)
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
    # relu / abs: omega = sqrt(q) xi, z = omega + sqrt(V) eta (split at z = 0), y = phi(z) + sqrt(Delta) zeta
    width = jnp.sqrt(V / safe_q)
    xi, w_xi = normal_panel_rule(width * _XI_GRADING, n_per_panel=_QUAD["xi_panel"], n_uniform=_QUAD["xi_uniform"])
    omega = jnp.sqrt(q) * xi
    sqrt_V = jnp.sqrt(V)
    eta, w_eta = normal_split_rule(-omega / sqrt_V, n_nodes=_QUAD["eta"])  # (n_xi, 2 n_eta)
    zeta_np, w_zeta_np = gauss_hermite_nodes(1 if noise_mode == "zero" else _QUAD["zeta"])
    zeta = jnp.asarray(zeta_np, xi.dtype)
    w_zeta = jnp.asarray(w_zeta_np, xi.dtype)
    z = omega[:, None] + sqrt_V * eta
    phi_z = jnp.maximum(z, 0.0) if kind == "relu" else jnp.abs(z)
    y = phi_z[..., None] + jnp.sqrt(noise) * zeta
    log_z, g, _ = log_z_out(channel, y, omega[:, None, None], V)
    weights = w_xi[:, None, None] * w_eta[..., None] * w_zeta
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


def se_map(channel: Channel, alpha, sparsity, nonzero_variance, q, E, noise_mode="any"):
    """One SE step from overlap ``q`` and error ``E = rho - q`` (both carried, each accurate
    when small): ``(q_new, E_new, q_hat, free entropy at (q, q_hat))`` (module docstring)."""
    info, psi_out = channel_average(channel, q, E, noise_mode)
    q_hat = alpha * info
    q_new, E_new, psi_0 = prior_moments(q_hat, sparsity, nonzero_variance)
    return q_new, E_new, q_hat, psi_0 + alpha * psi_out - 0.5 * q * q_hat


def _solve_branch(channel, alpha, sparsity, nonzero_variance, q0, E0, tol, max_iter, noise_mode):
    """Monotone SE iteration from ``(q0, E0)``; returns ``(q, E, converged, iterations,
    residual, special)``.

    Plain (undamped) iteration: the SE map is monotone, so the iterates move monotonically to
    the nearest fixed point on the side of the start and can never jump to another branch.
    Near a spinodal this converges slowly (the slope tends to 1); points that exhaust
    ``max_iter`` are flagged, not returned.  (An Aitken-type extrapolation with a same-direction
    check was tried and rejected: near the spinodal of noiseless phase retrieval at
    ``alpha = 1.10`` it jumped over the close pair of stable and unstable fixed points.)
    ``special`` marks the exact endpoints: noiseless perfect recovery (``E = 0``) or the
    trivial point ``q = 0`` of a symmetric channel.
    """
    rho = sparsity * nonzero_variance
    floor = _FLOOR * rho
    noiseless = channel.noise == 0
    can_pin = channel.kind in PINNED_FRACTION

    def at_endpoint(q, E):
        pinned = (E < floor) & noiseless if can_pin else jnp.zeros((), bool)
        return pinned | (q < floor)

    def cond(state):
        return (~state[-1]) & (state[2] < max_iter)

    def body(state):
        q, E, k, _, _ = state
        q1, E1 = se_map(channel, alpha, sparsity, nonzero_variance, q, E, noise_mode)[:2]
        res = jnp.abs(E1 - E) / jnp.maximum(jnp.minimum(E1, q1), floor)
        bad = ~(jnp.isfinite(E1) & jnp.isfinite(q1))
        return q1, E1, k + 1, res, (res <= tol) | at_endpoint(q1, E1) | bad

    dtype = jnp.result_type(E0)
    q, E, k, res, _ = jax.lax.while_loop(
        cond, body, (q0, E0, jnp.asarray(0, jnp.int32), jnp.asarray(jnp.inf, dtype), jnp.asarray(False))
    )
    special = at_endpoint(q, E)
    trivial = special & (q < floor)
    q = jnp.where(special, jnp.where(trivial, 0.0, rho), q)
    E = jnp.where(special, jnp.where(trivial, rho, 0.0), E)
    converged = jnp.isfinite(E) & jnp.isfinite(q) & ((res <= tol) | special)
    res = jnp.where(special, 0.0, res)
    return q, E, converged, k, res, special


def _implicit(channel, alpha, sparsity, nonzero_variance, E, special, noise_mode):
    """``E`` with the implicit-function derivative ``d_theta T / (1 - d_E T)`` attached (the
    value is unchanged; endpoints have zero derivative)."""
    rho = sparsity * nonzero_variance
    E0 = jax.lax.stop_gradient(E)
    safe = jnp.where(special, 0.5 * rho, E0)

    def T(e):
        return se_map(channel, alpha, sparsity, nonzero_variance, rho - e, e, noise_mode)[1]

    value, slope = jax.jvp(T, (safe,), (jnp.ones_like(safe),))
    correction = (value - safe) / (1.0 - jax.lax.stop_gradient(slope))
    return E0 + jnp.where(special, 0.0, correction - jax.lax.stop_gradient(correction))


def _point(kind, noise_mode, tol, max_iter):
    def run(alpha, noise, flip, sparsity, nonzero_variance, initial_snr):
        channel = Channel(kind, noise, flip)
        rho = sparsity * nonzero_variance
        solve = lambda q0, E0: _solve_branch(  # noqa: E731
            channel, alpha, sparsity, nonzero_variance, q0, E0, tol, max_iter, noise_mode
        )
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
            E = _implicit(channel, alpha, sparsity, nonzero_variance, E, special, noise_mode)
            q = jnp.where(special, q, rho - E)
            safe_q, safe_E = jnp.where(perfect, 0.5 * rho, q), jnp.where(perfect, 0.5 * rho, E)
            _, _, q_hat, phi = se_map(channel, alpha, sparsity, nonzero_variance, safe_q, safe_E, noise_mode)
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


def _work(kind, noise_mode):
    """Array elements one point touches (sets the vmap batch size of ``map_points``).

    relu/abs declare the whole CPU budget so that their points run one at a time: a step costs
    ~1 ms there and the iteration count varies from ~80 to ~5,000 across a grid (the informed
    branch leaving ``E ~ 0`` just below ``alpha_IT``), so a batch would make every lane wait for
    the slowest: the README's 40-point noiseless ``abs`` grid ran over 45 minutes batched)."""
    if kind in ("relu", "abs"):
        return CPU_WORK_BUDGET
    return {"linear": 8, "sign": 2048}[kind]


def _theory_kernel(alpha, noise, flip, sparsity, nonzero_variance, initial_snr, *, kind, noise_mode, tol, max_iter):
    out = map_points(
        _point(kind, noise_mode, tol, max_iter),
        (alpha, noise, flip, sparsity, nonzero_variance, initial_snr),
        work_per_point=_work(kind, noise_mode),
    )
    *values, converged, iterations, residual = out
    return AMPTheory(*values, diagnostics(converged, iterations, residual))


def _noise_mode(channel, noise) -> str:
    """``"zero"`` if every (concrete) ``noise`` is 0 for relu/abs (cheaper quadrature), else ``"any"``."""
    if channel not in ("relu", "abs") or is_traced(noise) or np.any(np.asarray(noise) != 0):
        return "any"
    return "zero"


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
    static = dict(kind=channel, noise_mode=_noise_mode(channel, noise), tol=tol, max_iter=int(max_iter))
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
    static = dict(kind=channel, noise_mode=_noise_mode(channel, noise), n_steps=int(n_steps))
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


def _trajectory_point(kind, noise_mode, n_steps):
    def one(alpha, noise, flip, sparsity, nonzero_variance, initial_snr):
        channel = Channel(kind, noise, flip)
        rho = sparsity * nonzero_variance

        def step(state, _):
            q, E = state
            # noiseless perfect recovery stays at E = 0 (V = 0 has no finite SE map)
            pinned = E < _FLOOR * rho
            q_new, E_new, _, _ = se_map(
                channel, alpha, sparsity, nonzero_variance, jnp.where(pinned, 0.5 * rho, q),
                jnp.where(pinned, 0.5 * rho, E), noise_mode,
            )
            state = (jnp.where(pinned, rho, q_new), jnp.where(pinned, 0.0, E_new))
            return state, state[1]

        q0, E0, _ = prior_moments(initial_snr, sparsity, nonzero_variance)
        _, traj = jax.lax.scan(step, (q0, E0), None, length=n_steps)
        return (jnp.concatenate([E0[None], traj]),)

    return one


def _trajectory_kernel(alpha, noise, flip, sparsity, nonzero_variance, initial_snr, *, kind, noise_mode, n_steps):
    (traj,) = map_points(
        _trajectory_point(kind, noise_mode, n_steps),
        (alpha, noise, flip, sparsity, nonzero_variance, initial_snr),
        work_per_point=_work(kind, noise_mode),
    )
    return _Trajectory(traj, ok(alpha.shape, traj.dtype))
