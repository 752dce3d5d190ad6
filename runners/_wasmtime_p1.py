"""wasmtime's WASI p1 path, for the p1 bridge tier: the module runs in a thread, in process.

wasmtime-py has no bytes-stdin: the module reads a pipe through
`stdin_file="/dev/fd/N"`, and writes through `stdout_custom` (the wasm call
releases the GIL). Its engine has no ticker: its epoch advances only when a
call runs out of time, so a looping module traps at its next check and a
module waiting on stdin sees it end.
"""
from __future__ import annotations

import gc
import os
import threading
from collections.abc import Mapping
from typing import Any

import wasmtime

from keel_conformance.outcomes import GuestTrap, NotApplicable, RuntimeCrash

from ._bridge import BridgeInstance, ChunkQueue, bridge_world
from ._process import close_fds, write_all
from ._wasmtime_common import epoch_engine, first_line, trap_message
from .protocol import GuestBuild, Limits

JOIN_S = 5.0


class P1Module:
    """One running command module and its stdio."""

    def __init__(self, engine: wasmtime.Engine, module: wasmtime.Module, limits: Limits) -> None:
        self.engine, self.out, self.stderr = engine, ChunkQueue(), bytearray()
        self.rfd, self.wfd = os.pipe()
        wasi = wasmtime.WasiConfig()
        wasi.argv = ["guest"]
        wasi.stdin_file = f"/dev/fd/{self.rfd}"
        wasi.stdout_custom = self.out.put
        wasi.stderr_custom = self.stderr.extend
        self.store = wasmtime.Store(engine)
        self.store.set_wasi(wasi)
        self.store.set_limits(memory_size=limits.memory_bytes)
        self.store.set_epoch_deadline(1)
        linker = wasmtime.Linker(engine)
        linker.define_wasi()
        try:
            instance = linker.instantiate(self.store, module)
        except (wasmtime.WasmtimeError, wasmtime.Trap) as e:
            close_fds(self.rfd, self.wfd)
            raise NotApplicable(f"wasmtime cannot instantiate the module: {first_line(e)}") from None
        self.start = instance.exports(self.store)["_start"]
        self.outcome: BaseException | None = None
        self.code: int | None = None
        self.thread = threading.Thread(target=self._run, name="wasmtime-p1", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.start(self.store)  # type: ignore[operator]
            self.code = 0
        except wasmtime.ExitTrap as e:
            self.code = e.code
        except (wasmtime.Trap, wasmtime.WasmtimeError) as e:
            self.outcome = e
        finally:
            self.out.close()

    def write(self, data: bytes) -> None:
        write_all(self.wfd, data)

    def read(self, deadline: float) -> bytes:
        return self.out.read(deadline)

    def ended(self) -> Exception:
        self.thread.join(JOIN_S)
        said = self.stderr.decode("utf-8", "replace").strip().splitlines()
        tail = f" (stderr: {said[-1]})" if said else ""
        if self.thread.is_alive():
            return RuntimeCrash("the module closed its stdout but did not finish")
        if self.outcome is not None:
            return GuestTrap(trap_message(self.outcome) + tail)
        return GuestTrap(f"the module exited with code {self.code} before answering{tail}")

    def kill(self) -> None:
        if self.thread.is_alive():
            self.engine.increment_epoch()  # a running module traps at its next epoch check
        close_fds(self.wfd, self.rfd)  # a module waiting on stdin sees it end
        self.wfd = self.rfd = -1
        self.thread.join(JOIN_S)
        if not self.thread.is_alive():
            self.store = self.start = None  # type: ignore[assignment]


class P1Host:
    """Compiles bridge modules once per runner; each instance gets a fresh store and thread."""

    def __init__(self) -> None:
        self._engine: wasmtime.Engine | None = None
        self._modules: dict[str, wasmtime.Module] = {}

    @property
    def engine(self) -> wasmtime.Engine:
        if self._engine is None:
            self._engine = epoch_engine()
        return self._engine

    def instantiate(self, guest: GuestBuild, backends: Mapping[str, Any], limits: Limits) -> BridgeInstance:
        exports, imports = bridge_world(guest, backends)
        if guest.sha256 not in self._modules:
            try:
                self._modules[guest.sha256] = wasmtime.Module.from_file(self.engine, str(guest.path))
            except wasmtime.WasmtimeError as e:
                raise NotApplicable(f"wasmtime cannot compile {guest.name}: {first_line(e)}") from None
        return BridgeInstance(P1Module(self.engine, self._modules[guest.sha256], limits), exports, imports,
                              backends, limits)

    def close(self) -> None:
        # Dropped before interpreter exit: WASI state left to the end makes wasmtime's
        # runtime thread panic ("cannot unwind") while Python shuts down.
        self._modules.clear()
        self._engine = None
        gc.collect()
