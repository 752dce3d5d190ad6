"""Deep checks of a results file, beyond the schema: what `keel-conformance validate` reports.

Every problem is listed (not just the first), each naming where it is.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from . import results


def scenario_names() -> dict[str, set[str]]:
    """feature file -> every scenario label this suite version can produce (outline rows included)."""
    from pytest_bdd.parser import FeatureParser

    from keel_conformance.paths import PROJECT_ROOT

    names: dict[str, set[str]] = {}
    base = PROJECT_ROOT / "features"
    for path in sorted(base.glob("*.feature")):
        feature = FeatureParser(str(base), path.name).parse()
        labels: set[str] = set()
        for sc in feature.scenarios.values():
            contexts = [ctx for ex in sc.examples for ctx in ex.as_contexts()]
            if not contexts:
                labels.add(sc.name)
            for ctx in contexts:
                labels.add(sc.name + " [" + ", ".join(f"{k}={v}" for k, v in ctx.items()) + "]")
        names[path.name] = labels
    return names


def _build_keys() -> dict[str, str]:
    from fixtures.components.build import TOOLCHAINS, build_key, load_specs

    keys = {}
    for spec in load_specs():
        _, version = TOOLCHAINS[spec.toolchain]
        try:
            keys[spec.name] = build_key(spec, version())
        except Exception:  # a toolchain not installed here: that guest cannot be checked, not a problem of the file
            continue
    return keys


def problems(doc: Any) -> list[str]:
    """Everything wrong with a results document (an empty list when it is sound)."""
    try:
        results.validate(doc, doc.get("schema_version", results.SCHEMA_VERSION) if isinstance(doc, dict) else 2)
    except results.ResultsError as e:
        return [str(e)]
    found = []
    names = scenario_names()
    keys = _build_keys()
    for i, g in enumerate(doc["guests"]):
        if g.get("toolchain") in ("componentize-py", "wat") and g["name"] in keys and g.get("build_key"):
            if g["build_key"] != keys[g["name"]]:
                found.append(f"guests/{i}: {g['name']} was built from other sources than this checkout's "
                             f"(build key {g['build_key'][:12]}, here {keys[g['name']][:12]})")
    for i, c in enumerate(doc["cells"]):
        if c["feature"] == "fuzz":
            continue
        known = names.get(c["feature"])
        if known is None:
            found.append(f"cells/{i}: feature {c['feature']!r} does not exist in this suite version")
        elif c["scenario"] not in known:
            found.append(f"cells/{i}: scenario {c['scenario'][:80]!r} is not in {c['feature']} in this suite version")
    return found


def check_file(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        return [f"cannot read: {e}"]
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        return [f"not JSON: {e.msg} at line {e.lineno} column {e.colno}"]
    if not isinstance(doc, dict) or doc.get("schema_version") not in results.READABLE_VERSIONS:
        v = doc.get("schema_version") if isinstance(doc, dict) else None
        return [f"schema_version {v!r} is not one this suite reads {results.READABLE_VERSIONS}"]
    return problems(doc)
