"""`keel-conformance mutate`: how many wrong guests the scenarios catch.

Every built-in guest of a toolchain the suite can mutate gets one mutant per
mutation site of its exported functions' results. The mutants and their
unmutated guests (the baseline) run the interface's scenarios on one runtime
in one pytest session; a mutant is killed when any of its cells ends
otherwise than the scenario expects. Composite interfaces (product) mutate
one member at a time.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fixtures.components.build import (
    BuildFailure,
    CompositeSpec,
    GuestSpec,
    build_one,
    load_composites,
    load_specs,
    world_types,
)
from fixtures.components.mutants import (
    SOURCE_EDITS,
    SWAP,
    WRAPPERS,
    SchemaError,
    edited_mutant,
    mutant_path,
    schema_spec,
    slot_bytes,
)

from . import journal as journal_file
from . import types as T
from .component_types import inspect_file
from .inputs import writable_dir
from .mutation import OPERATORS, Equivalent, Site, plan
from .paths import PROJECT_ROOT
from .plugin import ALREADY_KILLED

DEFAULT_RUNTIME = "wasmtime"
# pytest, then out without the interpreter's teardown: every cell is already in the journal, and wasmtime's
# WASI threads can panic ("cannot unwind") when a failed cell's traceback keeps a store alive until then.
PYTEST_THEN_EXIT = "import os, sys, pytest; code = int(pytest.main(sys.argv[1:])); sys.stdout.flush(); sys.stderr.flush(); os._exit(code)"
# WAT and C guests get source edits instead of a wrapper: each exported function's result case swapped.
SOURCE_EDITED = tuple(SOURCE_EDITS)
MUTABLE_TOOLCHAINS = (*WRAPPERS, *SOURCE_EDITED)


class MutateError(Exception):
    """A one-line reason the mutation run cannot go on."""


@dataclass
class Mutant:
    guest: str  # the built-in guest it was made from
    interface: str  # whose scenarios judge it (a composite's, for a member's mutant run as the composite)
    toolchain: str
    site: Site
    spec: GuestSpec  # a prebuilt component (the schema build with this mutant's slot), or a source-edited guest
    schema: str | None  # the schema build's spec name; None for a source-edited guest, built on its own
    index: int  # this mutant's slot in the schema
    cell_guest: str  # the guest name its cells carry (the composite's, for composite interfaces)
    status: str = "not run"  # killed | survived | not built | not run
    detail: str = ""
    cells: int = 0


@dataclass
class Plan:
    mutants: list[Mutant] = field(default_factory=list)
    equivalent: list[tuple[str, str, str, Equivalent]] = field(default_factory=list)  # interface, guest, toolchain
    baseline: dict[str, GuestSpec] = field(default_factory=dict)
    schemas: dict[str, GuestSpec] = field(default_factory=dict)
    composites: list[CompositeSpec] = field(default_factory=list)


def _export_sig(spec: GuestSpec) -> Any:
    types = world_types(spec.world)
    if types is None:
        raise MutateError("jco is not installed (npm ci), so the interfaces' types cannot be read")
    sig = inspect_file(types).export_named(spec.export)
    if sig is None:
        raise MutateError(f"world {spec.world} exports no {spec.export}")
    return sig


def swap_sites(sig: T.InterfaceSig) -> tuple[list[Site], list[Equivalent]]:
    """A source-edited guest's sites: every exported function whose result is a result, swapped."""
    found, equivalent = [], []
    for name in sorted(sig.funcs):
        result = sig.funcs[name].result
        if isinstance(result, T.ResultT) and (result.ok is not None or result.err is not None):
            found.append(Site(name, (), SWAP, T.to_json(result)))
        else:
            shown = T.wit_text(result) if result is not None else "nothing"
            equivalent.append(Equivalent(name, SWAP, f"{name} returns {shown}: no result case to swap"))
    return found, equivalent


def _schema_name(spec: GuestSpec) -> str | None:
    return None if spec.toolchain in SOURCE_EDITED else f"{spec.name}~schema"


