"""`keel-conformance fuzz`: the differential run as a matrix, and `--replay` of one bundle."""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Any

from fixtures.backends import Services
from fixtures.components.build import BuildFailure, build_one, load_specs
from reports import markdown, results, write_formats
from runners import registry

from . import fuzz, wave
from .component_types import types_for
from .inputs import InputError, read_json
from .outcomes import NotApplicable


class FuzzUsage(Exception):
    pass


def _columns(runtimes: list[str], guests: list[Any], root: Path, services: Services,
             refused: dict[str, str], runners: list[Any]) -> tuple[list[fuzz.Column], list[dict[str, Any]]]:
    """Every (runtime, guest) column that can run; each runner made is added to `runners`, to be closed."""
    factories = registry()
    columns: list[fuzz.Column] = []
    probes: list[dict[str, Any]] = []
    for name in runtimes:
        runner = factories[name]()
        runners.append(runner)
        probe = runner.probe()
        probes.append(results.runtime_entry(probe))
        if probe.available:
            columns += [fuzz.Column(name, g, runner, probe, root, services) for g in guests]
    usable = []
    for col in columns:
        try:
            col.fresh()  # a runtime that refuses the guest is n/a for it, not a divergence
            usable.append(col)
        except NotApplicable as e:
            refused[col.name] = str(e)
    return usable, probes


def _guests(interface: str, names: list[str]) -> list[Any]:
    specs = [s for s in load_specs() if s.interface == interface and ((s.name in names) if names else not s.fixture_only)]
    if not specs:
        raise FuzzUsage(f"no guest serves interface {interface!r}" + (f" among {', '.join(names)}" if names else ""))
    builds = []
    for spec in specs:
        b = build_one(spec)
        if isinstance(b, BuildFailure):
            raise FuzzUsage(f"guest {spec.name} failed to build: {b.reason} (log: {b.log})")
        builds.append(b)
    return builds


def execute(args: argparse.Namespace) -> int:
    if args.replay:
        return replay(args.replay)
    known = registry()
    runtimes = args.runtime or list(known)
    unknown = [r for r in runtimes if r not in known]
    if unknown:
        raise FuzzUsage(f"unknown runtime {', '.join(unknown)}; known: {', '.join(known)}")
    guests = _guests(args.interface, args.guest)
    exports = types_for(guests[0].path, guests[0].sha256).export_named(guests[0].export)
    assert exports is not None
    unknown = [f for f in args.function if f not in exports.funcs]
    if unknown:
        raise FuzzUsage(f"{guests[0].export} has no function {', '.join(unknown)}; it has {', '.join(exports.funcs)}")
    out = args.out or Path("reports/out") / f"fuzz-{args.interface}-seed{args.seed}"
    out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out / "divergences", ignore_errors=True)
    started = results.now()
    with fuzz.workspace("keel-fuzz-") as ws:
        refused: dict[str, str] = {}
        columns, probes = _columns(runtimes, guests, ws.root, ws.services, refused, ws.runners)
        if not columns:
            raise FuzzUsage("no selected runtime is available here: " + "; ".join(
                f"{p['name']}: {p['reason']}" for p in probes))
        res = fuzz.run(columns, exports, args.examples, args.seed, args.function or None,
                       progress=lambda f: print(f"fuzzing {f} …", file=sys.stderr))
        for d in res.divergences:
            fuzz.write_bundle(d, exports.funcs[d.function], columns, out, args.seed)
    doc = _document(res, probes, guests, exports, args, started, refused)
    results.write(doc, out / "results.json")
    write_formats(doc, out)
    print(markdown.summary(doc, fmt="simple"))
    for d in res.divergences:
        print(f"\nDIVERGENCE in {d.function}{' (shrunk)' if d.bundle else ''}: input {d.bundle.parent.joinpath('input.wave').read_text().strip() if d.bundle else ''}")
        for p in d.problems:
            print(f"  {p[:300]}")
        print(f"  bundle: {d.bundle}\n  replay: keel-conformance fuzz --replay {d.bundle}")
    total = sum(res.examples.values())
    print(f"\n{len(res.examples)} functions, {total} examples per column, {len(columns)} columns, "
          f"{res.seconds:.1f} s; {len(res.divergences)} divergence(s). Wrote {out}/")
    unexpected = doc["summary"]["unexpected"]
    if res.divergences and not unexpected:
        print("Every divergence found is a known one (reports/expectations/); see the reasons in the reports.")
    return 1 if unexpected else 0


