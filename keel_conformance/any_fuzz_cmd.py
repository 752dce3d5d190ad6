"""`keel-conformance fuzz --component PATH`: any component's exports across every runtime, and its findings.

A divergence is shrunk by Hypothesis and written as a finding directory:

    findings/<interface>.<function>-<hash>/
        component.wasm   the component as it was run
        call.wave        the shrunk call, in WAVE
        finding.json     every column's answer, version and flags, and the import calls it made
        repro-jco.mjs    the call on jco's transpilation alone, with the reference host's import answers
        README.md        the same, ready to paste into an issue tracker, with a command per runtime

`keel-conformance fuzz --replay findings/…/finding.json` plays it again.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import FlakyFailure

from reports import markdown, results, write_formats
from runners import registry
from runners.protocol import GuestBuild, Reproduction

from . import fuzz, repro_js, wave
from . import types as T
from .any_fuzz import (
    SESSION,
    Answers,
    AnyColumn,
    SuiteFault,
    against,
    compare,
    export_steps,
    layer,
    session_sig,
    session_steps,
    signature,
    takes_handles,
)
from .component_types import NotAComponent, guest_types, inspect_file
from .outcomes import CellOutcome, NotApplicable

FINDING_KIND = "keel-conformance/finding"


class AnyUsage(Exception):
    pass


def load(path: Path, name: str | None = None) -> tuple[list[GuestBuild], dict[str, T.InterfaceSig]]:
    """One GuestBuild per exported interface with functions, and the component's non-WASI imports.

    `name` names the guest in reports (a finding's copy is component.wasm; its name is where it came from)."""
    try:
        types = inspect_file(path)
    except NotAComponent as e:
        raise AnyUsage(str(e)) from None
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    guests = [GuestBuild(name=name or path.stem, world="(the component's own)", interface="any", export=sig.unversioned,
                         path=path.resolve(), sha256=sha, size_bytes=len(data), toolchain="unknown",
                         toolchain_version="unknown", build_command="(brought to the suite)")
              for sig in types.exports.values() if sig.funcs]
    if not guests:
        raise AnyUsage(f"{path}: exports no functions, at its top level or in an interface")
    imports = {n: s for n, s in types.imports.items() if not n.startswith("wasi:")}
    return guests, imports


def _selected(guests: list[GuestBuild], wanted: list[str]) -> tuple[list[tuple[GuestBuild, T.FuncSig]], list[str]]:
    """The functions to fuzz, and those left out. An exported resource is driven as one session (made, its
    methods called, dropped), chosen by its name; its methods are not called alone."""
    chosen, skipped = [], []
    for g in guests:
        sig = guest_types(g).export_named(g.export)
        assert sig is not None
        sessions = [s for r in sig.resources if (s := session_sig(sig, r))]
        covered = {f for s in sessions for f in session_steps(s)}
        for name, f in [*sorted(sig.funcs.items()), *((s.name, s) for s in sessions)]:
            # A resource's name chooses its session and its static functions.
            also = {name.removeprefix(SESSION)} if name.startswith(SESSION) else set(
                re.findall(r"^\[static\]([^.]+)\.", name))
            if wanted and not {name, f"{g.export}#{name}", *also} & set(wanted):
                continue
            if name in covered:
                continue
            if takes_handles(f) and not name.startswith(SESSION):
                skipped.append(f"{g.export}#{name}")
            else:
                chosen.append((g, f))
    if wanted and not chosen:
        have = [f"{g.export}#{f.name}" for g, f in _selected(guests, [])[0]]
        raise AnyUsage(f"the component has no function {', '.join(wanted)} that the fuzzer can call; it can call "
                       f"{', '.join(have)} (a resource's session by the resource's name)")
    return chosen, skipped


def _columns(runtimes: list[str], guests: list[GuestBuild], imports: dict[str, T.InterfaceSig], seed: int,
             ws: fuzz.Workspace) -> tuple[dict[str, list[AnyColumn]], list[dict[str, Any]], dict[str, str]]:
    factories = registry()
    by_guest: dict[str, list[AnyColumn]] = {g.export: [] for g in guests}
    probes, refused = [], {}
    for name in runtimes:
        runner = factories[name]()
        ws.runners.append(runner)
        probe = runner.probe()
        probes.append(results.runtime_entry(probe))
        if not probe.available:
            continue
        for g in guests:
            col = AnyColumn(name, g, runner, probe, ws.root, ws.services, imports=imports, answers=Answers(seed))
            try:
                col.fresh()
                by_guest[g.export].append(col)
            except NotApplicable as e:
                refused[f"{name}:{g.export}"] = str(e)
            except CellOutcome as e:  # it loads on some runtimes and not here: that is worth seeing, not fatal
                refused[f"{name}:{g.export}"] = f"{e.outcome.value} while instantiating: {e}"
    return by_guest, probes, refused


def _checker(others: list[AnyColumn]) -> Any:
    """Compares the columns with each other and, given another toolchain's component, with it runtime by runtime."""
    def check(func: str, sig: T.FuncSig, args: list[Any], columns: list[Any]) -> fuzz.Divergence | None:
        answers, problems = compare(func, sig, args, columns)
        extra: dict[str, Any] = {}
        if others:
            theirs, more = against(func, sig, args, columns, others)
            problems += more
            by_runtime = {c.runtime: answers[c.name] for c in columns}
            transpiled = {c.runtime for c in columns if "transpiled-to-js" in c.probe.capabilities}
            extra = {"against": theirs, "layer": layer(by_runtime, theirs, transpiled)}
        if not problems:
            return None
        return fuzz.Divergence(func, args, {n: (a.outcome, a.value) for n, a in answers.items()}, problems,
                               asked={n: [str(c) for c in a.asked] for n, a in answers.items()}, extra=extra)
    return check


def _other(path: Path, guest: GuestBuild, sig: T.FuncSig, name: str | None = None) -> GuestBuild:
    """The other component's build for `guest`'s interface, when it has `sig` with the same types."""
    guests, _ = load(path, name)
    other = next((g for g in guests if g.export == guest.export), None)
    theirs = signature(guest_types(other).export_named(other.export), sig.name) if other else None  # type: ignore[arg-type]
    if other is None or theirs != sig:
        raise AnyUsage(f"{path}: has no {guest.export}#{sig.name} of the same type to compare with")
    return other


def _run(prop: Any) -> fuzz.Divergence | SuiteFault | None:
    """The property's verdict: the shrunk divergence, a suite fault, or None.

    A divergence that did not repeat when Hypothesis tried the same input again is still a finding
    (its problems say so): a runtime that answers one input two ways is worth an upstream report.
    """
    try:
        prop()
    except fuzz.Diverged as e:
        return e.divergence
    except SuiteFault as e:
        return e
    except FlakyFailure as group:
        inner = [x for x in _leaves(group) if isinstance(x, (fuzz.Diverged, SuiteFault))]
        fault = next((x for x in inner if isinstance(x, SuiteFault)), None)
        if fault is not None or not inner:
            return fault or SuiteFault(f"Hypothesis: {group}")
        d = inner[0].divergence  # type: ignore[union-attr]
        d.problems = [*d.problems, "(not repeatable: the same input gave no divergence when tried again)"]
        return d  # type: ignore[no-any-return]
    return None


def _leaves(group: BaseException) -> list[BaseException]:
    if isinstance(group, BaseExceptionGroup):
        return [leaf for x in group.exceptions for leaf in _leaves(x)]
    return [group]


def qual(g: GuestBuild, sig: T.FuncSig) -> str:
    return f"{g.export}#{sig.name}"


def execute(args: argparse.Namespace) -> int:
    known = registry()
    runtimes = args.runtime or list(known)
    unknown = [r for r in runtimes if r not in known]
    if unknown:
        raise AnyUsage(f"unknown runtime {', '.join(unknown)}; known: {', '.join(known)}")
    guests, imports = load(args.component)
    chosen, skipped = _selected(guests, args.function)
    others = {qual(g, sig): _other(args.against, g, sig) for g, sig in chosen} if args.against else {}
    other_imports = load(args.against)[1] if args.against else {}
    out = args.out or Path("reports/out") / f"fuzz-{args.component.stem}-seed{args.seed}"
    out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out / "findings", ignore_errors=True)
    started = results.now()
    outcomes: dict[tuple[str, str], tuple[str, str]] = {}  # (interface#function, runtime) -> (outcome, message)
    findings: list[Path] = []
    examples: dict[str, int] = {}
    with fuzz.workspace("keel-fuzz-any-") as ws:
        by_guest, probes, refused = _columns(runtimes, guests, imports, args.seed, ws)
        other_cols, _, _ = _columns(runtimes, list({g.export: g for g in others.values()}.values()), other_imports,
                                    args.seed, ws) if others else ({}, [], {})
        if max(len(c) for c in by_guest.values()) < 2:  # one runtime alone agrees with itself: that is no verdict
            loaded = sorted({c.runtime for cols in by_guest.values() for c in cols})
            why = [f"{k}: {v}" for k, v in refused.items()] + [f"{p['name']}: {p['reason']}" for p in probes
                                                                 if not p["available"]]
            raise AnyUsage(f"{args.component}: {'only ' + loaded[0] if loaded else 'no selected runtime'} loads it, "
                           "so there is nothing to compare" + (": " + "; ".join(why) if why else ""))
        current = None
        for g, sig in chosen:
            cols = by_guest[g.export]
            if g.export != current:  # a new interface: instances made since its last use may be on ended engines
                current = g.export
                for c in [*cols, *other_cols.get(g.export, [])]:
                    c.discard()
            if len(cols) < 2:
                print(f"not fuzzed: {g.export}#{sig.name}: fewer than two runtimes load {g.export}", file=sys.stderr)
                continue
            name = qual(g, sig)
            print(f"fuzzing {name} on {len(cols)} column(s) …", file=sys.stderr)
            count = {"n": 0}
            strategy = st.tuples(*(fuzz.strategy_for(t) for _, t in sig.params))
            mine_others = other_cols.get(g.export, []) if name in others else []
            prop = fuzz.prop_for(sig.name, sig, cols, strategy, count, args.examples, args.seed,
                                 checker=_checker(mine_others))
            found = _run(prop)
            if isinstance(found, fuzz.Divergence):
                findings.append(write_finding(found, g, sig, cols, out, args.seed,
                                              others.get(name) if mine_others else None))
                for c in cols:
                    said = [p for p in found.problems if p.startswith(c.name + ":")]
                    if said:
                        outcomes[(name, c.runtime)] = ("fail", "; ".join(said))
            elif isinstance(found, SuiteFault):
                print(f"keel-conformance: suite error on {name}: {found}", file=sys.stderr)
                for c in cols:
                    outcomes[(name, c.runtime)] = ("error", f"the suite failed, not the runtime: {found}")
            examples[name] = count["n"]
    doc = _document(args, guests, probes, refused, examples, outcomes, findings, started)
    results.write(doc, out / "results.json")
    write_formats(doc, out)
    print(markdown.summary(doc, fmt="simple"))
    for s in skipped:
        print(f"not fuzzed: {s} takes or makes a handle the fuzzer cannot make (a method taking another resource's "
              "handle or a handle inside a value, a function outside a resource whose arguments or result hold a "
              "handle, or a resource without a constructor)")
    for f in findings:
        print(f"\nFINDING: {f.parent.name}\n  " + "\n  ".join(json.loads(f.read_text())["problems"])[:600]
              + f"\n  replay: keel-conformance fuzz --replay {f}")
    print(f"\n{len(examples)} functions, {sum(examples.values())} examples, {len(findings)} finding(s). Wrote {out}/")
    errors = sum(1 for o, _ in outcomes.values() if o == "error")
    return 1 if findings or errors else 0


