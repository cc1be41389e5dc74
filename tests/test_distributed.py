"""Multi-process simulations (``overparam_theory.distributed``, ``docs/distributed.md``).

Two local CPU processes joined by ``jax.distributed`` (a free port from the OS; every process
runs under a timeout and is killed if the run fails) simulate ridge regression with their halves
of the seeds; both must return, bit for bit, what one distributed process returns with the same
seed.  No process is pinned: each may use the same cores as the reference process (XLA's thread
count enters the rounding, ``docs/distributed.md``).
"""

import json
import os
import socket
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from overparam_theory import ridge

TIMEOUT = 240  # seconds for a whole launch (start-up and compilation included)

WORKER = textwrap.dedent(
    """
    import io, json, sys, time
    import numpy as np
    port, count, index, out, dim, n_seeds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
    from overparam_theory import distributed, ridge
    distributed.initialize(f"127.0.0.1:{port}", count, index, initialization_timeout=60)
    import jax
    from overparam_theory import _montecarlo
    kw = dict(alpha=[0.5, 1.5, 2.5], ridge=0.1, noise=0.3, dim=dim, n_seeds=n_seeds, seed=3)
    walls = []
    for _ in range(2):  # the second call reuses the compiled programs
        start = time.perf_counter()
        sim = ridge.simulate(**kw)
        walls.append(time.perf_counter() - start)
    result = {f + "." + part: getattr(getattr(sim, f), part).tolist() for f in ridge.FIELDS for part in ("mean", "stderr")}
    result.update(n_seeds=sim.excess_risk.n_seeds, processes=jax.process_count(), walls=walls)
    errors = {}
    for name, bad in (("n_seeds", dict(kw, n_seeds=2 * count + 1)), ("devices", dict(kw, devices=jax.devices()))):
        if count == 1:
            break
        try:
            ridge.simulate(**bad)
        except ValueError as exc:
            errors[name] = str(exc)
    result["errors"] = errors

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    sys.stderr = Terminal()
    result["bar_drawn"] = not _montecarlo.Progress(1, "x", True).bar.disable
    sys.stderr = sys.__stderr__
    with open(out, "w") as f:
        json.dump(result, f)
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(tmp_path, runs, dim, n_seeds):
    """Start ``runs`` (a list of process counts) at once, each a ``jax.distributed`` run of that
    many local processes; returns ``{(count, index): result}`` and the launch's wall time."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.getcwd()] + sys.path), JAX_PLATFORMS="cpu")
    procs = {}
    start = time.perf_counter()
    try:
        for count in runs:
            port = _free_port()
            for index in range(count):
                out = tmp_path / f"run{count}_{index}.json"
                args = [sys.executable, "-c", WORKER, str(port), str(count), str(index), str(out), str(dim), str(n_seeds)]
                procs[count, index] = (subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True), out)
        deadline = time.monotonic() + TIMEOUT
        logs = {}
        for key, (proc, _) in procs.items():
            logs[key] = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))[0]
        wall = time.perf_counter() - start
        for key, (proc, _) in procs.items():
            assert proc.returncode == 0, f"process {key} failed:\n{logs[key][-3000:]}"
        return {key: json.loads(out.read_text()) for key, (_, out) in procs.items()}, wall
    finally:
        for proc, _ in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def small_runs(tmp_path_factory):
    """A 2-process and a 1-process run (started together): d = 40, 8 seeds, 3 points."""
    results, _ = _launch(tmp_path_factory.mktemp("distributed"), [2, 1], dim=40, n_seeds=8)
    return results


def _fields(result):
    return {k: np.array(v) for k, v in result.items() if "." in k}


def test_two_processes_equal_one_process_bit_for_bit(small_runs):
    one = _fields(small_runs[1, 0])
    for index in (0, 1):
        two = small_runs[2, index]
        assert two["processes"] == 2 and two["n_seeds"] == 8
        fields = _fields(two)
        assert fields.keys() == one.keys() and len(fields) == 2 * len(ridge.FIELDS)
        for name, value in fields.items():
            assert np.array_equal(value, one[name]), (index, name, value - one[name])


def test_distributed_run_agrees_with_a_plain_run(small_runs):
    """Outside ``jax.distributed`` the seeds are vmapped: the same numbers up to the last bits."""
    plain = ridge.simulate(alpha=[0.5, 1.5, 2.5], ridge=0.1, noise=0.3, dim=40, n_seeds=8, seed=3)
    for name, value in _fields(small_runs[2, 0]).items():
        field, part = name.split(".")
        np.testing.assert_allclose(value, getattr(getattr(plain, field), part), rtol=1e-12, err_msg=name)


def test_distributed_bad_input(small_runs):
    errors = small_runs[2, 0]["errors"]
    assert errors.get("n_seeds", "").startswith("n_seeds (5) must be a multiple of the number of processes (2)"), errors
    assert errors.get("devices", "").startswith("devices must be this process's own devices"), errors


def test_progress_bar_on_process_zero_only(small_runs):
    assert small_runs[2, 0]["bar_drawn"] and not small_runs[2, 1]["bar_drawn"]


def test_initialize_bad_input():
    from overparam_theory import distributed

    with pytest.raises(ValueError, match="process_id must be < num_processes"):
        distributed.initialize("127.0.0.1:1234", 2, 2)
    with pytest.raises(ValueError, match="num_processes"):
        distributed.initialize("127.0.0.1:1234", 0, 0)
    with pytest.raises(ValueError, match="coordinator_address"):
        distributed.initialize("localhost", 2, 0)
    with pytest.raises(ValueError, match="cpu_collectives"):
        distributed.initialize("127.0.0.1:1234", 2, 0, cpu_collectives="nccl")


def test_import_stays_free_of_jax():
    code = "import sys, overparam_theory; overparam_theory.distributed; print('jax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, PYTHONPATH=os.pathsep.join([os.getcwd()] + sys.path)))
    assert out.stdout.strip() == "False", out.stderr[-2000:]


@pytest.mark.slow
def test_two_processes_larger_run(tmp_path):
    """d = 400, 32 seeds: bit for bit again; prints the wall times (run with -s)."""
    results, _ = _launch(tmp_path, [1], dim=400, n_seeds=32)
    two, _ = _launch(tmp_path, [2], dim=400, n_seeds=32)
    for index in (0, 1):
        for name, value in _fields(two[2, index]).items():
            assert np.array_equal(value, _fields(results[1, 0])[name]), name
    print(f"\nridge.simulate d=400, 32 seeds, 3 points: 1 process {results[1, 0]['walls']} s, "
          f"2 processes {two[2, 0]['walls']} s (first call compiles)")
