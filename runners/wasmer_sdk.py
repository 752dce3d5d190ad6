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
driven from an asyncio loop on a thread of the runner's own. The limits met
on the way are the probe's `notes`.
"""
from __future__ import annotations

import asyncio
import importlib.metadata
import threading
from collections.abc import Coroutine, Mapping
from typing import Any

from keel_conformance.component_types import guest_types
from keel_conformance.outcomes import GuestTimeout, GuestTrap, NotApplicable, RuntimeCrash
from keel_conformance.paths import cache_dir

from ._bridge import BridgeInstance, ChunkQueue, bridge_imports
from .protocol import GuestBuild, Limits, Probe

SDK_CALL_S = 30.0  # one SDK operation (spawn, write, wait); calls into the guest have their own deadline
NOTES = (
    "components: wasmer-sdk loads packages and runs WASI/WASIX commands only; each component cell carries "
    "wasmer's own refusal",
    "p1 bridge: stdin must be spawned as 'pipe' (default 'closed'); stdout arrives as chunks from an async "
    "iterator, read on an asyncio loop in a thread of the runner",
    "p1 bridge: modules load as bytes (a path is read as a WEBC archive, a str as a registry name)",
    "p1 bridge: output_bytes (16 MiB) caps captured output only: piped stdout is not capped (24 MiB through one "
    "process seen); spawn's timeout covers a whole process, so per-call deadlines are the suite's, enforced by kill()",
    "p1 bridge: a trap surfaces from wait() as WasmerError EXECUTION_ERROR; wasmer also prints the wasm "
    "backtrace on the suite's own stderr",
)


def _sdk() -> Any:
    import wasmer_sdk

    return wasmer_sdk


class _Loop:
    """An asyncio loop on a thread of its own, so the runner's sync protocol can drive the async SDK."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="wasmer-sdk", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = SDK_CALL_S) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


class WasmerPipe:
    """A spawned command's stdin and stdout."""

    def __init__(self, loop: _Loop, sandbox: Any, process: Any) -> None:
        self.loop, self.sandbox, self.process = loop, sandbox, process
        self.out, self.stderr = ChunkQueue(), bytearray()
        self.pumps = [asyncio.run_coroutine_threadsafe(self._pump(), loop.loop)]

    async def _pump(self) -> None:
        try:
            async for chunk in self.process.stdout:
                self.out.put(chunk)
        except Exception:  # the process is gone; ended() asks wait() why
            pass
        finally:
            self.out.close()

    def write(self, data: bytes) -> None:
        try:
            self.loop.run(self.process.stdin.write(data))
        except Exception as e:
            raise OSError(f"wasmer: stdin write failed: {e}") from None

    def read(self, deadline: float) -> bytes:
        return self.out.read(deadline)

    def ended(self) -> Exception:
        try:
            output = self.loop.run(self.process.wait(), timeout=10)
        except Exception as e:  # how wasmer-sdk 0.5 reports a trap
            text = str(e).strip().splitlines()
            first = text[0] if text else type(e).__name__
            if getattr(e, "code", "") == "EXECUTION_ERROR":
                return GuestTrap(first.removeprefix("command execution failed: "))
            return RuntimeCrash(f"wasmer: {first}")
        said = output.stderr.bytes.decode("utf-8", "replace").strip().splitlines()
        tail = f"; stderr: {said[-1]}" if said else ""
        if output.reason.value == "exited":
            return GuestTrap(f"the module ended before answering (exit {output.exit_code}{tail})")
        if output.reason.value == "timeout":
            return GuestTimeout(f"wasmer's process timeout ended the module{tail}")
        return RuntimeCrash(f"wasmer ended the module: {output.reason.value}{tail}")

    def kill(self) -> None:
        for step in (self.process.kill(), self.sandbox.close()):
            try:
                self.loop.run(step, timeout=10)
            except Exception:  # already gone
                pass


class WasmerRunner:
    name = "wasmer"

    def __init__(self, load: Any = None) -> None:
        self._answers: dict[str, str] = {}
        self._load = load  # for tests: a stand-in for wasmer's package loading
        self._loop: _Loop | None = None
        self._client: Any = None
        self._packages: dict[str, Any] = {}

    def probe(self) -> Probe:
        try:
            _sdk()
            version = importlib.metadata.version("wasmer-sdk")
        except ImportError as e:
            return Probe(self.name, False, reason=f"wasmer-sdk is not installed ({e}); ./dev.sh matrix installs it",
                         origin="PyPI wasmer-sdk")
        return Probe(self.name, True, version=f"wasmer-sdk {version}", origin="PyPI wasmer-sdk (in process, async API)",
                     capabilities=frozenset({"wasi-p1"}), notes=NOTES)

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
        types = guest_types(guest)
        exports = types.export_named(guest.export)
        if exports is None:
            raise NotApplicable(f"{guest.name}'s world does not export {guest.export}")
        imports = bridge_imports(types, guest.name, backends)
        if self._loop is None:
            self._loop = _Loop()
        try:
            sandbox, process = self._loop.run(self._spawn(guest))
        except Exception as e:  # wasmer's refusal of the module, in its words
            raise NotApplicable(f"wasmer cannot run {guest.name}: {e}") from None
        return BridgeInstance(WasmerPipe(self._loop, sandbox, process), exports, imports, backends, limits)

    async def _spawn(self, guest: GuestBuild) -> tuple[Any, Any]:
        sdk = _sdk()
        if self._client is None:
            self._client = sdk.Wasmer(cache_root=str(cache_dir("wasmer")))
        if guest.sha256 not in self._packages:
            self._packages[guest.sha256] = await self._client.packages.load(guest.path.read_bytes())
        package = self._packages[guest.sha256]
        sandbox = await self._client.sandboxes.create(packages=[package])
        process = await sandbox.command(package, ["guest"]).spawn(stdin="pipe", stdout="pipe", stderr="capture")
        return sandbox, process

    def close(self) -> None:
        self._answers.clear()
        if self._loop is not None:
            if self._client is not None:
                try:
                    self._loop.run(self._client.close(), timeout=10)
                except Exception:
                    pass
            self._loop.close()
        self._loop, self._client = None, None
        self._packages.clear()


RUNTIMES = {"wasmer": WasmerRunner}
