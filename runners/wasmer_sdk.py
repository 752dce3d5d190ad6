"""wasmer, through the wasmer-sdk package: a live capability probe, never a made-up pass.

wasmer-sdk 0.5 runs WASI p1 command modules and refuses components. Every
cell loads its guest into wasmer and carries wasmer's own answer: today that
is the refusal, verbatim, so component cells are `n/a` in wasmer's words. If a
later wasmer loads the component, the cell says so instead — the SDK still has
no way to call a component's exports, which the reason then states — so the
column changes with no code change here, and cannot claim a pass it did not run.
(PyPI's `wasmer` 1.1 has no build for Python >= 3.11; its import says so.)

WASI p1 bridge guests (runners/_bridge.py) are what wasmer-sdk can run: each
instance is a command spawned in a fresh sandbox with piped stdin and stdout,
in a worker process of its own (runners/_wasmer_worker.py), because killing
that process is the only way to stop a module wasmer-sdk 0.5 has been told to
stop. The limits met on the way are the probe's `notes`.
"""
from __future__ import annotations

import asyncio
import importlib.metadata
import sys
from collections.abc import Mapping
from typing import Any

from keel_conformance.outcomes import NotApplicable
from keel_conformance.paths import cache_dir

from ._p1_process import p1_instance
from ._process import LocalProcess
from .protocol import GuestBuild, Limits, Probe

WORKER = "runners._wasmer_worker"
NOTES = (
    "components: wasmer-sdk loads packages and runs WASI/WASIX commands only; each component cell carries "
    "wasmer's own refusal",
    "p1 bridge: kill(), terminate() and spawn's own timeout report a looping module's process as ended, but the "
    "module keeps running on a wasmer thread (a core stays busy) and the host process crashes at exit; each "
    "instance therefore runs in a worker process the suite kills at the call deadline",
    "p1 bridge: stdin must be spawned as 'pipe' (default 'closed'); stdout is an async iterator of chunks",
    "p1 bridge: modules load as bytes (a path is read as a WEBC archive, a str as a registry name)",
    "p1 bridge: every command sees a virtual root filesystem (/bin/main, /bin/wasmer, /dev/*, empty /etc /tmp "
    "/workspace); nothing of the host is in it, and the environment is empty",
    "p1 bridge: output_bytes (16 MiB) caps captured output only: piped stdout is not capped (24 MiB through one "
    "process seen)",
    "p1 bridge: a trap surfaces from wait() as WasmerError EXECUTION_ERROR; wasmer also prints the wasm "
    "backtrace on the host's stdout or stderr (the worker sends both to its stderr)",
)


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
        return Probe(self.name, True, version=f"wasmer-sdk {version}", origin="PyPI wasmer-sdk (components probed in process; p1 modules in a worker process)",
                     capabilities=frozenset({"wasi-p1", "call-deadline", "separate-process"}), notes=NOTES)

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
        if guest.abi != "wasi-p1-bridge":
            raise NotApplicable(self.answer(guest))
        return p1_instance(lambda: LocalProcess([sys.executable, "-m", WORKER, str(guest.path)], on_stdio=True),
                           guest, backends, limits)

    def close(self) -> None:
        self._answers.clear()


RUNTIMES = {"wasmer": WasmerRunner}
