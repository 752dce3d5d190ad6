"""The p1 bridge tier on JavaScript engines: a bridge module under the engine's own `node:wasi`.

One engine process (or container) per instance runs runners/js/p1-host.mjs,
which hands the suite's channel to the module as its stdin and stdout.
"""
from __future__ import annotations

import os
import select
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from keel_conformance.component_types import guest_types
from keel_conformance.outcomes import GuestTimeout, GuestTrap, NotApplicable, RuntimeCrash

from ._bridge import BridgeInstance, FrameReader, ProtocolError, bridge_imports
from .protocol import GuestBuild, Limits

if TYPE_CHECKING:
    from .jco import JcoRunner, Launched

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
        return RuntimeCrash(f"the engine died under the module: {death}")

    def kill(self) -> None:
        self.launched.kill()


def instantiate_p1(runner: JcoRunner, guest: GuestBuild, backends: Mapping[str, Any], limits: Limits) -> BridgeInstance:
    types = guest_types(guest)
    exports = types.export_named(guest.export)
    if exports is None:
        raise NotApplicable(f"{guest.name}'s world does not export {guest.export}")
    imports = bridge_imports(types, guest.name, backends)
    launched, _ = runner.launch(guest.path, "p1-host.mjs", p1=True)
    pipe = LaunchedPipe(launched)
    try:
        first = FrameReader(pipe).next(time.monotonic() + START_TIMEOUT_S)
        tag = first.take(1) if first is not None else b""
        said = first.string() if first is not None else ""
    except TimeoutError:
        pipe.kill()
        raise GuestTimeout(f"the engine did not start the module within {START_TIMEOUT_S:g} s") from None
    except ProtocolError as e:
        pipe.kill()
        raise RuntimeCrash(f"p1-host.mjs wrote something other than its start frame: {e}") from None
    if tag != b"S":
        reason = said if tag == b"N" else launched.death()
        pipe.kill()
        raise NotApplicable(f"the engine cannot run the p1 module: {reason}")
    return BridgeInstance(pipe, exports, imports, backends, limits)
