"""report.html in real headless Chromium: it renders, a click shows a cell's detail, hostile text stays text."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from reports import html, results

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
