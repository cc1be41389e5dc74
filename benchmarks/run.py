#!/usr/bin/env python
"""Throughput benchmark: ``overparam_theory`` theory curves vs a plain NumPy/SciPy loop.

For each case the library's public ``theory`` function is timed (first call = trace + compile +
run, then the median of a few steady-state calls; the public functions return NumPy arrays, so
every call has finished when it returns) and compared with a straightforward Python ``for``
loop over the grid points that implements the *same equations* (``docs/theory/``: ridge, kernel,
random_features, lasso, glm, amp and mixtures, the gradient-flow spectral integrals of
``docs/theory/linear_dynamics.md`` and the committee-machine ODEs of ``docs/theory/committee.md``)
with ``math`` scalars, NumPy sums over the spectrum, ``scipy.optimize.brentq`` for roots and
``scipy.integrate.quad`` for the Gaussian integrals of the GLM / Bayes-optimal (amp) state
evolution.  The maximum relative difference between the two shows that they compute the same
numbers.

    python benchmarks/run.py                      # full sizes (~8 min on 2 CPU cores)
    python benchmarks/run.py --cases 1 2 3 4      # a subset, by case number
    python benchmarks/run.py --quick              # small sizes (smoke test: cases 1-7 and 11-14)
    python benchmarks/run.py --markdown out.md    # also write the table to a file

``main(argv)`` returns ``(rows, text)`` so that tests can check the numbers without parsing.
Timings are whatever this machine measures; nothing is asserted about them here.
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import platform
import statistics
import time
from dataclasses import dataclass
from typing import Callable

# The "first call" column is a cold compile: no persistent compilation cache (unless the caller
# sets OVERPARAM_THEORY_CACHE to a directory; ``import overparam_theory`` would turn one on).
os.environ.setdefault("OVERPARAM_THEORY_CACHE", "0")

import numpy as np  # noqa: E402
from scipy.optimize import brentq  # noqa: E402
from scipy.special import expit  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

import overparam_theory as ot  # noqa: E402

# brentq: the tightest relative tolerance it accepts (4 eps) and a negligible absolute one, so
# the loop's kappa is as accurate as the library's (relative step 1e-15 in log kappa).
_RTOL = 4 * np.finfo(float).eps
_XTOL = 1e-300


# ---------------------------------------------------------------------------------------------
# Reference loops: one Python iteration per grid point.


def loop_isotropic(alpha, ridge, signal, noise):
    """Section 1 closed form per point: MP ``m(-lam)``, ``m'(-lam)``; bias ``r^2 lam^2 m'``,
    variance ``sigma^2 gamma (m - lam m')``."""
    lam, r2, s2 = float(ridge), float(signal), float(noise)
    bias, var = [], []
    for a in alpha.tolist():
        gamma = 1.0 / a
        aa = 1.0 - gamma + lam
        disc = math.sqrt(aa * aa + 4.0 * gamma * lam)
        m = 2.0 / (disc + aa) if aa > 0 else (disc - aa) / (2.0 * gamma * lam)
        mp = m * (1.0 + gamma * m) / disc
        bias.append(r2 * lam * lam * mp)
        var.append(s2 * gamma * (m - lam * mp))
    bias, var = np.array(bias), np.array(var)
    return {"excess_risk": bias + var, "bias": bias, "variance": var}


def loop_anisotropic(alpha, ridge, noise, eigenvalues, weights, teacher_power):
    """Section 2 per point: brentq on ``1 - lam/kappa - df1(kappa)/n`` over
    ``[lam, lam + tr(Sigma)/n]``, then bias / variance with ``1 - df2/n`` (NumPy sums)."""
    x, w, tp = eigenvalues, weights, teacher_power
    lam, s2 = float(ridge), float(noise)
    m1 = float(np.sum(w * x))
    wx = w * x
    out = {"excess_risk": [], "bias": [], "variance": [], "effective_ridge": []}
    for a in alpha.tolist():
        g = lambda k: 1.0 - lam / k - float(np.sum(wx / (x + k))) / a
        kappa = brentq(g, lam, lam + m1 / a, xtol=_XTOL, rtol=_RTOL, maxiter=200)
        d2 = (x + kappa) ** 2
        df2_n = float(np.sum(wx * x / d2)) / a
        bias = kappa**2 * float(np.sum(x * tp / d2)) / (1.0 - df2_n)
        var = s2 * df2_n / (1.0 - df2_n)
        out["excess_risk"].append(bias + var)
        out["bias"].append(bias)
        out["variance"].append(var)
        out["effective_ridge"].append(kappa)
    return {k: np.array(v) for k, v in out.items()}


def loop_kernel(n_samples, ridge, noise, eigenvalues, target):
    """Section 4 per point: brentq on ``sum eta/(eta+kappa) + ridge/kappa - n`` over
    ``[ridge/n, (ridge + sum eta)/n]``, then ``L_k``, ``E0``, test / train error."""
    eta, v2 = eigenvalues, target**2
    lam, s2 = float(ridge), float(noise)
    tr = float(np.sum(eta))
    out = {k: [] for k in ("test_error", "excess_risk", "bias", "variance", "train_error", "effective_ridge")}
    for n in n_samples.tolist():
        g = lambda k: float(np.sum(eta / (eta + k))) + lam / k - n
        kappa = brentq(g, lam / n, (lam + tr) / n, xtol=_XTOL, rtol=_RTOL, maxiter=200)
        learn = eta / (eta + kappa)
        e0 = n / (n - float(np.sum(learn * learn)))
        unlearned = float(np.sum((1.0 - learn) ** 2 * v2))
        test = e0 * (unlearned + s2)
        out["test_error"].append(test)
        out["excess_risk"].append(test - s2)
        out["bias"].append(e0 * unlearned)
        out["variance"].append((e0 - 1.0) * s2)
        out["train_error"].append((lam / (n * kappa)) ** 2 * test)
        out["effective_ridge"].append(kappa)
    return {k: np.array(v) for k, v in out.items()}


def loop_random_features(alpha, width, ridge, mu1, mu_star):
    """docs/theory/random_features.md section 4 per point: brentq on
    F(x) = (psi1 - h)(psi2 - h) - y^2 x over (0, x_max), then the polynomials E0, E1, E2 at
    chi = -x (math scalars)."""
    z2 = (mu1 / mu_star) ** 2
    lam_bar = ridge / mu_star**2
    out = {"bias_factor": [], "variance_factor": []}
    for psi2, psi1 in zip(alpha, width):
        psi = min(psi1, psi2)
        c = 1.0 + z2 - psi * z2
        x_max = (math.sqrt(c * c + 4 * z2 * psi) - c) / (2 * z2) if c <= 0 else 2 * psi / (c + math.sqrt(c * c + 4 * z2 * psi))
        y2 = psi1 * psi2 * lam_bar
        h = lambda x: x + z2 * x / (1 + z2 * x)
        F = lambda x: (psi1 - h(x)) * (psi2 - h(x)) - y2 * x
        x = brentq(F, 0.0, x_max, xtol=1e-300, rtol=_RTOL, maxiter=200)
        chi = -x
        z4, z6, p = z2 * z2, z2**3, psi1 * psi2
        e0 = (-chi**5 * z6 + 3 * chi**4 * z4 + (p - psi2 - psi1 + 1) * chi**3 * z6 - 2 * chi**3 * z4 - 3 * chi**3 * z2
              + (psi1 + psi2 - 3 * p + 1) * chi**2 * z4 + 2 * chi**2 * z2 + chi**2 + 3 * p * chi * z2 - p)
        e1 = psi2 * chi**3 * z4 - psi2 * chi**2 * z2 + p * chi * z2 - p
        e2 = (chi**5 * z6 - 3 * chi**4 * z4 + (psi1 - 1) * chi**3 * z6 + 2 * chi**3 * z4 + 3 * chi**3 * z2
              + (-psi1 - 1) * chi**2 * z4 - 2 * chi**2 * z2 - chi**2)
        out["bias_factor"].append(e1 / e0)
        out["variance_factor"].append(e2 / e0)
    return {k: np.array(v) for k, v in out.items()}


# ---------------------------------------------------------------------------------------------
# Cases.


def _logistic_prox(t0, V):
    """Scalar logistic prox: root of t - t0 - V sigma(-t) in [t0, t0 + V] (Newton + bisection)."""
    lo, hi = t0, t0 + V
    t = t0 + 0.5 * V
    for _ in range(200):
        s = 1.0 / (1.0 + math.exp(t)) if t > -700 else 1.0
        g = t - t0 - V * s
        if g > 0:
            hi = t
        else:
            lo = t
        if abs(g) <= 1e-15 * (abs(t) + abs(t0) + V) or hi - lo <= 1e-15 * max(1.0, abs(t)):
            break
        newton = t - g / (1.0 + V * s * (1.0 - s))
        t = newton if lo < newton < hi else 0.5 * (lo + hi)
    s = 1.0 / (1.0 + math.exp(t)) if t > -700 else 1.0
    return t, 1.0 / (1.0 + V * s * (1.0 - s))


def loop_glm(alpha, ridge, loss):
    """docs/theory/glm.md section 3 the way per-paper research code does it: for each alpha a
    damped (0.5) iteration of (m, q, V), each step three ``scipy.integrate.quad`` integrals over
    the student field with a scalar prox per integrand evaluation (sign teacher, rho = 1)."""
    from scipy.integrate import quad
    from scipy.stats import norm

    lam = float(ridge)
    out_m, out_q, out_err = [], [], []
    for a in alpha.tolist():
        m, q, V = 0.5, 0.6, 1.0 / (lam + a)
        for _ in range(5000):
            sq = math.sqrt(q)
            V0 = max(1.0 - m * m / q, 1e-300)
            sv0 = math.sqrt(V0)

            def terms(xi):
                t0 = sq * xi
                if loss == "hinge":
                    if t0 < 1 - V:
                        p, dp = t0 + V, 1.0
                    elif t0 <= 1:
                        p, dp = 1.0, 0.0
                    else:
                        p, dp = t0, 1.0
                else:
                    p, dp = _logistic_prox(t0, V)
                w0 = m * xi / sq
                return (p - t0) / V, (dp - 1.0) / V, norm.cdf(w0 / sv0), norm.pdf(w0 / sv0) / sv0

            pts = [0.0] + ([(1 - V) / sq, 1 / sq] if loss == "hinge" else [])
            pts = [p for p in pts if -11 < p < 11]

            def integral(fn):
                return quad(lambda x: fn(*terms(x)) * math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi),
                            -11, 11, points=pts, epsabs=1e-13, epsrel=1e-12, limit=200)[0]

            V_hat = -2 * a * integral(lambda f, df, P, D: P * df)
            q_hat = 2 * a * integral(lambda f, df, P, D: P * f * f)
            m_hat = 2 * a * integral(lambda f, df, P, D: D * f)
            denom = lam + V_hat
            new = (m_hat / denom, (m_hat * m_hat + q_hat) / denom**2, 1.0 / denom)
            change = max(abs(n - o) / max(1.0, abs(o)) for n, o in zip(new, (m, q, V)))
            m, q, V = (0.5 * o + 0.5 * n for o, n in zip((m, q, V), new))
            if change < 1e-11:
                break
        out_m.append(m)
        out_q.append(q)
        out_err.append(math.acos(min(1.0, m / math.sqrt(q))) / math.pi)
    return {"m": np.array(out_m), "q": np.array(out_q), "test_error": np.array(out_err)}