def _document(args: argparse.Namespace, guests: list[GuestBuild], probes: list[dict[str, Any]], refused: dict[str, str],
              examples: dict[str, int], outcomes: dict[tuple[str, str], tuple[str, str]], findings: list[Path],
              started: str) -> dict[str, Any]:
    cells = []
    available = {p["name"]: p for p in probes}
    for qual, n in examples.items():
        export = qual.split("#")[0]
        for name, p in available.items():
            cell = {"feature": "fuzz", "scenario": f"{qual} ({n} examples, seed {args.seed})", "interface": "any",
                    "runtime": name, "guest": guests[0].name, "duration_s": 0.0, "message": "", "outcome": "pass"}
            if not p["available"]:
                cell.update(outcome="n/a", message=p["reason"] or "not available")
            elif f"{name}:{export}" in refused:
                cell.update(outcome="n/a", message=refused[f"{name}:{export}"])
            elif (qual, name) in outcomes:
                outcome, message = outcomes[(qual, name)]
                cell.update(outcome=outcome, message=message)
            cells.append(cell)
    entry = results.guest_entry(guests[0])
    entry["interface"] = "any"
    doc = results.assemble(started=started, finished=results.now(), complete=True,
                           command=["keel-conformance", *sys.argv[1:]], runtimes=list(available.values()),
                           guests=[entry], cells=cells)
    doc["divergences"] = []
    for f in findings:
        finding = json.loads(f.read_text(encoding="utf-8"))
        doc["divergences"].append({"function": f"{finding['interface']}#{finding['function']}",
                                   "input": finding["input"], "problems": finding["problems"], "bundle": str(f)})
    return doc


