"""A killed run loses nothing: its journal reports, --resume finishes it, and workers change nothing."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from keel_conformance.cli import main
from keel_conformance.paths import PROJECT_ROOT
from reports import results

SELECT = ["--runtime", "wasmtime", "--interface", "kv", "--no-progress"]


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "keel_conformance.cli", *args]


def _cells(doc: dict) -> list[tuple[str, str, str, str]]:
    return sorted((c["scenario"], c["runtime"], c["guest"], c["outcome"]) for c in doc["cells"])


@pytest.fixture(scope="module")
def serial(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("serial")
    proc = subprocess.run(_cli("run", *SELECT, "--out", str(out)), cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return results.load(out / "results.json")


def test_a_sigkilled_run_reports_partially_and_resumes_to_the_same_matrix(serial: dict, tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "killed"
    proc = subprocess.Popen(_cli("run", *SELECT, "--out", str(out)), cwd=PROJECT_ROOT, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    journal = out / "journal.jsonl"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if journal.exists() and len(journal.read_text().splitlines()) >= 5:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    saved = len(journal.read_text().splitlines())
    assert 5 <= saved < len(serial["cells"]), f"kill came too late or too early ({saved} cells)"

    assert main(["report", str(out)]) == 0
    partial = results.load(out / "results.json")
    assert partial["run"]["complete"] is False and len(partial["cells"]) == saved
    assert "INCOMPLETE" in (out / "matrix.md").read_text()

    assert main(["run", "--resume", str(out), "--no-progress"]) == 0
    capsys.readouterr()
    resumed = results.load(out / "results.json")
    assert resumed["run"]["complete"] is True
    assert _cells(resumed) == _cells(serial)


def test_two_workers_give_the_serial_matrix_cell_for_cell(serial: dict, tmp_path: Path) -> None:
    out = tmp_path / "parallel"
    proc = subprocess.run(_cli("run", *SELECT, "--workers", "2", "--out", str(out)), cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _cells(results.load(out / "results.json")) == _cells(serial)


def test_resume_of_a_directory_that_is_not_a_run_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--resume", str(tmp_path)]) == 2
    assert "nothing to resume" in capsys.readouterr().err