# Bayes-optimal GLM state evolution (amp) and LASSO state evolution (lasso): independent
# re-implementations with math scalars and scipy.integrate.quad / brentq (no library internals).

_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def _Phi(x):
    return 0.5 * math.erfc(-x / _SQRT2)


def _phi(x):
    return _INV_SQRT_2PI * math.exp(-0.5 * x * x)


def _npdf(y, mean, var):
    return math.exp(-0.5 * (y - mean) ** 2 / var) / math.sqrt(2.0 * math.pi * var)


def _quad(f, a, b, points=(), epsrel=1e-12, epsabs=0.0):
    from scipy.integrate import quad

    pts = sorted(p for p in set(points) if a < p < b)
    return quad(f, a, b, points=pts or None, epsabs=epsabs, epsrel=epsrel, limit=400)[0]


def _gauss_prior(q_hat, v):
    """Prior N(0, v) at SNR q_hat: (q, mmse) = (v^2 q_hat/(1 + v q_hat), v/(1 + v q_hat))."""
    return v * v * q_hat / (1.0 + v * q_hat), v / (1.0 + v * q_hat)


def _bernoulli_gauss_prior(q_hat, eps, v):
    """Prior (1 - eps) delta_0 + eps N(0, v) at SNR q_hat, Sigma = 1/q_hat: (q = E f_a^2,
    mmse = E f_v) over r = w + sqrt(Sigma) xi, each mixture component by quad over r/std
    (even in r), with breakpoints around the radius where logit pi(r) = 0."""
    S = 1.0 / q_hat
    shrink = v / (v + S)
    base = math.log(eps) - math.log1p(-eps) - 0.5 * math.log1p(v / S)  # logit pi(0)
    curv = 0.5 * v / (S * (S + v))  # logit pi(r) = base + curv r^2

    def posterior(r):
        logit = base + curv * r * r
        e = math.exp(-abs(logit))
        pi, pi_c = (1.0 / (1.0 + e), e / (1.0 + e)) if logit >= 0 else (e / (1.0 + e), 1.0 / (1.0 + e))
        m = shrink * r
        return (pi * m) ** 2, pi * shrink * S + pi * pi_c * m * m  # f_a^2, f_v

    r0 = math.sqrt(-base / curv) if base < 0 else 0.0
    width = S * (S + v) / (v * max(r0, math.sqrt(S)))
    q = mmse = 0.0
    for weight, std in ((1.0 - eps, math.sqrt(S)), (eps, math.sqrt(S + v))):
        pts = [(r0 + k * width) / std for k in (-8, -2, -0.5, 0, 0.5, 2, 8)]
        q += weight * _quad(lambda u: 2.0 * _phi(u) * posterior(std * u)[0], 0.0, 12.0, pts)
        mmse += weight * _quad(lambda u: 2.0 * _phi(u) * posterior(std * u)[1], 0.0, 12.0, pts)
    return q, mmse