def make_plan(interfaces: list[str], guests: list[str], only: str | None) -> Plan:
    specs = [s for s in load_specs() if not s.fixture_only]
    composites = load_composites()
    mutable = {s.name: s for s in specs if s.toolchain in MUTABLE_TOOLCHAINS}
    p = Plan()
    sigs: dict[tuple[bool, str], tuple[list[Site], list[Equivalent]]] = {}

    def sites_of(spec: GuestSpec) -> tuple[list[Site], list[Equivalent]]:
        """A guest's sites and equivalents, by how its toolchain is mutated, read once per export."""
        key = (spec.toolchain in SOURCE_EDITED, spec.export)
        if key not in sigs:
            sigs[key] = swap_sites(_export_sig(spec)) if key[0] else plan(_export_sig(spec))
        return sigs[key]

    def mutants_of(spec: GuestSpec) -> list[tuple[int, Site, GuestSpec]]:
        """(slot, site, the mutant's spec) for every wanted site of a guest; the schema joins the plan."""
        if spec.toolchain in SOURCE_EDITED:
            return [(0, site, edited_mutant(spec, site.function)) for site in sites_of(spec)[0]
                    if only is None or site.id == only]
        found, _ = sites_of(spec)
        schema = schema_spec(spec, found)
        p.schemas[schema.name] = schema
        out = []
        for index, site in enumerate(found, 1):
            if only is None or site.id == only:
                name = f"{spec.name}~{hashlib.sha256(site.id.encode()).hexdigest()[:10]}"
                out.append((index, site, GuestSpec(name, spec.world, spec.interface, spec.export, spec.imports,
                                                   "user-supplied", "", fixture_only=True)))
        return out

    for spec in mutable.values():
        if spec.interface not in interfaces or (guests and spec.name not in guests):
            continue
        p.baseline[spec.name] = spec
        p.equivalent += [(spec.interface, spec.name, spec.toolchain, e) for e in sites_of(spec)[1]]
        for index, site, m in mutants_of(spec):
            p.mutants.append(Mutant(spec.name, spec.interface, spec.toolchain, site, m, _schema_name(spec), index,
                                    m.name))
    for comp in composites:
        members = [mutable.get(g) for g in comp.members.values()]
        if comp.interface not in interfaces or (guests and comp.name not in guests) or None in members:
            continue
        p.composites.append(comp)
        for role, member_name in comp.members.items():
            spec = mutable[member_name]
            p.baseline[spec.name] = spec
            p.equivalent += [(comp.interface, f"{comp.name}/{role}", spec.toolchain, e) for e in sites_of(spec)[1]]
            for index, site, m in mutants_of(spec):
                name = f"{comp.name}~{m.name.split('~', 1)[1]}-{role}"
                p.composites.append(CompositeSpec(name, comp.interface, {**comp.members, role: m.name}))
                p.mutants.append(Mutant(f"{comp.name}/{role}", comp.interface, spec.toolchain, site, m,
                                        _schema_name(spec), index, name))
    return p


def _toml(value: Any) -> str:
    return json.dumps(value)  # TOML's basic strings and arrays of them are JSON's


def guests_file(p: Plan, path: Path) -> None:
    """Baseline guests, mutants and composites in guests.toml's own form, for --keel-guests-file."""
    lines: list[str] = []
    seen: set[str] = set()
    for spec in [*p.baseline.values(), *(m.spec for m in p.mutants if m.status == "not run")]:
        if spec.name in seen:
            continue
        seen.add(spec.name)
        lines += ["[[guest]]"] + [f"{k} = {_toml(list(v) if isinstance(v, tuple) else v)}"
                                  for k, v in vars(spec).items()] + [""]
    for comp in p.composites:
        members = ", ".join(f"{k} = {_toml(v)}" for k, v in comp.members.items())
        lines += ["[[composite]]", f"name = {_toml(comp.name)}", f"interface = {_toml(comp.interface)}",
                  f"members = {{ {members} }}", ""]
    path.write_text("\n".join(lines))


