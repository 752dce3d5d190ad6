"""Differential fuzzing: the same generated values through every runtime x guest, compared.

Each exported function of the `values` world is an echo. For every function,
Hypothesis draws arguments from the function's own WIT types (see
strategies.py), every column runs the call, and a column that returns
something other than the argument — or traps on a valid one — is a
divergence. Hypothesis shrinks it to a minimal input, which is written as a
repro bundle that `keel-conformance fuzz --replay BUNDLE` plays again.

Value semantics: integers, strings, lists, records and handles must come back
exactly. Floats must come back bit for bit, except NaN: the Canonical ABI lets
a runtime change a NaN's payload when a float crosses the boundary
(CanonicalABI.md, "lift_flat"/"lower_flat" of f32/f64: "nondeterministic NaN"),
so NaN is compared by NaN-ness only. -0.0 is not 0.0.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from fixtures.backends import Backends, Services
from runners.protocol import GuestBuild, Limits

from . import types as T
from . import wave
from .outcomes import CellOutcome
from .strategies import for_type
from .values import Resource, matches

LIMITS = Limits(call_timeout_s=10)  # every fuzzed call's, on every column; a reproduction keeps them
ECHO_HOST = "keel:probes/host-echo@0.1.0"
# Edge values Hypothesis would rarely reach on its own within a short run.
EDGE_STRINGS = ["", "\0", "\uffff", "\U0010ffff", "a\u0301", "\ud7ff\ue000", "x" * (1 << 20)]


@dataclass
class Workspace:
    """What a fuzz run or replay holds while it runs: a temp root, the services, every runner it made."""

    root: Path
    services: Services
    runners: list[Any] = field(default_factory=list)


@contextmanager
def workspace(prefix: str) -> Iterator[Workspace]:
    ws = Workspace(Path(tempfile.mkdtemp(prefix=prefix)), Services())
    try:
        yield ws
    finally:
        for runner in ws.runners:
            runner.close()
        ws.services.close()
        shutil.rmtree(ws.root, ignore_errors=True)


@dataclass
class Column:
    """One (runtime, guest) pair with a live instance, re-made after a trap or crash."""

    runtime: str
    guest: GuestBuild
    runner: Any
    probe: Any
    root: Path
    services: Services
    instance: Any = None
    backends: Backends | None = None

    @property
    def name(self) -> str:
        return f"{self.runtime}:{self.guest.name}"

    def fresh(self) -> Any:
        if self.backends is not None:
            self.backends.close()
        self.backends = Backends(Path(tempfile.mkdtemp(dir=self.root)), self.services)
        self.instance = self.runner.instantiate(self.guest, self.backends, LIMITS)
        return self.instance

    def discard(self) -> None:
        """Lets the next call make a fresh instance. A runner may end the engine behind an instance while it
        makes others (jco keeps two engines per column), so a column not used for a while starts again."""
        if self.instance is not None:
            self.instance.close()
        self.instance = None

    def call(self, func: str, args: list[Any]) -> tuple[str, Any]:
        """("ok", value) or (outcome, message); the instance is renewed after anything but ok."""
        try:
            inst = self.instance or self.fresh()
            return "ok", inst.call(func, args)
        except CellOutcome as e:
            self.instance = None
            return e.outcome.value, str(e)


@dataclass
class Divergence:
    function: str
    input: list[Any]
    results: dict[str, tuple[str, Any]]
    problems: list[str]
    bundle: Path | None = None
    asked: dict[str, list[str]] = field(default_factory=dict)  # column -> the import calls it made
    extra: dict[str, Any] = field(default_factory=dict)  # what a checker adds: another component's answers


@dataclass
class FuzzResult:
    columns: list[Column]
    functions: dict[str, list[str]] = field(default_factory=dict)  # function -> columns that diverged
    divergences: list[Divergence] = field(default_factory=list)
    examples: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


class Diverged(Exception):
    def __init__(self, d: Divergence) -> None:
        super().__init__("; ".join(d.problems))
        self.divergence = d


def strategy_for(ty: T.WitType) -> st.SearchStrategy[Any]:
    # The generated branch comes first: Hypothesis shrinks toward the first branch of a one_of, so a
    # divergence found with a 1 MiB edge value still shrinks to the smallest input that shows it.
    # Long values come as a length to shrink (a bug at 256 bytes shrinks to exactly 256).
    if ty == T.Prim("string"):
        return for_type(ty) | st.integers(0, 4096).map(lambda n: "é" * (n // 2) + "x" * (n % 2)) \
            | st.sampled_from(EDGE_STRINGS)
    if ty == T.ListT(T.Prim("u8")):
        return for_type(ty) | st.integers(0, 4096).map(lambda n: bytes(i % 256 for i in range(n))) \
            | st.just(bytes(range(256)) * 4096)
    return for_type(ty)


def _counter_call(col: Column, func: str, start: int) -> tuple[str, Any]:
    """Resource functions: the handle comes from this column's own host backend."""
    if col.instance is None:
        try:
            col.fresh()
        except CellOutcome as e:
            return e.outcome.value, str(e)
    assert col.backends is not None
    handle = col.backends[ECHO_HOST].new_counter(start)  # type: ignore[attr-defined]
    outcome, out = col.call(func, [handle])
    if outcome != "ok":
        return outcome, out
    if func == "pass-counter":
        ok = isinstance(out, Resource) and out.type == "counter" and out.rep == handle.rep
        return "ok", out if not ok else start
    return "ok", out