def write_finding(d: fuzz.Divergence, guest: GuestBuild, sig: T.FuncSig, columns: list[AnyColumn],
                  out: Path, seed: int, other: GuestBuild | None = None) -> Path:
    call = sig.name + "(" + ", ".join(wave.format(a, t) for a, (_, t) in zip(d.input, sig.params, strict=True)) + ")"
    digest = hashlib.sha256(f"{guest.sha256}{guest.export}{call}".encode()).hexdigest()[:12]
    fn = re.sub(r"\[(\w+)\]", r"\1-", sig.name)  # [session]basket, [static]basket.fits: session-basket, static-…
    where = out / "findings" / f"{guest.export.strip('()').replace(':', '_').replace('/', '.')}.{fn}-{digest}"
    where.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(guest.path, where / "component.wasm")
    (where / "call.wave").write_text(call + "\n", encoding="utf-8")
    by_name = {c.name: c for c in columns}
    diverged = [n for n in by_name if any(p.startswith(n + ":") for p in d.problems)]
    doc = {
        "kind": FINDING_KIND,
        "component": {"file": "component.wasm", "sha256": guest.sha256, "size_bytes": guest.size_bytes,
                      "brought_from": guest.path.name},
        "interface": guest.export, "function": sig.name, "call": call, "input": call[len(sig.name):], "seed": seed,
        "kinds": sorted({_kind(t) for _, t in sig.params}),
        "reference": columns[0].runtime, "diverged": [by_name[n].runtime for n in diverged],
        "problems": d.problems,
        "runtimes": {
            by_name[n].runtime: {"version": by_name[n].probe.version, "flags": list(by_name[n].probe.flags),
                                 "outcome": outcome,
                                 "answer": wave.format(value, sig.result) if outcome == "ok" else str(value),
                                 "asked": d.asked.get(n, [])}
            for n, (outcome, value) in d.results.items()
        },
    }
    for n, entry in doc["runtimes"].items():
        col = next(c for c in columns if c.runtime == n)
        if col.said:  # a resource's life ended in a trap, timeout or crash: in the runtime's own words
            entry["said"] = col.said
    doc["reproduce"] = _standalone(where, guest, sig, d.input, call, columns)
    if other is not None and "against" in d.extra:
        shutil.copyfile(other.path, where / "against.wasm")
        doc["against"] = {
            "component": {"file": "against.wasm", "sha256": other.sha256, "size_bytes": other.size_bytes,
                          "brought_from": other.path.name},
            "runtimes": {r: {"outcome": a.outcome,
                             "answer": wave.format(a.value, sig.result) if a.outcome == "ok" else str(a.value)}
                         for r, a in d.extra["against"].items()},
        }
        doc["layer"] = d.extra["layer"]
    path = where / "finding.json"
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (where / "README.md").write_text(finding_markdown(doc), encoding="utf-8")
    return path