def build(p: Plan, runtime: str) -> list[BuildFailure]:
    """The baseline guests and one schema build per guest, in parallel; then each mutant from its schema.
    Returns the baseline's failures (which void the run); a schema that fails leaves its mutants not built."""
    edited = [m.spec for m in p.mutants if m.schema is None]
    # One build per name: a member's mutant serves its own interface and its composite's, and two threads
    # of one process building the same guest would share a temporary file.
    specs = list({s.name: s for s in [*p.baseline.values(), *p.schemas.values(), *edited]}.values())
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        built = dict(zip((s.name for s in specs), pool.map(build_one, specs), strict=True))
    fresh = sum(1 for b in built.values() if not isinstance(b, BuildFailure) and b.extra.get("built_now"))
    print(f"keel-conformance: {fresh} of {len(built)} builds made now, the rest from the cache", file=sys.stderr)
    for m in p.mutants:
        b = built[m.schema or m.spec.name]
        if m.schema is None:
            if isinstance(b, BuildFailure):
                m.status, m.detail = "not built", f"{b.reason} (log: {b.log})"
            continue
        if isinstance(b, BuildFailure):
            m.status, m.detail = "not built", f"{b.reason} (log: {b.log})"
            continue
        try:
            path = mutant_path(b.path, b.sha256, m.index)
        except SchemaError as e:
            m.status, m.detail = "not built", str(e)
            continue
        m.spec = dataclasses.replace(m.spec, source=str(path))
    _prepare(p, built, runtime)
    return [f for f in built.values() if isinstance(f, BuildFailure) and f.spec.name in p.baseline]


def _prepare(p: Plan, built: dict[str, Any], runtime: str) -> None:
    """Lets the judging runtime derive each mutant's compiled form from its schema's, where it can."""
    from runners import registry

    runner = registry()[runtime]()
    prepare = getattr(runner, "prepare_patched", None)
    try:
        for name, schema in built.items():
            mine = [m for m in p.mutants if m.schema == name and m.status == "not run"]
            if prepare is None or isinstance(schema, BuildFailure) or not mine:
                continue
            variants = [(Path(m.spec.source), hashlib.sha256(Path(m.spec.source).read_bytes()).hexdigest(),
                         slot_bytes(m.index)) for m in mine]
            prepare(schema, slot_bytes(0), variants)
    finally:
        runner.close()


def _steps_files(interfaces: set[str]) -> list[Path]:
    files = [PROJECT_ROOT / "step_defs" / f"test_{i}.py" for i in sorted(interfaces)]
    return [f for f in files if f.exists()]