def _info_sign(q, V):
    """E_{xi,y}[g^2], omega = sqrt(q) xi, y = sign(z): sum over y = +-1 of Z g^2 with
    Z = Phi(y omega/sqrt V), i.e. (1/V) E_xi[phi(u)^2 (1/Phi(u) + 1/Phi(-u))], u = sqrt(q/V) xi
    (phi/Phi as Mills ratios via erfcx; even in xi)."""
    from scipy.special import erfcx

    s = math.sqrt(q / V)

    def f(xi):
        u = s * xi
        mills = _SQRT_2_OVER_PI * (1.0 / erfcx(u / _SQRT2) + 1.0 / erfcx(-u / _SQRT2))
        return 2.0 * _phi(xi) * _phi(u) * mills / V

    return _quad(f, 0.0, min(12.0, 30.0 / s), (1.0 / s, 3.0 / s))


def _z_out_relu(y, omega, V, D):
    """Z_out = Phi(-omega/sqrt V) N(y; 0, D) + N(y; omega, S) Phi(b) and d_omega Z_out
    (S = V + D, sigma^2 = V D/S, b = (omega D + y V)/(S sigma))."""
    S = V + D
    sig = math.sqrt(V * D / S)
    b = (omega * D + y * V) / (S * sig)
    n0, n1 = _npdf(y, 0.0, D), _npdf(y, omega, S)
    a = omega / math.sqrt(V)
    z = _Phi(-a) * n0 + n1 * _Phi(b)
    dz = -_phi(a) / math.sqrt(V) * n0 + n1 * ((y - omega) / S * _Phi(b) + _phi(b) * D / (S * sig))
    return z, dz


def _z_out_abs(y, omega, V, D):
    """Z_out = N(y; omega, S) Phi(b+) + N(-y; omega, S) Phi(b-) and d_omega Z_out
    (b+ = (omega D + y V)/(S sigma), b- = -(omega D - y V)/(S sigma))."""
    S = V + D
    sig = math.sqrt(V * D / S)
    bp = (omega * D + y * V) / (S * sig)
    bm = -(omega * D - y * V) / (S * sig)
    n_p, n_m = _npdf(y, omega, S), _npdf(-y, omega, S)
    z = n_p * _Phi(bp) + n_m * _Phi(bm)
    dz = n_p * ((y - omega) / S * _Phi(bp) + _phi(bp) * D / (S * sig)) + n_m * (
        (-y - omega) / S * _Phi(bm) - _phi(bm) * D / (S * sig)
    )
    return z, dz


