#!/usr/bin/env python
"""First-call latency: every model's ``theory`` and ``simulate`` and every ``overparam-theory
theory MODEL`` command in a fresh process, with an empty persistent compilation cache (cold) and
again with the cache the cold run filled (warm).

    python benchmarks/latency.py                   # all models (~5 min on 2 CPU cores)
    python benchmarks/latency.py --models ridge glm
    python benchmarks/latency.py --markdown out.md

Each function is called at its spec's smoke parameters (``spec.smoke``; simulate at
``spec.smoke_dim`` with 2 seeds), each command with its command-line defaults.  ``import`` is
timed separately (it is the same for every call).  The ratio is cold / warm.  Nothing is
asserted; the numbers are this machine's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

_CALL = """
import json, sys, time
t0 = time.perf_counter()
import overparam_theory as ot
t1 = time.perf_counter()
spec = ot.SPECS[sys.argv[1]]
if sys.argv[2] == "theory":
    spec.theory(**spec.smoke)
else:
    kw = {} if spec.dim is None else {"dim": spec.smoke_dim or spec.dim}
    spec.simulate(**spec.smoke, **kw, n_seeds=2)
print(json.dumps({"import": t1 - t0, "call": time.perf_counter() - t1}))
"""


def _run(argv, cache):
    env = {**os.environ, "OVERPARAM_THEORY_CACHE": cache}
    start = time.perf_counter()
    out = subprocess.run(argv, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{out.stderr[-2000:]}")
    return wall, out.stdout


def measure(model: str) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        for what in ("theory", "simulate"):
            times = {}
            for state in ("cold", "warm"):
                _, out = _run([sys.executable, "-c", _CALL, model, what], cache)
                times[state] = json.loads(out.strip().splitlines()[-1])
            rows.append(dict(model=model, what=f"{what}()", import_s=times["warm"]["import"],
                             cold=times["cold"]["call"], warm=times["warm"]["call"]))
        with tempfile.TemporaryDirectory() as out_dir:
            argv = [sys.executable, "-m", "overparam_theory.cli", "theory", model, "--out", out_dir]
            with tempfile.TemporaryDirectory() as cli_cache:
                cold, _ = _run(argv, cli_cache)
                warm, _ = _run(argv, cli_cache)
        rows.append(dict(model=model, what="CLI theory (process)", import_s=float("nan"), cold=cold, warm=warm))
    return rows


def format_table(rows) -> str:
    lines = ["| model | call | import (s) | cold (s) | warm (s) | cold / warm |", "|---|---|---:|---:|---:|---:|"]
    for r in rows:
        imp = "" if r["import_s"] != r["import_s"] else f"{r['import_s']:.2f}"
        lines.append(f"| {r['model']} | {r['what']} | {imp} | {r['cold']:.2f} | {r['warm']:.2f} | "
                     f"{r['cold'] / r['warm']:.1f}x |")
    return "\n".join(lines)


def main(argv=None):
    import overparam_theory as ot

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=list(ot.SPECS), choices=list(ot.SPECS))
    parser.add_argument("--markdown", help="also write the table to this file")
    args = parser.parse_args(argv)
    rows = []
    for model in args.models:
        rows += measure(model)
        print(format_table(rows[-3:]).split("\n", 2)[2], flush=True)
    text = format_table(rows)
    print("\n" + text)
    if args.markdown:
        with open(args.markdown, "w") as fh:
            fh.write(text + "\n")
    return rows, text


if __name__ == "__main__":
    main()