def _document(res: fuzz.FuzzResult, probes: list[dict[str, Any]], guests: list[Any], exports: Any,
              args: argparse.Namespace, started: str, refused: dict[str, str]) -> dict[str, Any]:
    cells = []
    divergent = {d.function: d for d in res.divergences}
    available = {p["name"] for p in probes if p["available"]}
    for func in res.examples:
        scenario = f"{func} ({res.examples[func]} examples, seed {args.seed})"
        for p in probes:
            for g in guests:
                name = f"{p['name']}:{g.name}"
                cell = {"feature": "fuzz", "scenario": scenario, "interface": args.interface, "runtime": p["name"],
                        "guest": g.name, "duration_s": 0.0, "message": "", "outcome": "pass"}
                if p["name"] not in available:
                    cell.update(outcome="n/a", message=p["reason"] or "not available")
                elif name in refused:
                    cell.update(outcome="n/a", message=refused[name])
                elif name in res.functions.get(func, []):
                    d = divergent[func]
                    cell.update(outcome="fail", message="; ".join(x for x in d.problems if x.startswith(name + ":")),
                                repro=f"keel-conformance fuzz --replay {d.bundle}")
                cells.append(cell)
    doc = results.assemble(
        started=started, finished=results.now(), complete=True, command=["keel-conformance", *sys.argv[1:]],
        runtimes=probes, guests=[results.guest_entry(g) for g in guests], cells=cells)
    doc["divergences"] = [{"function": d.function, "input": (d.bundle.parent / "input.wave").read_text().strip(),
                           "problems": d.problems, "bundle": str(d.bundle)} for d in res.divergences if d.bundle]
    return doc


def _is_bundle(b: Any) -> bool:
    return (isinstance(b, dict) and isinstance(b.get("function"), str) and isinstance(b.get("input"), str)
            and isinstance(b.get("columns"), dict) and bool(b["columns"])
            and all(isinstance(c, dict) and all(isinstance(c.get(k), str) for k in ("guest", "runtime", "guest_sha256"))
                    for c in b["columns"].values()))


def replay(bundle_path: Path) -> int:
    try:
        bundle = read_json(bundle_path, "bundle")
    except InputError as e:
        raise FuzzUsage(str(e)) from None
    from .any_fuzz_cmd import is_finding
    from .any_fuzz_cmd import replay as replay_finding

    if is_finding(bundle):
        return replay_finding(bundle_path, bundle)
    if not _is_bundle(bundle):
        raise FuzzUsage(f"{bundle_path}: not a divergence bundle (fuzz writes them as divergences/<function>-<hash>/"
                        "bundle.json, with function, input and columns)")
    names = sorted({c["guest"] for c in bundle["columns"].values()})
    guests = {g.name: g for g in _guests("values", names)}
    runtimes = sorted({c["runtime"] for c in bundle["columns"].values()})
    with fuzz.workspace("keel-replay-") as ws:
        columns, _ = _columns(runtimes, list(guests.values()), ws.root, ws.services, {}, ws.runners)
        columns = [c for c in columns if c.name in bundle["columns"]]
        g = next(iter(guests.values()))
        funcs = types_for(g.path, g.sha256).export_named(g.export).funcs  # type: ignore[union-attr]
        if bundle["function"] not in funcs:
            raise FuzzUsage(f"{bundle_path}: {g.name} has no function {bundle['function']!r}")
        try:
            sig = funcs[bundle["function"]]
            args = wave.parse_args(bundle["input"], sig)
        except wave.WaveError as e:
            raise FuzzUsage(f"{bundle_path}: its input is not a call of {bundle['function']}: {e}") from None
        for c in columns:
            was = bundle["columns"][c.name]["guest_sha256"]
            if was != c.guest.sha256:
                print(f"note: {c.guest.name} was {was[:12]} in the bundle and is {c.guest.sha256[:12]} here", file=sys.stderr)
        d = fuzz.check(bundle["function"], sig, args, columns)
    print(f"{bundle['function']}{bundle['input']}")
    if d is None:
        print("no divergence: every column returned the input")
        return 0
    for p in d.problems:
        print(f"  {p[:500]}")
    return 1
