"""A results file made fit to send upstream: no local paths or host names, content-addressed."""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from keel_conformance.paths import PROJECT_ROOT

SUBMISSIONS = PROJECT_ROOT / "reports" / "submissions"


def _scrub_text(text: str, hostname: str) -> str:
    text = text.replace(str(PROJECT_ROOT), "<suite>")
    text = re.sub(r"/(?:home|Users)/[^/\s'\"]+", "<home>", text)
    text = re.sub(r"/root\b", "<home>", text)
    text = re.sub(r"/tmp/[^\s'\"]*", "<tmp>", text)
    if hostname:
        text = text.replace(hostname, "<host>")
    return text


def scrub(value: Any, hostname: str) -> Any:
    if isinstance(value, str):
        return _scrub_text(value, hostname)
    if isinstance(value, list):
        return [scrub(v, hostname) for v in value]
    if isinstance(value, dict):
        return {k: scrub(v, hostname) for k, v in value.items()}
    return value


def bundle(doc: dict[str, Any], hostname: str) -> tuple[Path, dict[str, Any]]:
    clean = scrub(doc, hostname)
    body = json.dumps(clean, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    digest = hashlib.sha256(body.encode()).hexdigest()
    out = SUBMISSIONS / digest[:16]
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(body, encoding="utf-8")
    manifest = {
        "results_sha256": digest,
        "suite": clean["run"]["suite"],
        "guests": {g["name"]: {"sha256": g.get("sha256"), "build_key": g.get("build_key"),
                               "toolchain": f"{g.get('toolchain')} {g.get('toolchain_version', '')}".strip()}
                   for g in clean["guests"]},
        "runtimes": {r["name"]: r.get("version") for r in clean["runtimes"]},
        "cells": clean["summary"]["cells"],
    }
    (out / "MANIFEST.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return out, manifest
