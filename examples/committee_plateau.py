"""Learning curve of online SGD in the soft committee machine: the Saad-Solla plateau.

K = M = 2 erf units, learning rate 0.5, T = I, Q0 = 0.25 I.  Two starts:

- R0 = 1e-3 + 0.03 I (symmetry breaking large against the O(1/sqrt N) SGD noise): the ODE
  theory (Saad & Solla 1995; Goldt et al. 2019) as a line and online SGD at N = 1000 (seed mean
  +- standard error) through the plateau, the escape and the convergence -- they agree;
- the default start R0 ~ 1e-3 (``committee.default_initial_conditions``): a longer plateau in
  the N -> infinity theory.  A finite-N run escapes it earlier, because the escape is then seeded
  by the SGD noise rather than by R0 and the escape time moves only like log N
  (docs/dynamics_committee.md, "Simulation"); the simulation of this start is printed as well,
  to show the effect, and agrees with the ODE only before the escape.

Writes committee_plateau.png to --out (default results/).

    python examples/committee_plateau.py [--out results/] [--dim 1000] [--seeds 8]
"""

from __future__ import annotations

import argparse
import os
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from overparam_theory.dynamics import committee


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="results/")
    ap.add_argument("--dim", type=int, default=1000)
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--t-max", type=float, default=300.0)
    args = ap.parse_args(argv)
    start = time.perf_counter()
    t_dense = np.linspace(0.0, args.t_max, 400)
    t_sim = np.array([1, 3, 10, 30, 60, 100, 150, 200, 250, 300, 400], float)
    t_sim = t_sim[t_sim <= args.t_max]
    broken = 1e-3 * np.ones((2, 2)) + 0.03 * np.eye(2)
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for j, (label, initial_R) in enumerate((("R0 = 1e-3 + 0.03 I", broken), ("default R0 ~ 1e-3", None))):
        th = committee.theory(time=t_dense, learning_rate=0.5, initial_R=initial_R)
        sim = committee.simulate(time=t_sim, learning_rate=0.5, initial_R=initial_R, dim=args.dim,
                                 n_seeds=args.seeds, seed=0)
        th_at = committee.theory(time=sim.time, learning_rate=0.5, initial_R=initial_R)
        print(f"start {label}:\n{'t':>6} {'theory':>11} {'simulation':>24} {'z':>6}")
        for t, a, m, s in zip(sim.time, th_at.test_error, sim.test_error.mean, sim.test_error.stderr):
            print(f"{t:6.0f} {a:11.4e} {m:12.4e} +- {s:9.2e} {(m - a) / s:6.1f}")
        ax.semilogy(t_dense[1:], th.test_error[1:], color=f"C{j}", label=f"ODE theory, {label}")
        ax.errorbar(sim.time, sim.test_error.mean, yerr=sim.test_error.stderr, fmt="o", ms=4, capsize=2,
                    color=f"C{j}", mfc="none" if initial_R is None else None,
                    label=f"online SGD, N = {args.dim}, {args.seeds} seeds, {label}")
    ax.set_xlabel("t = steps / N")
    ax.set_ylabel("test error  ε_g")
    ax.set_title("Soft committee machine K = M = 2, η = 0.5: plateau and escape", fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "committee_plateau.png")
    fig.savefig(path, dpi=120)
    print(f"wrote {path} in {time.perf_counter() - start:.1f} s")
    return path


if __name__ == "__main__":
    main()
