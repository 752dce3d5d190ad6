"""A p1 bridge module in a process (or container) of its own, one per instance.

A loader in that process — runners/js/p1-host.mjs under a JavaScript
engine's node:wasi, runners/_wasmer_worker.py under wasmer-sdk — hands the
suite's channel to the module as its stdin and stdout. Before the module
starts it writes one frame: `S` + what runs it, or `N` + why it cannot. A
trap is its stderr line `keel-p1: trap: <message>`. Killing the process is
what stops a module that does not stop itself.
"""
from __future__ import annotations

import os
import select
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from keel_conformance.outcomes import GuestTimeout, GuestTrap, NotApplicable, RuntimeCrash

from ._bridge import BridgeInstance, FrameReader, ProtocolError, bridge_world
from .protocol import GuestBuild, Limits

if TYPE_CHECKING:
    from ._process import Launched

START_TIMEOUT_S = 60.0
TRAP = "keel-p1: trap: "


class LaunchedPipe:
    """A launched engine's channel as the module's stdio."""

    def __init__(self, launched: Launched) -> None:
        self.launched = launched

    def write(self, data: bytes) -> None:
        while data:
            data = data[os.write(self.launched.wfd, data):]

    def read(self, deadline: float) -> bytes:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            if select.select([self.launched.rfd], [], [], min(left, 0.25))[0]:
                return os.read(self.launched.rfd, 1 << 16)
            if not self.launched.alive():  # a container's FIFO never reports the end itself
                return b""

    def ended(self) -> Exception:
        death = self.launched.death()
        if TRAP in death:
            return GuestTrap(death.split(TRAP, 1)[1])
        if death.startswith("exit "):
            return GuestTrap(f"the module ended before answering ({death})")
        return RuntimeCrash(f"the process hosting the module died: {death}")

    def kill(self) -> None:
        self.launched.kill()

    def sigkill(self) -> None:
        self.launched.sigkill()


def p1_instance(launched: Launched, guest: GuestBuild, backends: Mapping[str, Any], limits: Limits) -> BridgeInstance:
    """The instance, once the loader has said the module started; the process is stopped otherwise."""
    pipe = LaunchedPipe(launched)
    try:
        exports, imports = bridge_world(guest, backends)
    except Exception:
        pipe.kill()
        raise
    try:
        first = FrameReader(pipe).next(time.monotonic() + START_TIMEOUT_S)
        tag = first.take(1) if first is not None else b""
        said = first.string() if first is not None else ""
    except TimeoutError:
        pipe.kill()
        raise GuestTimeout(f"the module did not start within {START_TIMEOUT_S:g} s") from None
    except ProtocolError as e:
        pipe.kill()
        raise RuntimeCrash(f"the loader wrote something other than its start frame: {e}") from None
    if tag != b"S":
        reason = said if tag == b"N" else launched.death()
        pipe.kill()
        raise NotApplicable(f"cannot run the p1 module: {reason}")
    return BridgeInstance(pipe, exports, imports, backends, limits)
