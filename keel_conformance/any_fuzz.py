"""Differential fuzzing of any component: its own exports, its imports answered from the seed.

The `values` fuzzer knows each function must echo its argument. A third-party
component promises nothing the suite knows, so here the runtimes are compared
with each other: every column gets the same arguments and the same import
answers, and must give the same outcome, the same value, and ask the host the
same things in the same order. What a guest *asks* is compared too: a runtime
that lowers an argument differently shows up in the import calls before it
shows up in a result.

Import answers are a pure function of (seed, position of the call within one
export call, the import's result type), so they are identical on every column
without any column seeing another's answers.
"""
from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import types as T
from . import wave
from .fuzz import LIMITS, Column
from .outcomes import CellOutcome, SuiteError
from .values import Err, Ok, Resource, Some, Variant, matches

# Strings the generator draws from: ASCII, an edge of the BMP, a combining mark, non-BMP.
ALPHABET = "az09 ~\u00e9\u0301\ud7ff\ue000\uffff\U0001f600\U0010ffff"


def draw(ty: T.WitType, rnd: random.Random, handles: Callable[[str], Resource]) -> Any:
    """One value of `ty`, from `rnd` alone (so the same seed gives the same value everywhere)."""
    if isinstance(ty, T.Prim):
        k = ty.kind
        if k == "bool":
            return rnd.random() < 0.5
        if k in T.INT_BOUNDS:
            lo, hi = T.INT_BOUNDS[k]
            return rnd.choice([lo, hi, 0, 1, rnd.randint(lo, hi)])
        if k in ("f32", "f64"):
            return rnd.choice([0.0, -0.0, 1.5, float("inf"), float("-inf"), float("nan"), rnd.uniform(-1e6, 1e6)
                               if k == "f64" else float(rnd.randint(-(2**24), 2**24))])
        if k == "char":
            return rnd.choice(ALPHABET)
        return "".join(rnd.choice(ALPHABET) for _ in range(rnd.randint(0, 8)))
    if isinstance(ty, T.ListT):
        if ty.element == T.Prim("u8"):
            return bytes(rnd.randrange(256) for _ in range(rnd.randint(0, 16)))
        return [draw(ty.element, rnd, handles) for _ in range(rnd.randint(0, 3))]
    if isinstance(ty, T.RecordT):
        return {name: draw(t, rnd, handles) for name, t in ty.fields}
    if isinstance(ty, T.TupleT):
        return tuple(draw(t, rnd, handles) for t in ty.elements)
    if isinstance(ty, T.VariantT):
        name, t = rnd.choice(ty.cases)
        return Variant(name, None if t is None else draw(t, rnd, handles))
    if isinstance(ty, T.EnumT):
        return Variant(rnd.choice(ty.names))
    if isinstance(ty, T.OptionT):
        return None if rnd.random() < 0.3 else Some(draw(ty.payload, rnd, handles))
    if isinstance(ty, T.ResultT):
        if rnd.random() < 0.7:
            return Ok(None if ty.ok is None else draw(ty.ok, rnd, handles))
        return Err(None if ty.err is None else draw(ty.err, rnd, handles))
    if isinstance(ty, T.FlagsT):
        return frozenset(n for n in ty.names if rnd.random() < 0.5)
    if isinstance(ty, T.OwnT):
        return handles(ty.resource)
    raise TypeError(f"a host cannot return {type(ty).__name__}")


@dataclass
class ImportCall:
    interface: str
    function: str
    args: str  # WAVE text, so two columns' calls compare as the guest lowered them

    def __str__(self) -> str:
        return f"{self.interface}#{self.function}{self.args}"


@dataclass
class Answers:
    """The host's side of one export call: what it was asked, and the seeded answers it gave."""

    seed: int
    calls: list[ImportCall] = field(default_factory=list)
    # (interface, function, answer) of each call that got an answer, for a finding's standalone reproduction.
    given: list[tuple[str, str, Any]] = field(default_factory=list)
    reps: int = 0
    # For tests: alter one column's answers to plant a divergence.
    alter: Callable[[ImportCall, Any], Any] | None = None

    def start(self) -> None:
        self.calls = []
        self.given = []
        self.reps = 0

    def handle(self, resource: str) -> Resource:
        self.reps += 1
        return Resource(resource, self.reps)

    def answer(self, interface: str, sig: T.FuncSig, args: tuple[Any, ...]) -> Any:
        text = "(" + ", ".join(wave.format(a, t) for a, (_, t) in zip(args, sig.params, strict=True)) + ")"
        call = ImportCall(interface, sig.name, text)
        self.calls.append(call)
        if sig.result is None:
            self.given.append((interface, sig.name, None))
            return None
        value = draw(sig.result, random.Random(f"{self.seed}:{len(self.calls)}:{call}"), self.handle)
        if self.alter:
            value = self.alter(call, value)
        self.given.append((interface, sig.name, value))
        return value


