"""Double descent of ridge regression and min-norm least squares (isotropic data).

The classic picture of Hastie, Montanari, Rosset & Tibshirani, "Surprises in high-dimensional
ridgeless least squares interpolation", Ann. Statist. 50(2) 2022 (arXiv:1903.08560), Thms 1-2
and section 5: the excess risk against ``gamma = d/n = 1/alpha`` for min-norm least squares
(``ridge = 0``, infinite at ``gamma = 1``), for a few fixed ridges, and for the optimally tuned
ridge ``ridge* = noise * gamma / signal`` (the lower envelope of all ridge curves).  Lines are
the asymptotic theory (:func:`overparam_theory.ridge.theory`,
:func:`overparam_theory.ridge.optimal_ridge`); points are finite-size simulations
(:func:`overparam_theory.ridge.simulate`, ``d = 200``) with +-2 standard-error bars.

Conventions: ``x ~ N(0, I_d)``, ``signal = ||beta||^2``, ``noise`` the label-noise variance,
ridge penalty on the averaged loss ``(1/n)||y - X b||^2 + ridge ||b||^2``; the risk is the
excess risk ``||beta_hat - beta||^2`` (test error minus ``noise``).

Usage::

    python examples/ridge_double_descent.py --out results/ridge_double_descent.png
"""

from __future__ import annotations

import argparse
import os
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from overparam_theory import ridge

SIGNAL = 1.0  # ||beta||^2 = r^2
NOISE = 0.25  # sigma^2, so r^2 / sigma^2 = 4
RIDGES = (0.0, 0.01, 0.1, 1.0)
# Simulated aspect ratios gamma = d/n (gamma = 1 itself is left out: infinite risk at ridge 0).
SIM_GAMMAS = np.array([0.2, 0.35, 0.5, 0.65, 0.8, 0.9, 1.1, 1.25, 1.5, 2.0, 3.0, 5.0])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="results/ridge_double_descent.png", help="PNG path to write")
    parser.add_argument("--dim", type=int, default=200, help="simulation dimension d (default 200)")
    parser.add_argument("--n-seeds", type=int, default=16, help="simulation seeds per point (default 16)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    start = time.perf_counter()

    # Theory: dense curves in gamma.
    gamma = np.geomspace(0.1, 10.0, 600)
    alpha = 1.0 / gamma
    curves = {lam: ridge.theory(alpha=alpha, ridge=lam, signal=SIGNAL, noise=NOISE).excess_risk for lam in RIDGES}
    best = ridge.optimal_ridge(alpha=alpha, signal=SIGNAL, noise=NOISE)

    # Simulation: one call for every (gamma, ridge) pair; the optimal ridge is the last column.
    n = np.rint(args.dim / SIM_GAMMAS)  # realised sample sizes
    sim_alpha = (n / args.dim)[:, None]
    opt = NOISE / (sim_alpha * SIGNAL)
    sim_ridge = np.concatenate([np.broadcast_to(np.array(RIDGES), (len(n), len(RIDGES))), opt], axis=1)
    sim = ridge.simulate(
        alpha=sim_alpha, ridge=sim_ridge, signal=SIGNAL, noise=NOISE, dim=args.dim, n_seeds=args.n_seeds, seed=args.seed
    )
    sim_gamma = 1.0 / sim.alpha[:, 0]
    th_points = ridge.theory(alpha=sim.alpha, ridge=sim_ridge, signal=SIGNAL, noise=NOISE).excess_risk

    fig, ax = plt.subplots(figsize=(7.0, 4.6))
    for j, lam in enumerate(RIDGES):
        color = f"C{j}"
        y = np.where(np.isfinite(curves[lam]), curves[lam], np.nan)
        label = "min-norm (ridge = 0)" if lam == 0 else f"ridge = {lam:g}"
        ax.plot(gamma, y, "-", color=color, lw=1.6, label=label)
        ax.errorbar(
            sim_gamma,
            sim.excess_risk.mean[:, j],
            yerr=2 * sim.excess_risk.stderr[:, j],
            fmt="o",
            ms=3.5,
            color=color,
            capsize=2,
        )
    ax.plot(gamma, best.excess_risk, "k--", lw=1.6, label="optimal ridge = noise·γ/signal")
    ax.errorbar(
        sim_gamma, sim.excess_risk.mean[:, -1], yerr=2 * sim.excess_risk.stderr[:, -1], fmt="s", ms=3.5, color="k", capsize=2
    )
    ax.axhline(SIGNAL, color="0.6", lw=0.8, ls=":", label="null risk (β̂ = 0)")
    ax.axvline(1.0, color="0.8", lw=0.8)
    ax.set_xscale("log")
    ax.set_ylim(0, 2.5 * SIGNAL)
    ax.set_xlabel("γ = d/n = 1/alpha")
    ax.set_ylabel("excess risk  E‖β̂ − β‖²")
    ax.set_title(
        f"Ridge double descent: theory (lines) vs simulation (d = {args.dim}, {args.n_seeds} seeds, ±2 s.e.)\n"
        f"signal r² = {SIGNAL:g}, noise σ² = {NOISE:g}",
        fontsize=9,
    )
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    fig.savefig(args.out, dpi=130)
    plt.close(fig)

    finite = np.isfinite(th_points)
    z = (sim.excess_risk.mean - th_points) / sim.excess_risk.stderr
    print(f"max |z| over {int(finite.sum())} simulated points: {np.max(np.abs(z[finite])):.2f}")
    print(f"wrote {args.out}  ({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
