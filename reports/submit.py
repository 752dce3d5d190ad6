"""A results file made fit to send upstream: no local paths or host names, content-addressed.

Only free text is scrubbed (messages, captured output, commands, reasons):
identifiers (feature, scenario, runtime, guest, step names, tags, hashes) are
the cell's identity and are never touched, so a host named `kv` or a scenario
about `/tmp` cannot turn a valid file into an invalid one. Paths and host
names are replaced as whole tokens, not as substrings.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from keel_conformance.paths import PROJECT_ROOT

SUBMISSIONS = PROJECT_ROOT / "reports" / "submissions"

# Values under these keys identify something; they are kept exactly.
IDENTIFIERS = frozenset({
    "feature", "scenario", "interface", "runtime", "guest", "nodeid", "name", "world", "keyword", "status",
    "outcome", "verdict", "source", "toolchain", "abi", "members", "tags", "sha256", "build_key", "selection",
    "schema_version", "started", "finished", "function", "input", "capabilities", "line", "step", "columns",
    "summary",  # computed from the cells: names and numbers only
})
# Where a path's first directory says it belongs to the system, not to a person or a checkout.
PUBLIC_ROOTS = frozenset({"usr", "bin", "sbin", "lib", "lib32", "lib64", "etc", "dev", "proc", "sys", "nix",
                          "System", "Library", "Applications"})
SUITE_MARKERS = (".cache", ".venv", ".tox", "node_modules", "fixtures", "reports", "runners", "step_defs",
                 "features", "keel_conformance", "wit")
_PATH = re.compile(r"(?<![\w.~<>-])/[^\s'\"`<>|;,()\[\]{}]+")


def _scrub_path(path: str, roots: tuple[str, ...]) -> str:
    for root in roots:
        if path == root or path.startswith(root + "/"):
            return "<suite>" + path[len(root):]
    parts = path.split("/")  # ["", "home", "me", …]
    if len(parts) < 2 or parts[1] in PUBLIC_ROOTS:
        return path
    for i, part in enumerate(parts[2:], start=2):
        if part in SUITE_MARKERS:  # another checkout's files: keep where in the checkout they are
            return "<suite>/" + "/".join(parts[i:])
    if parts[1] in ("home", "Users"):
        return "<home>" + ("/" + "/".join(parts[3:]) if len(parts) > 3 else "")
    if parts[1] == "root":
        return "<home>" + ("/" + "/".join(parts[2:]) if len(parts) > 2 else "")
    if parts[1] == "tmp" or parts[1:3] in (["var", "tmp"], ["var", "folders"], ["private", "var"], ["private", "tmp"]):
        return "<tmp>"
    return "<path>"


class Scrubber:
    def __init__(self, hostnames: list[str], roots: list[str] | None = None) -> None:
        names = sorted({h for n in hostnames if n for h in (n, n.split(".")[0]) if h and h.lower() != "localhost"},
                       key=len, reverse=True)
        self.host = re.compile(r"(?<![A-Za-z0-9./-])(?:" + "|".join(map(re.escape, names)) + r")(?![A-Za-z0-9/-])",
                               re.IGNORECASE) if names else None
        self.roots = tuple(roots or [str(PROJECT_ROOT)])

    def text(self, text: str) -> str:
        text = _PATH.sub(lambda m: _scrub_path(m.group(0), self.roots), text)
        if self.host is not None:
            text = self.host.sub("<host>", text)
        return text

    def value(self, value: Any, key: str | None = None) -> Any:
        if key in IDENTIFIERS:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, dict):
            return {k: self.value(v, k) for k, v in value.items()}
        return value


def scrub(value: Any, hostname: str | list[str]) -> Any:
    return Scrubber([hostname] if isinstance(hostname, str) else hostname).value(value)


class SubmitError(ValueError):
    pass


def bundle(doc: dict[str, Any], hostnames: str | list[str]) -> tuple[Path, dict[str, Any]]:
    from . import results
    from .validate import check_file, problems

    clean = scrub(doc, hostnames)
    found = problems(clean)
    if found:  # scrubbing must never make a valid file invalid; if it did, nothing is written
        raise SubmitError(f"the scrubbed file would not be valid: {found[0]}")
    body = json.dumps(clean, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    digest = hashlib.sha256(body.encode()).hexdigest()
    out = SUBMISSIONS / digest[:16]
    out.mkdir(parents=True, exist_ok=True)
    results.write_text(out / "results.json", body)
    manifest = {
        "results_sha256": digest,
        "suite": clean["run"]["suite"],
        "guests": {g["name"]: {"sha256": g.get("sha256"), "build_key": g.get("build_key"),
                               "toolchain": f"{g.get('toolchain')} {g.get('toolchain_version', '')}".strip()}
                   for g in clean["guests"]},
        "runtimes": {r["name"]: r.get("version") for r in clean["runtimes"]},
        "cells": clean["summary"]["cells"],
    }
    results.write_text(out / "MANIFEST.json", json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    written = check_file(out / "results.json")
    if written:
        raise SubmitError(f"{out / 'results.json'}: written but not valid: {written[0]}")
    return out, manifest
