"""Several runs (other machines, other contributors, other runtimes) as one matrix.

Each cell keeps the run it came from (`cells[].run` indexes `merged_from`, which
keeps every run's own provenance). Runs of different suite versions are
refused unless asked for; two runs that disagree about the same cell are a
conflict to report, never something to pick a winner for.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import results


class MergeError(ValueError):
    pass


@dataclass
class Merged:
    doc: dict[str, Any]
    conflicts: list[str] = field(default_factory=list)
    duplicates: int = 0


def merge(docs: list[tuple[str, dict[str, Any]]], allow_mixed_versions: bool = False) -> Merged:
    if not docs:
        raise MergeError("nothing to merge")
    versions = {d["run"]["suite"]["version"] for _, d in docs}
    if len(versions) > 1 and not allow_mixed_versions:
        raise MergeError(f"runs of different suite versions ({', '.join(sorted(versions))}): their scenarios differ; "
                         "pass --allow-mixed-versions to merge them anyway")
    cells: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    conflicts, duplicates = [], 0
    runtimes: dict[str, dict[str, Any]] = {}
    guests: dict[str, dict[str, Any]] = {}
    merged_from = []
    selected: set[tuple[str, str, str, str]] = set()
    for index, (source, d) in enumerate(docs):
        selected |= {tuple(k) for k in d["run"].get("selection", {}).get("missing", [])}  # type: ignore[misc]
        merged_from.append({"source": source, "run": d["run"], "runtimes": d["runtimes"]})
        for r in d["runtimes"]:
            seen = runtimes.get(r["name"])
            if seen is not None and seen.get("version") != r.get("version"):
                conflicts.append(f"runtime {r['name']}: version {seen.get('version')} in one run, "
                                 f"{r.get('version')} in {source}")
            runtimes.setdefault(r["name"], r)
        for g in d["guests"]:
            guests.setdefault(g["name"], g)
        for c in d["cells"]:
            key = (c["feature"], c["scenario"], c["runtime"], c["guest"])
            selected.add(key)
            cell = {k: v for k, v in c.items() if k not in ("verdict", "run")}
            cell["run"] = index
            if key in cells:
                if cells[key]["outcome"] != c["outcome"]:
                    conflicts.append(f"{c['runtime']} · {c['guest']} · {c['scenario'][:80]}: "
                                     f"{cells[key]['outcome']} in {docs[cells[key]['run']][0]}, {c['outcome']} in {source}")
                duplicates += 1
                continue
            cells[key] = cell
    complete = all(d["run"]["complete"] for _, d in docs)
    started = min(d["run"]["started"] for _, d in docs)
    finished = max(d["run"]["finished"] for _, d in docs)
    doc = results.assemble(started=started, finished=finished, complete=complete,
                           command=["keel-conformance", "merge", *(s for s, _ in docs)],
                           runtimes=list(runtimes.values()), guests=list(guests.values()), cells=list(cells.values()),
                           selected=selected)
    doc["merged_from"] = merged_from
    return Merged(doc, conflicts, duplicates)
