"""Lazy public attributes: a package's declarations load without JAX, its implementations at first use.

Importing ``overparam_theory`` (or running ``overparam-theory --help``) needs the model
declarations (:mod:`overparam_theory._spec`: parameters, fields, references) but none of the JAX
programs; importing JAX alone takes about a second.  A package therefore names its public
attributes in an ``if TYPE_CHECKING:`` block of ``from .module import name as name`` statements,
and :func:`attach` reads that block from the package's own source and imports ``.module`` when
``name`` is first used.  Type checkers and editors read the same block, so one list serves both
(the pattern of Scientific Python SPEC 1, ``lazy_loader.attach_stub``, without a separate stub
file).
"""

from __future__ import annotations

import ast
import importlib
import sys
import types

# package -> {name: attribute} of public names that are attributes of a same-named submodule
# (``from .compare import compare as compare``)
_SHADOWED: dict[str, dict[str, str]] = {}


class _LazyPackage(types.ModuleType):
    """A package whose public name can be shadowed by its own submodule: the import system binds
    ``package.compare`` to the *module* ``package.compare`` once something imports it (e.g.
    ``from overparam_theory.compare import z_scores``), and a later
    ``from overparam_theory import compare`` would get the module instead of the function.  The
    function wins, as it did with an eager ``from .compare import compare`` in ``__init__``."""

    def __setattr__(self, name, value):
        attribute = _SHADOWED.get(self.__name__, {}).get(name)
        if attribute is not None and isinstance(value, types.ModuleType) and value.__name__ == f"{self.__name__}.{name}":
            value = getattr(value, attribute)
        super().__setattr__(name, value)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def lazy_names(package: str) -> dict:
    """``name -> (module, attribute)`` from the ``if TYPE_CHECKING:`` imports of ``package``'s
    ``__init__`` (``attribute`` is ``None`` for ``from . import submodule``)."""
    module = sys.modules[package]
    source = module.__loader__.get_source(package)
    if source is None:
        raise ImportError(f"{package}: its source is needed for the lazy public names (installed without .py files?)")
    names = {}
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.If) and _is_type_checking(node.test)):
            continue
        for statement in node.body:
            if not isinstance(statement, ast.ImportFrom):
                raise ImportError(f"{package}: only 'from ... import ...' belongs in the TYPE_CHECKING block")
            origin = "." * statement.level + (statement.module or "")
            for alias in statement.names:
                if origin.strip("."):
                    names[alias.asname or alias.name] = (origin, alias.name)
                else:  # from . import submodule
                    names[alias.asname or alias.name] = (origin + alias.name, None)
    return names


def attach(package: str):
    """``(__getattr__, __dir__, names)`` for ``package`` (call it at the end of its ``__init__``)."""
    names = lazy_names(package)
    _SHADOWED[package] = {
        name: attribute for name, (origin, attribute) in names.items() if attribute is not None and origin == "." + name
    }
    if _SHADOWED[package]:
        sys.modules[package].__class__ = _LazyPackage

    def __getattr__(name: str):
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        origin, attribute = names[name]
        module = importlib.import_module(origin, package)
        if attribute is None:
            value = module
        elif hasattr(module, attribute):
            value = getattr(module, attribute)
        else:  # from .package import submodule
            value = importlib.import_module(f"{module.__name__}.{attribute}")
        setattr(sys.modules[package], name, value)  # later lookups are plain attribute reads
        return value

    def __dir__():
        return sorted(set(vars(sys.modules[package])) | set(names))

    return __getattr__, __dir__, tuple(names)
