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
