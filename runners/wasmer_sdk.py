"""wasmer, through the wasmer-sdk package: a live capability probe, never a made-up pass.

wasmer-sdk 0.5 runs WASI p1 command modules and refuses components. Every
cell loads its guest into wasmer and carries wasmer's own answer: today that
is the refusal, verbatim, so component cells are `n/a` in wasmer's words. If a
later wasmer loads the component, the cell says so instead — the SDK still has
no way to call a component's exports, which the reason then states — so the
column changes with no code change here, and cannot claim a pass it did not run.
(PyPI's `wasmer` 1.1 has no build for Python >= 3.11; its import says so.)
"""
from __future__ import annotations

import asyncio
import importlib.metadata
from collections.abc import Mapping
from typing import Any

from keel_conformance.outcomes import NotApplicable
from keel_conformance.paths import cache_dir

from .protocol import GuestBuild, Limits, Probe


def _sdk() -> Any:
    import wasmer_sdk

    return wasmer_sdk


class WasmerRunner:
    name = "wasmer"

    def __init__(self, load: Any = None) -> None:
        self._answers: dict[str, str] = {}
        self._load = load  # for tests: a stand-in for wasmer's package loading

    def probe(self) -> Probe:
        try:
            _sdk()
            version = importlib.metadata.version("wasmer-sdk")
        except ImportError as e:
            return Probe(self.name, False, reason=f"wasmer-sdk is not installed ({e}); ./dev.sh matrix installs it",
                         origin="PyPI wasmer-sdk")
        return Probe(self.name, True, version=f"wasmer-sdk {version}", origin="PyPI wasmer-sdk (in process, async API)",
                     capabilities=frozenset({"wasi-p1"}))

    def answer(self, guest: GuestBuild) -> str:
        """What wasmer says when asked to load this guest, remembered per build."""
        if guest.sha256 not in self._answers:
            self._answers[guest.sha256] = asyncio.run(self._ask(guest.path.read_bytes()))
        return self._answers[guest.sha256]

    async def _ask(self, data: bytes) -> str:
        try:
            if self._load is not None:
                await self._load(data)
            else:
                sdk = _sdk()
                await sdk.Wasmer(cache_root=str(cache_dir("wasmer"))).packages.load(data)
        except Exception as e:  # wasmer's refusal is the data this column exists to record
            return f"wasmer refused the component: {e}"
        return "wasmer loaded the component, but wasmer-sdk has no API to call a component's exports"

    def instantiate(self, guest: GuestBuild, backends: Mapping[str, Any], limits: Limits) -> Any:
        raise NotApplicable(self.answer(guest))

    def close(self) -> None:
        self._answers.clear()


RUNTIMES = {"wasmer": WasmerRunner}
