"""results.json: what the schema and the consistency checks accept and refuse."""
from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from reports import expectations, markdown, results


def _doc(cells: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    cells = cells if cells is not None else [
        {"feature": "kv.feature", "scenario": "a missing key reads as none", "interface": "kv", "runtime": "wasmtime",
         "guest": "py-kv-probe", "outcome": "pass", "duration_s": 0.01, "message": ""},
        {"feature": "kv.feature", "scenario": "delete reports whether something was deleted", "interface": "kv",
         "runtime": "wasmtime", "guest": "py-kv-probe", "outcome": "fail", "duration_s": 0.02,
         "message": "delete: expected ok(true), got ok(false)", "step": "Then the result is ok(true)"},
    ]
    return results.assemble(
        started=results.now(), finished=results.now(), complete=True, command=["keel-conformance", "run"],
        runtimes=[{"name": "wasmtime", "version": "50.0.1", "available": True, "reason": None, "flags": []}],
        guests=[{"name": "py-kv-probe", "toolchain": "componentize-py", "sha256": "a" * 64, "size_bytes": 10}],
        cells=cells,
    )


def test_an_assembled_document_validates_and_counts() -> None:
    doc = _doc()
    results.validate(doc)
    s = doc["summary"]
    assert (s["cells"], s["outcomes"], s["unexpected"]) == (2, {"pass": 1, "fail": 1}, 1)
    assert s["interop"]["kv"] == {"scenarios": 2, "interop": 1, "score": 0.5, "columns": ["wasmtime"]}
    assert s["rates"]["kv"]["wasmtime"] == {"pass": 1, "ran": 2}
    assert doc["run"]["host"]["python"] and doc["backends"]["sqlite"]


def test_markdown_shows_every_cell_and_the_failure_reason() -> None:
    text = markdown.document(_doc())
    assert "✔ pass" in text and "✘ fail" in text
    assert "delete: expected ok(true), got ok(false)" in text


@pytest.mark.parametrize("mutate, says", [
    (lambda d: d["cells"][0].update(outcome="passed"), "cells/0/outcome"),
    (lambda d: d["cells"][0].update(duration_s=-1), "cells/0/duration_s"),
    (lambda d: d["cells"][0].update(runtime="ghost"), "runtime 'ghost' is not declared"),
    (lambda d: d["cells"][0].update(guest="ghost"), "guest 'ghost' is not declared"),
    (lambda d: d.update(schema_version=99), "schema_version"),
    (lambda d: d["guests"][0].update(sha256="not-a-hash"), "guests/0/sha256"),
    (lambda d: d["cells"][0].update(extra="<script>"), "Additional properties"),
    (lambda d: d["run"].update(started="yesterday"), "run/started"),
])
def test_hostile_or_broken_documents_are_refused_with_a_reason(mutate: Any, says: str) -> None:
    doc = copy.deepcopy(_doc())
    mutate(doc)
    with pytest.raises(results.ResultsError) as e:
        results.validate(doc)
    assert says in str(e.value)


def test_load_refuses_what_is_not_json(tmp_path: Path) -> None:
    bad = tmp_path / "results.json"
    bad.write_text("{\"schema_version\": 1,")
    with pytest.raises(results.ResultsError, match="not JSON"):
        results.load(bad)


def test_a_torn_journal_line_is_dropped(tmp_path: Path) -> None:
    journal = tmp_path / "journal.jsonl"
    cell = _doc()["cells"][0]
    cell.pop("verdict")
    journal.write_text(json.dumps(cell) + "\n" + '{"feature": "kv.fea')
    assert results.read_journal(journal) == [cell]


def test_expectations_decide_the_verdict(tmp_path: Path) -> None:
    (tmp_path / "rt.yaml").write_text(
        "expectations:\n"
        "  - scenario: 'delete*'\n    outcome: fail\n    reason: upstream bug\n    link: https://example.invalid/1\n"
        "  - scenario: 'old*'\n    outcome: fail\n    reason: fixed long ago\n    expires: 2000-01-01\n"
    )
    exps = expectations.load("rt", tmp_path)
    cell = {"feature": "kv.feature", "scenario": "delete reports", "guest": "g", "outcome": "fail"}
    assert expectations.verdict(cell, expectations.find(exps, cell)) == "ok"
    assert expectations.verdict({**cell, "outcome": "pass"}, expectations.find(exps, cell)) == "xpass"
    assert expectations.verdict({**cell, "outcome": "trap"}, expectations.find(exps, cell)) == "unexpected"
    old = {**cell, "scenario": "old thing"}
    assert expectations.find(exps, old).expired(dt.date(2026, 1, 1))
    assert expectations.verdict(old, expectations.find(exps, old)) == "unexpected"
    assert expectations.verdict({**cell, "scenario": "x", "outcome": "n/a"}, None) == "ok"


def test_malformed_expectations_say_which_entry(tmp_path: Path) -> None:
    (tmp_path / "rt.yaml").write_text("expectations:\n  - scenario: x\n    outcome: flaky\n")
    with pytest.raises(expectations.ExpectationError, match="entry 1"):
        expectations.load("rt", tmp_path)


def test_interop_leaves_na_out_but_counts_every_runtime_that_ran(tmp_path: Path) -> None:
    cells = []
    for scen, outcomes in {"s1": ("pass", "pass", "n/a"), "s2": ("pass", "fail", "n/a"), "s3": ("n/a", "n/a", "n/a")}.items():
        for rt, o in zip(("a", "b", "c"), outcomes, strict=True):
            cells.append({"feature": "kv.feature", "scenario": scen, "interface": "kv", "runtime": rt, "guest": "g",
                          "outcome": o, "duration_s": 0.0, "message": ""})
    interop, rates = results.scores(cells)
    assert interop["kv"] == {"scenarios": 3, "interop": 1, "score": 0.5, "columns": ["a", "b"]}
    assert rates["kv"] == {"a": {"pass": 2, "ran": 2}, "b": {"pass": 1, "ran": 2}}


def test_a_version_1_file_is_still_read(tmp_path: Path) -> None:
    doc = _doc()
    old = {k: v for k, v in doc.items() if k != "summary"}
    old["schema_version"] = 1
    old["run"] = {k: v for k, v in doc["run"].items() if k != "selection"}  # version 1 had no selection record
    old["summary"] = {k: doc["summary"][k] for k in ("cells", "outcomes", "unexpected")}
    old["cells"] = [{k: v for k, v in c.items() if k not in ("steps", "repro", "output", "line", "tags")}
                    for c in doc["cells"]]
    f = tmp_path / "results.json"
    f.write_text(json.dumps(old))
    up = results.load(f)
    assert up["schema_version"] == 2 and up["summary"]["interop"]["kv"]["scenarios"] == 2


def test_an_unknown_schema_version_is_refused_by_name(tmp_path: Path) -> None:
    f = tmp_path / "results.json"
    f.write_text(json.dumps({"schema_version": 7}))
    with pytest.raises(results.ResultsError, match="schema_version 7 is not one this suite reads"):
        results.load(f)
