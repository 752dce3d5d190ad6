"""results.json: assembled from the cell journal, validated against the published schema."""
from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import json
import os
import platform
import sqlite3
import subprocess
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jsonschema

from keel_conformance import journal
from keel_conformance.inputs import InputError, read_json
from keel_conformance.paths import PROJECT_ROOT

from . import expectations

SCHEMA_VERSION = 2
READABLE_VERSIONS = (1, 2)
SCHEMA_DIR = Path(__file__).resolve().parent / "schema"
SIZE_TARGET_BYTES = 1_000_000


class ResultsError(ValueError):
    """A results file that cannot be trusted; the message says which part and why."""


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def suite_provenance() -> dict[str, Any]:
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {
        "version": importlib.metadata.version("keel-conformance"),
        "commit": commit,
        "dirty": None if status is None else bool(status),
    }


def host_provenance() -> dict[str, Any]:
    uname = platform.uname()
    return {"os": f"{uname.system} {platform.freedesktop_os_release().get('PRETTY_NAME', '') if uname.system == 'Linux' else uname.release}".strip(),
            "arch": uname.machine, "kernel": uname.release, "python": platform.python_version(),
            "cpus": os.cpu_count() or 1}


def backend_versions() -> dict[str, str]:
    return {
        "sqlite": sqlite3.sqlite_version,
        "rocksdict": importlib.metadata.version("rocksdict"),
    }


def read_journal(path: Path) -> list[dict[str, Any]]:
    """Cells from a journal, each once; torn lines (a killed run) are dropped, not fatal."""
    return journal.read(path).cells


def selection_digest(keys: Iterable[tuple[str, ...]]) -> str:
    body = "\n".join("\t".join(k) for k in sorted(keys))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def selection_record(selected: Iterable[tuple[str, str, str, str]], cells: list[dict[str, Any]]) -> dict[str, Any]:
    """run.selection: how many cells the run selected, a digest of which, and those it did not finish."""
    present = {journal.cell_key(c) for c in cells}
    keys = set(selected) | present
    record: dict[str, Any] = {"cells": len(keys), "sha256": selection_digest(keys)}
    missing = sorted(keys - present)
    if missing:
        record["missing"] = [list(k) for k in missing]
    return record


