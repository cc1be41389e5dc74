"""Exported programs on disk: a warm first call skips Python tracing and lowering, not only XLA.

JAX's persistent compilation cache (:mod:`overparam_theory._cache`) keeps the *compiled*
executable of a program, but a new process still traces the model's Python code to a jaxpr and
lowers it to StableHLO before it can look the executable up; for the fixed-point solvers that is
most of a warm first call (glm: ~1 s of tracing and lowering against ~0.1 s of loading).  This
module keeps the lowered program too: the first evaluation of a grid kernel in a given
configuration is exported (``jax.export``: StableHLO plus the input and output structure) and
serialised next to the compilation cache; later processes deserialise it and call it, so the
model's Python code is not traced again and XLA's executable comes from the compilation cache.

A program is stored under a SHA-256 key of everything that determines it: the library's own
source (every ``.py`` file of the installed package), the jax/jaxlib versions, the backend, the
``XLA_FLAGS`` environment variable, the 64-bit mode, the kernel's module and qualified name, its
static arguments (values with a stable text form: numbers, strings, tuples, the built-in losses,
frozen dataclasses of such values like the solver settings) and compiler options, and the shape,
dtype and weak type of every argument.  A kernel that captures variables (a closure) or has a
static argument without a stable text form (a custom loss) is never exported: it is traced as
before.  Any failure to export, read, deserialise or call falls back to the traced program (and
the key is not tried again in the process).  Traced calls (gradients, ``jit``/``vmap`` through a
public function) never use this cache.

The cache is on exactly when the persistent compilation cache is
(:func:`overparam_theory.disable_compilation_cache` or ``OVERPARAM_THEORY_CACHE=0`` turn both
off), in its ``exported/`` subdirectory, bounded to :data:`MAX_ENTRIES` files (oldest evicted).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import os
import pathlib
import pickle
import tempfile

import jax
import jaxlib
import numpy as np

__all__ = ["program", "MAX_ENTRIES"]

MAX_ENTRIES = 2000
"""Most exported programs kept on disk (each ~10-200 kB); the oldest are removed beyond it."""

_FORMAT = 1  # bump when the stored layout changes
_PROCESS: dict = {}  # key -> (jitted call of the exported program, output treedef)
STATS = {"exported": 0, "loaded": 0}  # programs exported / read from disk in this process
_FAILED: set = set()  # keys whose export failed in this process


@functools.lru_cache(maxsize=1)
def _source_digest() -> str:
    """SHA-256 of the installed package's Python sources (any edit gives new keys)."""
    root = pathlib.Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _token(value):
    """A stable text form of a static argument, or ``None`` when it has none."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return f"{type(value).__name__}:{value!r}"
    if isinstance(value, tuple):
        tokens = [_token(v) for v in value]
        if any(t is None for t in tokens):
            return None
        return f"{type(value).__module__}.{type(value).__qualname__}({','.join(tokens)})"
    from .prox import LOSSES, MarginLoss

    if isinstance(value, MarginLoss):
        return f"loss:{value.name}" if LOSSES.get(value.name) is value else None
    if dataclasses.is_dataclass(value) and not isinstance(value, type) and value.__dataclass_params__.frozen:
        # solver settings (numerics.solvers): frozen, validated, primitive fields
        fields = tuple(getattr(value, f.name) for f in dataclasses.fields(value))
        inner = _token(fields)
        return None if inner is None else f"{type(value).__module__}.{type(value).__qualname__}{inner}"
    return None


def _leaf_token(leaf):
    if isinstance(leaf, (np.ndarray, np.generic, jax.Array)):
        return f"{np.dtype(leaf.dtype).str}{tuple(leaf.shape)}"
    if isinstance(leaf, (bool, int, float)):
        return f"weak-{type(leaf).__name__}"
    return None


def _key(kernel, static, options, args):
    if not inspect.isfunction(kernel) or kernel.__closure__ or "<locals>" in kernel.__qualname__:
        return None
    static_tokens = [_token(v) for _, v in static]
    leaves, treedef = jax.tree_util.tree_flatten(args)
    leaf_tokens = [_leaf_token(leaf) for leaf in leaves]
    if any(t is None for t in static_tokens + leaf_tokens):
        return None
    parts = [
        str(_FORMAT), _source_digest(), jax.__version__, jaxlib.__version__,
        jax.default_backend(), os.environ.get("XLA_FLAGS", ""), str(bool(jax.config.jax_enable_x64)),
        f"{kernel.__module__}.{kernel.__qualname__}", repr([n for n, _ in static]), repr(static_tokens),
        repr(options), str(treedef), repr(leaf_tokens),
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _directory():
    """``<compilation cache>/exported``, or ``None`` when the compilation cache is off (read from
    JAX's settings on every call: they can change at run time)."""
    return _subdirectory(jax.config.jax_compilation_cache_dir, bool(jax.config.jax_enable_compilation_cache))


@functools.lru_cache(maxsize=8)
def _subdirectory(base, enabled):
    return pathlib.Path(base) / "exported" if base and enabled else None


def _jit(exported, options):
    return jax.jit(exported.call, compiler_options=dict(options) or None)


def _load(path, options):
    from jax import export

    with open(path, "rb") as fh:
        blob, treedef = pickle.load(fh)
    return _jit(export.deserialize(bytearray(blob)), options), treedef


def _store(directory, key, exported, treedef):
    directory.mkdir(parents=True, exist_ok=True)
    payload = pickle.dumps((bytes(exported.serialize()), treedef))
    fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        os.replace(tmp, directory / f"{key}.jaxexport")
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    entries = sorted(directory.glob("*.jaxexport"), key=lambda p: p.stat().st_mtime)
    for old in entries[: max(0, len(entries) - MAX_ENTRIES)]:
        old.unlink(missing_ok=True)


def _signature(leaf):
    if isinstance(leaf, (np.ndarray, np.generic, jax.Array)):
        return (leaf.shape, leaf.dtype)
    return type(leaf)


_RESOLVED: dict = {}  # in-process signature -> disk key (the SHA-256 costs ~30 us a call)


def program(fn, kernel, static, options, args):
    """A callable ``(*args) -> pytree`` equal to ``fn`` (``jax.jit`` of ``kernel`` with ``static``
    bound): the exported program when it can be keyed and the cache is on, else ``fn``."""
    directory = _directory()
    if directory is None:
        return fn
    leaves, treedef = jax.tree_util.tree_flatten(args)
    signature = (kernel, static, options, bool(jax.config.jax_enable_x64), treedef, tuple(map(_signature, leaves)))
    try:
        key = _RESOLVED[signature]
    except KeyError:
        key = _RESOLVED[signature] = _key(kernel, static, options, args)
    except TypeError:  # an unhashable static value
        key = None
    if key is None or key in _FAILED:
        return fn
    if key not in _PROCESS:
        path = directory / f"{key}.jaxexport"
        try:
            _PROCESS[key] = _load(path, options)
            STATS["loaded"] += 1
        except Exception:  # missing, truncated or foreign: export it again
            try:
                from jax import export

                # the kernel itself, not fn: a nested jit with compiler options (committee) does not export
                bound = functools.partial(kernel, **dict(static)) if static else kernel
                out_tree = []

                def flat(*a):  # outputs as a list of leaves (NamedTuples are not serialisable)
                    leaves, tree = jax.tree_util.tree_flatten(bound(*a))
                    out_tree.append(tree)
                    return leaves

                exported = export.export(jax.jit(flat))(*args)
                _store(directory, key, exported, out_tree[0])
                _PROCESS[key] = (_jit(exported, options), out_tree[0])
                STATS["exported"] += 1
            except Exception:
                _FAILED.add(key)
                return fn
    call, treedef = _PROCESS[key]

    def run(*a):
        try:
            leaves = call(*a)
        except Exception:  # e.g. an input the stored signature refuses: the traced program decides
            _FAILED.add(key)
            _PROCESS.pop(key, None)
            return fn(*a)
        return jax.tree_util.tree_unflatten(treedef, leaves)

    return run