def check(func: str, sig: T.FuncSig, args: list[Any], columns: list[Column]) -> Divergence | None:
    resource = any(isinstance(t, (T.OwnT, T.BorrowT)) for _, t in sig.params)
    results = {c.name: (_counter_call(c, func, args[0]) if resource else c.call(func, args)) for c in columns}
    expected = args[0] if len(args) == 1 else tuple(args)
    problems = []
    for name, (outcome, out) in results.items():
        if outcome != "ok":
            problems.append(f"{name}: {outcome}: {out}")
        elif not matches(expected, out):
            problems.append(f"{name}: returned {wave.format(out, sig.result, brief=True)}")
    return Divergence(func, args, results, problems) if problems else None


def prop_for(func: str, sig: T.FuncSig, columns: list[Any], strategy: st.SearchStrategy[Any],
              count: dict[str, int], examples: int, seed_value: int,
              checker: Callable[[str, T.FuncSig, list[Any], list[Any]], Divergence | None] = check) -> Callable[[], None]:
    @settings(max_examples=examples, database=None, deadline=None, derandomize=False,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate, Phase.shrink])
    @seed(seed_value)
    @given(strategy)
    def prop(args: tuple[Any, ...]) -> None:
        count["n"] += 1
        d = checker(func, sig, list(args), columns)
        if d is not None:
            raise Diverged(d)

    return prop  # type: ignore[no-any-return]


def run(columns: list[Column], exports: T.InterfaceSig, examples: int, seed_value: int,
        only: list[str] | None = None, progress: Callable[[str], None] | None = None) -> FuzzResult:
    result = FuzzResult(columns)
    started = time.perf_counter()
    for func, sig in sorted(exports.funcs.items()):
        if only and func not in only:
            continue
        if progress:
            progress(func)
        types = [t for _, t in sig.params]
        resource = any(isinstance(t, (T.OwnT, T.BorrowT)) for t in types)
        strategy = st.tuples(st.integers(0, 2**64 - 1)) if resource else st.tuples(*(strategy_for(t) for t in types))
        count = {"n": 0}

        prop = prop_for(func, sig, columns, strategy, count, examples, seed_value)
        try:
            prop()
            result.functions[func] = []
        except Diverged as e:  # Hypothesis re-raises the shrunk, minimal example
            d = e.divergence
            result.divergences.append(d)
            result.functions[func] = sorted(n for n, (o, out) in d.results.items()
                                            if o != "ok" or not matches(d.input[0] if len(d.input) == 1 else tuple(d.input), out))
        result.examples[func] = count["n"]
    result.seconds = time.perf_counter() - started
    return result


def write_bundle(d: Divergence, sig: T.FuncSig, columns: list[Column], out: Path, seed_value: int) -> Path:
    """A self-contained record of one divergence, enough to replay it on another machine."""
    args_text = "(" + ", ".join(wave.format(a, t) for a, (_, t) in zip(d.input, sig.params, strict=True)) + ")"
    digest = hashlib.sha256(f"{d.function}{args_text}".encode()).hexdigest()[:12]
    bundle_dir = out / "divergences" / f"{d.function}-{digest}"
    bundle_dir.mkdir(parents=True, exist_ok=True)
    by_name = {c.name: c for c in columns}
    doc = {
        "function": d.function,
        "input": args_text,
        "seed": seed_value,
        "wit": {"path": "wit/probes.wit", "world": columns[0].guest.world, "interface": columns[0].guest.export},
        "problems": d.problems,
        "columns": {
            name: {
                "runtime": by_name[name].runtime, "version": by_name[name].probe.version,
                "flags": list(by_name[name].probe.flags), "guest": by_name[name].guest.name,
                "guest_sha256": by_name[name].guest.sha256, "build_command": by_name[name].guest.build_command,
                "outcome": outcome,
                "output": wave.format(value, sig.result) if outcome == "ok" else str(value),
            }
            for name, (outcome, value) in d.results.items()
        },
    }
    path = bundle_dir / "bundle.json"
    doc["repro"] = f"keel-conformance fuzz --replay {path}"
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (bundle_dir / "input.wave").write_text(args_text + "\n", encoding="utf-8")
    d.bundle = path
    return path