def run_cells(p: Plan, runtime: str, timeout: float, out: Path, shards: int) -> list[dict[str, Any]]:
    """One pytest process per shard (a share of the guests each, the baseline in the first), at once."""
    gfile = out / "mutants.toml"
    guests_file(p, gfile)
    baseline = sorted({*p.baseline, *(c.name for c in p.composites if "~" not in c.name)})
    pending = sorted({m.cell_guest for m in p.mutants if m.status == "not run"})
    shares = [baseline + pending[0::shards]] + [pending[i::shards] for i in range(1, shards)]
    interfaces = {m.interface for m in p.mutants} | {s.interface for s in p.baseline.values()}
    basetemp = Path(tempfile.mkdtemp(prefix="keel-mutate-"))
    procs = []
    try:
        for i, share in enumerate(s for s in shares if s):
            shard = out / f"shard-{i}"  # each process its own journal and selection
            shutil.rmtree(shard, ignore_errors=True)
            shard.mkdir()
            journal = shard / "journal.jsonl"
            args = [sys.executable, "-c", PYTEST_THEN_EXIT, *map(str, _steps_files(interfaces)),
                    "--rootdir", str(PROJECT_ROOT), "-c", str(PROJECT_ROOT / "pyproject.toml"), "-q",
                    "-p", "no:cacheprovider", "-p", "no:faulthandler", "-o", "testpaths=",
                    "--keel-guests-file", str(gfile), "--keel-journal", str(journal), "--keel-runtime", runtime,
                    "--keel-timeout", str(timeout), "--keel-stop-guest-on-fail", "--basetemp", str(basetemp / f"t{i}")]
            for g in share:
                args += ["--keel-guest", g]
            log = (shard / "pytest.log").open("w")
            procs.append((subprocess.Popen(args, cwd=PROJECT_ROOT, stdin=subprocess.DEVNULL, stdout=log,
                                           stderr=subprocess.STDOUT), journal, log))
        codes = [proc.wait() for proc, _, _ in procs]
    finally:
        for proc, _, log in procs:
            if proc.poll() is None:
                proc.terminate()
                proc.wait()
            log.close()
        shutil.rmtree(basetemp, ignore_errors=True)
    cells = []
    for i, ((_, journal, _), code) in enumerate(zip(procs, codes, strict=True)):
        selected = journal_file.load_selection(journal)
        done = journal_file.read(journal).cells
        # What counts is that every selected cell is in the journal once; an exit code says less than that.
        if code not in (0, 1) or selected is None or len(done) != len(selected):
            got = f"{len(done)} of {len(selected)} cells" if selected is not None else "no selection"
            raise MutateError(f"the scenario run could not finish (pytest exit {code}, {got}; "
                              f"log: {out / f'shard-{i}' / 'pytest.log'})")
        cells += done
    return cells


def _expected(cell: dict[str, Any]) -> str:
    exp = cell.get("expected")
    return exp["outcome"] if exp else "pass"


def judge(p: Plan, cells: list[dict[str, Any]]) -> list[str]:
    """Marks each mutant killed or survived; returns the baseline's own problems (which void the run)."""
    by_guest: dict[str, list[dict[str, Any]]] = {}
    for c in cells:
        by_guest.setdefault(c["guest"], []).append(c)
    baseline_names = [*p.baseline, *(c.name for c in p.composites if "~" not in c.name)]
    problems = [f"{c['guest']}: {c['scenario']}: {c['outcome']} ({c['message'][:120]})"
                for g in baseline_names for c in by_guest.get(g, []) if c["outcome"] != _expected(c)]
    for m in p.mutants:
        if m.status != "not run":
            continue
        ran = [c for c in by_guest.get(m.cell_guest, []) if c["message"] != ALREADY_KILLED]
        m.cells = len(ran)
        differing = [c for c in ran if c["outcome"] != _expected(c)]
        if differing:
            c = differing[0]
            m.status = "killed"
            m.detail = f"{c['scenario']}: {c['outcome']}" + (f": {c['message'][:160]}" if c["message"] else "")
        elif ran:
            m.status = "survived"
            m.detail = f"passed all {len(ran)} scenarios"
    return problems


def rerun_command(m: Mutant, runtime: str) -> str:
    guest = m.guest.split("/", 1)[0]
    args = ["keel-conformance", "mutate", "--interface", m.interface, "--guest", guest, "--mutant", m.site.id]
    if runtime != DEFAULT_RUNTIME:
        args += ["--runtime", runtime]
    return shlex.join(args)


