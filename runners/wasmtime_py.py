"""wasmtime, in process, through wasmtime-py's component API.

Guests get no preopened directories, no environment, no arguments and no
network (an empty `WasiConfig`). Each call runs under an epoch deadline.
Compiled components are cached on disk with `serialize`/`deserialize`,
keyed by the component's sha256 and the wasmtime version.
"""
from __future__ import annotations

import contextlib
import importlib.metadata
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import wasmtime
import wasmtime.component as wc

from keel_conformance.component_types import read_types
from keel_conformance.outcomes import GuestTimeout, GuestTrap, NotApplicable, SuiteError
from keel_conformance.paths import cache_dir
from keel_conformance.types import WORLD, InterfaceSig

from . import _wasmtime_repro
from ._wasmtime_common import epoch_engine, first_line, trap_message
from ._wasmtime_p1 import P1Host
from ._wasmtime_values import PATCH, Converter
from .protocol import GuestBuild, Limits, Probe, Reproduction

TICK_S = 0.01


class _Ticker:
    """Advances the engine's epoch so a per-call deadline counts wall-clock time."""

    def __init__(self, engine: wasmtime.Engine) -> None:
        self.engine = engine
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="wasmtime-epoch", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(TICK_S):
            self.engine.increment_epoch()


class _Interrupted(Exception):
    """Carries a KeyboardInterrupt out of a host function through wasmtime-py, which passes on only Exceptions."""

    def __init__(self, interrupt: BaseException) -> None:
        super().__init__(repr(interrupt))
        self.interrupt = interrupt


