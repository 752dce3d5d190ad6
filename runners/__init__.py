"""Runtime adapters: one module per runtime, found through `registry()`.

A runner module exposes `RUNTIMES`, a map from column name to a factory; one
module may serve several columns of one runtime family (jco: one per
JavaScript engine build).
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib.metadata import entry_points

from .protocol import Runner

ENTRY_POINT_GROUP = "keel_conformance.runners"

# Built-in runner modules; out-of-tree runners register a factory under ENTRY_POINT_GROUP.
BUILTIN_MODULES = ("runners.wasmtime_py", "runners.jco", "runners.jco_docker", "runners.browser", "runners.wasmer_sdk")


def registry() -> dict[str, Callable[[], Runner]]:
    """Column name -> factory: built-ins first, then entry points in name order."""
    found: dict[str, Callable[[], Runner]] = {}
    for module in BUILTIN_MODULES:
        found.update(importlib.import_module(module).RUNTIMES)
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        found.setdefault(ep.name, lambda ep=ep: ep.load()())
    return found
