"""`keel-conformance fuzz --component PATH`: any component's exports across every runtime, and its findings.

A divergence is shrunk by Hypothesis and written as a finding directory:

    findings/<interface>.<function>-<hash>/
        component.wasm   the component as it was run
        call.wave        the shrunk call, in WAVE
        finding.json     every column's answer, version and flags, and the import calls it made
        README.md        the same, ready to paste into an issue tracker

`keel-conformance fuzz --replay findings/…/finding.json` plays it again.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from fixtures.backends import Services
from reports import markdown, results, write_formats
from runners import registry
from runners.protocol import GuestBuild

from . import fuzz, wave
from . import types as T
from .any_fuzz import Answers, AnyColumn, compare, takes_handles
from .component_types import NotAComponent, guest_types, inspect_file
from .outcomes import CellOutcome, NotApplicable

FINDING_KIND = "keel-conformance/finding"


class AnyUsage(Exception):
    pass


def load(path: Path) -> tuple[list[GuestBuild], dict[str, T.InterfaceSig]]:
    """One GuestBuild per exported interface with functions, and the component's non-WASI imports."""
    try:
        types = inspect_file(path)
    except NotAComponent as e:
        raise AnyUsage(str(e)) from None
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    guests = [GuestBuild(name=path.stem, world="(the component's own)", interface="any", export=sig.unversioned,
                         path=path.resolve(), sha256=sha, size_bytes=len(data), toolchain="unknown",
                         toolchain_version="unknown", build_command="(brought to the suite)")
              for sig in types.exports.values() if sig.funcs]
    if not guests:
        raise AnyUsage(f"{path}: exports no interface with functions (functions exported at the top level of a "
                       "component are not supported yet)")
    imports = {n: s for n, s in types.imports.items() if not n.startswith("wasi:")}
    return guests, imports


def _selected(guests: list[GuestBuild], wanted: list[str]) -> tuple[list[tuple[GuestBuild, T.FuncSig]], list[str]]:
    chosen, skipped = [], []
    for g in guests:
        sig = guest_types(g).export_named(g.export)
        assert sig is not None
        for name, f in sorted(sig.funcs.items()):
            if wanted and name not in wanted and f"{g.export}#{name}" not in wanted:
                continue
            if takes_handles(f):
                skipped.append(f"{g.export}#{name}")
            else:
                chosen.append((g, f))
    if wanted and not chosen:
        have = [f"{g.export}#{n}" for g in guests for n in guest_types(g).export_named(g.export).funcs]  # type: ignore[union-attr]
        raise AnyUsage(f"the component has no function {', '.join(wanted)} that takes plain values; it has {', '.join(have)}")
    return chosen, skipped


def _columns(runtimes: list[str], guests: list[GuestBuild], imports: dict[str, T.InterfaceSig], seed: int,
             root: Path, services: Services, runners: list[Any]) -> tuple[dict[str, list[AnyColumn]], list[dict[str, Any]], dict[str, str]]:
    factories = registry()
    by_guest: dict[str, list[AnyColumn]] = {g.export: [] for g in guests}
    probes, refused = [], {}
    for name in runtimes:
        runner = factories[name]()
        runners.append(runner)
        probe = runner.probe()
        probes.append(results.runtime_entry(probe))
        if not probe.available:
            continue
        for g in guests:
            col = AnyColumn(name, g, runner, probe, root, services, imports=imports, answers=Answers(seed))
            try:
                col.fresh()
                by_guest[g.export].append(col)
            except NotApplicable as e:
                refused[f"{name}:{g.export}"] = str(e)
            except CellOutcome as e:  # it loads on some runtimes and not here: that is worth seeing, not fatal
                refused[f"{name}:{g.export}"] = f"{e.outcome.value} while instantiating: {e}"
    return by_guest, probes, refused


def _checker(func: str, sig: T.FuncSig, args: list[Any], columns: list[Any]) -> fuzz.Divergence | None:
    answers, problems = compare(func, sig, args, columns)
    if not problems:
        return None
    return fuzz.Divergence(func, args, {n: (a.outcome, a.value) for n, a in answers.items()}, problems,
                           asked={n: [str(c) for c in a.asked] for n, a in answers.items()})


