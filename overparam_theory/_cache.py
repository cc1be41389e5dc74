"""The persistent compilation cache: compile each program once per machine, not once per process.

Every theory curve and simulator is a JAX program; its first call in a process is mostly XLA
compilation.  JAX can keep compiled executables on disk (its *persistent compilation cache*) and
load them in later processes.  ``import overparam_theory`` turns that cache on, in a per-user
directory (:func:`default_cache_dir`), before the first program compiles, unless

- the environment variable ``OVERPARAM_THEORY_CACHE`` is ``0``, ``off``, ``false`` or ``no``
  (set it to a directory to use that one instead), or
- JAX's own ``jax_compilation_cache_dir`` is already set (the user's choice is kept).

:func:`enable_compilation_cache` and :func:`disable_compilation_cache` change it at run time.
Entries are keyed by JAX itself on the program, the compile options, the backend and device
kind, and the jax/jaxlib versions, so a stale or foreign entry is never loaded; the directory is
bounded (least recently used entries are evicted past ``max_size_bytes``).  The setting is JAX's
process-wide one: programs of other libraries compiled in the same process use it too.

``import overparam_theory`` does not import JAX (the command line's ``--help`` and the model
declarations need none of it): when JAX is not imported yet, the setting is applied right after
JAX's own import completes, whoever imports it (:class:`_AfterImport`).
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import pathlib
import sys
import warnings

ENV = "OVERPARAM_THEORY_CACHE"
"""Environment variable: ``0``/``off``/``false``/``no`` to opt out, or a cache directory."""

_OFF = {"0", "off", "false", "no"}
_DEFAULT_MAX_SIZE = 2**30  # bytes


def default_cache_dir() -> pathlib.Path:
    """The per-user cache directory of the platform, ``.../overparam_theory/jax``: Linux
    ``$XDG_CACHE_HOME`` or ``~/.cache``, macOS ``~/Library/Caches``, Windows ``%LOCALAPPDATA%``."""
    home = pathlib.Path.home()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local"
    elif sys.platform == "darwin":
        base = home / "Library" / "Caches"
    else:
        base = os.environ.get("XDG_CACHE_HOME") or home / ".cache"
    return pathlib.Path(base) / "overparam_theory" / "jax"


def enable_compilation_cache(
    path: str | os.PathLike | None = None,
    *,
    max_size_bytes: int = _DEFAULT_MAX_SIZE,
    min_compile_time_secs: float = 0.0,
) -> pathlib.Path:
    """Keep compiled programs in ``path`` (default :func:`default_cache_dir`) and reuse them in
    later processes.

    Args:
        path: the cache directory (created if missing).
        max_size_bytes: bound on the directory; least recently used entries are evicted.
        min_compile_time_secs: programs that compile faster than this are not stored (0: all of
            them; the library's first-call latency is the sum of many sub-second compiles).

    Returns:
        The directory in use.  ``OSError`` if it cannot be created.
    """
    if not isinstance(max_size_bytes, int) or isinstance(max_size_bytes, bool) or max_size_bytes < 1:
        raise ValueError(f"max_size_bytes must be a positive integer, got {max_size_bytes!r}")
    if isinstance(min_compile_time_secs, bool) or not isinstance(min_compile_time_secs, (int, float)) or not (
        min_compile_time_secs >= 0
    ):
        raise ValueError(f"min_compile_time_secs must be >= 0, got {min_compile_time_secs!r}")
    directory = pathlib.Path(path if path is not None else default_cache_dir()).expanduser().resolve()
    directory.mkdir(parents=True, exist_ok=True)
    import jax
    from jax.experimental.compilation_cache import compilation_cache as _jax_cache

    jax.config.update("jax_compilation_cache_dir", str(directory))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", float(min_compile_time_secs))
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    jax.config.update("jax_compilation_cache_max_size", int(max_size_bytes))
    jax.config.update("jax_enable_compilation_cache", True)
    _jax_cache.reset_cache()  # a new directory takes effect even after earlier compiles
    return directory


def disable_compilation_cache() -> None:
    """Stop reading and writing the persistent cache in this process (the files stay)."""
    import jax
    from jax.experimental.compilation_cache import compilation_cache as _jax_cache

    _AfterImport.cancel()
    jax.config.update("jax_enable_compilation_cache", False)
    _jax_cache.reset_cache()


def compilation_cache_dir() -> pathlib.Path | None:
    """The cache directory in use, or ``None`` when the persistent cache is off."""
    import jax

    directory = jax.config.values.get("jax_compilation_cache_dir")
    if not directory or not jax.config.values.get("jax_enable_compilation_cache", True):
        return None
    return pathlib.Path(directory)


def enable_by_default() -> None:
    """What ``import overparam_theory`` does (module docstring): configure the cache now if JAX
    is imported, else right after its import."""
    if "jax" in sys.modules:
        _enable_default()
    else:
        _AfterImport.schedule("jax", _enable_default)


def _enable_default() -> pathlib.Path | None:
    """The default setting; a directory that cannot be created leaves the cache off with a
    warning."""
    import jax

    setting = os.environ.get(ENV, "").strip()
    if setting.lower() in _OFF:
        return None
    if not setting and jax.config.values.get("jax_compilation_cache_dir"):
        return None
    try:
        return enable_compilation_cache(setting or None)
    except OSError as exc:
        warnings.warn(
            f"overparam_theory: persistent compilation cache left off ({exc}); set {ENV} to a writable "
            f"directory, or to 0 to silence this",
            RuntimeWarning,
            stacklevel=3,
        )
        return None


class _AfterImport(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """A one-shot import hook: run ``callback`` right after module ``name`` is first imported.

    It finds the module's spec with the remaining finders and wraps its loader, so the module
    loads exactly as it would have; the hook removes itself at the first lookup.  A failing
    callback warns and never breaks the import.
    """

    def __init__(self, name, callback, loader=None):
        self.name, self.callback, self.loader = name, callback, loader

    @classmethod
    def schedule(cls, name, callback) -> None:
        cls.cancel()
        sys.meta_path.insert(0, cls(name, callback))

    @classmethod
    def cancel(cls) -> None:
        sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, cls)]

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.name:
            return None
        self.cancel()
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = type(self)(self.name, self.callback, spec.loader)
        return spec

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = module.__spec__.loader = self.loader  # as if the hook had not been there
        self.loader.exec_module(module)
        try:
            self.callback()
        except Exception as exc:  # a cache problem must never break `import jax`
            warnings.warn(f"overparam_theory: persistent compilation cache left off ({exc!r})", RuntimeWarning,
                          stacklevel=2)
