"""validate / merge / submit / site on real results from two runs on different runtimes."""
from __future__ import annotations

import copy
import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from keel_conformance.cli import main
from keel_conformance.paths import PROJECT_ROOT
from reports import expectations, results, submit


def _run(out: Path, runtime: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "keel_conformance.cli", "run", "--runtime", runtime, "--interface", "kv",
         "-k", "missing_key or exists_follows", "--out", str(out), "--no-progress"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return results.load(out / "results.json")


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("upstream")
    _run(base / "a", "wasmtime")
    _run(base / "b", "jco-node+xconst")
    return base / "a" / "results.json", base / "b" / "results.json"


def test_real_results_validate(two_runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", *map(str, two_runs)]) == 0
    assert capsys.readouterr().out.count(": valid") == 2


def test_validate_lists_every_problem_and_exits_1(two_runs: tuple[Path, Path], tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    doc = json.loads(two_runs[0].read_text())
    doc["cells"][0]["scenario"] = "<script>alert(1)</script> a scenario that never existed"
    doc["guests"][0]["build_key"] = "0" * 64
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    truncated = tmp_path / "truncated.json"
    truncated.write_text(two_runs[0].read_text()[:500])
    other = tmp_path / "v9.json"
    other.write_text(json.dumps({**doc, "schema_version": 9}))
    assert main(["validate", str(bad), str(truncated), str(other)]) == 1
    err = capsys.readouterr().err
    assert "is not in kv.feature in this suite version" in err
    assert "was built from other sources than this checkout's" in err
    assert f"{truncated}: not JSON" in err
    assert f"{other}: schema_version 9 is not one this suite reads" in err


def test_merge_keeps_both_runs_and_each_cells_provenance(two_runs: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "merged" / "results.json"
    assert main(["merge", *map(str, two_runs), "-o", str(out)]) == 0
    merged = results.load(out)
    assert {r["name"] for r in merged["runtimes"]} == {"wasmtime", "jco-node+xconst"}
    assert {c["run"] for c in merged["cells"] if c["runtime"] == "wasmtime"} == {0}
    assert {c["run"] for c in merged["cells"] if c["runtime"] == "jco-node+xconst"} == {1}
    assert [m["source"] for m in merged["merged_from"]] == list(map(str, two_runs))
    assert sorted(p.name for p in out.parent.iterdir()) == ["results.json"]  # only what was asked for
    assert main(["merge", *map(str, two_runs), "-o", str(out), "--reports"]) == 0
    assert (out.parent / "report.html").exists()


def test_merge_reports_conflicts_instead_of_picking(two_runs: tuple[Path, Path], tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    doc = json.loads(two_runs[0].read_text())
    flipped = copy.deepcopy(doc)  # another, consistent run that disagrees about one cell
    flipped["cells"][0]["outcome"] = "fail"
    flipped["cells"][0]["verdict"] = expectations.recorded_verdict(flipped["cells"][0])
    flipped["summary"] = results.summarize(flipped["cells"])
    other = tmp_path / "other.json"
    other.write_text(json.dumps(flipped))
    out = tmp_path / "m.json"
    assert main(["merge", str(two_runs[0]), str(other), "-o", str(out)]) == 1
    assert "conflict:" in capsys.readouterr().err and not out.exists()
    newer = copy.deepcopy(doc)
    newer["run"]["suite"]["version"] = "9.9.9"
    (tmp_path / "newer.json").write_text(json.dumps(newer))
    assert main(["merge", str(two_runs[1]), str(tmp_path / "newer.json"), "-o", str(out)]) == 2
    assert "different suite versions" in capsys.readouterr().err
    assert main(["merge", str(two_runs[1]), str(tmp_path / "newer.json"), "-o", str(out),
                 "--allow-mixed-versions"]) == 0


def test_submit_writes_a_scrubbed_content_addressed_bundle(two_runs: tuple[Path, Path], tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(submit, "SUBMISSIONS", tmp_path / "submissions")
    assert main(["submit", str(two_runs[0])]) == 0
    (bundle,) = (tmp_path / "submissions").iterdir()
    text = (bundle / "results.json").read_text()
    import hashlib

    assert hashlib.sha256(text.encode()).hexdigest().startswith(bundle.name)
    assert str(PROJECT_ROOT) not in text and "/tmp/" not in text and socket.gethostname() not in text
    manifest = json.loads((bundle / "MANIFEST.json").read_text())
    assert manifest["guests"]["py-kv-probe"]["sha256"] and manifest["suite"]["version"]
    assert "open a pull request" in capsys.readouterr().out


def _doc(started: str, version: str, outcome: str, complete: bool = True) -> dict[str, Any]:
    cell = {"feature": "kv.feature", "scenario": "a missing key reads as none", "interface": "kv",
            "runtime": "wasmtime", "guest": "py-kv-probe", "outcome": outcome, "duration_s": 0.01, "message": ""}
    doc = results.assemble(started=started, finished=started, complete=complete, command=["x"],
                           runtimes=[{"name": "wasmtime", "version": version, "available": True, "reason": None,
                                      "flags": []}],
                           guests=[{"name": "py-kv-probe", "toolchain": "componentize-py", "sha256": "a" * 64,
                                    "size_bytes": 1, "build_key": "b" * 64}], cells=[cell])
    return doc


def test_the_history_site_in_headless_chromium(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    runs = [_doc("2026-11-01T03:00:00+00:00", "50.0.0", "pass"),
            _doc("2026-11-02T03:00:00+00:00", "50.0.0", "fail"),       # same version: flaky
            _doc("2026-11-03T03:00:00+00:00", "50.0.1", "pass"),       # new version: a change
            _doc("2026-11-04T03:00:00+00:00", "50.0.1", "pass", complete=False)]
    for i, d in enumerate(runs):
        (tmp_path / "in" / str(i)).mkdir(parents=True)
        (tmp_path / "in" / str(i) / "results.json").write_text(json.dumps(d))
    assert main(["site", str(tmp_path / "in"), "-o", str(tmp_path / "site")]) == 0

    browser.get((tmp_path / "site" / "index.html").as_uri())
    assert "2026-11-03T03:00" in browser.find_element(By.ID, "latest").text
    rows = browser.find_elements(By.CSS_SELECTOR, "#runs tr")
    assert "incomplete" in rows[1].text and "2026-11-04" in rows[1].text
    assert "flaky" in browser.find_element(By.ID, "flaky").text
    assert "runtime 50.0.0 → 50.0.1" in browser.find_element(By.ID, "changes").text
    assert browser.find_elements(By.CSS_SELECTOR, "#interop-chart polyline")
    browser.find_element(By.LINK_TEXT, "full matrix").click()
    assert browser.find_elements(By.CSS_SELECTOR, "td.cell")


def test_a_file_of_100000_cells_is_validated_in_seconds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import time

    cell = {"feature": "kv.feature", "scenario": "a missing key reads as none", "interface": "kv", "runtime": "wasmtime",
            "guest": "py-kv-probe", "outcome": "pass", "duration_s": 0.01, "message": ""}
    runtimes, guests = [f"runtime-{i}" for i in range(1000)], [f"guest-{i}" for i in range(100)]
    doc = results.assemble(started=results.now(), finished=results.now(), complete=True, command=["x"],
                           runtimes=[{"name": r, "version": "1", "available": True, "reason": None, "flags": []}
                                     for r in runtimes],
                           guests=[{"name": g, "toolchain": "componentize-py", "sha256": "a" * 64, "size_bytes": 1}
                                   for g in guests],
                           cells=[dict(cell, runtime=r, guest=g) for r in runtimes for g in guests])
    big = tmp_path / "big.json"
    big.write_text(json.dumps(doc))
    t = time.perf_counter()
    assert main(["validate", str(big)]) == 0
    assert time.perf_counter() - t < 60
    assert ": valid" in capsys.readouterr().out