class GeneratedHost:
    """One imported interface, every function answered by `Answers`."""

    def __init__(self, sig: T.InterfaceSig, answers: Answers) -> None:
        self.interface = sig.name
        self.functions = {name: self._fn(fsig, answers) for name, fsig in sig.funcs.items()}
        self.answers = answers

    def _fn(self, sig: T.FuncSig, answers: Answers) -> Callable[..., Any]:
        return lambda *args: answers.answer(self.interface, sig, args)

    def drop(self, resource_type: str, rep: int) -> None:
        self.answers.calls.append(ImportCall(self.interface, f"[resource-drop]{resource_type}", f"({rep})"))

    def close(self) -> None:
        pass


class GeneratedImports(Mapping[str, GeneratedHost]):
    """What the runners take as `backends`: a host for every non-WASI import of the component."""

    def __init__(self, imports: dict[str, T.InterfaceSig], answers: Answers) -> None:
        self.hosts = {n: GeneratedHost(s, answers) for n, s in imports.items() if not n.startswith("wasi:")}

    def __getitem__(self, name: str) -> GeneratedHost:
        return self.hosts[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.hosts)

    def __len__(self) -> int:
        return len(self.hosts)

    def close(self) -> None:
        pass


@dataclass
class AnyColumn(Column):
    """A column whose host is the seeded import generator instead of the suite's backends."""

    imports: dict[str, T.InterfaceSig] = field(default_factory=dict)
    answers: Answers = field(default_factory=lambda: Answers(0))
    last: tuple[str, Any, list[ImportCall]] | None = None
    said: str = ""  # the runtime's own words for the step that ended the last resource life, if one did

    def fresh(self) -> Any:
        self.instance = self.runner.instantiate(self.guest, GeneratedImports(self.imports, self.answers), LIMITS)
        return self.instance

    def call(self, func: str, args: list[Any]) -> tuple[str, Any]:
        self.answers.start()
        outcome, value = self._session(func, args) if func.startswith(SESSION) else super().call(func, args)
        self.last = (outcome, value, list(self.answers.calls))
        return outcome, value

    def _session(self, func: str, args: list[Any]) -> tuple[str, Any]:
        """A resource's life is an answer like any other: "ok" with its steps. A step that trapped, timed out
        or crashed is the last step; the instance is renewed for the next example. The engine's own words
        for it are kept in `said`."""
        self.said = ""
        try:
            inst = self.instance or self.fresh()
            iface = self.instance.exports
            sig = signature(iface, func)
            assert sig is not None, func
            return "ok", run_session(inst, iface, sig, args)
        except SessionEnded as e:
            self.instance = None
            self.said = str(e.outcome)
            return "ok", e.steps
        except SuiteError as e:
            self.instance = None
            return "error", str(e)
        except CellOutcome as e:  # the instance could not be made
            self.instance = None
            return e.outcome.value, str(e)


SESSION = "[session]"
HANDLE = T.Prim("u8")  # a session's handle parameter: which live handle, modulo how many there are
CALLS = "[calls]"  # the last parameter of a session: not a WIT name, so no constructor parameter can clash


def _holds_handles(ty: T.WitType | None, but: str | None = None) -> bool:
    """Whether a value of `ty` can hold a handle, other than an `own` of resource `but`."""
    if isinstance(ty, T.OwnT) and ty.resource == but:
        return False
    if isinstance(ty, (T.OwnT, T.BorrowT)):
        return True
    if isinstance(ty, (T.ListT,)):
        return _holds_handles(ty.element, but)
    if isinstance(ty, T.OptionT):
        return _holds_handles(ty.payload, but)
    if isinstance(ty, T.ResultT):
        return _holds_handles(ty.ok, but) or _holds_handles(ty.err, but)
    if isinstance(ty, T.RecordT):
        return any(_holds_handles(t, but) for _, t in ty.fields)
    if isinstance(ty, T.TupleT):
        return any(_holds_handles(t, but) for t in ty.elements)
    if isinstance(ty, T.VariantT):
        return any(_holds_handles(t, but) for _, t in ty.cases)
    return False


