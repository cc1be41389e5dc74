"""Test error of a noiseless sign teacher vs alpha = n/d: square, logistic and hinge ERM at small
ridge, and the max-margin (hard-margin SVM) limit.  The classic figure of Aubin, Krzakala, Lu &
Zdeborova (NeurIPS 2020, Fig. 1); the Bayes-optimal curve belongs to the AMP module.

    python examples/glm_classification_curves.py [--out glm_curves.png] [--simulate]

With ``--simulate``, finite-size ERM (d = 300, 8 seeds) is overlaid at a few alphas.
"""

from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from overparam_theory import glm  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="glm_curves.png")
    parser.add_argument("--ridge", type=float, default=1e-3)
    parser.add_argument("--simulate", action="store_true")
    args = parser.parse_args(argv)

    alpha = np.geomspace(0.2, 10.0, 60)
    curves = {
        f"square, ridge={args.ridge:g}": glm.theory(alpha=alpha, ridge=args.ridge, loss="square").test_error,
        f"logistic, ridge={args.ridge:g}": glm.theory(alpha=alpha, ridge=args.ridge, loss="logistic").test_error,
        f"hinge, ridge={args.ridge:g}": glm.theory(alpha=alpha, ridge=args.ridge, loss="hinge").test_error,
        "max-margin": glm.max_margin(alpha=alpha).test_error,
        "square, optimal ridge (pi/2 - 1)": glm.theory(alpha=alpha, ridge=np.pi / 2 - 1, loss="square").test_error,
    }
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for label, err in curves.items():
        ax.plot(alpha, err, label=label, lw=1.6, ls="--" if "max" in label else "-")
    if args.simulate:
        pts = np.array([0.5, 2.0, 5.0])
        for loss, marker in (("logistic", "o"), ("hinge", "s")):
            sim = glm.simulate(alpha=pts, ridge=args.ridge, loss=loss, dim=300, n_seeds=8)
            ax.errorbar(sim.alpha, sim.test_error.mean, 2 * sim.test_error.stderr, fmt=marker, ms=4, capsize=2,
                        label=f"{loss} simulation (d=300, 8 seeds)")
    ax.set_xscale("log")
    ax.set_xlabel("alpha = n/d")
    ax.set_ylabel("test error")
    ax.set_title("Sign teacher, Gaussian inputs")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out, dpi=130)
    for label, err in curves.items():
        print(f"{label:34s} alpha=1: {np.interp(1.0, alpha, err):.4f}   alpha=10: {err[-1]:.4f}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
