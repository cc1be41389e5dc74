"""Shared pytest configuration.

Slow statistical checks (finite-size scaling, large-d Monte Carlo) are marked ``slow`` and run
only with ``--runslow``; the default run is the fast CI subset.  Hypothesis runs
deterministically (as in JAX's own test-suite) with no deadline, because first calls compile.
"""

import pytest
from hypothesis import HealthCheck, settings

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
