"""The persistent compilation cache: on by default in a per-user directory, opt-out by the
environment and at run time, reused by a second process.  Each check runs in a fresh process
(the cache is JAX's process-wide setting)."""

import json
import os
import subprocess
import sys

import pytest

import overparam_theory as ot

_PROBE = """
import json, sys, time
import jax
hits = []
jax.monitoring.register_event_listener(lambda event, **kw: hits.append(event) if event.endswith("cache_hits") else None)
import overparam_theory as ot
t = time.perf_counter()
ot.ridge.theory(alpha=[0.5, 2.0], ridge=0.1, noise=0.25)
print(json.dumps({"dir": str(ot.compilation_cache_dir()), "hits": len(hits), "seconds": time.perf_counter() - t}))
"""


def _probe(**env):
    full = {**os.environ, **env}
    for key in ("OVERPARAM_THEORY_CACHE", "JAX_COMPILATION_CACHE_DIR"):
        if key not in env:
            full.pop(key, None)
    out = subprocess.run([sys.executable, "-c", _PROBE], env=full, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1]), out.stderr


def test_a_second_process_loads_the_compiled_programs(tmp_path):
    first, _ = _probe(OVERPARAM_THEORY_CACHE=str(tmp_path))
    assert first["dir"] == str(tmp_path.resolve()) and first["hits"] == 0
    entries = set(os.listdir(tmp_path))
    assert entries
    second, _ = _probe(OVERPARAM_THEORY_CACHE=str(tmp_path))
    assert second["hits"] >= 1 and set(os.listdir(tmp_path)) == entries


def test_opt_out_and_the_users_own_jax_cache_are_respected(tmp_path):
    assert _probe(OVERPARAM_THEORY_CACHE="off")[0]["dir"] == "None"
    own = tmp_path / "own"
    assert _probe(JAX_COMPILATION_CACHE_DIR=str(own))[0]["dir"] == str(own)


def test_default_directory_follows_the_platform_convention():
    path = ot.default_cache_dir()
    assert path.parts[-2:] == ("overparam_theory", "jax")
    if sys.platform.startswith("linux"):
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        assert str(path).startswith(base)


def test_an_unwritable_directory_leaves_the_cache_off_with_a_warning(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    result, stderr = _probe(OVERPARAM_THEORY_CACHE=str(blocker / "cache"))
    assert result["dir"] == "None" and "persistent compilation cache left off" in stderr


@pytest.mark.parametrize("kwargs", [dict(max_size_bytes=0), dict(max_size_bytes=1.5), dict(min_compile_time_secs=-1.0),
                                    dict(min_compile_time_secs="fast")])
def test_bad_settings_raise_value_error_naming_them(kwargs, tmp_path):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        ot.enable_compilation_cache(tmp_path, **kwargs)


def test_the_cache_is_configured_when_jax_is_imported_after_the_package(tmp_path):
    """``import overparam_theory`` does not import JAX; the setting applies right after JAX's own
    import, whoever imports it, before the first compile."""
    probe = (
        "import sys, json\n"
        "import overparam_theory as ot\n"
        "assert 'jax' not in sys.modules\n"
        "import jax\n"
        "print(json.dumps([jax.config.values['jax_compilation_cache_dir'], type(jax.__spec__.loader).__name__]))\n"
        "ot.ridge.theory(alpha=0.5)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_DIR"}
    env["OVERPARAM_THEORY_CACHE"] = str(tmp_path)
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    directory, loader = json.loads(out.stdout.strip().splitlines()[-1])
    assert directory == str(tmp_path.resolve()) and loader != "_AfterImport" and os.listdir(tmp_path)


_EXPORT_PROBE = """
import json, sys
import numpy as np
import overparam_theory as ot
from overparam_theory.numerics import exported
r = ot.glm.theory(alpha=[0.5, 2.0], ridge=0.1, loss="logistic")
print(json.dumps({"stats": exported.STATS, "values": [np.asarray(r.m).tolist(), np.asarray(r.test_error).tolist()],
                  "status": np.asarray(r.diagnostics.status).tolist()}))
"""


def _export_probe(cache):
    env = {**os.environ, "OVERPARAM_THEORY_CACHE": cache}
    out = subprocess.run([sys.executable, "-c", _EXPORT_PROBE], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_second_process_skips_tracing_with_the_same_numbers(tmp_path):
    """The first process exports the glm program next to the compilation cache; the second loads
    it instead of tracing the model, and both give the numbers of a process without any cache,
    bit for bit.  A damaged file is re-exported, never trusted."""
    reference = _export_probe("off")
    assert reference["stats"] == {"exported": 0, "loaded": 0}
    first = _export_probe(str(tmp_path))
    assert first["stats"]["exported"] >= 1 and first["stats"]["loaded"] == 0
    second = _export_probe(str(tmp_path))
    assert second["stats"]["loaded"] >= 1 and second["stats"]["exported"] == 0
    for run in (first, second):
        assert run["values"] == reference["values"] and run["status"] == reference["status"]
    files = list((tmp_path / "exported").glob("*.jaxexport"))
    assert files
    for path in files:
        path.write_bytes(b"not a program")
    third = _export_probe(str(tmp_path))
    assert third["stats"]["exported"] >= 1 and third["values"] == reference["values"]


def _identity_kernel(x, **static):
    return x


def test_export_keys_separate_what_changes_the_program():
    import functools

    import jax.numpy as jnp
    import numpy as np

    from overparam_theory.numerics import exported
    from overparam_theory.numerics.prox import LOGISTIC, margin_loss
    from overparam_theory.numerics.solvers import FixedPoint

    kernel = _identity_kernel
    args = (np.zeros(4),)
    base = exported._key(kernel, (("loss", LOGISTIC),), (), args)
    assert base is not None
    assert exported._key(kernel, (("loss", LOGISTIC),), (), (np.zeros(8),)) != base  # shape
    assert exported._key(kernel, (("loss", LOGISTIC),), (), (np.zeros(4, np.float32),)) != base  # dtype
    assert exported._key(kernel, (("settings", FixedPoint(tol=1e-9)),), (), args) != exported._key(
        kernel, (("settings", FixedPoint(tol=1e-10)),), (), args)
    custom = margin_loss(lambda t: jnp.logaddexp(0.0, -t), name="logistic")
    assert exported._key(kernel, (("loss", custom),), (), args) is None  # no stable text form
    captured = 2.0
    assert exported._key(lambda x: captured * x, (), (), args) is None  # a closure
    assert exported._key(functools.partial(kernel, y=1), (), (), args) is None