def _standalone(where: Path, guest: GuestBuild, sig: T.FuncSig, args: list[Any], call: str,
                columns: list[AnyColumn]) -> dict[str, Any]:
    """Writes the finding's standalone JavaScript reproduction and asks each runner for its one-line command.

    The script's import answers are the reference runtime's, from a fresh instance: the instance the
    divergence came from may carry state from earlier examples."""
    ref = columns[0]
    ref.discard()
    outcome, _ = ref.call(sig.name, args)
    wasi = sorted({n.split("@")[0] for n in guest_types(guest).imports if n.startswith("wasi:")})
    exported = guest_types(guest).export_named(guest.export)
    assert exported is not None
    steps = export_steps(exported, sig, args)
    title = f"{guest.export}#{call}: {ref.runtime} answered {outcome}"
    r = Reproduction(component="component.wasm", js_script=repro_js.SCRIPT,
                     where=where, guest=guest, exported=exported,
                     steps=tuple((label, name, f, tuple(a)) for label, name, f, a in steps),
                     given=tuple(ref.answers.given), title=title, limits=fuzz.LIMITS,
                     imports=ref.imports, wasi=tuple(wasi))
    (where / repro_js.SCRIPT).write_text(repro_js.script(r), encoding="utf-8")
    commands = {}
    for c in columns:
        offer = getattr(c.runner, "reproduce", None)
        commands[c.runtime] = offer(r) if offer else None
    return {"script": repro_js.SCRIPT, "setup": repro_js.setup(), "runtimes": commands}