def _info_noisy(kind, q, V, D, epsrel=1e-10):
    """E_{xi,y}[g^2] = E_xi int dy (d_omega Z_out)^2 / Z_out at omega = sqrt(q) xi for the noisy
    relu / abs channel (nested quad: y inside, xi outside; abs is even in xi)."""
    z_out = _z_out_relu if kind == "relu" else _z_out_abs
    sq, sS, sD = math.sqrt(q), math.sqrt(V + D), math.sqrt(D)
    # absolute floor: 1e-15 of the scale 1/(V + D) of E[g^2] (times q/V, since g -> 0 at q -> 0 for
    # abs); the far tails (omega << 0 for relu) are ~1e-290 and have no relative accuracy
    epsabs = 1e-15 * min(1.0, q / V) / (V + D)
    if kind == "abs":  # d_omega Z_out = F'(omega) - F'(-omega): ~1e-16/|omega| relative roundoff
        epsrel = max(epsrel, 1e-13 / math.sqrt(q / V))

    def inner(xi):
        omega = sq * xi

        def h(y):
            z, dz = z_out(y, omega, V, D)
            return dz * dz / z if z > 0 else 0.0

        if kind == "relu":
            lo, hi, pts = min(0.0, omega) - 10.0 * max(sS, sD), max(0.0, omega) + 10.0 * sS, (0.0, omega, -sD, sD)
        else:
            lo, hi, pts = -abs(omega) - 10.0 * sS, abs(omega) + 10.0 * sS, (0.0, omega, -omega)
        return _quad(h, lo, hi, pts, epsrel, epsabs)

    w = math.sqrt(V / q)
    f = lambda xi: _phi(xi) * inner(xi)  # noqa: E731
    if kind == "abs":
        return 2.0 * _quad(f, 0.0, 12.0, (w, 3.0 * w), epsrel, epsabs)
    return _quad(f, -12.0, 12.0, (-3.0 * w, -w, 0.0, w, 3.0 * w), epsrel, epsabs)


def loop_amp(alpha, channel, noise=0.0, sparsity=1.0, nonzero_variance=1.0, initial_snr=1e-6, tol=1e-12,
             max_iter=20_000):
    """Bayes-optimal SE per point, the uninformed branch (amp/_theory.py docstring): from
    (q, E) = prior at SNR initial_snr, iterate q_hat = alpha E_{xi,y}[g(y; sqrt(q) xi, E)^2],
    (q, E) = (E f_a^2, mmse) of the prior at q_hat, until |E_new - E| <= tol min(E_new, q_new);
    q < 1e-13 rho is the trivial fixed point (mse = rho).  linear: q_hat = alpha/(E + noise)."""
    eps, v = float(sparsity), float(nonzero_variance)
    rho = eps * v
    floor = 1e-13 * rho
    prior = (lambda qh: _gauss_prior(qh, v)) if eps >= 1 else (lambda qh: _bernoulli_gauss_prior(qh, eps, v))
    out = []
    for a in alpha.tolist():
        q, E = prior(initial_snr)
        for _ in range(max_iter):
            if channel == "linear":
                info = 1.0 / (E + noise)
            elif channel == "sign":
                info = _info_sign(q, E)
            else:
                info = _info_noisy(channel, q, E, noise)
            q_new, E_new = prior(a * info)
            done = abs(E_new - E) <= tol * max(min(E_new, q_new), floor)
            q, E = q_new, E_new
            if q < floor:
                E = rho
                break
            if done:
                break
        else:
            E = math.nan
        out.append(E)
    return {"mse": np.array(out)}


def _g_soft(t):
    """g(t) = (1 + t^2) Phi(-t) - t phi(t)."""
    return (1.0 + t * t) * _Phi(-t) - t * _phi(t)


def loop_lasso(alpha, l1_penalty, sparsity, noise, nonzero_variance=1.0):
    """docs/theory/lasso.md section 3 per point with the textbook closed forms: brentq for tau^2 on
    noise/tau^2 + Psi(tau^2)/(delta tau^2) - 1 over [noise, 4U], nested in a brentq for the
    calibration lam(threshold) = l1_penalty on (threshold_min, hi) (hi by doubling)."""
    eps, lam, s2, v = float(sparsity), float(l1_penalty), float(noise), float(nonzero_variance)
    out = {"mse": [], "nnz_fraction": []}
    for d in alpha.tolist():

        def psi(t2, th):
            s_2 = v + t2
            a = th * math.sqrt(t2 / s_2)
            e1 = 2.0 * s_2 * _g_soft(a) - 4.0 * v * _Phi(-a) + v
            return (1.0 - eps) * 2.0 * t2 * _g_soft(th) + eps * e1, a

        def calibration(th):
            upper = 4.0 * (s2 + eps * v / d) / (1.0 - 2.0 * _g_soft(th) / d)
            t2 = brentq(lambda t: s2 / t + psi(t, th)[0] / (d * t) - 1.0, s2, upper, xtol=_XTOL, rtol=_RTOL,
                        maxiter=500)
            mse, a = psi(t2, th)
            nnz = (1.0 - eps) * 2.0 * _Phi(-th) + eps * 2.0 * _Phi(-a)
            return th * math.sqrt(t2) * (1.0 - nnz / d), mse, nnz

        if d < 1:
            tmin = brentq(lambda t: 2.0 * _g_soft(t) / d - 1.0, 0.0, 10.0, xtol=_XTOL, rtol=_RTOL)
            lo = tmin * (1.0 + 1e-10)
        else:
            lo = 0.0
        hi = lo + 1.0
        while calibration(hi)[0] < lam:
            lo, hi = hi, 2.0 * hi
        th = brentq(lambda t: calibration(t)[0] - lam, lo, hi, xtol=_XTOL, rtol=_RTOL, maxiter=500)
        _, mse, nnz = calibration(th)
        out["mse"].append(mse)
        out["nnz_fraction"].append(nnz)
    return {k: np.array(x) for k, x in out.items()}


@dataclass
class Case:
    name: str
    points: int
    ours: Callable[[], dict]  # -> {field: (points,) array}
    loop: Callable[[np.ndarray], dict]  # grid indices -> {field: (len(idx),) array}
    loop_points: int  # how many grid points the loop is timed on (<= points)
    description: str
    fields: tuple = ()
    max_repeats: int | None = None  # cap on the steady-state calls (cases whose one call takes minutes)

    @property
    def number(self) -> int:
        return int(self.name.split(".", 1)[0])


