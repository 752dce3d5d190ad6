"""Cucumber Messages (NDJSON, the protocol Cucumber maintains), rendered from results.json.

The stream carries a filled-in Meta (implementation, runtime, OS, CPU, CI and git revision), each
feature file's source and Gherkin document (parsed by gherkin-official, as pytest-bdd does), and
one pickle and test case per cell, named `<scenario> [<runtime> · <guest>]` and tagged with its
runtime and guest, so `@cucumber/html-formatter` and other Cucumber tools render a run.
"""
from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

from gherkin.ast_builder import AstBuilder
from gherkin.parser import Parser
from gherkin.pickles.compiler import Compiler
from gherkin.stream.id_generator import IdGenerator

from keel_conformance.paths import PROJECT_ROOT

STATUS = {"passed": "PASSED", "failed": "FAILED", "skipped": "SKIPPED", "undefined": "UNDEFINED"}


def _ts(iso: str) -> dict[str, int]:
    import datetime as dt

    t = dt.datetime.fromisoformat(iso).timestamp()
    return {"seconds": int(t), "nanos": int((t - int(t)) * 1e9)}


def _duration(seconds: float) -> dict[str, int]:
    return {"seconds": int(seconds), "nanos": int((seconds - int(seconds)) * 1e9)}


def _meta(doc: dict[str, Any]) -> dict[str, Any]:
    run = doc["run"]
    meta: dict[str, Any] = {
        "protocolVersion": "27.0.0",
        "implementation": {"name": "keel-conformance", "version": run["suite"]["version"]},
        "runtime": {"name": platform.python_implementation(), "version": run["host"]["python"]},
        "os": {"name": run["host"]["os"], "version": run["host"]["kernel"]},
        "cpu": {"name": run["host"]["arch"]},
    }
    if run["suite"].get("commit"):
        meta["ci"] = {"name": os.environ.get("GITHUB_WORKFLOW") or ("ci" if os.environ.get("CI") else "local"),
                      "git": {"remote": os.environ.get("GITHUB_REPOSITORY", "keel-conformance"),
                              "revision": run["suite"]["commit"]}}
    return meta


def _labels(document: dict[str, Any], pickle: dict[str, Any]) -> str:
    """The suite's scenario label for a pickle: its name, plus the example row for an outline."""
    if len(pickle["astNodeIds"]) < 2:
        return str(pickle["name"])
    row_id = pickle["astNodeIds"][1]
    for child in document["feature"]["children"]:
        sc = child.get("scenario")
        for ex in (sc or {}).get("examples", []):
            for row in ex.get("tableBody", []):
                if row["id"] == row_id:
                    keys = [c["value"] for c in ex["tableHeader"]["cells"]]
                    vals = [c["value"] for c in row["cells"]]
                    return pickle["name"] + " [" + ", ".join(f"{k}={v}" for k, v in zip(keys, vals, strict=True)) + "]"
    return str(pickle["name"])


def envelopes(doc: dict[str, Any]) -> list[dict[str, Any]]:
    ids = IdGenerator()
    out: list[dict[str, Any]] = [{"meta": _meta(doc)}]
    by_feature: dict[str, list[dict[str, Any]]] = {}
    for c in doc["cells"]:
        by_feature.setdefault(c["feature"], []).append(c)
    cases: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = []  # (cell, pickle, test case)
    for feature, cells in by_feature.items():
        path = PROJECT_ROOT / "features" / feature
        if not path.exists():
            continue  # fuzz cells and features of another suite version have no Gherkin here
        uri = f"features/{feature}"
        text = path.read_text(encoding="utf-8")
        document = Parser(AstBuilder(ids)).parse(text)
        document["uri"] = uri
        out += [{"source": {"uri": uri, "data": text, "mediaType": "text/x.cucumber.gherkin+plain"}},
                {"gherkinDocument": document}]
        pickles = {}
        for p in Compiler(ids).compile(document):
            pickles[_labels(document, p)] = p
        for c in cells:
            base = pickles.get(c["scenario"])
            if base is None:
                continue
            pickle = json.loads(json.dumps(base))
            pickle["id"] = ids.get_next_id()
            pickle["name"] = f"{c['scenario']} [{c['runtime']} · {c['guest']}]"
            pickle["tags"] = pickle.get("tags", []) + [
                {"name": f"@runtime:{c['runtime']}", "astNodeId": base["astNodeIds"][0]},
                {"name": f"@guest:{c['guest']}", "astNodeId": base["astNodeIds"][0]}]
            for st in pickle["steps"]:
                st["id"] = ids.get_next_id()
            out.append({"pickle": pickle})
            case = {"id": ids.get_next_id(), "pickleId": pickle["id"], "testRunStartedId": "run",
                    "testSteps": [{"id": ids.get_next_id(), "pickleStepId": st["id"], "stepDefinitionIds": [],
                                   "stepMatchArgumentsLists": []} for st in pickle["steps"]]}
            cases.append((c, pickle, case))
    started, finished = _ts(doc["run"]["started"]), _ts(doc["run"]["finished"])
    out.append({"testRunStarted": {"timestamp": started, "id": "run"}})
    for c, _pickle, case in cases:
        out.append({"testCase": case})
        started_id = ids.get_next_id()
        out.append({"testCaseStarted": {"id": started_id, "testCaseId": case["id"], "attempt": 0, "timestamp": started}})
        statuses = [s["status"] for s in (c.get("steps") or [])]
        for i, ts in enumerate(case["testSteps"]):
            status = statuses[i] if i < len(statuses) else ("passed" if c["outcome"] == "pass" else "skipped")
            if c["outcome"] == "n/a":
                status = "skipped"
            result: dict[str, Any] = {"status": STATUS[status], "duration": _duration(c["duration_s"] if i == 0 else 0)}
            if status in ("failed", "undefined"):
                result["message"] = f"{c['outcome']}: {c['message']}" + (f"\nreproduce: {c['repro']}" if c.get("repro") else "")
            out.append({"testStepStarted": {"testCaseStartedId": started_id, "testStepId": ts["id"], "timestamp": started}})
            out.append({"testStepFinished": {"testCaseStartedId": started_id, "testStepId": ts["id"],
                                             "testStepResult": result, "timestamp": started}})
        out.append({"testCaseFinished": {"testCaseStartedId": started_id, "timestamp": finished, "willBeRetried": False}})
    out.append({"testRunFinished": {"success": doc["summary"]["unexpected"] == 0, "timestamp": finished,
                                    "testRunStartedId": "run"}})
    return out


def write(doc: dict[str, Any], path: Path) -> None:
    with path.open("w", encoding="utf-8") as f:
        for env in envelopes(doc):
            f.write(json.dumps(env, ensure_ascii=False, separators=(",", ":")) + "\n")