def summary(p: Plan, runtime: str) -> dict[str, Any]:
    """The `mutation` field of results.json: scores per interface and toolchain, and every survivor."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}

    def group(interface: str, toolchain: str) -> dict[str, Any]:
        return groups.setdefault((interface, toolchain), {
            "interface": interface, "toolchain": toolchain, "mutants": 0, "killed": 0, "survived": 0,
            "equivalent": 0, "not_built": 0, "not_run": 0})

    for m in p.mutants:
        g = group(m.interface, m.toolchain)
        g["mutants"] += 1
        g[m.status.replace(" ", "_")] += 1
    for interface, _guest, toolchain, _e in p.equivalent:
        group(interface, toolchain)["equivalent"] += 1
    for g in groups.values():
        judged = g["killed"] + g["survived"]
        g["score"] = round(g["killed"] / judged, 4) if judged else None
    return {
        "runtime": runtime,
        "operators": {**OPERATORS, SWAP: "swap a returned result between ok and err (a source edit of a WAT or C guest)"},
        "scores": sorted(groups.values(), key=lambda g: (g["interface"], g["toolchain"])),
        "mutants": [{"id": m.site.id, "guest": m.guest, "interface": m.interface, "toolchain": m.toolchain,
                     "function": m.site.function, "path": m.site.where, "operator": m.site.operator,
                     "status": m.status, "detail": m.detail, "cells": m.cells, "build": m.spec.name,
                     "rerun": rerun_command(m, runtime)} for m in p.mutants],
        "equivalent": [{"interface": i, "guest": g, "toolchain": t, "function": e.function, "operator": e.operator,
                        "reason": e.reason} for i, g, t, e in p.equivalent],
    }


def execute(args: argparse.Namespace, out: Path) -> int:
    from reports import results

    interfaces = args.interface
    p = make_plan(interfaces, args.guest, args.mutant)
    if not p.mutants:
        what = f"no mutant {args.mutant!r}" if args.mutant else "no mutable guest"
        raise MutateError(f"{what} in the selection (interfaces: {', '.join(interfaces)}"
                          + (f"; guests: {', '.join(args.guest)}" if args.guest else "") + ")")
    out.mkdir(parents=True, exist_ok=True)
    print(f"keel-conformance: {len(p.mutants)} mutants of {len(p.baseline)} guests "
          f"({len(p.equivalent)} equivalent by their types); building…", file=sys.stderr)
    t0 = time.perf_counter()
    failed = build(p, args.runtime)
    build_s = time.perf_counter() - t0
    if failed:
        raise MutateError("; ".join(f"{f.spec.name} does not build: {f.reason} (log: {f.log})" for f in failed))
    started = results.now()
    t0 = time.perf_counter()
    cells = run_cells(p, args.runtime, args.timeout, out, args.workers)
    seconds = {"build": round(build_s, 1), "judge": round(time.perf_counter() - t0, 1)}
    return report(p, cells, args, out, started, seconds)


def report(p: Plan, cells: list[dict[str, Any]], args: argparse.Namespace, out: Path, started: str,
           seconds: dict[str, float]) -> int:
    from reports import markdown, results, write_formats
    from runners import registry

    problems = judge(p, cells)
    if problems:
        raise MutateError(f"the unmutated guests do not conform on {args.runtime}, so no mutant can be judged: "
                          f"{problems[0]}" + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
    baseline = set(p.baseline) | {c.name for c in p.composites if "~" not in c.name}
    probe = registry()[args.runtime]().probe()
    guests = [results.guest_entry(build_one(s)) for s in p.baseline.values()]
    guests += [results.composite_entry(c) for c in p.composites if c.name in baseline]
    doc = results.assemble(started=started, finished=results.now(), complete=True,
                           command=["keel-conformance", *sys.argv[1:]], runtimes=[results.runtime_entry(probe)],
                           guests=guests, cells=[c for c in cells if c["guest"] in baseline])
    doc["mutation"] = {**summary(p, args.runtime), "seconds": seconds}
    results.write(doc, out / "results.json")
    write_formats(doc, out)
    print(markdown.mutation_table(doc, fmt="simple"))
    survivors = [m for m in p.mutants if m.status != "killed"]
    for m in survivors:
        print(f"  {m.status}: {m.guest} {m.site.id} — {m.detail}\n    rerun: {rerun_command(m, args.runtime)}")
    print(f"\nWrote {out}/: results.json (with `mutation`), matrix.md, report.html")
    return 1 if survivors else 0


def default_out() -> Path:
    from .run import DEFAULT_OUT

    return DEFAULT_OUT / dt.datetime.now().strftime("mutate-%Y%m%d-%H%M%S")


def prepare_out(out: Path | None) -> Path:
    """The output directory, checked now and made only once there is something to write."""
    out = out or default_out()
    writable_dir(out, "output directory")
    return out
