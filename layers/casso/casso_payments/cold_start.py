"""What a handler does at module set-up to start cold sooner (issue 13; figures in the
README's "Benchmarks" section). Each handler imports this module FIRST and calls
`set_up_done()` as the last line of its module.

Importing it pauses the cyclic garbage collector. A handler's set-up (boto3, Powertools,
its clients) allocates ~70k objects that live as long as the execution environment:
collecting while they are being made frees nothing and costs a cold start some 30-50 ms
of young-generation collections. `set_up_done()` then moves every object made so far to
the permanent generation (`gc.freeze()`) and resumes collection, so no later collection,
and in particular no full collection inside a warm invocation, walks them again.
Reference counting frees objects as usual throughout; only the cycle detector waits.
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
import sys
from types import ModuleType
from typing import Any

gc.disable()


def set_up_done() -> None:
    """The module's set-up is over: freeze what it made, resume collecting."""
    gc.freeze()
    gc.enable()


def import_skipping_package_init(module: str) -> ModuleType:
    """Import `module` without running its package's `__init__` until something needs it.

    For a package whose `__init__` imports every sibling eagerly, such as Powertools'
    `event_handler` (AppSync, Bedrock, VPC Lattice, HTTP API and Function URL resolvers, for
    a receiver that serves one REST route). `from package.module import X` would not help:
    Python always runs a package's `__init__` before loading its submodules.

    The package is registered with its search path only, its `__init__` deferred: submodules
    load and bind to it as usual, and the first time anything asks the package for a name
    that is not a submodule (`from package import Name`, `package.Name`), the `__init__`
    runs, in that same module object, so every later user sees the whole package and shares
    the submodules already loaded. If the package is already imported, this is a plain import.
    """
    package, _, _ = module.rpartition(".")
    if package not in sys.modules:
        _defer_package_init(package)
    return importlib.import_module(module)


def _defer_package_init(package: str) -> None:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        raise ImportError(f"{package} is not a package")
    deferred = importlib.util.module_from_spec(spec)  # __path__, __spec__: no __init__ yet

    def __getattr__(name: str) -> Any:  # PEP 562: asked for a name the module lacks
        if importlib.util.find_spec(f"{package}.{name}") is not None:
            return importlib.import_module(f"{package}.{name}")  # a submodule: just it
        # Anything else: the package's own __init__, once, and the name from it.
        del deferred.__dict__["__getattr__"]
        spec.loader.exec_module(deferred)  # type: ignore[union-attr]
        return getattr(deferred, name)

    deferred.__getattr__ = __getattr__  # type: ignore[method-assign]
    sys.modules[package] = deferred
    parent, _, child = package.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, deferred)
