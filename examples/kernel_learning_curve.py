"""Learning curves of kernel ridge regression with a power-law spectrum.

Kernel eigenvalues ``eta_k = k^-1.5`` and target coefficients ``v_k = k^-1`` on ``M = 2000``
modes (the synthetic kernel of ``docs/theory/kernel.md``), label-noise variance ``noise``.
Lines: the eigenlearning / spectral theory of Bordelon, Canatar & Pehlevan (ICML 2020,
arXiv:2002.02561) and Simon, Dickens, Karkada & DeWeese (TMLR 2023, arXiv:2110.03922)
(:func:`overparam_theory.kernel.theory`); points: finite-size simulations with Gaussian features
``z ~ N(0, I_M)`` (:func:`overparam_theory.kernel.simulate`) with +-2 standard-error bars.

The ridge is the one in ``(K + ridge I_n)^{-1}`` (not multiplied by ``n``; scikit-learn's
``KernelRidge(alpha=ridge)``); the test error includes the noise of the test label.

Usage::

    python examples/kernel_learning_curve.py --out results/kernel_learning_curve.png
"""

from __future__ import annotations

import argparse
import os
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from overparam_theory import kernel, spectra

N_MODES = 2000
EIGENVALUES = np.asarray(spectra.power_law(N_MODES, 1.5).eigenvalues)  # eta_k = k^-1.5
TARGET = np.arange(1, N_MODES + 1, dtype=float) ** -1.0  # v_k = k^-1
NOISE = 0.01
RIDGES = (0.0, 1e-2, 1e-1, 1.0)
SIM_N = np.array([8, 16, 32, 64, 128, 256, 512])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="results/kernel_learning_curve.png", help="PNG path to write")
    parser.add_argument("--n-seeds", type=int, default=16, help="simulation seeds per point (default 16)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    start = time.perf_counter()

    n_dense = np.geomspace(4, 1024, 300)
    common = dict(noise=NOISE, eigenvalues=EIGENVALUES, target=TARGET)
    curves = kernel.theory(n_samples=n_dense[:, None], ridge=np.array(RIDGES)[None, :], **common)
    sim = kernel.simulate(
        n_samples=SIM_N[:, None], ridge=np.array(RIDGES)[None, :], n_seeds=args.n_seeds, seed=args.seed, **common
    )
    th_points = kernel.theory(n_samples=SIM_N[:, None], ridge=np.array(RIDGES)[None, :], **common).test_error

    fig, ax = plt.subplots(figsize=(7.0, 4.6))
    for j, lam in enumerate(RIDGES):
        color = f"C{j}"
        label = "ridgeless (ridge = 0)" if lam == 0 else f"ridge = {lam:g}"
        ax.plot(n_dense, curves.test_error[:, j], "-", color=color, lw=1.6, label=label)
        shift = 1.0 + 0.04 * (j - (len(RIDGES) - 1) / 2)  # side by side, not on top of each other
        ax.errorbar(
            SIM_N * shift, sim.test_error.mean[:, j], yerr=2 * sim.test_error.stderr[:, j], fmt="o", ms=3.5, color=color, capsize=2
        )
    ax.axhline(NOISE, color="0.6", lw=0.8, ls=":", label=f"noise floor σ² = {NOISE:g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("number of training samples n")
    ax.set_ylabel("test error  E(f̂(x) − y)²")
    ax.set_title(
        f"Kernel ridge learning curves: η_k = k^-1.5, v_k = k^-1, M = {N_MODES} modes\n"
        f"theory (lines) vs simulation ({args.n_seeds} seeds, ±2 s.e.; points offset slightly in n for legibility)",
        fontsize=9,
    )
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    fig.savefig(args.out, dpi=130)
    plt.close(fig)

    z = (sim.test_error.mean - th_points) / sim.test_error.stderr
    print(f"max |z| over {z.size} simulated points: {np.max(np.abs(z)):.2f}")
    print(f"wrote {args.out}  ({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