def _session_param(ty: T.WitType, resource: str) -> T.WitType:
    # A handle of the session's resource is drawn as a position among the live handles.
    return HANDLE if T.handle_of(ty, resource) else ty


def _payload(params: tuple[tuple[str, T.WitType], ...]) -> T.WitType | None:
    types = tuple(t for _, t in params)
    return None if not types else types[0] if len(types) == 1 else T.TupleT(types)


def session_sig(iface: T.InterfaceSig, resource: str) -> T.FuncSig | None:
    """One exported resource's life as a single call the fuzzer draws, shrinks, shows in WAVE and replays:
    the constructor's arguments, then a list of method calls in order; the handle is dropped at the end.

    Its answer is a list of strings, one per step, the same on every runtime that agrees: the handle
    itself (a number each runtime picks) never shows. The session keeps its live handles in the order
    they were made: the constructor's, then each one a method returns (shown as `<resource #n>`). Each
    call's `self` is the first live handle; a parameter that is a handle of the same resource is drawn
    as a position among the live handles, taken modulo their number when the call is made, and an `own`
    one leaves them. At the end every live handle is dropped. Methods that take a handle of another
    resource, or a handle inside a value, or return another resource's handle, are left out; so is a
    resource without a constructor (nothing but the guest could make one)."""
    ctor = iface.funcs.get(f"[constructor]{resource}")
    if ctor is None or any(_holds_handles(t) for _, t in ctor.params):
        return None
    prefix = f"[method]{resource}."
    cases = tuple((name.removeprefix(prefix), _payload(tuple((n, _session_param(t, resource)) for n, t in f.params[1:])))
                  for name, f in sorted(iface.funcs.items())
                  if name.startswith(prefix) and _fuzzable_method(f, resource))
    params = ctor.params + (((CALLS, T.ListT(T.VariantT(cases))),) if cases else ())
    return T.FuncSig(f"{SESSION}{resource}", params, T.ListT(T.Prim("string")))


def _fuzzable_method(f: T.FuncSig, resource: str) -> bool:
    return (all(T.handle_of(t, resource) or not _holds_handles(t) for _, t in f.params[1:])
            and not _holds_handles(f.result, but=resource))


def _has_calls(sig: T.FuncSig) -> bool:
    return bool(sig.params) and sig.params[-1][0] == CALLS


def session_steps(sig: T.FuncSig) -> list[str]:
    """The exported functions a session calls: the constructor and each method it may call."""
    r = sig.name.removeprefix(SESSION)
    calls = sig.params[-1][1] if _has_calls(sig) else None
    cases = calls.element.cases if isinstance(calls, T.ListT) and isinstance(calls.element, T.VariantT) else ()
    return [f"[constructor]{r}", *(f"[method]{r}.{c}" for c, _ in cases)]


def session_calls(iface: T.InterfaceSig, sig: T.FuncSig, args: list[Any]
                  ) -> tuple[list[Any], list[tuple[str, T.FuncSig, list[Any]]]]:
    """A session's arguments taken apart: the constructor's, then each method call as (method name, its
    signature, its arguments after `self`)."""
    resource = sig.name.removeprefix(SESSION)
    ctor_args, calls = (args[:-1], args[-1]) if _has_calls(sig) else (args, [])
    methods = []
    for v in calls:
        f = iface.funcs[f"[method]{resource}.{v.case}"]
        n = len(f.params) - 1
        methods.append((v.case, f, [] if n == 0 else [v.payload] if n == 1 else list(v.payload)))
    return list(ctor_args), methods


def export_steps(iface: T.InterfaceSig, sig: T.FuncSig, args: list[Any]) -> list[tuple[str, str, T.FuncSig | None, list[Any]]]:
    """The export calls that a fuzzed call makes, in order, as (label, export name, its signature, its
    arguments after any `self`): the call itself, or a resource's life (new, each method, drop)."""
    if not sig.name.startswith(SESSION):
        return [(sig.name, sig.name, sig, list(args))]
    r = sig.name.removeprefix(SESSION)
    ctor_args, methods = session_calls(iface, sig, args)
    return [("new", f"[constructor]{r}", iface.funcs[f"[constructor]{r}"], ctor_args),
            *((name, f"[method]{r}.{name}", f, margs) for name, f, margs in methods),
            ("drop", f"[resource-drop]{r}", None, [])]


def signature(iface: T.InterfaceSig, name: str) -> T.FuncSig | None:
    """A function of `iface` the fuzzer can call by `name`: an export, or a resource's session."""
    if name.startswith(SESSION):
        r = name.removeprefix(SESSION)
        return session_sig(iface, r) if r in iface.resources else None
    return iface.funcs.get(name)