def _kind(t: T.WitType) -> str:
    return t.kind if isinstance(t, T.Prim) else type(t).__name__.removesuffix("T").lower()


def finding_markdown(doc: dict[str, Any], heading: str = "#") -> str:
    """A finding as Markdown; every field is read defensively, since a finding may come from anywhere."""
    runtimes = {str(r): v for r, v in doc["runtimes"].items() if isinstance(v, dict)}
    rows = [f"| {r} | {v.get('version')} | {v.get('outcome')} | `{str(v.get('answer'))[:200]}` | {len(v.get('asked') or [])} |"
            for r, v in runtimes.items()]
    asked = {r: [str(c) for c in (v.get("asked") or [])] for r, v in runtimes.items()}
    comp = doc["component"]
    size = comp.get("size_bytes")
    named = [str(r) for r in doc.get("diverged") or []]
    diverged = ", ".join(named) or "some runtimes"
    # With --against, the reference runtime itself can differ: from the other toolchain's component.
    versus = "the other toolchain's component" if doc["reference"] in named else doc["reference"]
    lines = [f"{heading} `{doc['interface']}#{doc['function']}{doc['input']}`: {diverged} differ from {versus}",
             "", f"Component sha256 `{comp.get('sha256')}`" + (f" ({size:,} bytes)" if isinstance(size, int) else "")
             + f", argument kinds: {', '.join(str(k) for k in doc.get('kinds') or []) or 'none'}, seed {doc['seed']}.", "",
             "| runtime | version | outcome | answer | import calls |", "|---|---|---|---|---|", *rows, ""]
    said = [f"- {r}: {v['said']}" for r, v in runtimes.items() if isinstance(v.get("said"), str)]
    if said:
        lines += ["Where a step did not return, in each runtime's own words:", "", *said, ""]
    if len({json.dumps(a) for a in asked.values()}) > 1:
        lines += ["Import calls the guest made, per runtime:", ""]
        lines += [f"- {r}: " + ("; ".join(f"`{c}`" for c in a) or "none") for r, a in asked.items()]
        lines.append("")
    other = doc.get("against")
    if isinstance(other, dict) and isinstance(other.get("runtimes"), dict):
        lines += [f"Side by side with `{other.get('component', {}).get('brought_from')}` (another toolchain's component "
                  "of the same interface), on the same runtimes:", "", "| runtime | outcome | answer |", "|---|---|---|"]
        lines += [f"| {r} | {v.get('outcome')} | `{str(v.get('answer'))[:200]}` |"
                  for r, v in other["runtimes"].items() if isinstance(v, dict)]
        lines += ["", f"**Layer:** {doc.get('layer')}", ""]
    lines += _standalone_markdown(doc.get("reproduce"), runtimes)
    lines += ["With keel-conformance, in the finding's directory (answers to imports are drawn from the seed, the "
              "same on every runtime):", "", "```sh", "keel-conformance fuzz --replay finding.json", "```", ""]
    return "\n".join(lines)


