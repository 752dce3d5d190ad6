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
    assert doc["summary"] == {"cells": 2, "outcomes": {"pass": 1, "fail": 1}, "unexpected": 1}
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
