"""Shared pytest configuration.

Slow statistical checks (finite-size scaling, large-d Monte Carlo) are marked ``slow`` and run
only with ``--runslow``; the default run is the fast CI subset.  Hypothesis runs
deterministically (as in JAX's own test-suite) with no deadline, because first calls compile.
"""

import gc
import os
import sys

import pytest
from hypothesis import HealthCheck, settings

# The persistent compilation cache is off in the suite, so that tests neither read nor write the
# developer's per-user cache (results and timings independent of its state) and skip the writes
# (3-10% of a compile-heavy test's time, measured on three contract tests: 34 s -> 37 s), which
# a fresh CI machine never reuses.  tests/test_cache.py checks the default-on behaviour in fresh
# processes.  Set OVERPARAM_THEORY_CACHE to a directory to run the suite with a cache.
os.environ.setdefault("OVERPARAM_THEORY_CACHE", "0")

# The suite's CPU time is mostly XLA compilation of small programs that then run briefly, and
# LLVM's optimisation passes are most of that compile.  Level 1 runs fewer of them (measured on
# the rf and glm theory-vs-simulation checks: 66 -> 53 s CPU; level 0: 73 s, its linear algebra
# runs slower).  Code generation changes (rounding may differ), not the mathematics: every
# tolerance holds as before.  OVERPARAM_THEORY_TEST_XLA_OPT=default keeps XLA's own level (to
# time the programs users get).  Applied only before JAX is imported.
if os.environ.get("OVERPARAM_THEORY_TEST_XLA_OPT", "0") != "default" and "jax" not in sys.modules:
    _flag = "--xla_backend_optimization_level=1"
    if _flag.split("=")[0] not in os.environ.get("XLA_FLAGS", ""):
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + _flag).strip()

settings.register_profile(
    "deterministic",
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("deterministic")


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="run slow statistical tests")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: slow statistical test")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip_slow = pytest.mark.skip(reason="slow statistical check: pass --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
    """Free each test file's compiled programs when the file is done.

    A worker runs whole files (``--dist loadfile``); tests within a file share their compiled
    programs, but nothing is shared across files except by the process-wide caches, which held
    thousands of executables by the end of the suite (5.9 GB peak per worker, measured).  Clearing
    JAX's caches and the library's jit cache after each file bounds the peak by the largest file.
    """
    yield
    import jax

    from overparam_theory.numerics.grid import compiled

    compiled.cache_clear()
    jax.clear_caches()
    gc.collect()
    _return_free_heap_to_the_system()


def _return_free_heap_to_the_system():
    """glibc keeps freed heap pages mapped; ``malloc_trim`` hands them back (measured: a worker's
    resident memory after clearing the caches went from 394 MB to 237 MB).  No-op elsewhere."""
    import ctypes
    import ctypes.util

    libc = ctypes.util.find_library("c")
    if libc is None:
        return
    try:
        ctypes.CDLL(libc).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (musl, macOS)
        pass
