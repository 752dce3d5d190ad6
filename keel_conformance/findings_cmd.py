"""`keel-conformance findings DIR`: a run's findings as Markdown, grouped by runtime and value kind."""
from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from reports import expectations

from .any_fuzz_cmd import finding_markdown, is_finding
from .inputs import InputError, read_json


class FindingsUsage(Exception):
    pass


def collect(root: Path) -> tuple[list[tuple[Path, dict[str, Any]]], list[str]]:
    """Every finding under `root`, and one line for each file that is not one."""
    if not root.is_dir():
        raise FindingsUsage(f"{root}: not a directory (give the --out directory of a `fuzz --component` run)")
    found, bad = [], []
    for path in sorted(root.rglob("finding.json")):
        try:
            doc = read_json(path, "finding")
        except InputError as e:
            bad.append(str(e))
            continue
        if is_finding(doc) and all(isinstance(v, dict) and isinstance(v.get("answer"), str)
                                   and isinstance(v.get("asked"), list) for v in doc["runtimes"].values()):
            found.append((path, doc))
        else:
            bad.append(f"{path}: not a finding (fuzz --component writes them as findings/<function>-<hash>/finding.json)")
    return found, bad


def _known(doc: dict[str, Any], runtime: str) -> expectations.Expectation | None:
    """An expectation recorded for this function and component, by the guest's name (a built guest's file is
    named <guest>-<build key>) under the scenario names both fuzzers give."""
    guest = re.sub(r"-[0-9a-f]{16}$", "", Path(str(doc["component"].get("brought_from", ""))).stem)
    try:
        known = expectations.load(runtime)
    except expectations.ExpectationError:
        return None
    for scenario in (f"{doc['function']} (", f"{doc['interface']}#{doc['function']} ("):
        found = expectations.find(known, {"feature": "fuzz", "scenario": scenario, "runtime": runtime, "guest": guest})
        if found:
            return found
    return None


def render(found: list[tuple[Path, dict[str, Any]]]) -> str:
    groups: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for _, doc in found:
        for runtime in doc.get("diverged") or ["(unattributed)"]:
            for kind in doc.get("kinds") or ["no arguments"]:
                groups[str(runtime)][str(kind)].append(doc)
    lines = [f"# Findings ({len(found)})", ""]
    for runtime in sorted(groups):
        lines += [f"## {runtime}", ""]
        for kind in sorted(groups[runtime]):
            lines += [f"### {kind}", ""]
            for doc in groups[runtime][kind]:
                lines.append(finding_markdown(doc, heading="####"))
                known = _known(doc, runtime)
                if known:
                    lines += [f"Known: {known.reason}" + (f" ({known.link})" if known.link else ""), ""]
    return "\n".join(lines).rstrip() + "\n"


def execute(root: Path) -> int:
    found, bad = collect(root)
    for line in bad:
        print(f"skipped: {line}", file=sys.stderr)
    if not found:
        print(f"no findings under {root}" + (f" ({len(bad)} unreadable file(s))" if bad else ""))
        return 0
    sys.stdout.write(render(found))
    return 0