def _fields(result, names):
    return {k: np.asarray(getattr(result, k), dtype=np.float64) for k in names}


def build_cases(quick: bool) -> list[Case]:
    cases = []

    # 1. Isotropic ridge curve (closed form).
    n1 = 2_000 if quick else 100_000
    alpha1 = np.linspace(0.1, 4.0, n1)
    f1 = ("excess_risk", "bias", "variance")
    cases.append(
        Case(
            "1. isotropic ridge",
            n1,
            lambda: _fields(ot.ridge.theory(alpha=alpha1, ridge=1e-3, signal=1.0, noise=0.25), f1),
            lambda idx: loop_isotropic(alpha1[idx], 1e-3, 1.0, 0.25),
            n1,
            f"ridge.theory(alpha=linspace(0.1, 4, {n1}), ridge=1e-3, signal=1, noise=0.25)",
            f1,
        )
    )

    # 2. Anisotropic ridge over a power-law spectrum (deterministic equivalent, root per point).
    m2, n2 = (2_000, 20) if quick else (100_000, 100)
    spec2 = ot.spectra.power_law(m2, 1.5)
    tp2 = 1.0 / np.arange(1, m2 + 1, dtype=np.float64)  # beta2_k = k^-1 per direction, multiplicity 1
    alpha2 = np.geomspace(1e-3, 2.0, n2) if not quick else np.geomspace(0.02, 2.0, n2)
    f2 = ("excess_risk", "bias", "variance", "effective_ridge")
    cases.append(
        Case(
            "2. anisotropic ridge",
            n2,
            lambda: _fields(
                ot.ridge.theory(alpha=alpha2, ridge=1e-3, noise=0.25, spectrum=spec2, teacher_power=tp2), f2
            ),
            lambda idx: loop_anisotropic(
                alpha2[idx], 1e-3, 0.25, np.asarray(spec2.eigenvalues), np.asarray(spec2.weights), tp2
            ),
            n2,
            f"ridge.theory(alpha=geomspace({alpha2[0]:g}, {alpha2[-1]:g}, {n2}), ridge=1e-3, noise=0.25, "
            f"spectrum=power_law({m2}, 1.5), teacher_power=k^-1): {n2} points x {m2} eigenvalues",
            f2,
        )
    )

    # 3. Kernel learning curve (eigenlearning).
    m3 = 500 if quick else 4_000
    n3 = np.arange(10, 400, 10) if quick else np.arange(10, 2000, 10)
    k3 = np.arange(1, m3 + 1, dtype=np.float64)
    eig3, tgt3 = k3**-1.5, 1.0 / k3
    f3 = ("test_error", "excess_risk", "bias", "variance", "train_error", "effective_ridge")
    cases.append(
        Case(
            "3. kernel curve",
            n3.size,
            lambda: _fields(
                ot.kernel.theory(n_samples=n3, ridge=1e-3, noise=0.01, eigenvalues=eig3, target=tgt3), f3
            ),
            lambda idx: loop_kernel(n3[idx].astype(np.float64), 1e-3, 0.01, eig3, tgt3),
            n3.size,
            f"kernel.theory(n_samples=arange(10, {n3[-1] + 10}, 10), ridge=1e-3, noise=0.01, eigenvalues=k^-1.5, "
            f"target=k^-1, M={m3}): {n3.size} points x {m3} modes",
            f3,
        )
    )
    # 4. Random features: a (width x alpha) grid (one scalar root per point).
    side = 40 if quick else 316
    w4, a4 = np.meshgrid(np.linspace(0.1, 3.0, side), np.linspace(0.1, 3.0, side) + 0.0123, indexing="ij")
    w4, a4 = w4.ravel(), a4.ravel()  # the offset keeps the grid off width = alpha
    act4 = ot.random_features.activation("relu")
    f4 = ("bias_factor", "variance_factor")
    cases.append(
        Case(
            "4. random features grid",
            w4.size,
            lambda: _fields(ot.random_features.theory(alpha=a4, width=w4, ridge=1e-3), f4),
            lambda idx: loop_random_features(a4[idx], w4[idx], 1e-3, act4.mu1, act4.mu_star),
            w4.size,
            f"random_features.theory(alpha, width on a {side}x{side} grid over [0.1, 3]^2, ridge=1e-3, relu)",
            f4,
        )
    )
    # 5-6. GLM learning curves (saddle point of logistic / hinge ERM), vs a scipy.quad loop.
    n5 = 8 if quick else 100
    alpha5 = np.linspace(0.2, 5.0, n5)
    f5 = ("m", "q", "test_error")
    for number, loss in ((5, "logistic"), (6, "hinge")):
        cases.append(
            Case(
                f"{number}. glm {loss} curve",
                n5,
                (lambda loss=loss: _fields(ot.glm.theory(alpha=alpha5, ridge=0.1, loss=loss), f5)),
                (lambda idx, loss=loss: loop_glm(alpha5[idx], 0.1, loss)),
                1 if quick else 5,  # the loop takes ~4.5 s per point
                f"glm.theory(alpha=linspace(0.2, 5, {n5}), ridge=0.1, loss={loss!r}, sign teacher)",
                f5,
            )
        )
    # 7-10. Bayes-optimal GLM state-evolution curves (amp), one per channel, vs a scipy.quad loop.
    # Quick mode: case 7 only (cases 8-10 run in full mode; 9-10 take minutes per call).
    n7 = 16 if quick else 200
    amp_cases = [
        (7, "amp sign curve", np.geomspace(0.2, 10, n7), dict(channel="sign"), "geomspace(0.2, 10", n7),
        (8, "amp linear sparse curve", np.linspace(0.05, 1.0, n7),
         dict(channel="linear", sparsity=0.1, noise=1e-3), "linspace(0.05, 1", n7),
        (9, "amp relu curve", np.geomspace(0.2, 5, n7), dict(channel="relu", noise=0.1), "geomspace(0.2, 5", 5),
        (10, "amp abs curve", np.geomspace(0.2, 5, n7), dict(channel="abs", noise=0.1), "geomspace(0.2, 5", 5),
    ]
    f7 = ("mse",)
    for number, name, alpha7, kw, grid, n_loop in amp_cases:
        if quick and number != 7:
            continue
        args = ", ".join(f"{k}={v!r}" for k, v in kw.items())
        cases.append(
            Case(
                f"{number}. {name}",
                n7,
                (lambda alpha7=alpha7, kw=kw: _fields(ot.amp.theory(alpha=alpha7, **kw), f7)),
                (lambda idx, alpha7=alpha7, kw=kw: loop_amp(alpha7[idx], **kw)),
                3 if quick else n_loop,
                f"amp.theory(alpha={grid}, {n7}), {args})",
                f7,
            )
        )
    # 11. LASSO state-evolution curve (calibrated l1_penalty), vs a nested brentq loop.
    n11 = 16 if quick else 200
    alpha11 = np.linspace(0.1, 2.0, n11)
    f11 = ("mse", "nnz_fraction")
    cases.append(
        Case(
            "11. lasso curve",
            n11,
            lambda: _fields(ot.lasso.theory(alpha=alpha11, l1_penalty=0.2, sparsity=0.1, noise=0.01), f11),
            lambda idx: loop_lasso(alpha11[idx], 0.2, 0.1, 0.01),
            n11,
            f"lasso.theory(alpha=linspace(0.1, 2, {n11}), l1_penalty=0.2, sparsity=0.1, noise=0.01)",
            f11,
        )
    )

    # 12. Gaussian-mixture logistic curve (Mignacco et al. 2020), vs a scipy.quad loop.
    n12 = 8 if quick else 200
    alpha12 = np.linspace(0.2, 5.0, n12)
    f12 = ("m", "q", "test_error")
    cases.append(
        Case(
            "12. mixture logistic curve",
            n12,
            lambda: _fields(ot.mixtures.theory(alpha=alpha12, ridge=0.1, loss="logistic", noise=0.5), f12),
            lambda idx: loop_mixture(alpha12[idx], 0.1, "logistic", 0.5),
            2 if quick else 5,
            f"mixtures.theory(alpha=linspace(0.2, 5, {n12}), ridge=0.1, loss='logistic', noise=0.5), balanced, no intercept",
            f12,
        )
    )
    # 13. Gradient-flow risk trajectory (isotropic least squares), vs scipy.quad per time point.
    n13 = 64 if quick else 1000
    t13 = np.geomspace(1e-2, 1e3, n13)
    f13 = ("bias", "variance")
    cases.append(
        Case(
            "13. gradient-flow trajectory",
            n13,
            lambda: _fields(ot.dynamics.linear.theory(time=t13, alpha=0.7, noise=0.5, signal=1.0), f13),
            lambda idx: loop_gradient_flow(t13[idx], 0.7, 0.5, 1.0),
            8 if quick else 40,
            f"dynamics.linear.theory(time=geomspace(1e-2, 1e3, {n13}), alpha=0.7, noise=0.5, signal=1)",
            f13,
        )
    )
    # 14. Committee-machine ODE trajectory saved at 10^4 times, vs scipy solve_ivp (RK45, same tolerances).
    n14 = 500 if quick else 10_000
    t14 = np.linspace(0.0, 500.0, n14)
    Q14, R14, T14 = (np.asarray(a) for a in ot.dynamics.committee.default_initial_conditions(2, 2))
    tol14 = dict(rtol=1e-12, atol=1e-14)
    f14 = ("test_error",)
    cases.append(
        Case(
            "14. committee ODE trajectory",
            n14,
            lambda: _fields(
                ot.dynamics.committee.theory(time=t14, student_width=2, teacher_width=2, learning_rate=0.5, **tol14), f14
            ),
            lambda idx: loop_committee(t14, Q14, R14, T14, 0.5, **tol14),
            n14,
            f"dynamics.committee.theory(time=linspace(0, 500, {n14}), K=M=2, learning_rate=0.5, rtol=1e-12, "
            "atol=1e-14): one trajectory (the loop integrates it once and saves at every time)",
            f14,
        )
    )
    return cases


