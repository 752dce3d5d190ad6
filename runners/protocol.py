"""The contract between the suite and a runtime.

A runner knows how to start its runtime, load a component, bind the host
backends to the component's imports and call an export with neutral values.
It knows nothing about Gherkin, assertions or reports.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from keel_conformance.types import FuncSig, InterfaceSig


@dataclass(frozen=True)
class Probe:
    """What a runtime says about itself before any cell runs."""

    runtime: str
    available: bool
    version: str | None = None
    reason: str | None = None  # the runtime's own words when it is not available
    flags: tuple[str, ...] = ()
    origin: str | None = None  # where the binary or package came from
    capabilities: frozenset[str] = frozenset()
    notes: tuple[str, ...] = ()  # limits met and worked within, in the runtime's report


@dataclass(frozen=True)
class GuestBuild:
    """A built guest component, as every runner receives it."""

    name: str
    world: str
    interface: str  # the suite's interface key: sql, kv, ...
    export: str  # the unversioned name of the interface under test
    path: Path
    sha256: str
    size_bytes: int
    toolchain: str
    toolchain_version: str
    build_command: str = ""
    # "component" (the canonical ABI), or "wasi-p1-bridge": a WASI p1 command module
    # that speaks the suite's framed stdio protocol (runners/_bridge.py) instead.
    abi: str = "component"
    # The component whose types describe the guest's world: the guest itself, unless
    # it is a p1 bridge module (which has no component types of its own).
    types_path: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class Limits:
    call_timeout_s: float = 10.0
    memory_bytes: int = 512 * 1024 * 1024


@dataclass(frozen=True)
class Reproduction:
    """What a finding directory holds, for a runner to say how its runtime reproduces it without the suite."""

    component: str  # file name of the component
    js_script: str  # a standalone script for jco's transpilation (keel_conformance/repro_js.py)
    # What a runner needs to write a script of its own into `where`, the finding's directory:
    where: Path
    guest: GuestBuild
    exported: InterfaceSig
    steps: tuple[tuple[str, str, FuncSig | None, tuple[Any, ...]], ...]  # (label, export, its signature, args after self)
    given: tuple[tuple[str, str, Any], ...]  # the reference host's answers to the guest's import calls, in order
    title: str
    limits: Limits  # the deadline and memory limit the columns ran it under
    imports: Mapping[str, InterfaceSig]  # the component's non-WASI imports, as the reference host answered them
    wasi: tuple[str, ...]  # the WASI interfaces it imports, unversioned

    @property
    def session(self) -> str | None:
        """The resource whose life the steps live, or None when they call one function."""
        return next((name[len("[constructor]"):] for _, name, _, _ in self.steps if name.startswith("[constructor]")), None)


class GuestInstance(Protocol):
    """One fresh instance of a guest, bound to one scenario's backends."""

    exports: InterfaceSig

    def call(self, func: str, args: Sequence[Any]) -> Any:
        """Calls `func` on the interface under test with neutral values.

        Raises GuestTrap, GuestTimeout, RuntimeCrash or SuiteError (from
        keel_conformance.outcomes) instead of returning when the call did not
        produce a value.
        """
        ...

    def close(self) -> None: ...

    # Optional: `prepare_patched(base, old, variants) -> int`. Each variant (path, sha256, new) is `base`'s
    # bytes with every `old` replaced by `new` of the same length (keel-conformance mutate makes its mutants
    # so). A runner that can derive a variant's compiled form from the base's, proven equal to compiling
    # it, does so ahead of the cells and returns how many it prepared; the others need not offer it.

    # Runners whose probe declares the "separate-process" capability also offer
    # `kill_runtime()`: the process hosting the guest dies at once (SIGKILL).


# Runners may offer `reproduce(r: Reproduction) -> str | None`: a one-line shell command, run in the finding's
# directory, that reproduces it on this runtime with the runtime's own tools; None where there is none.


class Runner(Protocol):
    name: str

    def probe(self) -> Probe: ...

    def instantiate(self, guest: GuestBuild, backends: Mapping[str, Any], limits: Limits) -> GuestInstance:
        """A fresh instance bound to `backends` (WIT instance name -> host backend, see
        fixtures.backends); raises NotApplicable when the runtime refuses the guest."""
        ...

    def close(self) -> None: ...