def execute(args: argparse.Namespace) -> int:
    known = registry()
    runtimes = args.runtime or list(known)
    unknown = [r for r in runtimes if r not in known]
    if unknown:
        raise AnyUsage(f"unknown runtime {', '.join(unknown)}; known: {', '.join(known)}")
    guests, imports = load(args.component)
    chosen, skipped = _selected(guests, args.function)
    out = args.out or Path("reports/out") / f"fuzz-{args.component.stem}-seed{args.seed}"
    out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out / "findings", ignore_errors=True)
    root = Path(tempfile.mkdtemp(prefix="keel-fuzz-any-"))
    services = Services()
    runners: list[Any] = []
    started = results.now()
    outcomes: dict[tuple[str, str], str] = {}  # (interface#function, column) -> "pass" or the problem
    findings: list[Path] = []
    examples: dict[str, int] = {}
    try:
        by_guest, probes, refused = _columns(runtimes, guests, imports, args.seed, root, services, runners)
        if max(len(c) for c in by_guest.values()) < 2:  # one runtime alone agrees with itself: that is no verdict
            loaded = sorted({c.runtime for cols in by_guest.values() for c in cols})
            why = [f"{k}: {v}" for k, v in refused.items()] + [f"{p['name']}: {p['reason']}" for p in probes
                                                                 if not p["available"]]
            raise AnyUsage(f"{args.component}: {'only ' + loaded[0] if loaded else 'no selected runtime'} loads it, "
                           "so there is nothing to compare" + (": " + "; ".join(why) if why else ""))
        for g, sig in chosen:
            cols = by_guest[g.export]
            if len(cols) < 2:
                print(f"not fuzzed: {g.export}#{sig.name}: fewer than two runtimes load {g.export}", file=sys.stderr)
                continue
            qual = f"{g.export}#{sig.name}"
            print(f"fuzzing {qual} on {len(cols)} column(s) …", file=sys.stderr)
            count = {"n": 0}
            strategy = st.tuples(*(fuzz.strategy_for(t) for _, t in sig.params))
            prop = fuzz.prop_for(sig.name, sig, cols, strategy, count, args.examples, args.seed, checker=_checker)
            try:
                prop()
            except fuzz.Diverged as e:
                findings.append(write_finding(e.divergence, g, sig, cols, out, args.seed))
                for c in cols[1:]:
                    mine = [p for p in e.divergence.problems if p.startswith(c.name + ":")]
                    if mine:
                        outcomes[(qual, c.runtime)] = "; ".join(mine)
            examples[qual] = count["n"]
    finally:
        for runner in runners:
            runner.close()
        services.close()
        shutil.rmtree(root, ignore_errors=True)
    doc = _document(args, guests, probes, refused, examples, outcomes, findings, started)
    results.write(doc, out / "results.json")
    write_formats(doc, out)
    print(markdown.summary(doc, fmt="simple"))
    for s in skipped:
        print(f"not fuzzed: {s} takes or makes a resource handle (exported resources are not driven yet)")
    for f in findings:
        print(f"\nFINDING: {f.parent.name}\n  " + "\n  ".join(json.loads(f.read_text())["problems"])[:600]
              + f"\n  replay: keel-conformance fuzz --replay {f}")
    print(f"\n{len(examples)} functions, {sum(examples.values())} examples, {len(findings)} finding(s). Wrote {out}/")
    return 1 if findings else 0


def _document(args: argparse.Namespace, guests: list[GuestBuild], probes: list[dict[str, Any]], refused: dict[str, str],
              examples: dict[str, int], outcomes: dict[tuple[str, str], str], findings: list[Path],
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
                cell.update(outcome="fail", message=outcomes[(qual, name)])
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
                  out: Path, seed: int) -> Path:
    call = sig.name + "(" + ", ".join(wave.format(a, t) for a, (_, t) in zip(d.input, sig.params, strict=True)) + ")"
    digest = hashlib.sha256(f"{guest.sha256}{guest.export}{call}".encode()).hexdigest()[:12]
    where = out / "findings" / f"{guest.export.replace(':', '_').replace('/', '.')}.{sig.name}-{digest}"
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
    path = where / "finding.json"
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (where / "README.md").write_text(finding_markdown(doc), encoding="utf-8")
    return path


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
    diverged = ", ".join(str(r) for r in doc.get("diverged") or []) or "some runtimes"
    lines = [f"{heading} `{doc['interface']}#{doc['function']}{doc['input']}`: {diverged} differ from {doc['reference']}",
             "", f"Component sha256 `{comp.get('sha256')}`" + (f" ({size:,} bytes)" if isinstance(size, int) else "")
             + f", argument kinds: {', '.join(str(k) for k in doc.get('kinds') or []) or 'none'}, seed {doc['seed']}.", "",
             "| runtime | version | outcome | answer | import calls |", "|---|---|---|---|---|", *rows, ""]
    if len({json.dumps(a) for a in asked.values()}) > 1:
        lines += ["Import calls the guest made, per runtime:", ""]
        lines += [f"- {r}: " + ("; ".join(f"`{c}`" for c in a) or "none") for r, a in asked.items()]
        lines.append("")
    lines += ["Reproduce, in the finding's directory (answers to imports are drawn from the seed, the same on "
              "every runtime):", "", "```sh", "keel-conformance fuzz --replay finding.json", "```", ""]
    return "\n".join(lines)


def is_finding(doc: Any) -> bool:
    return (isinstance(doc, dict) and doc.get("kind") == FINDING_KIND
            and all(isinstance(doc.get(k), str) for k in ("interface", "function", "input", "reference"))
            and isinstance(doc.get("component"), dict) and isinstance(doc["component"].get("file"), str)
            and isinstance(doc.get("runtimes"), dict) and bool(doc["runtimes"]) and isinstance(doc.get("seed"), int))


def replay(path: Path, doc: dict[str, Any]) -> int:
    """Runs a finding's call again on the runtimes it names, with the same seeded import answers."""
    component = path.parent / Path(doc["component"]["file"]).name  # never outside the finding's own directory
    guests, imports = load(component)
    guest = next((g for g in guests if g.export == doc["interface"]), None)
    if guest is None:
        raise AnyUsage(f"{component}: exports no {doc['interface']}")
    sig = guest_types(guest).export_named(guest.export).funcs.get(doc["function"])  # type: ignore[union-attr]
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
    root = Path(tempfile.mkdtemp(prefix="keel-replay-"))
    services = Services()
    runners: list[Any] = []
    try:
        by_guest, _, refused = _columns(runtimes, [guest], imports, doc["seed"], root, services, runners)
        for k, v in refused.items():
            print(f"note: {k}: {v}", file=sys.stderr)
        answers, problems = compare(sig.name, sig, args, by_guest[guest.export])
    finally:
        for runner in runners:
            runner.close()
        services.close()
        shutil.rmtree(root, ignore_errors=True)
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