def _standalone_markdown(rep: Any, runtimes: dict[str, Any]) -> list[str]:
    if not isinstance(rep, dict) or not isinstance(rep.get("runtimes"), dict):
        return []
    setup = [str(s) for s in rep.get("setup") or [] if isinstance(s, str)]
    lines = ["Reproduce without the suite, in the finding's directory. Each script passes the same arguments, "
             "answers the guest's imports as the reference runtime's host did, in order, and says in its first "
             f"lines what it needs. For the JavaScript engines, `{rep.get('script')}` needs jco's transpilation "
             "first (and so does the browsers' launcher, which runs the same steps in a dedicated worker of a page "
             "it serves):", "", "```sh", *setup, "```", "",
             "| runtime | version | command |", "|---|---|---|"]
    for r, cmd in rep["runtimes"].items():
        version = runtimes.get(str(r), {}).get("version")
        shown = f"`{cmd}`" if isinstance(cmd, str) else "none without the suite"
        lines.append(f"| {r} | {version} | {shown} |")
    return [*lines, ""]


def _came_from(component: Any) -> str | None:
    name = component.get("brought_from") if isinstance(component, dict) else None
    return Path(name).stem or None if isinstance(name, str) else None


def is_finding(doc: Any) -> bool:
    return (isinstance(doc, dict) and doc.get("kind") == FINDING_KIND
            and all(isinstance(doc.get(k), str) for k in ("interface", "function", "input", "reference"))
            and isinstance(doc.get("component"), dict) and isinstance(doc["component"].get("file"), str)
            and isinstance(doc.get("runtimes"), dict) and bool(doc["runtimes"]) and isinstance(doc.get("seed"), int))


def replay(path: Path, doc: dict[str, Any]) -> int:
    """Runs a finding's call again on the runtimes it names, with the same seeded import answers."""
    component = path.parent / Path(doc["component"]["file"]).name  # never outside the finding's own directory
    guests, imports = load(component, _came_from(doc["component"]))
    guest = next((g for g in guests if g.export == doc["interface"]), None)
    if guest is None:
        raise AnyUsage(f"{component}: exports no {doc['interface']}")
    sig = signature(guest_types(guest).export_named(guest.export), doc["function"])  # type: ignore[arg-type]
    if sig is None:
        raise AnyUsage(f"{component}: {doc['interface']} has no function {doc['function']!r}")
    try:
        args = wave.parse_args(doc["input"], sig)
    except wave.WaveError as e:
        raise AnyUsage(f"{path}: its input is not a call of {doc['function']}: {e}") from None
    known = registry()
    runtimes = [r for r in doc["runtimes"] if r in known]
    for r in doc["runtimes"]:
        if r not in known:
            print(f"note: {r} is not a runtime of this suite; skipped", file=sys.stderr)
    runtimes.sort(key=lambda r: r != doc["reference"])  # the reference first, as in the run that found it
    with fuzz.workspace("keel-replay-") as ws:
        by_guest, _, refused = _columns(runtimes, [guest], imports, doc["seed"], ws)
        for k, v in refused.items():
            print(f"note: {k}: {v}", file=sys.stderr)
        if not by_guest[guest.export]:
            raise AnyUsage(f"{path}: none of the runtimes it names ({', '.join(doc['runtimes'])}) loads it here")
        answers, problems = compare(sig.name, sig, args, by_guest[guest.export])
        if isinstance(doc.get("against"), dict):
            other = _other(path.parent / "against.wasm", guest, sig, _came_from(doc["against"].get("component")))
            other_cols, _, _ = _columns(runtimes, [other], load(other.path)[1], doc["seed"], ws)
            theirs, more = against(sig.name, sig, args, by_guest[guest.export], other_cols[other.export])
            problems += more
            transpiled = {c.runtime for c in by_guest[guest.export] if "transpiled-to-js" in c.probe.capabilities}
            print(f"layer: {layer({c.runtime: answers[c.name] for c in by_guest[guest.export]}, theirs, transpiled)}")
    print(f"{doc['interface']}#{doc['function']}{doc['input']}")
    for name, a in answers.items():
        shown = wave.format(a.value, sig.result, brief=True) if a.outcome == "ok" else str(a.value)[:300]
        print(f"  {name}: {a.outcome}: {shown}")
    if not problems:
        print("no divergence: every column gave the same answer and asked the host the same things")
        return 0
    for p in problems:
        print(f"  {p[:500]}")
    return 1
