"""Double descent of random-features ridge regression (Mei & Montanari 2022, Fig. 1-style).

Test error against the number of random features per dimension ``width = N/d`` (``psi_1``) at
fixed ``alpha = n/d = 1`` (``psi_2``), ReLU features, a noisy linear target, for the ridgeless
min-norm fit (peak at ``width = alpha``), two fixed ridges and the optimally tuned ridge (which
removes the peak).  Lines are the asymptotic theory (:func:`overparam_theory.random_features.theory`
and :func:`~overparam_theory.random_features.optimal_ridge`); points are finite-size
simulations (:func:`overparam_theory.random_features.simulate`, inputs and weights uniform on the
sphere of radius ``sqrt d``) with +-2 standard-error bars.

Conventions (docs/theory/random_features.md; Mei & Montanari 2022): penalty ``(N ridge/d)||a||^2`` on the averaged loss;
``signal = F_1^2``, ``noise = tau^2``; the risk is the excess test error (label noise excluded).

Usage::

    python examples/random_features_double_descent.py --out results/random_features_double_descent.png
"""

from __future__ import annotations

import argparse
import os
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from overparam_theory import random_features as rf

ALPHA = 1.0
SIGNAL, NONLINEAR, NOISE = 1.0, 0.0, 0.2
RIDGES = (0.0, 1e-3, 1e-1)
# widths simulated (the ridgeless point width = alpha itself diverges; its neighbours are left out)
SIM_WIDTHS = np.array([0.2, 0.4, 0.6, 0.8, 1.25, 1.6, 2.2, 3.0])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="results/random_features_double_descent.png", help="PNG path to write")
    parser.add_argument("--dim", type=int, default=200, help="simulation dimension d (default 200)")
    parser.add_argument("--n-seeds", type=int, default=8, help="simulation seeds per point (default 8)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    start = time.perf_counter()

    width = np.linspace(0.05, 3.5, 700)
    kw = dict(signal=SIGNAL, nonlinear_signal=NONLINEAR, noise=NOISE)
    curves = rf.theory(alpha=ALPHA, width=width[:, None], ridge=np.array(RIDGES), **kw).excess_risk
    best = rf.optimal_ridge(alpha=ALPHA, width=width, **kw)
    sim = rf.simulate(
        alpha=ALPHA, width=SIM_WIDTHS[:, None], ridge=np.array(RIDGES), dim=args.dim, n_seeds=args.n_seeds, seed=args.seed, **kw
    )

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for j, lam in enumerate(RIDGES):
        color = f"C{j}"
        y = np.where(np.isfinite(curves[:, j]), curves[:, j], np.nan)
        ax.plot(width, y, "-", color=color, lw=1.6, label=f"ridge = {lam:g}")
        ax.errorbar(
            sim.width[:, j], sim.excess_risk.mean[:, j], yerr=2 * sim.excess_risk.stderr[:, j], fmt="o", ms=3.5, color=color, capsize=2
        )
    ax.plot(width, best.excess_risk, "k--", lw=1.4, label="optimal ridge")
    ax.axvline(ALPHA, color="0.8", lw=0.8)
    ax.set_ylim(0, 3.0)
    ax.set_xlabel("width = N/d  (psi_1)")
    ax.set_ylabel("excess test error")
    ax.set_title(
        f"Random-features double descent (ReLU, alpha = n/d = {ALPHA:g}, F1^2 = {SIGNAL:g}, tau^2 = {NOISE:g})\n"
        f"theory (lines) vs simulation (d = {args.dim}, {args.n_seeds} seeds, +-2 s.e.)",
        fontsize=9,
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    fig.savefig(args.out, dpi=130)
    plt.close(fig)
    print(f"wrote {args.out} ({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