def judge(cells: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Attaches each cell's expectation (if any) and verdict."""
    loaded: dict[str, list[expectations.Expectation]] = {}
    out = []
    for cell in cells:
        if cell["runtime"] not in loaded:  # setdefault would read the YAML again for every cell
            loaded[cell["runtime"]] = expectations.load(cell["runtime"])
        exp_list = loaded[cell["runtime"]]
        exp = expectations.find(exp_list, cell)
        cell = dict(cell)
        if exp is not None:
            cell["expected"] = {**exp.to_json(), **({"expired": True} if exp.expired() else {})}
        elif cell.get("expected"):  # the scenario itself declares its outcome (@outcome:NAME)
            e = cell["expected"]
            # ...unless the runtime lacks what the scenario needs: n/a says so, and is no deviation.
            exp = None if cell["outcome"] == "n/a" else expectations.Expectation(outcome=e["outcome"], reason=e["reason"])
        cell["verdict"] = expectations.verdict(cell, exp)
        out.append(cell)
    return out


def tier_key(cell: dict[str, Any]) -> str:
    """The interface a cell scores under: bridge-tier cells apart, as they do not test the canonical ABI."""
    return cell["interface"] + (" · p1 bridge" if cell.get("abi") == "wasi-p1-bridge" else "")


def scores(cells: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The interop score per interface and each runtime's own pass rate, as wpt.fyi's Interop counts them.

    A scenario counts toward interop when it conforms on every runtime that ran it: it passed, or it
    ended with the outcome the scenario itself declares conformant (@outcome:trap). n/a cells (a
    capability the runtime lacks) are left out, and `columns` says which runtimes were counted.
    """
    def conforms(c: dict[str, Any]) -> bool:
        e = c.get("expected") or {}
        return bool(c["outcome"] == "pass" or (e.get("source") == "scenario" and e.get("outcome") == c["outcome"]))

    by_scenario: dict[str, dict[tuple[str, str], list[dict[str, Any]]]] = {}
    rates: dict[str, dict[str, dict[str, int]]] = {}
    for c in cells:
        key = tier_key(c)
        by_scenario.setdefault(key, {}).setdefault((c["feature"], c["scenario"]), []).append(c)
        if c["outcome"] != "n/a":
            r = rates.setdefault(key, {}).setdefault(c["runtime"], {"pass": 0, "ran": 0})
            r["ran"] += 1
            r["pass"] += conforms(c)
    interop = {}
    for iface, scen in by_scenario.items():
        ran = {k: [c for c in v if c["outcome"] != "n/a"] for k, v in scen.items()}
        counted = [v for v in ran.values() if v]
        passing = sum(all(conforms(c) for c in v) for v in counted)
        columns = sorted({c["runtime"] for v in counted for c in v})
        interop[iface] = {"scenarios": len(scen), "interop": passing,
                          "score": round(passing / len(counted), 4) if counted else None, "columns": columns}
    return interop, rates


def assemble(*, started: str, finished: str, complete: bool, command: list[str], runtimes: list[dict[str, Any]],
             guests: list[dict[str, Any]], cells: list[dict[str, Any]],
             services: dict[str, str] | None = None,
             selected: Iterable[tuple[str, str, str, str]] | None = None) -> dict[str, Any]:
    """A results document. `selected` is every cell the run set out to run (default: the cells given);
    a run is complete only when it was not stopped and every selected cell is there exactly once."""
    judged = judge(cells)
    keys = [journal.cell_key(c) for c in judged]
    selection = selection_record(keys if selected is None else selected, judged)
    complete = complete and "missing" not in selection and len(set(keys)) == len(keys)
    return {
        "schema_version": SCHEMA_VERSION,
        "run": {"started": started, "finished": finished, "complete": complete, "suite": suite_provenance(),
                "host": host_provenance(), "command": command, "selection": selection},
        "runtimes": runtimes,
        "guests": guests,
        "backends": {**backend_versions(), **(services or {})},
        "cells": judged,
        "summary": summarize(judged),
    }


def summarize(cells: list[dict[str, Any]]) -> dict[str, Any]:
    interop, rates = scores(cells)
    return {
        "cells": len(cells),
        "outcomes": dict(Counter(c["outcome"] for c in cells)),
        "unexpected": sum(c.get("verdict", "ok") != "ok" for c in cells),
        "interop": interop,
        "rates": rates,
        "cost": cost(cells),
    }


def cost(cells: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    """Per runtime and guest, what conformance cost: medians over the run's cells, the first load."""
    import statistics

    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for c in cells:
        if c["outcome"] != "n/a":
            groups.setdefault((c["runtime"], c["guest"]), []).append(c)
    out: dict[str, dict[str, dict[str, float]]] = {}
    for (runtime, guest), cs in groups.items():
        figures: dict[str, float] = {"cell_ms": round(statistics.median(c["duration_s"] for c in cs) * 1000, 3)}
        for key in ("instantiate_ms", "call_ms"):
            values = [c[key] for c in cs if c.get(key) is not None]
            if values:
                figures[key] = round(statistics.median(values), 4)
        loads = [c["load_ms"] for c in cs if c.get("load_ms") is not None]
        if loads:
            figures["load_ms"] = max(loads)
        out.setdefault(runtime, {})[guest] = figures
    return out


def schema(version: int = SCHEMA_VERSION) -> dict[str, Any]:
    return json.loads((SCHEMA_DIR / f"results-{version}.schema.json").read_text())  # type: ignore[no-any-return]


def validate(doc: Any, version: int = SCHEMA_VERSION) -> None:
    """Raises ResultsError naming the first problem: schema first, then consistency."""
    try:
        jsonschema.validate(doc, schema(version), format_checker=jsonschema.FormatChecker())
    except jsonschema.ValidationError as e:
        where = "/".join(str(p) for p in e.absolute_path) or "(top level)"
        raise ResultsError(f"{where}: {e.message[:300]}") from None
    except RecursionError:
        raise ResultsError("nested too deeply for a results file") from None
    found = consistency(doc)
    if found:
        raise ResultsError(found[0] + (f" (and {len(found) - 1} more problems)" if len(found) > 1 else ""))


SUMMARY_KEYS = ("cells", "outcomes", "unexpected", "interop", "rates")


def consistency(doc: dict[str, Any]) -> list[str]:
    """What the schema cannot say: every cell once, declared runtimes and guests, verdicts that follow from
    outcome and expectation, a summary that is the cells' own, and the cells the run selected."""
    found = []
    runtimes = {r["name"] for r in doc["runtimes"]}
    guests = {g["name"] for g in doc["guests"]}
    first: dict[tuple[str, str, str, str], int] = {}
    for i, cell in enumerate(doc["cells"]):
        if cell["runtime"] not in runtimes:
            found.append(f"cells/{i}: runtime {cell['runtime']!r} is not declared in runtimes")
        if cell["guest"] not in guests:
            found.append(f"cells/{i}: guest {cell['guest']!r} is not declared in guests")
        key = journal.cell_key(cell)
        if key in first:
            found.append(f"cells/{i}: the same cell as cells/{first[key]} ({cell['runtime']} · {cell['guest']} · "
                         f"{cell['scenario'][:60]!r}); a cell is recorded once")
        else:
            first[key] = i
        if "verdict" in cell and cell["verdict"] != expectations.recorded_verdict(cell):
            found.append(f"cells/{i}: verdict {cell['verdict']!r} does not follow from outcome {cell['outcome']!r} "
                         f"and its expectation ({expectations.recorded_verdict(cell)!r} does)")
    if doc.get("schema_version") == SCHEMA_VERSION:
        recomputed = summarize(doc["cells"])
        for k in SUMMARY_KEYS:
            if k in doc["summary"] and doc["summary"][k] != recomputed[k]:
                found.append(f"summary/{k}: does not match the cells (the cells give {_short(recomputed[k])}, "
                             f"the file says {_short(doc['summary'][k])})")
    sel = doc["run"].get("selection")
    if sel is not None:
        missing = {tuple(k) for k in sel.get("missing", [])}
        present = set(first)
        if missing & present:
            found.append(f"run/selection: {len(missing & present)} cell(s) listed as missing are present")
        if len(present) + len(missing) != sel["cells"] or selection_digest(present | missing) != sel["sha256"]:
            found.append(f"run/selection: the cells are not the {sel['cells']} the run selected ({len(present)} present, "
                         f"{len(missing)} listed as missing): cells were added or removed after the run")
        if doc["run"]["complete"] and missing:
            found.append(f"run/complete: true, but {len(missing)} selected cell(s) are missing")
    return found


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


def write(doc: dict[str, Any], path: Path) -> None:
    """Validated, then written whole or not at all (a temporary file beside it, renamed over it)."""
    validate(doc)
    write_text(path, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


def write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def load(path: Path) -> dict[str, Any]:
    try:
        doc = read_json(path, "results file")
    except InputError as e:
        raise ResultsError(str(e)) from None
    version = doc.get("schema_version") if isinstance(doc, dict) else None
    if version not in READABLE_VERSIONS:
        raise ResultsError(f"{path}: schema_version {version!r} is not one this suite reads ({READABLE_VERSIONS})")
    try:
        validate(doc, version)
    except ResultsError as e:
        raise ResultsError(f"{path}: {e}") from None
    return upgrade(doc)


def upgrade(doc: dict[str, Any]) -> dict[str, Any]:
    """A document of any readable version, in the current version's shape."""
    if doc["schema_version"] == 1:
        doc = dict(doc, schema_version=2)
        doc["summary"] = summarize(doc["cells"])
        validate(doc)
    return doc


def runtime_entry(probe: Any) -> dict[str, Any]:
    """A runtimes[] entry for a runner's Probe."""
    return {"name": probe.runtime, "version": probe.version, "available": probe.available, "reason": probe.reason,
            "flags": list(probe.flags), "origin": probe.origin, "capabilities": sorted(probe.capabilities),
            "notes": list(probe.notes)}


def guest_entry(build: Any) -> dict[str, Any]:
    """A guests[] entry for a GuestBuild or a BuildFailure."""
    if hasattr(build, "sha256"):
        return {"name": build.name, "world": build.world, "interface": build.interface, "toolchain": build.toolchain,
                "abi": build.abi, "toolchain_version": build.toolchain_version, "build_command": build.build_command,
                "sha256": build.sha256, "size_bytes": build.size_bytes,
                "meets_size_target": build.size_bytes < SIZE_TARGET_BYTES,
                "build_key": build.extra.get("build_key")}
    spec = build.spec
    return {"name": spec.name, "world": spec.world, "interface": spec.interface, "toolchain": spec.toolchain,
            "build_error": build.reason, "sha256": None, "size_bytes": None, "meets_size_target": None}


def composite_entry(composite: Any) -> dict[str, Any]:
    """A guests[] entry for a composite cell's guest: its members are declared guests of their own."""
    return {"name": composite.name, "interface": composite.interface, "toolchain": "composite",
            "members": dict(composite.members), "sha256": None, "size_bytes": None, "meets_size_target": None}


def from_journal(journal_path: Path) -> dict[str, Any]:
    """A partial results document from the journal of a run that never finished (killed, crashed).

    Provenance the run had not written yet is marked as unknown; `run.complete` is false.
    """
    try:
        read = journal.read(journal_path)
        selection = journal.load_selection(journal_path)
    except journal.JournalError as e:
        raise ResultsError(str(e)) from None
    cells = read.cells
    if not cells:
        raise ResultsError(f"{journal_path}: no finished cell in this journal")
    meta_path = journal_path.with_name("run.json")
    try:
        meta = read_json(meta_path, "run file") if meta_path.exists() else {}
    except InputError:
        meta = {}
    if not isinstance(meta, dict) or not isinstance(meta.get("started"), str) \
            or not isinstance(meta.get("command"), list) or not all(isinstance(a, str) for a in meta["command"]):
        meta = {}  # a damaged run.json: the journal's cells are still good; their provenance is unknown
    why = "recovered from the journal of an interrupted run; the runtime was not re-probed"
    runtimes = [{"name": r, "version": None, "available": True, "reason": why, "flags": []}
                for r in dict.fromkeys(c["runtime"] for c in cells)]
    guests = [{"name": g, "toolchain": "unknown", "sha256": None, "size_bytes": None}
              for g in dict.fromkeys(c["guest"] for c in cells)]
    return assemble(started=meta.get("started", now()), finished=now(), complete=False,
                    command=meta.get("command", ["keel-conformance", "run"]), runtimes=runtimes, guests=guests,
                    cells=cells, selected=None if selection is None else [c.key for c in selection])
