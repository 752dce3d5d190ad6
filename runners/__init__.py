"""Runtime adapters: one module per runtime, found through `registry()`."""
from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib.metadata import entry_points

from .protocol import Runner

ENTRY_POINT_GROUP = "keel_conformance.runners"

# Built-in runners; out-of-tree ones register under ENTRY_POINT_GROUP.
BUILTIN: dict[str, str] = {
    "wasmtime": "runners.wasmtime_py:create",
}


def _load(target: str) -> Callable[[], Runner]:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]


def registry() -> dict[str, Callable[[], Runner]]:
    """Runtime name -> factory, built-ins first, then entry points in name order."""
    found: dict[str, Callable[[], Runner]] = {name: (lambda t=t: _load(t)()) for name, t in BUILTIN.items()}
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        found.setdefault(ep.name, lambda ep=ep: ep.load()())
    return found
