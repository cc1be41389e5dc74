#!/usr/bin/env python
"""First-call latency: every model's ``theory`` and ``simulate`` and every ``overparam-theory
theory MODEL`` command in a fresh process, with an empty persistent compilation cache (cold) and
again with the cache the cold run filled (warm).

    python benchmarks/latency.py                   # all models (~5 min on 2 CPU cores)
    python benchmarks/latency.py --models ridge glm
    python benchmarks/latency.py --markdown out.md

Each function is called at its spec's smoke parameters (``spec.smoke``; simulate at
``spec.smoke_dim`` with 2 seeds), each command with its command-line defaults; amp's theory also
with its largest rules (``EXTRA_THEORY``: relu and abs with noise).  The last row is the README's
main job (``overparam-theory compare ridge ...``, whole process, without the install).
``import`` (``overparam_theory`` and JAX, which the package itself imports only at first use) is
timed separately (it is the same for every call).  The ratio is cold / warm.
Nothing is asserted; the numbers are this machine's.
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
import jax  # imported by the first call anyway: timed with the import, not the call
t1 = time.perf_counter()
spec = ot.SPECS[sys.argv[1]]
extra = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
if sys.argv[2] == "theory":
    spec.theory(**{**spec.smoke, **extra})
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


# Theory calls measured besides the smoke parameters: the channels whose rules are the largest.
EXTRA_THEORY = {"amp": [{"channel": "relu", "noise": 0.1}, {"channel": "abs", "noise": 0.1}]}

# The README's main job (whole process, install excluded).
MAIN_JOB = ["compare", "ridge", "--ridge", "1e-3", "--noise", "0.25"]


def _call_row(model, what, cache, extra=None):
    times = {}
    for state in ("cold", "warm"):
        argv = [sys.executable, "-c", _CALL, model, what] + ([json.dumps(extra)] if extra else [])
        _, out = _run(argv, cache)
        times[state] = json.loads(out.strip().splitlines()[-1])
    label = f"{what}(" + ", ".join(f"{k}={v!r}" for k, v in (extra or {}).items()) + ")"
    return dict(model=model, what=label, import_s=times["warm"]["import"], cold=times["cold"]["call"],
                warm=times["warm"]["call"])


def main_job() -> dict:
    """The README's main job (``overparam-theory compare ridge ...``), cold and warm."""
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as out_dir:
        argv = [sys.executable, "-m", "overparam_theory.cli", *MAIN_JOB, "--out", out_dir]
        cold, _ = _run(argv, cache)
        warm, _ = _run(argv, cache)
    return dict(model="ridge", what="README main job: " + " ".join(MAIN_JOB) + " (process)", import_s=float("nan"),
                cold=cold, warm=warm)


def measure(model: str) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        for what in ("theory", "simulate"):
            rows.append(_call_row(model, what, cache))
    for extra in EXTRA_THEORY.get(model, []):
        with tempfile.TemporaryDirectory() as cache:
            rows.append(_call_row(model, "theory", cache, extra))
    with tempfile.TemporaryDirectory() as out_dir, tempfile.TemporaryDirectory() as cli_cache:
        argv = [sys.executable, "-m", "overparam_theory.cli", "theory", model, "--out", out_dir]
        cold, _ = _run(argv, cli_cache)
        warm, _ = _run(argv, cli_cache)
        rows.append(dict(model=model, what="CLI theory (process)", import_s=float("nan"), cold=cold, warm=warm))
    return rows


def format_table(rows) -> str:
    lines = ["| model | call | import incl. JAX (s) | cold (s) | warm (s) | cold / warm |", "|---|---|---:|---:|---:|---:|"]
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
    parser.add_argument("--no-main-job", action="store_true", help="leave out the README's main job")
    args = parser.parse_args(argv)
    rows = []
    for model in args.models:
        new = measure(model)
        rows += new
        print(format_table(new).split("\n", 2)[2], flush=True)
    if not args.no_main_job:
        rows.append(main_job())
        print(format_table(rows[-1:]).split("\n", 2)[2], flush=True)
    text = format_table(rows)
    print("\n" + text)
    if args.markdown:
        with open(args.markdown, "w") as fh:
            fh.write(text + "\n")
    return rows, text


if __name__ == "__main__":
    main()