class WasmtimeInstance:
    def __init__(self, runner: WasmtimeRunner, guest: GuestBuild, backends: Mapping[str, Any], limits: Limits) -> None:
        self.limits = limits
        component, types = runner.load(guest)
        exported = types.export_named(guest.export)
        if exported is None:
            raise NotApplicable(f"{guest.name} does not export {guest.export}")
        self.exports: InterfaceSig = exported
        self.host_error: BaseException | None = None
        self.store = wasmtime.Store(runner.engine)
        self.store.set_wasi(wasmtime.WasiConfig())
        self.store.set_limits(memory_size=limits.memory_bytes)
        resource_ids: dict[str, int] = {}
        self.conv = Converter(resource_ids, self.store)
        self.store.set_epoch_deadline(int(limits.call_timeout_s / TICK_S))
        traps = runner.needs_traps.get(guest.sha256, False)
        while True:
            resource_ids.clear()
            linker = self._linker(runner, guest, component, backends, resource_ids, traps)
            try:
                self.instance = linker.instantiate(self.store, component)
                break
            except (wasmtime.Trap, wasmtime.WasmtimeError) as e:
                if not traps and "matching implementation was not found" in str(e):
                    # A WASI interface add_wasip2 does not provide (wasi:http, which ComponentizeJS guests
                    # import): link again answering every such import with a trap, so no guest reaches the
                    # network through it. Only then: define_unknown_imports_as_traps would also shadow the
                    # p2 interfaces add_wasip2 satisfies by semver (a guest's wasi:cli@0.2.9).
                    traps = runner.needs_traps[guest.sha256] = True
                    continue
                raise self._classify(e, "instantiation",
                                     refused=f"wasmtime refused to instantiate {guest.name}") from None
        iface = None if exported.name == WORLD else self.instance.get_export_index(self.store, exported.name)
        self.funcs: dict[str, Any] = {}
        for fname in exported.funcs:
            idx = self.instance.get_export_index(self.store, fname, iface)
            func = self.instance.get_func(self.store, idx)
            ftype = func.type(self.store)
            # Read the types over FFI once: each property access builds new type objects.
            self.funcs[fname] = (func, [t for _, t in ftype.params], ftype.result)
        self.conv.guest_types = self._guest_resources(exported)

    def _guest_resources(self, exported: InterfaceSig) -> dict[str, Any]:
        """The instance's own resource types, read off its constructors' results and methods' `self`: the
        component's types are abstract, and only the instantiated ones compare equal to a call's."""
        found: dict[str, Any] = {}
        for fname, (_, params, result) in self.funcs.items():
            kind, _, rest = fname.partition("]")
            if kind == "[constructor" and result is not None:
                found.setdefault(rest, result.ty)
            elif kind == "[method" and params:
                found.setdefault(rest.split(".")[0], params[0].ty)
        return {n: t for n, t in found.items() if n in exported.resources}

    def _bind(self, linker: wc.Linker, engine: wasmtime.Engine, name: str, itype: Any, backend: Any, resource_ids: dict[str, int]) -> None:
        items = {k: v.ty for k, v in itype.exports(engine).items()}
        with linker.root() as root, root.add_instance(name) as inst:
            for rname, item in items.items():
                if isinstance(item, wc.ResourceType):
                    rid = len(resource_ids) + 1
                    resource_ids[rname] = rid
                    inst.add_resource(rname, wc.ResourceType.host(rid), self._dtor(backend, rname))
            for fname, item in items.items():
                if isinstance(item, wc.FuncType):
                    if fname not in backend.functions:
                        raise SuiteError(f"host backend for {name} has no function {fname}")
                    inst.add_func(fname, self._host_func(backend.functions[fname], item))

    def _linker(self, runner: WasmtimeRunner, guest: GuestBuild, component: wc.Component,
                backends: Mapping[str, Any], resource_ids: dict[str, int], traps: bool) -> wc.Linker:
        linker = wc.Linker(runner.engine)
        linker.add_wasip2()
        for name, ext in component.type.imports(runner.engine).items():
            if name.startswith("wasi:"):
                continue
            if name in backends:
                self._bind(linker, runner.engine, name, ext.ty, backends[name], resource_ids)
            elif _types_only(ext.ty, runner.engine):
                with linker.root() as root, root.add_instance(name):
                    pass  # an interface of types alone: there is nothing to provide
            else:
                raise SuiteError(f"{guest.name} imports {name}, which no host backend provides")
        if traps:
            linker.define_unknown_imports_as_traps(component)
        return linker

    def _dtor(self, backend: Any, rname: str) -> Any:
        def dtor(_store: Any, rep: int) -> None:
            try:
                backend.drop(rname, rep)
            except BaseException as e:  # a backend bug must not look like a guest trap
                raise self._host_failed(e) from None
        return dtor

    def _host_failed(self, e: BaseException) -> Exception:
        """What a host function raises into wasmtime for `e`, kept for `_classify`. wasmtime-py turns only an
        Exception into a trap: a KeyboardInterrupt would escape its ctypes callback, print a traceback and let
        the guest go on as if the host had returned."""
        self.host_error = e
        return e if isinstance(e, Exception) else _Interrupted(e)

    def _host_func(self, fn: Any, ftype: wc.FuncType) -> Any:
        params = [t for _, t in ftype.params]
        result = ftype.result

        def call(_store: Any, *args: Any) -> Any:
            try:
                neutral = [self.conv.from_wasm(t, a) for t, a in zip(params, args, strict=True)]
                out = fn(*neutral)
                return None if result is None else self.conv.to_wasm(result, out)
            except BaseException as e:
                raise self._host_failed(e) from None
        return call

    def call(self, func: str, args: Sequence[Any]) -> Any:
        if func not in self.funcs and self.exports.callable(func) is not None:  # [resource-drop] of the guest's own
            return self._drop(args[0])
        if func not in self.funcs:
            raise SuiteError(f"{self.exports.name} has no function {func!r}")
        f, params, result = self.funcs[func]
        lowered = [self.conv.to_wasm(t, a) for t, a in zip(params, args, strict=True)]
        with self._in_guest():
            out = f(self.store, *lowered)
        return None if result is None else self.conv.from_wasm(result, out)

    @contextlib.contextmanager
    def _in_guest(self) -> Iterator[None]:
        """Runs guest code under the deadline; what it raises becomes the call's outcome. A Ctrl-C that
        reached Python in a host function is re-raised as itself: it is no outcome of the call."""
        self.host_error = None
        self.store.set_epoch_deadline(int(self.limits.call_timeout_s / TICK_S))
        try:
            yield
        except _Interrupted as e:  # wasmtime-py re-raises a host function's exception after the call
            raise e.interrupt from None
        except (wasmtime.Trap, wasmtime.WasmtimeError) as e:
            raise self._classify(e, "call") from None

    def _drop(self, handle: Any) -> None:
        """Drops a handle to the guest's own resource: its destructor runs in the guest, under the deadline."""
        owned = self.conv.guest_handles.pop(handle.rep, None)
        if owned is None:
            raise SuiteError(f"no live {handle.type} handle {handle.rep} to drop")
        with self._in_guest():
            owned.drop(self.store)

    def _classify(self, e: Exception, doing: str, refused: str | None = None) -> Exception:
        """The outcome of a failed call or instantiation, from what wasmtime raised.

        A backend's own exception is the suite's error; an epoch interrupt is a timeout; a trap, or
        (in a call) any other error such as a lifting check, is the guest's trap. A linking error
        at instantiation, where `refused` names the step, means the runtime cannot run the guest.
        """
        if isinstance(self.host_error, KeyboardInterrupt):  # as a trap, should wasmtime-py not re-raise it
            raise self.host_error
        if self.host_error is not None:
            return SuiteError(f"host backend raised {self.host_error!r}")
        interrupted = (isinstance(e, wasmtime.Trap) and e.trap_code == wasmtime.TrapCode.INTERRUPT) \
            or "wasm trap: interrupt" in str(e)
        if interrupted:
            return GuestTimeout(f"{doing} exceeded {self.limits.call_timeout_s:g} s (epoch deadline)")
        if refused is None or isinstance(e, wasmtime.Trap) or "wasm trap" in str(e):
            return GuestTrap(trap_message(e) if doing == "call" else f"trapped during {doing}: {trap_message(e)}")
        return NotApplicable(f"{refused}: {first_line(e)}")

    def close(self) -> None:
        self.funcs.clear()
        self.instance = None
        self.store = None  # type: ignore[assignment]


