"""Message-passing family: the Bayes-optimal perceptron against ERM, and the LASSO phase diagram.

Left: test error of a noiseless sign teacher vs alpha = n/d.  Bayes-optimal error (AMP state
evolution; -> 0.4417/alpha) against logistic and hinge ERM at small ridge and the max-margin
classifier (the GLM module's curves).
Middle: noiseless compressed sensing with a Bernoulli-Gaussian prior: the phase diagram in
(alpha = n/N, rho = eps/alpha): the LASSO / l1 Donoho-Tanner curve rho_SE(alpha), the
Bayes-optimal AMP threshold alpha_AMP(eps) and the information-theoretic line alpha = eps.
Right: double descent of the min-l1 (basis pursuit) / least-squares estimator in alpha
(``l1_penalty -> 0``) against the LASSO at a fixed penalty.

    python examples/bayes_optimal_and_lasso.py [--out message_passing.png] [--simulate]

With ``--simulate``, GAMP at d = 2000 (8 seeds) is overlaid on the Bayes-optimal curve and
finite-size LASSO (N = 1000, 8 seeds) on the right panel.
"""

from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from overparam_theory import amp, glm, lasso  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="message_passing.png")
    parser.add_argument("--simulate", action="store_true")
    args = parser.parse_args(argv)

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.3))

    # (a) Bayes-optimal vs ERM for the sign perceptron
    alpha = np.geomspace(0.2, 10.0, 50)
    ax = axes[0]
    bo = amp.theory(alpha=alpha, channel="sign")
    ax.plot(alpha, bo.test_error, "k", lw=2, label="Bayes-optimal (AMP)")
    ax.plot(alpha, glm.theory(alpha=alpha, ridge=1e-3, loss="logistic").test_error, label="logistic, ridge 1e-3")
    ax.plot(alpha, glm.theory(alpha=alpha, ridge=1e-3, loss="hinge").test_error, label="hinge, ridge 1e-3")
    ax.plot(alpha, glm.max_margin(alpha=alpha).test_error, "--", label="max-margin")
    ax.plot(alpha[alpha > 2], 0.4417 / alpha[alpha > 2], ":", color="gray", label="0.4417 / alpha")
    if args.simulate:
        a_sim = np.array([0.5, 1.0, 2.0, 4.0])
        sim = amp.simulate(alpha=a_sim, channel="sign", dim=2000, n_seeds=8, n_iterations=25)
        ax.errorbar(sim.alpha, sim.test_error.mean, 2 * sim.test_error.stderr, fmt="ko", ms=4, label="GAMP, d=2000")
    ax.set(xscale="log", yscale="log", xlabel="alpha = n/d", ylabel="test error", title="sign perceptron")
    ax.legend(fontsize=8)

    # (b) noiseless compressed sensing phase diagram
    ax = axes[1]
    deltas = np.linspace(0.02, 0.99, 60)
    ax.plot(deltas, lasso.phase_transition(deltas), "C0", lw=2, label="LASSO / l1 (Donoho-Tanner)")
    eps = np.geomspace(0.005, 0.95, 40)
    a_amp = amp.algorithmic_threshold(sparsity=eps)
    ax.plot(a_amp, eps / a_amp, "C3", lw=2, label="Bayes-optimal AMP")
    ax.plot([0, 1], [1, 1], "k:", label="information-theoretic (alpha = eps)")
    ax.set(xlim=(0, 1), ylim=(0, 1.05), xlabel="alpha = n/N", ylabel="rho = eps/alpha",
           title="exact recovery below each curve")
    ax.legend(fontsize=8, loc="lower right")

    # (c) double descent of min-l1 / least squares in alpha
    ax = axes[2]
    alpha_dd = np.concatenate([np.linspace(0.1, 0.97, 40), np.linspace(1.03, 3.0, 30)])
    kw = dict(sparsity=0.1, noise=0.01)
    ax.plot(alpha_dd, lasso.theory(alpha=alpha_dd, l1_penalty=0.0, **kw).mse, "k", label="min-l1 / least squares (l1_penalty 0)")
    for pen in (0.05, 0.3):
        ax.plot(alpha_dd, lasso.theory(alpha=alpha_dd, l1_penalty=pen, **kw).mse, label=f"LASSO, l1_penalty {pen}")
    if args.simulate:
        a_sim = np.array([0.3, 0.6, 1.5, 2.5])
        sim = lasso.simulate(alpha=a_sim, l1_penalty=0.3, dim=1000, n_seeds=8, **kw)
        ax.errorbar(sim.alpha, sim.mse.mean, 2 * sim.mse.stderr, fmt="o", color="C1", ms=4, label="LASSO sim, N=1000")
    ax.set(yscale="log", ylim=(1e-3, 10), xlabel="alpha = n/N", ylabel="mse = |x_hat - x0|^2 / N",
           title="eps = 0.1, noise 0.01")
    ax.legend(fontsize=8)

    fig.tight_layout()
    fig.savefig(args.out, dpi=130)
    print(f"wrote {args.out}")
    print(f"alpha * eps_BO at alpha = 10: {10 * bo.test_error[-1]:.4f} (-> 0.4417)")


if __name__ == "__main__":
    main()
