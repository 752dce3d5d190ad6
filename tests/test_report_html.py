"""report.html in real headless Chromium: it renders, a click shows a cell's detail, hostile text stays text."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from reports import html, markdown, results

EVIL = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">'


def _doc() -> dict[str, Any]:
    cells = [
        {"feature": "kv.feature", "scenario": "a missing key reads as none", "interface": "kv", "runtime": "wasmtime",
         "guest": "py-kv-probe", "outcome": "pass", "duration_s": 0.01, "message": "",
         "steps": [{"keyword": "When", "name": 'the guest calls get("x")', "line": 3, "status": "passed"}]},
        {"feature": "kv.feature", "scenario": EVIL, "interface": "kv", "runtime": "wasmtime", "guest": "py-kv-probe",
         "outcome": "fail", "duration_s": 0.02, "message": f"get: expected ok(none), got {EVIL}",
         "step": "Then the result is ok(none)", "repro": ".venv/bin/python -m pytest 'x' --keel-runtime wasmtime",
         "steps": [{"keyword": "Then", "name": "the result is ok(none)", "line": 9, "status": "failed"}]},
        {"feature": "kv.feature", "scenario": EVIL, "interface": "kv", "runtime": "jco-node", "guest": "py-kv-probe",
         "outcome": "n/a", "duration_s": 0.0, "message": EVIL},
    ]
    return results.assemble(
        started=results.now(), finished=results.now(), complete=True, command=["keel-conformance", "run"],
        runtimes=[{"name": "wasmtime", "version": "50.0.1", "available": True, "reason": None, "flags": []},
                  {"name": "jco-node", "version": EVIL, "available": False, "reason": EVIL, "flags": [EVIL]}],
        guests=[{"name": "py-kv-probe", "toolchain": "componentize-py", "sha256": "a" * 64, "size_bytes": 10}],
        cells=cells)


def test_the_page_renders_the_matrix_and_a_click_shows_the_detail(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    doc = _doc()
    results.validate(doc)
    page = tmp_path / "report.html"
    html.write(doc, page)
    browser.get(page.as_uri())
    cells = browser.find_elements(By.CSS_SELECTOR, "td.cell")
    assert sorted(c.get_attribute("data-outcome") for c in cells) == ["fail", "n/a", "pass"]
    assert "✘ fail" in [c.text for c in cells]
    detail = browser.find_element(By.ID, "detail")
    assert not detail.is_displayed()
    next(c for c in cells if c.get_attribute("data-outcome") == "fail").click()
    assert detail.is_displayed()
    assert "get: expected ok(none), got" in detail.find_element(By.CSS_SELECTOR, "pre.message").text
    assert "the result is ok(none)" in detail.text and "--keel-runtime wasmtime" in detail.text
    browser.save_screenshot(str(tmp_path / "report.png"))
    assert (tmp_path / "report.png").stat().st_size > 10_000


def test_hostile_text_from_results_is_shown_as_text_never_run(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    page = tmp_path / "report.html"
    html.write(_doc(), page)
    browser.get(page.as_uri())
    assert browser.execute_script("return window.pwned") is None
    assert browser.find_elements(By.CSS_SELECTOR, "main img, footer img, main script") == []
    assert EVIL in browser.find_element(By.ID, "matrix").text
    assert EVIL in browser.find_element(By.ID, "provenance").text


def test_the_filter_hides_outcomes(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    page = tmp_path / "report.html"
    html.write(copy.deepcopy(_doc()), page)
    browser.get(page.as_uri())
    browser.find_element(By.CSS_SELECTOR, "input[data-outcome='pass']").click()
    shown = [c.get_attribute("data-outcome") for c in browser.find_elements(By.CSS_SELECTOR, "td.cell")]
    assert "pass" not in shown and "fail" in shown


def _with_mutation(doc: dict[str, Any]) -> dict[str, Any]:
    rerun = "keel-conformance mutate --interface kv --guest py-kv-probe --mutant 'get:result:ok-to-err'"
    mutant = {"id": "get:result:ok-to-err", "guest": "py-kv-probe", "interface": "kv", "toolchain": "componentize-py",
              "function": "get", "path": "result", "operator": "ok-to-err", "status": "killed", "build": "b",
              "detail": "a missing key reads as none: fail", "cells": 3, "rerun": rerun}
    survivor = {**mutant, "id": "get:result.ok?:some-to-none", "status": "survived", "detail": EVIL, "rerun": EVIL}
    doc["mutation"] = {
        "runtime": "wasmtime", "operators": {"ok-to-err": "turn ok(_) into err"}, "seconds": {"build": 1.0, "judge": 2.0},
        "scores": [{"interface": "kv", "toolchain": "componentize-py", "mutants": 2, "killed": 1, "survived": 1,
                    "equivalent": 3, "not_built": 0, "not_run": 0, "score": 0.5}],
        "mutants": [mutant, survivor],
        "equivalent": [{"interface": "kv", "guest": "py-kv-probe", "toolchain": "componentize-py", "function": "set",
                        "operator": "flip", "reason": "set returns result<_, kv-error>: no value flip can change"}]}
    return doc


def test_the_mutation_score_and_survivors_show_in_the_page(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    doc = _with_mutation(_doc())
    results.validate(doc)
    page = tmp_path / "report.html"
    html.write(doc, page)
    browser.get(page.as_uri())
    rows = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "#mutation-scores tr")]
    assert rows[1].split() == ["kv", "componentize-py", "2", "1", "1", "3", "0", "50%"]
    survivors = browser.find_element(By.ID, "survivors").text
    assert "survived: py-kv-probe get:result.ok?:some-to-none" in survivors and EVIL in survivors
    assert browser.execute_script("return window.pwned") is None
    assert "| kv          | componentize-py |" in markdown.document(doc)
