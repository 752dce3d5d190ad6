"""A p1 bridge module in a process (or container) of its own, one per instance.

A loader in that process — runners/js/p1-host.mjs under a JavaScript
engine's node:wasi, runners/_wasmer_worker.py under wasmer-sdk — hands the
suite's channel to the module as its stdin and stdout. Before the module
starts it writes one frame: `S` + what runs it, or `N` + why it cannot. A
trap is its stderr line `keel-p1: trap: <message>`. Killing the process is
what stops a module that does not stop itself.
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from keel_conformance.outcomes import GuestTimeout, GuestTrap, NotApplicable, RuntimeCrash

from ._bridge import BridgeInstance, FrameReader, ProtocolError, bridge_world
from ._process import read_some, write_all
from .protocol import GuestBuild, Limits

if TYPE_CHECKING:
    from collections.abc import Callable

    from ._process import Launched

START_TIMEOUT_S = 60.0
TRAP = "keel-p1: trap: "


class LaunchedPipe:
    """A launched engine's channel as the module's stdio."""

    def __init__(self, launched: Launched) -> None:
        self.launched = launched

    def write(self, data: bytes) -> None:
        write_all(self.launched.wfd, data)

    def read(self, deadline: float) -> bytes:
        return read_some(self.launched.rfd, self.launched.alive, deadline)

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


def p1_instance(launch: Callable[[], Launched], guest: GuestBuild, backends: Mapping[str, Any],
                limits: Limits) -> BridgeInstance:
    """The instance, once the loader `launch` starts has said the module started; the process is stopped
    otherwise. The guest's world is checked before any process starts."""
    exports, imports = bridge_world(guest, backends)
    launched = launch()
    pipe = LaunchedPipe(launched)
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