# --- Gaussian mixture (docs/theory/mixtures.md): balanced, no intercept; damped iteration
# in (m, q, V), scipy.quad over the Gaussian margin field, scalar prox by brentq.


def _mix_prox(loss, t0, u):
    if loss == "square":
        return (t0 + u) / (1 + u)
    if loss == "hinge":
        return t0 + u if t0 < 1 - u else (t0 if t0 > 1 else 1.0)
    return brentq(lambda t: t - t0 - u * expit(-t), t0, t0 + u, xtol=1e-14, rtol=1e-15)


def _mix_dprox(loss, t0, u, p):
    if loss == "square":
        return 1 / (1 + u)
    if loss == "hinge":
        return 0.0 if 1 - u < t0 < 1 else 1.0
    s = expit(p)
    return 1 / (1 + u * s * (1 - s))


def _mix_expect(f, m, q, noise, points=()):
    sd = math.sqrt(noise * q)
    pts = sorted((p - m) / sd for p in points)
    return _quad(lambda xi: _phi(xi) * f(m + sd * xi), -12.0, 12.0, points=pts, epsrel=1e-12)


def loop_mixture(alpha, ridge, loss, noise, tol=1e-10, max_iter=5000, damping=0.5):
    """Per point: ``m_hat = -alpha E l'(t*)``, ``q_hat = alpha Delta E l'(t*)^2``, ``V_hat =
    (alpha/V) E[1 - dt*/dt0]`` with ``t0 = m + sqrt(Delta q) xi``, ``t* = prox_{Delta V}(t0)``."""
    out = {"m": [], "q": [], "test_error": []}
    for a in np.asarray(alpha, float).tolist():
        lam, dl = float(ridge), float(noise)
        m, q, V = 0.5, 0.6, 1 / (lam + a)
        for _ in range(max_iter):
            u = dl * V
            kinks = (1 - u, 1.0) if loss == "hinge" else ()
            lp = lambda t0, u=u: (t0 - _mix_prox(loss, t0, u)) / u  # noqa: E731  (= l'(t*))
            m_hat = -a * _mix_expect(lp, m, q, dl, kinks)
            q_hat = a * dl * _mix_expect(lambda t0: lp(t0) ** 2, m, q, dl, kinks)
            V_hat = a / V * _mix_expect(
                lambda t0, u=u: 1 - _mix_dprox(loss, t0, u, _mix_prox(loss, t0, u)), m, q, dl, kinks
            )
            den = lam + V_hat
            new = np.array([m_hat / den, (m_hat**2 + q_hat) / den**2, 1 / den])
            old = np.array([m, q, V])
            m, q, V = (1 - damping) * old + damping * new
            if np.max(np.abs(new - old) / np.maximum(1, np.abs(old))) < tol:
                break
        out["m"].append(m)
        out["q"].append(q)
        out["test_error"].append(_Phi(-m / math.sqrt(dl * q)))
    return {k: np.array(v) for k, v in out.items()}


