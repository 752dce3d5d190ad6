"""Deep checks of a results file, beyond the schema: what `keel-conformance validate` reports.

Every problem is listed (not just the first), each naming where it is.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema

from keel_conformance.inputs import InputError, read_json

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
            v = version()
            if "not installed" in v:
                continue  # a toolchain not installed here: that guest cannot be checked, not a problem of the file
            keys[spec.name] = build_key(spec, v)
        except Exception:
            continue
    return keys


def problems(doc: Any) -> list[str]:
    """Everything wrong with a results document (an empty list when it is sound)."""
    version = doc.get("schema_version", results.SCHEMA_VERSION) if isinstance(doc, dict) else 2
    try:
        jsonschema.validate(doc, results.schema(version), format_checker=jsonschema.FormatChecker())
    except jsonschema.ValidationError as e:
        return [f"{'/'.join(str(p) for p in e.absolute_path) or '(top level)'}: {e.message[:300]}"]
    except RecursionError:
        return ["nested too deeply for a results file"]
    found = results.consistency(doc)
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
        doc = read_json(path, "results file")
    except InputError as e:
        return [str(e).removeprefix(f"{path}: ")]
    if not isinstance(doc, dict) or doc.get("schema_version") not in results.READABLE_VERSIONS:
        v = doc.get("schema_version") if isinstance(doc, dict) else None
        return [f"schema_version {v!r} is not one this suite reads {results.READABLE_VERSIONS}"]
    return problems(doc)