def run_session(instance: Any, iface: T.InterfaceSig, sig: T.FuncSig, args: list[Any]) -> list[str]:
    """Makes the resource, calls its methods in order and drops every live handle; the steps as text (see
    `session_sig`). A step that does not return ends the life there, named by its outcome (the instance is
    gone with it)."""
    resource = sig.name.removeprefix(SESSION)
    ctor_args, methods = session_calls(iface, sig, args)
    steps: list[str] = []
    live = Live()
    step = "new"
    try:
        live.add(instance.call(f"[constructor]{resource}", ctor_args))
        steps.append("new")
        for step, f, margs in methods:
            call = pick_handles(resource, f, margs, live)
            if call is None:
                steps.append(f"{step}: no live {resource}")
                continue
            out = instance.call(f.name, call)
            if f.result is not None:
                out = number_handles(out, f.result, resource, live)
            steps.append(step if f.result is None else f"{step}: {wave.format(out, f.result)}")
        for n, handle in list(live.handles):
            step = "drop" if n == 0 else f"drop #{n}"
            instance.call(f"[resource-drop]{resource}", [handle])
            steps.append(step)
    except SuiteError:
        raise
    except CellOutcome as e:
        steps.append(f"{step}: {e.outcome.value}")
        raise SessionEnded(steps, e) from None
    return steps


@dataclass
class Live:
    """A session's live handles of its resource, in the order made, each with its number (0 is the
    constructor's)."""

    handles: list[tuple[int, Any]] = field(default_factory=list)
    made: int = 0

    def add(self, handle: Any) -> int:
        self.handles.append((self.made, handle))
        self.made += 1
        return self.made - 1


def pick_handles(resource: str, f: T.FuncSig, args: list[Any], live: Live) -> list[Any] | None:
    """A method call's arguments with its handles filled in from `live`: `self` is the first live handle,
    each handle parameter the live one at its drawn position (modulo how many are live then); an `own`
    one leaves `live`. None when a handle is needed and none is live."""
    held = list(live.handles)  # taken from only if every handle the call needs is there
    if not held:
        return None
    out = [held[0][1]]
    for (_, t), a in zip(f.params[1:], args, strict=True):
        if not T.handle_of(t, resource):
            out.append(a)
            continue
        if not held:
            return None
        k = a % len(held)
        out.append(held.pop(k)[1] if isinstance(t, T.OwnT) else held[k][1])
    live.handles = held
    return out


def number_handles(v: Any, ty: T.WitType | None, resource: str, live: Live) -> Any:
    """`v` with each handle of `resource` in it replaced by its number in the session, which joins `live`."""
    if isinstance(ty, T.OwnT):
        return Resource(resource, live.add(v))
    if v is None or ty is None:
        return v
    if isinstance(ty, T.ListT):
        return [number_handles(x, ty.element, resource, live) for x in v]
    if isinstance(ty, T.OptionT):
        return Some(number_handles(v.value, ty.payload, resource, live))
    if isinstance(ty, T.ResultT):
        inner = ty.ok if isinstance(v, Ok) else ty.err
        return type(v)(number_handles(v.value, inner, resource, live))
    if isinstance(ty, T.RecordT):
        return {n: number_handles(v[n], t, resource, live) for n, t in ty.fields}
    if isinstance(ty, T.TupleT):
        return tuple(number_handles(x, t, resource, live) for x, t in zip(v, ty.elements, strict=True))
    if isinstance(ty, T.VariantT) and isinstance(v, Variant):
        return Variant(v.case, number_handles(v.payload, dict(ty.cases).get(v.case), resource, live))
    return v


class SessionEnded(Exception):
    """A resource's life that ended in a step that did not return: the steps so far, and the outcome."""

    def __init__(self, steps: list[str], outcome: Exception) -> None:
        super().__init__(str(outcome))
        self.steps, self.outcome = steps, outcome


class SuiteFault(Exception):
    """A column answered `error`: the suite failed, not the runtime."""


@dataclass
class Answer:
    outcome: str
    value: Any
    asked: list[ImportCall]


