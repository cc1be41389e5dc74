"""Binary Gaussian mixture: test error vs alpha = n/d for square, logistic and hinge ERM.

Left: balanced classes, noise Delta = 0.5, ridge lambda = 0.1 (summed loss): the three ERM curves
(Mignacco et al., ICML 2020), the max-margin classifier (ridge -> 0+ of hinge) up to the
separability threshold alpha_s, and the Bayes-optimal error H(sqrt(alpha/(Delta(alpha+Delta)))).
Finite-size simulations (d = 500, 8 seeds, error bars = 2 standard errors) at a few alphas
(one point for logistic and hinge, to keep the run short).
Right: imbalance rho_+ = 0.25 with and without an unpenalised intercept (logistic): the intercept
recovers the lower error; dashed: the fitted bias b(alpha).

    python examples/mixture_classification.py [--out results/] [--no-simulate]

Writes ``mixture_classification.png`` into the ``--out`` directory (runs in well under 90 s).
"""

from __future__ import annotations

import argparse
import os
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from overparam_theory import mixtures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="results/")
    parser.add_argument("--no-simulate", action="store_true")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)

    noise, lam = 0.5, 0.1
    alpha = np.geomspace(0.1, 10.0, 48)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    ax = axes[0]
    colors = {"square": "C0", "logistic": "C1", "hinge": "C2"}
    for loss, c in colors.items():
        th = mixtures.theory(alpha=alpha, ridge=lam, loss=loss, noise=noise)
        ax.plot(alpha, th.test_error, color=c, label=f"{loss} (lambda={lam})")
    alpha_s = float(mixtures.separability_threshold(noise=noise).alpha_s)
    a_mm = alpha[alpha < alpha_s * 0.999]
    mm = mixtures.max_margin(alpha=a_mm, noise=noise)
    ax.plot(a_mm, mm.test_error, "k:", label="max-margin")
    ax.axvline(alpha_s, color="0.6", lw=0.8)
    ax.plot(alpha, mixtures.bayes_optimal(alpha=alpha, noise=noise).test_error, "k-", lw=1.5, label="Bayes-optimal")
    if not args.no_simulate:
        for loss, c in colors.items():
            # one point each for hinge (n < d: the n > d interior-point fits dominate the run time)
            # and logistic; square (a linear solve) at two
            a_sim = {"square": np.array([0.5, 2.0]), "logistic": np.array([2.0]), "hinge": np.array([0.5])}[loss]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sim = mixtures.simulate(alpha=a_sim, ridge=lam, loss=loss, noise=noise, dim=500, n_seeds=8, seed=0)
            ax.errorbar(sim.alpha, sim.test_error.mean, yerr=2 * sim.test_error.stderr, fmt="o", color=c, ms=4)
    ax.set_xscale("log")
    ax.set_xlabel("alpha = n/d")
    ax.set_ylabel("test error")
    ax.set_title(f"balanced mixture, Delta={noise}")
    ax.legend(fontsize=8)

    ax = axes[1]
    for ic, style in [(False, "C3"), (True, "C4")]:
        th = mixtures.theory(alpha=alpha, ridge=lam, loss="logistic", noise=noise, imbalance=0.25, intercept=ic)
        ax.plot(alpha, th.test_error, color=style, label=f"logistic, intercept={ic}")
        if ic:
            ax2 = ax.twinx()
            ax2.plot(alpha, th.bias, "--", color=style)
            ax2.set_ylabel("bias b (dashed)")
    ax.set_xscale("log")
    ax.set_xlabel("alpha = n/d")
    ax.set_ylabel("test error")
    ax.set_title("imbalance rho_+ = 0.25")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = os.path.join(args.out, "mixture_classification.png")
    fig.savefig(path, dpi=120)
    print(path)
    return path


if __name__ == "__main__":
    main()
