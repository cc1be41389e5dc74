"""Epoch-wise double descent of gradient flow on linear regression with two feature scales.

Pezeshki, Mitra, Bengio & Lajoie (ICML 2022, arXiv:2112.03215): when the input features live
on two scales, gradient flow learns the fast (large-eigenvalue) features first, then overfits
the label noise through them, and only later learns the slow features; the test risk vs
training time then falls, rises, falls again and finally rises to the least-squares value.

Setting (``docs/dynamics_linear.md`` section 6): ``x ~ N(0, Sigma)``, ``Sigma`` two-level with
70% of the ``d`` directions at eigenvalue 1 (fast) and 30% at 0.01 (slow); teacher power 0.05
on the fast and 3.0 on the slow directions (``teacher_power``, squared norm per level);
``alpha = n/d = 3``, label-noise variance 0.1.  Left: test risk ``excess_risk + noise`` (theory line, simulation
points at ``d = 400``, 8 seeds) and the training error; right: bias and variance.

    python examples/epochwise_double_descent.py [--out results/] [--no-simulate]
"""

from __future__ import annotations

import argparse
import os
import time as _time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from overparam_theory import spectra  # noqa: E402
from overparam_theory.dynamics import linear  # noqa: E402

SETTING = dict(alpha=3.0, noise=0.1, spectrum=spectra.two_level(0.7, 1.0, 0.01), teacher_power=np.array([0.05, 3.0]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="results/")
    parser.add_argument("--no-simulate", action="store_true")
    parser.add_argument("--dim", type=int, default=400)
    parser.add_argument("--n-seeds", type=int, default=8)
    args = parser.parse_args(argv)
    start = _time.perf_counter()

    t = np.geomspace(1e-2, 1e5, 400)
    th = linear.theory(time=t, **SETTING)
    ts = np.geomspace(1e-1, 3e4, 14)
    sim = None if args.no_simulate else linear.simulate(time=ts, dim=args.dim, n_seeds=args.n_seeds, seed=0, **SETTING)

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.2))
    ax.semilogx(t, th.risk, "C0", label="test risk (theory)")
    ax.semilogx(t, th.train_error, "C2", lw=1, label="training error (theory)")
    if sim is not None:
        ax.errorbar(ts, sim.risk.mean, 2 * sim.risk.stderr, fmt="o", color="C0", ms=4,
                    label=f"test risk, simulation d={args.dim} ({args.n_seeds} seeds, 2 s.e.)")
        ax.errorbar(ts, sim.train_error.mean, 2 * sim.train_error.stderr, fmt="s", color="C2", ms=3)
    ax.axhline(SETTING["noise"], color="gray", lw=0.6, ls=":")
    ax.set_xlabel("training time t (gradient flow)")
    ax.set_ylabel("mean squared error")
    ax.set_ylim(0.0, 0.2)
    ax.set_title("Epoch-wise double descent (two feature scales)")
    ax.legend(fontsize=8)

    bx.loglog(t, th.bias, "C1", label="bias")
    bx.loglog(t, th.variance, "C3", label="variance")
    bx.loglog(t, th.excess_risk, "C0", label="excess risk")
    if sim is not None:
        for f, c in (("bias", "C1"), ("variance", "C3")):
            e = getattr(sim, f)
            bx.errorbar(ts, e.mean, 2 * e.stderr, fmt="o", color=c, ms=3)
    bx.set_ylim(1e-3, 2.0)
    bx.set_xlabel("training time t")
    bx.set_title("fast features: t ~ 1;  slow features: t ~ 100")
    bx.legend(fontsize=8)
    fig.tight_layout()

    out = args.out
    if out.endswith(os.sep) or os.path.isdir(out) or not os.path.splitext(out)[1]:
        os.makedirs(out, exist_ok=True)
        out = os.path.join(out, "epochwise_double_descent.png")
    fig.savefig(out, dpi=130)
    r = th.excess_risk
    m = np.flatnonzero((np.round(r[1:-1], 12) < np.round(r[:-2], 12)) & (np.round(r[1:-1], 12) <= np.round(r[2:], 12))) + 1
    print(f"local minima of the test risk at t = {np.round(t[m], 2).tolist()} (risk {np.round(th.risk[m], 4).tolist()})")
    if sim is not None:
        z = (sim.risk.mean - linear.theory(time=ts, **SETTING).risk) / sim.risk.stderr
        print(f"simulation vs theory at the {ts.size} simulated times: max |z| = {np.max(np.abs(z)):.2f}")
    print(f"wrote {out} in {_time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