def compare(func: str, sig: T.FuncSig, args: list[Any], columns: list[AnyColumn]) -> tuple[dict[str, Answer], list[str]]:
    """Every column's answer to one call, and how each differs from the first column's."""
    answers = {}
    for c in columns:
        outcome, value = c.call(func, args)
        if outcome == "error":  # the suite's own bug: it stops the function, and is never a finding
            raise SuiteFault(f"{c.name}: {value}")
        answers[c.name] = Answer(outcome, value, list(c.answers.calls))
    ref_name, ref = next(iter(answers.items()))
    problems = []
    for name, a in list(answers.items())[1:]:
        if a.outcome != ref.outcome:
            problems.append(f"{name}: {a.outcome}" + (f": {a.value}" if a.outcome != "ok" else "")
                            + f" where {ref_name}: {ref.outcome}" + (f": {ref.value}" if ref.outcome != "ok" else ""))
        elif a.outcome == "ok" and not matches(ref.value, a.value):
            problems.append(f"{name}: returned {wave.format(a.value, sig.result, brief=True)} where {ref_name} "
                            f"returned {wave.format(ref.value, sig.result, brief=True)}")
        if [str(x) for x in a.asked] != [str(x) for x in ref.asked]:
            problems.append(f"{name}: asked the host {_asked(a.asked)} where {ref_name} asked {_asked(ref.asked)}")
    return answers, problems


def _asked(calls: list[ImportCall]) -> str:
    text = "; ".join(str(c) for c in calls) or "nothing"
    return text if len(text) <= 300 else text[:300] + "…"


def takes_handles(sig: T.FuncSig) -> bool:
    """Whether the function cannot be called on its own with drawn values: a constructor or method (a session
    calls those), or one whose arguments or result hold a handle. A static function of plain values can."""
    return sig.name.startswith(("[constructor]", "[method]")) or _holds_handles(sig.result) or any(
        _holds_handles(t) for _, t in sig.params)


def _same(a: Answer, b: Answer) -> bool:
    return a.outcome == b.outcome and (a.outcome != "ok" or matches(a.value, b.value))


def against(func: str, sig: T.FuncSig, args: list[Any], columns: list[AnyColumn],
            others: list[AnyColumn]) -> tuple[dict[str, Answer], list[str]]:
    """Another toolchain's component of the same interface, on the same call: its answers by runtime, and
    the runtimes where it and this component disagree."""
    mine = {c.runtime: c for c in columns}
    theirs, problems = {}, []
    for o in others:
        outcome, value = o.call(func, args)
        if outcome == "error":
            raise SuiteFault(f"{o.name}: {value}")
        theirs[o.runtime] = b = Answer(outcome, value, list(o.answers.calls))
        c = mine.get(o.runtime)
        if c is None:
            continue
        a = Answer(*c.last) if c.last else None
        if a is not None and not _same(a, b):
            shown = wave.format(b.value, sig.result, brief=True) if b.outcome == "ok" else f"{b.outcome}: {b.value}"
            problems.append(f"{c.name}: differs from {o.guest.name} on {o.runtime}, which gave {shown}")
    return theirs, problems


def layer(answers: dict[str, Answer], theirs: dict[str, Answer], transpiled: set[str]) -> str:
    """Which layer the side-by-side evidence points at, in one sentence.

    `answers` and `theirs` are by runtime: this component's and another toolchain's component of the
    same interface. `transpiled` names the runtimes that run a JavaScript transpilation (jco).
    """
    runtimes = [r for r in answers if r in theirs]
    if not runtimes:
        return "unknown: no runtime ran both components"
    ref = runtimes[0]
    mine_differ = [r for r in runtimes if not _same(answers[r], answers[ref])]
    theirs_differ = [r for r in runtimes if not _same(theirs[r], theirs[ref])]
    if not mine_differ:
        if all(_same(answers[r], theirs[r]) for r in runtimes):
            return "none: both components give the same answer on every runtime"
        return ("guest toolchain: this component answers the same on every runtime, and differently from the "
                "other toolchain's component, which also agrees with itself everywhere")
    if theirs_differ == mine_differ:
        return f"runtime: both toolchains' components differ on {', '.join(mine_differ)} alike"
    if theirs_differ:
        return (f"unclear: this component differs on {', '.join(mine_differ)}, the other toolchain's on "
                f"{', '.join(theirs_differ)}")
    set_d, on_js = set(mine_differ), {r for r in runtimes if r in transpiled}
    if set_d == on_js and ref not in transpiled:
        return ("transpiler: every runtime that runs the jco transpilation differs and no other does, and only with "
                "this toolchain's component (the other toolchain's agrees everywhere)")
    if set_d <= on_js:
        return (f"engine: among the runtimes that run the same jco transpilation only {', '.join(mine_differ)} differ, "
                "and only with this toolchain's component")
    return f"runtime: {', '.join(mine_differ)} differ with this toolchain's component only"