# --- Gradient flow on isotropic least squares: Marchenko-Pastur integrals per time point.


def loop_gradient_flow(times, alpha, noise, signal):
    """bias = r^2 [int e^{-2ts} dmu + atom], variance = sigma^2 gamma int (1 - e^{-ts})^2/s dmu."""
    g = 1.0 / alpha
    lo, hi = (1 - math.sqrt(g)) ** 2, (1 + math.sqrt(g)) ** 2
    dens = lambda s: math.sqrt(max((hi - s) * (s - lo), 0.0)) / (2 * math.pi * g * s)  # noqa: E731
    atom = max(0.0, 1 - 1 / g)
    bias, var = [], []
    for t in np.asarray(times, float).tolist():
        b = _quad(lambda s: math.exp(-2 * t * s) * dens(s), lo, hi, epsrel=1e-12) + atom
        v = g * _quad(lambda s: (1 - math.exp(-t * s)) ** 2 / s * dens(s), lo, hi, epsrel=1e-12)
        bias.append(signal * b)
        var.append(noise * v)
    return {"bias": np.array(bias), "variance": np.array(var)}


# --- Soft committee machine ODEs (Saad & Solla 1995; Goldt et al. 2019), erf activation:
# the same right-hand side in NumPy, scipy.integrate.solve_ivp (RK45 = Dormand-Prince 5(4)).


def _committee_rhs(Q, R, T, v, v_star, lr, noise):
    K = Q.shape[0]
    C = np.block([[Q, R], [R.T, T]])
    d = np.diag(C)
    c = np.concatenate([-v, v_star])
    c11, c33 = d[:, None, None], d[None, None, :]
    c12, c13, c23 = C[:, :, None], C[:, None, :], C[None, :, :]
    i3 = (2 / np.pi) * (c23 * (1 + c11) - c12 * c13) / ((1 + c11) * np.sqrt((1 + c11) * (1 + c33) - c13**2))
    A = np.einsum("pqr,r->pq", i3[:K], c)
    dR = lr * v[:, None] * A[:, K:]
    drift = lr * v[:, None] * A[:, :K]
    s = slice(0, K)
    a11, a22 = d[s][:, None, None, None], d[s][None, :, None, None]
    a33, a44 = d[None, None, :, None], d[None, None, None, :]
    a12, a13, a14 = C[s, s][:, :, None, None], C[s, :][:, None, :, None], C[s, :][:, None, None, :]
    a23, a24, a34 = C[s, :][None, :, :, None], C[s, :][None, :, None, :], C[None, None, :, :]
    l4 = (1 + a11) * (1 + a22) - a12**2
    l0 = l4 * a34 - a23 * a24 * (1 + a11) - a13 * a14 * (1 + a22) + a12 * a13 * a24 + a12 * a14 * a23
    l1 = l4 * (1 + a33) - a23**2 * (1 + a11) - a13**2 * (1 + a22) + 2 * a12 * a13 * a23
    l2 = l4 * (1 + a44) - a24**2 * (1 + a11) - a14**2 * (1 + a22) + 2 * a12 * a14 * a24
    i4 = (4 / np.pi**2) * np.arcsin(l0 / np.sqrt(l1 * l2)) / np.sqrt(l4)
    j2 = (2 / np.pi) / np.sqrt(np.outer(1 + d[:K], 1 + d[:K]) - C[:K, :K] ** 2)
    var = np.einsum("ikab,a,b->ik", i4, c, c) + noise * j2
    return drift + drift.T + lr**2 * np.outer(v, v) * var, dR


def loop_committee(times, Q0, R0, T, lr, rtol, atol):
    """One trajectory: solve_ivp(RK45) saving at ``times``; eps_g = (1/2) c^T I2(C) c."""
    from scipy.integrate import solve_ivp

    K, M = R0.shape
    v, v_star = np.ones(K), np.ones(M)

    def f(_, y):
        dQ, dR = _committee_rhs(y[: K * K].reshape(K, K), y[K * K :].reshape(K, M), T, v, v_star, lr, 0.0)
        return np.concatenate([dQ.ravel(), dR.ravel()])

    y0 = np.concatenate([Q0.ravel(), R0.ravel()])
    sol = solve_ivp(f, (0.0, float(times[-1])), y0, method="RK45", rtol=rtol, atol=atol, t_eval=times)
    eps = []
    c = np.concatenate([-v, v_star])
    for y in sol.y.T:
        C = np.block([[y[: K * K].reshape(K, K), y[K * K :].reshape(K, M)], [y[K * K :].reshape(K, M).T, T]])
        dd = np.diag(C)
        eps.append(0.5 * c @ ((2 / np.pi) * np.arcsin(C / np.sqrt(np.outer(1 + dd, 1 + dd)))) @ c)
    return {"test_error": np.array(eps)}


