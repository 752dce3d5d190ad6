"""Every format from one real run, and `diff` between two real runs."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from junitparser import Error, JUnitXml

from keel_conformance.cli import main
from keel_conformance.paths import PROJECT_ROOT
from reports import results


def _run(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keel_conformance.cli", "run", "--runtime", "wasmtime", "--interface", "kv",
         "-k", "missing_key or exists_follows", "--guest", "py-kv-probe", "--out", str(out), *extra],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("runs")
    good, bad = base / "good", base / "bad"
    first = _run(good)
    assert first.returncode == 0, first.stdout + first.stderr
    # A deadline shorter than one epoch tick interrupts every call at once: a real run in which cells time out.
    second = _run(bad, "--timeout", "0.001")
    assert second.returncode == 1, second.stdout + second.stderr
    return good, bad


def test_one_run_writes_every_format(runs: tuple[Path, Path]) -> None:
    good, _ = runs
    for name in ("results.json", "matrix.md", "report.html", "junit.xml", "cucumber.json", "messages.ndjson",
                 "journal.jsonl"):
        assert (good / name).stat().st_size > 0, name
    doc = results.load(good / "results.json")
    assert doc["schema_version"] == 2 and doc["summary"]["interop"]["kv"]["score"] == 1.0


def test_junit_has_one_testcase_per_cell_with_ci_friendly_names(runs: tuple[Path, Path]) -> None:
    _, bad = runs
    doc = results.load(bad / "results.json")
    xml = JUnitXml.fromfile(str(bad / "junit.xml"))
    cases = [case for suite in xml for case in suite]
    assert len(cases) == len(doc["cells"])
    assert all(case.classname == "kv.wasmtime.py-kv-probe" for case in cases)
    assert len({case.name for case in cases}) == len(cases)
    errors = [r for case in cases for r in case.result if isinstance(r, Error)]
    assert errors and all(e.type == "timeout" and "reproduce:" in (e.text or "") for e in errors)
    props = {p.name: p.value for suite in xml for p in suite.properties()}
    assert props["runtime"] == "wasmtime" and props["runtime_version"] and len(props["guest_sha256"]) == 64


def test_cucumber_json_carries_scenarios_steps_and_statuses(runs: tuple[Path, Path]) -> None:
    _, bad = runs
    features = json.loads((bad / "cucumber.json").read_text())
    assert [f["uri"] for f in features] == ["features/kv.feature"]
    elements = features[0]["elements"]
    assert all("[wasmtime · py-kv-probe]" in e["name"] for e in elements)
    statuses = {s["result"]["status"] for e in elements for s in e["steps"]}
    assert "failed" in statuses and "passed" in statuses
    failed = [s for e in elements for s in e["steps"] if s["result"]["status"] == "failed"]
    assert all(s["result"]["error_message"].startswith("timeout: ") for s in failed)


def test_a_cell_that_did_not_pass_carries_a_command_that_reproduces_it(runs: tuple[Path, Path]) -> None:
    _, bad = runs
    cell = next(c for c in results.load(bad / "results.json")["cells"] if c["outcome"] == "timeout")
    assert cell["repro"].startswith(".venv/bin/python -m pytest") and "--keel-runtime wasmtime" in cell["repro"]


def test_diff_flags_the_regression_and_exits_1(runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    good, bad = runs
    assert main(["diff", str(good / "results.json"), str(bad / "results.json")]) == 1
    out = capsys.readouterr().out
    assert "REGRESSED" in out and "Newly not passing" in out and "timeout" in out
    assert main(["diff", str(good / "results.json"), str(good / "results.json")]) == 0
    assert "no regression" in capsys.readouterr().out
    assert main(["diff", str(bad / "results.json"), str(good / "results.json")]) == 0
    assert "Newly passing" in capsys.readouterr().out


def test_report_regenerates_a_format_from_results(runs: tuple[Path, Path], tmp_path: Path) -> None:
    good, _ = runs
    copy = tmp_path / "results.json"
    copy.write_text((good / "results.json").read_text())
    assert main(["report", str(copy), "--format", "junit"]) == 0
    assert (tmp_path / "junit.xml").exists() and not (tmp_path / "report.html").exists()


def test_cucumber_messages_are_valid_envelopes_with_a_filled_meta(runs: tuple[Path, Path]) -> None:
    import cucumber_messages
    from cucumber_messages.json_converter import JsonDataclassConverter

    _, bad = runs
    converter = JsonDataclassConverter(module_scope=cucumber_messages)
    lines = (bad / "messages.ndjson").read_text().splitlines()
    envelopes = [converter.from_dict(json.loads(line), cucumber_messages.Envelope) for line in lines]
    meta = envelopes[0].meta
    assert meta.implementation.name == "keel-conformance" and meta.cpu.name and meta.os.name
    assert meta.ci is not None and len(meta.ci.git.revision) == 40
    doc = results.load(bad / "results.json")
    pickles = [e.pickle for e in envelopes if e.pickle]
    cases = [e.test_case for e in envelopes if e.test_case]
    assert len(pickles) == len(cases) == len(doc["cells"])
    assert all("[wasmtime · py-kv-probe]" in p.name for p in pickles)
    statuses = {e.test_step_finished.test_step_result.status.value for e in envelopes if e.test_step_finished}
    assert "FAILED" in statuses and "PASSED" in statuses
    assert envelopes[-1].test_run_finished is not None and envelopes[-1].test_run_finished.success is False


def test_cost_is_recorded_beside_conformance(runs: tuple[Path, Path]) -> None:
    good, _ = runs
    doc = results.load(good / "results.json")
    figures = doc["summary"]["cost"]["wasmtime"]["py-kv-probe"]
    assert {"instantiate_ms", "call_ms", "cell_ms"} <= set(figures) or {"load_ms", "call_ms", "cell_ms"} <= set(figures)
    assert all(c.get("calls", 0) >= 1 and c["call_ms"] > 0 for c in doc["cells"])
    assert "## Cost" in (good / "matrix.md").read_text() and 'id="cost-table"' in (good / "report.html").read_text()
