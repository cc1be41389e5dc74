"""The max-margin (hard-margin SVM, no bias) classifier on teacher-student data: its
asymptotic margin, overlap and errors (``docs/theory/glm.md``; Gardner 1988, Montanari, Ruan,
Sohn & Yan 2019).

Conventions and quadrature as in :mod:`._separability` and :mod:`._quadrature`.  Solver: the
inner root ``kappa(R)`` by safeguarded Newton
(:func:`~overparam_theory.numerics.roots.increasing_root`), the outer maximisation over ``R`` by
a grid scan refined by Illinois regula falsi
(:func:`~overparam_theory.numerics.roots.illinois_root`) on the stationarity equation, so that
no derivative is taken through the inner solve.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._spec import validated
from .._validation import is_traced
from ..estimators import NotSeparableWarning
from ..numerics.diagnostics import Diagnostics, Status, raise_or_warn, report, with_diagnostics
from ..numerics.grid import evaluate
from ..numerics.roots import illinois_root, increasing_root
from ..numerics.solvers import Bracketed
from ._channels import Channel, p_plus, test_errors
from ._params import MAX_MARGIN_PARAMS
from ._quadrature import clip_width, graded, kernel_kind, rule
from ._separability import check_sign_teacher

__all__ = ["GLMMaxMargin", "MaxMargin", "max_margin"]

_OUTER = Bracketed(xtol=1e-12, max_iter=100)  # outer (derivative-free) solve: kappa(R) is flat at its maximum
# Max-margin: u = -log(1 - R) from R = 0 to 1 - R = 1e-12.
_U_MAX = -math.log(1e-12)
# The scan only brackets the maximum of kappa(R) (refined by Illinois), so it can be coarse.
_U_GRID = np.concatenate([np.linspace(0.0, 2.0, 9), np.linspace(2.5, _U_MAX, 30)])


@with_diagnostics
class GLMMaxMargin(NamedTuple):
    """Asymptotics of the hard-margin SVM without bias on teacher-student data (``glm.MaxMargin``
    is the same class).

    Attributes:
        margin: ``kappa = min_mu y_mu x_mu . w / |w|`` (unnormalised inputs ``x ~ N(0, I_d)``).
        cosine: ``R = m / sqrt(signal q)``, the cosine between ``w`` and the teacher.
        m, q: overlaps in the normalisation ``min |w|^2`` s.t. ``y x . w / sqrt(d) >= 1``:
            ``q = |w|^2 / d = 1 / kappa^2``, ``m = w . w* / d = R sqrt(signal q)``.
        clean_test_error: ``arccos(R) / pi`` (disagreement with ``sign(z)``).
        test_error: error on a fresh noisy label (sign + flip: ``flip + (1 - 2 flip) clean``;
            probit: ``arccos(R sqrt(signal / (signal + noise))) / pi``; logistic: see
            :func:`~overparam_theory.glm._channels.test_errors`).
        support_vector_fraction: ``P(y xi < kappa)``, support vectors per sample (their number
            per dimension, ``alpha`` times this, is ``< 1``, ``-> 1`` at ``alpha_s``).
        separable: ``alpha < alpha_s`` (the max-margin solution exists).
        diagnostics: ``OK`` where the solve succeeded, ``INFEASIBLE`` where the data are not
            separable, ``NO_BRACKET`` where the maximum lies beyond the ``R`` grid;
            ``iterations`` counts the outer (``R``) and final inner (``kappa``) steps,
            ``residual`` is the ``max`` of the relative residual of equation (1) and the residual
            of (2).  ``converged`` (the solve succeeded *and* the point is separable),
            ``status``, ``iterations``, ``residual`` are properties.
    """

    margin: jax.Array
    cosine: jax.Array
    m: jax.Array
    q: jax.Array
    clean_test_error: jax.Array
    test_error: jax.Array
    support_vector_fraction: jax.Array
    separable: jax.Array
    diagnostics: Diagnostics


MaxMargin = GLMMaxMargin


def _max_margin_point(alpha, noise_eff, flip, kind):
    """Solve (1)-(2) of :func:`max_margin` at one point (unit teacher variance)."""
    chan = Channel(kind, noise_eff, flip)

    def cosine(u):
        s = jnp.exp(-u)  # 1 - R
        return -jnp.expm1(-u), s * (2.0 - s)  # R, 1 - R^2 without cancellation

    def nodes(kappa, u):
        R, V0 = cosine(u)
        width = clip_width(jnp.sqrt(V0 + noise_eff) / jnp.maximum(R, 1e-300))
        v, w = rule(kappa, 0.0, graded(0.0, width))
        p, dp = p_plus(chan, R * v, V0 * jnp.ones_like(v))
        return v, w, p, dp, R, V0

    def lhs1(kappa, u):
        v, w, p, _, _, V0 = nodes(kappa, u)
        gap = jnp.maximum(kappa - v, 0.0)
        return 2.0 * alpha * jnp.sum(w * p * gap * gap), V0

    def eq1(kappa, u):  # log form: monotone increasing in kappa, well scaled in the tails
        lhs, V0 = lhs1(kappa, u)
        return jnp.log(lhs) - jnp.log(V0)

    upper = 1.0 + 1.0 / jnp.sqrt(alpha)  # there alpha E[(kappa - y xi)_+^2] >= 1 >= 1 - R^2

    def kappa_of(u):
        # eq1(-11) = -inf exactly (no panel below -11); eq1(upper) > 0.
        return increasing_root(eq1, -11.0, upper, u)

    def eq2_at(kappa, u):  # dkappa/dR has the sign of eq2
        v, w, _, dp, R, _ = nodes(kappa, u)
        return 2.0 * alpha * jnp.sum(w * dp * jnp.maximum(kappa - v, 0.0)) - R

    def eq2(u):
        root = kappa_of(u)
        return eq2_at(root.root, u), root

    grid = jnp.asarray(_U_GRID)
    h_grid, roots = jax.vmap(eq2)(grid)
    kappas = jnp.where(jnp.isfinite(roots.root) & roots.converged, roots.root, -jnp.inf)
    i = jnp.argmax(kappas)
    last = grid.shape[0] - 1
    h_i = h_grid[i]
    at_zero = (i == 0) & (h_i <= 0)
    at_end = i == last
    j = jnp.clip(jnp.where(h_i > 0, i, i - 1), 0, last - 1)
    bracket = (grid[j], grid[j + 1], h_grid[j], h_grid[j + 1])
    u_root, ok, outer_iterations, _, root_u = illinois_root(eq2, *bracket, solver=_OUTER)
    u = jnp.where(at_zero, 0.0, jnp.where(at_end, grid[last], u_root))
    solved = at_zero | (~at_end & ok)
    # The inner root at the final u: the last Illinois evaluation, or the grid's at R = 0 / the end.
    pick = lambda first, end, found: jnp.where(at_zero, first, jnp.where(at_end, end, found))  # noqa: E731
    root = jax.tree_util.tree_map(lambda r, f: pick(r[0], r[last], f), roots, root_u)
    kappa = root.root
    v, w, p, dp, R, V0 = nodes(kappa, u)
    gap = jnp.maximum(kappa - v, 0.0)
    res1 = jnp.abs(2.0 * alpha * jnp.sum(w * p * gap * gap) / V0 - 1.0)
    res2 = jnp.abs(2.0 * alpha * jnp.sum(w * dp * gap) - R)
    residual = jnp.where(at_zero, res1, jnp.maximum(res1, res2))
    sv = 2.0 * jnp.sum(w * p * (v < kappa))
    iterations = jnp.where(at_zero | at_end, 0, outer_iterations) + root.iterations
    return kappa, R, jnp.exp(-u), sv, solved & root.converged, iterations, residual, at_end


def _max_margin_kernel(alpha, noise, flip, signal, *, kind):
    noise_eff = noise / signal
    kappa, R, one_minus_R, sv, solved, iterations, residual, at_end = jax.vmap(
        lambda a, n, f: _max_margin_point(a, n, f, kind)
    )(alpha, noise_eff, flip)
    # Noiseless labels are separable at every alpha (even where the R grid is too short).
    separable = (kappa > 0) | ((flip == 0) & (noise_eff == 0))
    ok = solved & separable & (kappa > 0)
    nan = jnp.nan
    kappa = jnp.where(ok, kappa, nan)
    R = jnp.where(ok, R, nan)
    q = 1.0 / (kappa * kappa)
    m = R * jnp.sqrt(signal * q)
    chan = Channel(kind, noise, flip)
    noisy, _ = test_errors(chan, m, q, signal)
    # arccos(R) = 2 arcsin(sqrt((1 - R) / 2)) from 1 - R itself: full relative accuracy as
    # R -> 1 (large alpha), where arccos of the rounded R loses ~eps / (1 - R).
    clean = jnp.where(ok, 2.0 * jnp.arcsin(jnp.sqrt(0.5 * one_minus_R)) / math.pi, nan)
    noisy = jnp.where(noise == 0, flip + (1.0 - 2.0 * flip) * clean, noisy)
    sv = jnp.where(ok, sv, nan)
    status = jnp.where(
        ok,
        Status.OK,
        jnp.where(
            ~separable,
            Status.INFEASIBLE,
            jnp.where(at_end, Status.NO_BRACKET, jnp.where(jnp.isfinite(residual), Status.MAX_ITERATIONS, Status.NONFINITE)),
        ),
    )
    diag = Diagnostics(status.astype(jnp.int32), iterations.astype(jnp.int32), residual)
    return GLMMaxMargin(kappa, R, m, q, clean, noisy, sv, separable, diag)


@validated(MAX_MARGIN_PARAMS, "theory")
def max_margin(*, alpha, teacher, noise, flip, signal, on_failure) -> GLMMaxMargin:
    """Asymptotics of the max-margin (hard-margin SVM, no bias) classifier on teacher-student data.

    Solves the max-margin equations (Gardner 1988; Montanari, Ruan, Sohn & Yan 2019) for the
    margin ``kappa`` and the cosine ``R`` with the teacher:

    ``(1)  alpha E[(kappa - y xi)_+^2] = 1 - R^2``,
    ``(2)  alpha E[eta y (kappa - y xi)_+] = R sqrt(1 - R^2)``,

    in the symmetric-channel form ``E[(kappa - y xi)_+^2] = 2 E_xi[P_+(xi) (kappa - xi)_+^2]`` and
    (2) ``<=> 2 alpha E_xi[D(xi) (kappa - xi)_+] = R``, with ``P_+``, ``D`` of the channel at
    ``omega0 = R xi``, ``V0 = 1 - R^2`` (unit teacher variance, ``noise -> noise / signal``).
    ``kappa(R)`` is the root of (1) at fixed ``R`` (monotone in
    ``kappa``; solved in log form), and ``kappa* = max_R kappa(R)``: ``kappa(R)`` is scanned on 39
    points of ``u = -log(1 - R)`` from ``R = 0`` to ``1 - R = 1e-12`` and the grid maximum is
    refined by Illinois regula falsi on (2) (``dkappa/dR`` has its sign); ``R = 0`` exactly when
    (2) is ``<= 0`` there (labels independent of the teacher).  The teacher factor is a step of
    width ``sqrt(1 - R^2 + noise/signal) / R`` at ``xi = 0``, resolved by graded panels.  For the
    noiseless sign teacher ``1 - R ~ (pi * 0.5 / alpha)^2 / 2``, so the grid covers
    ``alpha <~ 5e5``; beyond, points are reported as not converged.  Accuracy (against an
    independent SciPy solve and a doubled quadrature): ~1e-11 relative or better.  The error
    ``arccos(R) / pi`` is evaluated from ``1 - R`` directly (no cancellation as ``R -> 1``).
    Cost on CPU: ~10 ms per point for ``sign``/``probit``, ~1 s for ``logistic`` (its ``P_+``
    is itself a 48-node Gauss-Hermite average), plus a few seconds of compilation per
    teacher and batch size.

    Non-separable phase.  For ``alpha >= alpha_s`` (:func:`separability_threshold`) no
    max-margin solution exists (``max_R kappa(R) <= 0``).  Such points are returned with
    ``separable=False``, ``converged=False`` and NaN in every float field (``margin``, ``cosine``,
    ``m``, ``q``, errors, ``support_vector_fraction``); ``on_failure="warn"`` issues a
    :class:`~overparam_theory.estimators.NotSeparableWarning` naming how many points are
    affected, ``"raise"`` raises ``ValueError`` if any point is non-separable, ``"ignore"`` is silent.  Separable points whose
    solve fails are handled by the usual convergence check (``ConvergenceWarning`` /
    ``ConvergenceError``), also NaN with ``converged=False``.

    Args:
        alpha: ``n / d > 0`` (array).
        teacher: ``"sign"``, ``"probit"`` or ``"logistic"`` (see :mod:`._channels`).
        noise: pre-activation noise variance ``>= 0`` (must be 0 for ``"sign"``).
        flip: label-flip probability in ``[0, 1/2]``.
        signal: teacher variance ``rho > 0``.
        on_failure: ``"warn"``, ``"raise"`` or ``"ignore"`` (see above).

    Returns:
        :class:`GLMMaxMargin`, fields shaped like the broadcast arguments.

    Known values: noiseless sign teacher at large ``alpha``: ``clean_test_error ~ 0.5005 /
    alpha``; ``flip = 1/2``: ``R = 0`` and ``kappa`` solves Gardner's ``alpha_c(kappa) = alpha``;
    ``kappa -> 0`` as ``alpha -> alpha_s``.

    References: E. Gardner, J. Phys. A 21 (1988) 257; Montanari, Ruan, Sohn, Yan,
    arXiv:1911.01544 (2019); Engel & Van den Broeck, *Statistical Mechanics of Learning* (2001).
    """
    check_sign_teacher(teacher, noise)
    result = evaluate(
        _max_margin_kernel,
        (alpha, noise, flip, signal),
        static=dict(kind=kernel_kind(teacher)),
        on_failure="ignore",
        what="max-margin",
    )
    if any(is_traced(leaf) for leaf in jax.tree_util.tree_leaves(result)):
        return result
    nonsep = ~np.asarray(result.separable, dtype=bool)
    if nonsep.any():
        raise_or_warn(
            f"max_margin: {int(nonsep.sum())} of {nonsep.size} point(s) have alpha >= alpha_s "
            "(data not linearly separable): the max-margin solution does not exist; "
            "their fields are NaN with separable=False, converged=False",
            on_failure,
            error=ValueError,
            warning=NotSeparableWarning,
        )
    diag = result.diagnostics
    report(diag._replace(status=np.where(nonsep, Status.OK, diag.status)), on_failure, "max-margin")
    return result