# ---------------------------------------------------------------------------------------------
# Timing.


def _timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def _max_rel_diff(ours: dict, ref: dict, idx: np.ndarray) -> float:
    worst = 0.0
    for name, r in ref.items():
        o = ours[name][idx]
        if not (np.all(np.isfinite(o)) and np.all(np.isfinite(r))):
            return math.inf
        denom = np.maximum(np.abs(r), np.finfo(float).tiny)
        worst = max(worst, float(np.max(np.abs(o - r) / denom)))
    return worst


def run_case(case: Case, repeats: int, loop_repeats: int, loop_points: int | None) -> dict:
    first, ours = _timed(case.ours)
    repeats = repeats if case.max_repeats is None else max(1, min(repeats, case.max_repeats))
    steady = statistics.median(_timed(case.ours)[0] for _ in range(repeats))

    n_loop = case.loop_points if loop_points is None else min(case.loop_points, loop_points)
    idx = np.unique(np.linspace(0, case.points - 1, n_loop).round().astype(int))
    loop_times = []
    for _ in range(loop_repeats):
        t, ref = _timed(case.loop, idx)
        loop_times.append(t)
    loop_time = statistics.median(loop_times)
    ours_pps = case.points / steady
    loop_pps = idx.size / loop_time
    return {
        "case": case.name,
        "points": case.points,
        "first_call_s": first,
        "compile_s": first - steady,
        "steady_s": steady,
        "ours_pps": ours_pps,
        "loop_points": int(idx.size),
        "loop_s": loop_time,
        "loop_pps": loop_pps,
        "ratio": ours_pps / loop_pps,
        "max_rel_diff": _max_rel_diff(ours, ref, idx),
        "fields": case.fields,
        "description": case.description,
        "repeats": repeats,
    }


def _loadavg() -> str:
    try:
        return " / ".join(f"{v:.2f}" for v in os.getloadavg())
    except (AttributeError, OSError):
        return "unavailable"


def machine_info() -> list[str]:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count()
    import jaxlib
    import scipy

    return [
        f"date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"platform: {platform.platform()}; CPU: {cpu or 'unknown'}; cpu_count: {os.cpu_count()} (usable: {usable})",
        f"python {platform.python_version()}; jax {jax.__version__}; jaxlib {jaxlib.__version__}; "
        f"numpy {np.__version__}; scipy {scipy.__version__}",
        f"jax backend: {jax.default_backend()}; devices: {', '.join(str(d) for d in jax.devices())}",
        f"load average (1/5/15 min) at start: {_loadavg()}",
    ]


def format_table(rows: list[dict]) -> str:
    head = (
        "| case | points | first call (s) | ~compile (s) | steady (ms/call) | ours (pts/s) "
        "| loop timed on | loop time (s) | loop (pts/s) | ours / loop | max rel diff |"
    )
    sep = "|" + "|".join(["---"] * 11) + "|"
    lines = [head, sep]
    for r in rows:
        loop_on = f"{r['loop_points']}" + ("" if r["loop_points"] == r["points"] else " (extrapolated)")
        lines.append(
            f"| {r['case']} | {r['points']} | {r['first_call_s']:.2f} | {r['compile_s']:.2f} "
            f"| {1e3 * r['steady_s']:.3g} | {r['ours_pps']:.3g} | {loop_on} | {r['loop_s']:.3g} "
            f"| {r['loop_pps']:.3g} | {r['ratio']:.3g}x | {r['max_rel_diff']:.2g} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    parser.add_argument("--markdown", metavar="PATH", help="also write the report to this file")
    parser.add_argument("--repeats", type=int, default=7, help="steady-state calls per case (median)")
    parser.add_argument("--loop-repeats", type=int, default=3, help="loop runs per case (median)")
    parser.add_argument(
        "--loop-points", type=int, default=None, help="time the loop on at most this many (evenly spaced) points"
    )
    parser.add_argument("--cases", type=int, nargs="*", default=None, help="case numbers to run (default all; quick mode has no cases 8-10)")
    args = parser.parse_args(argv)

    # Start the backend outside the timed region (its one-off start-up is not compile time).
    with jax.enable_x64(True):
        jax.block_until_ready(jnp.zeros(1) + 1)

    info = machine_info()
    header = "\n".join(info)
    print(header, flush=True)
    cases = build_cases(args.quick)
    if args.cases:
        cases = [c for c in cases if c.number in args.cases]
    rows = []
    for case in cases:
        row = run_case(case, args.repeats, args.loop_repeats, args.loop_points)
        rows.append(row)
        print(
            f"  {case.name}: first {row['first_call_s']:.2f} s, steady {1e3 * row['steady_s']:.3g} ms, "
            f"loop {row['loop_s']:.3g} s on {row['loop_points']} pts, ratio {row['ratio']:.3g}x, "
            f"max rel diff {row['max_rel_diff']:.2g}",
            flush=True,
        )
    notes = [
        f"- {r['case']}: {r['description']}; compared fields: {', '.join(r['fields'])}"
        + ("" if r["repeats"] == args.repeats else f"; steady = {r['repeats']} call(s) (capped: slow case)")
        for r in rows
    ]
    text = "\n".join(
        [
            "```",
            header,
            f"mode: {'quick' if args.quick else 'full'}; steady = median of {args.repeats} calls; "
            f"loop = median of {args.loop_repeats} runs",
            "```",
            "",
            format_table(rows),
            "",
            *notes,
        ]
    )
    print()
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as fh:
            fh.write(text + "\n")
    return rows, text


if __name__ == "__main__":
    main()