def _types_only(itype: Any, engine: wasmtime.Engine) -> bool:
    return not any(isinstance(v.ty, (wc.FuncType, wc.ResourceType)) for v in itype.exports(engine).values())


class WasmtimeRunner:
    name = "wasmtime"

    def __init__(self) -> None:
        self._engine: wasmtime.Engine | None = None
        self._ticker: _Ticker | None = None
        self._loaded: dict[str, tuple[wc.Component, Any]] = {}
        self.needs_traps: dict[str, bool] = {}  # per guest sha256: does it import WASI beyond add_wasip2's?
        self.cache_hits = 0
        self.compiles = 0
        self.p1 = P1Host()

    @property
    def version(self) -> str:
        return importlib.metadata.version("wasmtime")

    @property
    def engine(self) -> wasmtime.Engine:
        if self._engine is None:
            self._engine = epoch_engine()
            self._ticker = _Ticker(self._engine)
        return self._engine

    def probe(self) -> Probe:
        return Probe(
            runtime=self.name,
            available=True,
            version=self.version,
            flags=("epoch_interruption", f"patched: {PATCH}"),
            origin=f"PyPI wasmtime {self.version} (in process)",
            capabilities=frozenset({"component-model", "wasi-p2", "resources", "memory-limit", "call-deadline",
                                    "wasi-p1"}),
        )

    def reproduce(self, r: Reproduction) -> str | None:
        # wasmtime-py itself, not the CLI: the CLI answers WASI only, and `--invoke` cannot make a resource.
        component, _ = self.load(r.guest)
        (r.where / _wasmtime_repro.SCRIPT).write_text(_wasmtime_repro.script(r, component, self.engine, self.version),
                                                      encoding="utf-8")
        return f"python3 {_wasmtime_repro.SCRIPT}"

    def load(self, guest: GuestBuild) -> tuple[wc.Component, Any]:
        if guest.sha256 in self._loaded:
            return self._loaded[guest.sha256]
        cached = self._cwasm(guest.sha256)
        component = None
        if cached.exists():
            try:
                component = wc.Component.deserialize_file(self.engine, str(cached))
                self.cache_hits += 1
            except wasmtime.WasmtimeError:
                cached.unlink(missing_ok=True)  # made by an incompatible build: compile again
        if component is None:
            try:
                component = wc.Component.from_file(self.engine, str(guest.path))
            except wasmtime.WasmtimeError as e:
                raise NotApplicable(f"wasmtime cannot compile {guest.name}: {first_line(e)}") from None
            self.compiles += 1
            tmp = cached.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(component.serialize())
            tmp.replace(cached)
        loaded = (component, read_types(component, self.engine))
        self._loaded[guest.sha256] = loaded
        return loaded

    def _cwasm(self, sha256: str) -> Path:
        return cache_dir("wasmtime", self.version) / f"{sha256}.cwasm"

    def prepare_patched(self, base: GuestBuild, old: bytes, variants: list[tuple[Path, str, bytes]]) -> int:
        """Mutants differ from their schema build only in a data segment, which Cranelift's code does not
        depend on: the compiled artifact is the base's with the same bytes replaced. That is checked here
        by compiling the first variant for real and comparing; if they differ nothing is prepared."""
        todo = [v for v in variants if not self._cwasm(v[1]).exists()]
        if not todo:
            return 0
        self.load(base)
        compiled = self._cwasm(base.sha256).read_bytes()
        if old not in compiled:
            return 0
        first_path, first_sha, first_new = todo[0]
        try:
            real = wc.Component.from_file(self.engine, str(first_path)).serialize()
        except wasmtime.WasmtimeError:
            return 0
        if compiled.replace(old, first_new) != real:
            return 0
        for _path, sha, new in todo:
            target = self._cwasm(sha)
            tmp = target.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(compiled.replace(old, new))
            tmp.replace(target)
        return len(todo)

    def instantiate(self, guest: GuestBuild, backends: Mapping[str, Any], limits: Limits) -> Any:
        if guest.abi == "wasi-p1-bridge":
            return self.p1.instantiate(guest, backends, limits)
        return WasmtimeInstance(self, guest, backends, limits)

    def close(self) -> None:
        self.p1.close()
        if self._ticker is not None:
            self._ticker.stop.set()
        self._loaded.clear()


RUNTIMES = {"wasmtime": WasmtimeRunner}
