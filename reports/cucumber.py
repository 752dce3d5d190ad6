"""Cucumber JSON (the format Cucumber's report tools read), rendered from results.json.

Each cell is one scenario element named `<scenario> [<runtime> · <guest>]`,
with its Gherkin steps and their statuses as the run recorded them.
"""
from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

NS = 1_000_000_000


def _id(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _element(c: dict[str, Any]) -> dict[str, Any]:
    steps = c.get("steps") or [{"keyword": "Then", "name": "(no step was recorded)", "line": c.get("line") or 1,
                                "status": "passed" if c["outcome"] == "pass" else "failed"}]
    out_steps = []
    last_run = max((i for i, s in enumerate(steps) if s["status"] != "skipped"), default=0)
    for i, st in enumerate(steps):
        status = st["status"]
        if c["outcome"] == "n/a":
            status = "skipped"
        result: dict[str, Any] = {"status": status}
        if i == last_run:
            result["duration"] = int(c["duration_s"] * NS)  # the cell's time, on the step that ended it
            if status in ("failed", "undefined") or (c["outcome"] not in ("pass", "n/a") and status != "passed"):
                result["error_message"] = "\n".join(
                    x for x in (f"{c['outcome']}: {c['message']}", c.get("repro") and f"reproduce: {c['repro']}") if x)
        out_steps.append({"keyword": st["keyword"].strip() + " ", "name": st["name"], "line": st.get("line") or 1,
                          "match": {"location": ""}, "result": result})
    tags = [{"name": f"@runtime:{c['runtime']}", "line": 1}, {"name": f"@guest:{c['guest']}", "line": 1},
            {"name": f"@outcome:{c['outcome']}", "line": 1}]
    return {
        "keyword": "Scenario", "type": "scenario", "line": c.get("line") or 1,
        "id": f"{_id(c['feature'])};{_id(c['scenario'])};{_id(c['runtime'])};{_id(c['guest'])}",
        "name": f"{c['scenario']} [{c['runtime']} · {c['guest']}]", "description": "",
        "tags": tags, "steps": out_steps,
    }


def render(doc: dict[str, Any]) -> list[dict[str, Any]]:
    features: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in doc["cells"]:
        features[c["feature"]].append(_element(c))
    return [{"keyword": "Feature", "uri": f"features/{f}", "name": f.removesuffix(".feature"), "id": _id(f),
             "line": 1, "description": "", "tags": [], "elements": els} for f, els in features.items()]


def write(doc: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(render(doc), indent=1, ensure_ascii=False), encoding="utf-8")
