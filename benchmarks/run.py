#!/usr/bin/env python
"""Throughput benchmark: ``overparam_theory`` theory curves vs a plain NumPy/SciPy loop.

For each case the library's public ``theory`` function is timed (first call = trace + compile +
run, then the median of a few steady-state calls; the public functions return NumPy arrays, so
every call has finished when it returns) and compared with a straightforward Python ``for``
loop over the grid points that implements the *same equations* (``shared/theory/regression.md``
sections 1, 2 and 4) with ``math`` scalars, NumPy sums over the spectrum and
``scipy.optimize.brentq`` for the ``kappa`` root.  The maximum relative difference between the
two shows that they compute the same numbers.

    python benchmarks/run.py                      # full sizes (about a minute on 2 CPU cores)
    python benchmarks/run.py --quick              # small sizes (smoke test)
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

import numpy as np
from scipy.optimize import brentq

import jax
import jax.numpy as jnp

import overparam_theory as ot

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
    """regression.md section 3 per point: brentq on F(x) = (psi1 - h)(psi2 - h) - y^2 x over
    (0, x_max), then the polynomials E0, E1, E2 at chi = -x (math scalars)."""
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
    """classification.md section 1 the way per-paper research code does it: for each alpha a
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


@dataclass
class Case:
    name: str
    points: int
    ours: Callable[[], dict]  # -> {field: (points,) array}
    loop: Callable[[np.ndarray], dict]  # grid indices -> {field: (len(idx),) array}
    loop_points: int  # how many grid points the loop is timed on (<= points)
    description: str
    fields: tuple = ()


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
                2 if quick else 5,
                f"glm.theory(alpha=linspace(0.2, 5, {n5}), ridge=0.1, loss={loss!r}, sign teacher)",
                f5,
            )
        )
    return cases


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
    parser.add_argument("--cases", type=int, nargs="*", default=None, help="case numbers to run (default all)")
    args = parser.parse_args(argv)

    # Start the backend outside the timed region (its one-off start-up is not compile time).
    with jax.enable_x64(True):
        jax.block_until_ready(jnp.zeros(1) + 1)

    info = machine_info()
    header = "\n".join(info)
    print(header, flush=True)
    cases = build_cases(args.quick)
    if args.cases:
        cases = [c for i, c in enumerate(cases, 1) if i in args.cases]
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
    notes = [f"- {r['case']}: {r['description']}; compared fields: {', '.join(r['fields'])}" for r in rows]
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
