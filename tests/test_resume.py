"""A stopped or killed run loses nothing and records nothing false: signals, torn journals, --resume, workers."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from keel_conformance.cli import main
from keel_conformance.paths import PROJECT_ROOT
from reports import results

SELECT = ["--runtime", "wasmtime", "--interface", "kv", "--no-progress"]
SERIAL = ["--workers", "1"]  # where a test needs to know which cell is in flight


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "keel_conformance.cli", *args]


def _cells(doc: dict) -> list[tuple[str, str, str, str]]:
    return sorted((c["scenario"], c["runtime"], c["guest"], c["outcome"]) for c in doc["cells"])


@pytest.fixture(scope="module")
def serial(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("serial")
    proc = subprocess.run(_cli("run", *SELECT, *SERIAL, "--out", str(out)), cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return results.load(out / "results.json")


def test_a_sigkilled_run_reports_partially_and_resumes_to_the_same_matrix(serial: dict, tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "killed"
    proc = subprocess.Popen(_cli("run", *SELECT, *SERIAL, "--out", str(out)), cwd=PROJECT_ROOT, stdin=subprocess.DEVNULL,
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


def _journal_cells(journal: Path) -> list[dict]:
    return results.read_journal(journal)


def _start(out: Path, *extra: str, env: dict | None = None) -> subprocess.Popen:
    # Its own process group, as a terminal's foreground job: killpg then reaches the engines under it too.
    return subprocess.Popen(_cli("run", *SELECT, "--out", str(out), *extra), cwd=PROJECT_ROOT,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env=env)


def _wait_for(journal: Path, done: Any, limit_s: float = 300) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if journal.exists() and done(_journal_cells(journal)):
            return
        time.sleep(0.05)
    raise AssertionError(f"the run never got there ({len(_journal_cells(journal))} cells)")


def test_ctrl_c_inside_a_guest_call_is_never_a_cell_outcome_and_the_run_resumes(serial: dict, tmp_path: Path) -> None:
    """Issue 16.1: SIGINT 1.5 s into the 1 MiB kv round trip on wasmtime once segfaulted the process or was
    recorded as that cell's `trap`. Now: exit 130, partial reports marked incomplete, every recorded cell
    exactly what the uninterrupted run says, and --resume completes it to the same matrix."""
    out = tmp_path / "interrupted"
    proc = _start(out, *SERIAL)
    journal = out / "journal.jsonl"
    _wait_for(journal, lambda cells: any(c["guest"] == "py-kv-probe" and "size=65536" in c["scenario"] for c in cells))
    time.sleep(1.5)  # inside py-kv-probe's 1 MiB round trip (~5 s on wasmtime)
    os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stdout + stderr
    assert "Traceback" not in stderr and "stopping" in stderr and f"--resume {out}" in stderr, stderr
    partial = results.load(out / "results.json")
    assert partial["run"]["complete"] is False and partial["run"]["selection"]["missing"]
    truth = {(c["scenario"], c["guest"]): c["outcome"] for c in serial["cells"]}
    assert {(c["scenario"], c["guest"]): c["outcome"] for c in partial["cells"]}.items() <= truth.items()
    assert not any(c["guest"] == "py-kv-probe" and "size=1048576" in c["scenario"] for c in partial["cells"]), \
        "the cell in flight at the signal was recorded"
    assert not (out / "latest").exists() and not (tmp_path / "latest").exists()

    resumed = subprocess.run(_cli("run", "--resume", str(out), "--no-progress"), cwd=PROJECT_ROOT,
                             capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    doc = results.load(out / "results.json")
    assert doc["run"]["complete"] is True and "missing" not in doc["run"]["selection"]
    assert _cells(doc) == _cells(serial)


def test_sigterm_stops_a_parallel_run_writes_partial_reports_and_leaves_no_temp_root(tmp_path: Path) -> None:
    """Issue 16.2: SIGTERM (CI cancellation) to the main process alone, with two workers."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    out = tmp_path / "terminated"
    proc = _start(out, "--workers", "2", env={**os.environ, "TMPDIR": str(tmp)})
    journal = out / "journal.jsonl"
    _wait_for(journal, lambda cells: len(cells) >= 3)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stdout + stderr
    assert "Traceback" not in stderr and "SIGTERM" in stderr
    partial = results.load(out / "results.json")
    assert partial["run"]["complete"] is False and len(partial["cells"]) == len(_journal_cells(journal)) >= 3
    assert list(tmp.iterdir()) == [], "the run's private temp root (SQLite, RocksDB) was left behind"
    assert not (out / ".stop").exists()


@pytest.mark.parametrize("after_s", [0.2, 1.5])
def test_sigint_during_start_up_is_one_line_and_exit_130(after_s: float, tmp_path: Path) -> None:
    out = tmp_path / "early"
    proc = _start(out)
    time.sleep(after_s)
    os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stdout + stderr
    assert "Traceback" not in stderr and stderr.strip()
    if (out / "results.json").exists():  # it got as far as selecting cells: what it wrote is partial, and says so
        assert results.load(out / "results.json")["run"]["complete"] is False


def _small_run(out: Path) -> dict:
    proc = subprocess.run(_cli("run", "--runtime", "wasmtime", "--interface", "kv", "--guest", "wat-kv-probe",
                               "--no-progress", "--out", str(out)), cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=600, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return results.load(out / "results.json")


def test_resume_repairs_a_torn_and_duplicated_journal_and_completes_only_with_every_cell_once(tmp_path: Path) -> None:
    """Issue 16.3: a journal torn mid-line (SIGKILL, a full disk) with a repeated line: resume must not glue the
    next cell onto the fragment, must not keep duplicates, and calls the run complete only with every cell once."""
    out = tmp_path / "torn"
    whole = _small_run(out)
    journal = out / "journal.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    assert len(lines) == len(whole["cells"]) > 10
    kept = lines[:8] + [lines[3]] + [lines[8][: len(lines[8]) // 2]]  # a repeat, then a line cut in the middle
    journal.write_bytes(b"".join(kept))
    (out / "results.json").unlink()

    proc = subprocess.run(_cli("run", "--resume", str(out), "--no-progress"), cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "repaired" in proc.stderr
    doc = results.load(out / "results.json")
    assert doc["run"]["complete"] is True
    assert _cells(doc) == _cells(whole)  # every cell, once, with the outcome it has
    assert len(journal.read_bytes().splitlines()) == len(whole["cells"])
    assert all(json.loads(line) for line in journal.read_bytes().splitlines())


def test_a_torn_journal_reports_incomplete_never_complete(tmp_path: Path) -> None:
    out = tmp_path / "torn-report"
    _small_run(out)
    journal = out / "journal.jsonl"
    data = journal.read_bytes()
    journal.write_bytes(data[: len(data) - 40])  # the last cell torn
    (out / "results.json").unlink()
    assert main(["report", str(journal)]) == 0
    doc = results.load(out / "results.json")
    assert doc["run"]["complete"] is False and len(doc["run"]["selection"]["missing"]) == 1


@pytest.mark.parametrize("flag", [["--runtime", "wasmtime"], ["--interface", "kv"], ["--guest", "wat-kv-probe"],
                                  ["-k", "missing"], ["--timeout", "3"], ["--out", "x"]])
def test_resume_with_selection_flags_is_refused_and_changes_nothing(flag: list[str], tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r"
    out.mkdir()
    (out / "run.json").write_text(json.dumps({"started": "2026-12-01T00:00:00+00:00", "command": ["x"],
                                              "argv": ["run", "--interface", "kv"]}))
    before = sorted((p.name, p.read_bytes()) for p in out.iterdir())
    assert main(["run", "--resume", str(out), *flag]) == 2
    err = capsys.readouterr().err.strip()
    assert "--resume" in err and flag[0] in err and len(err.splitlines()) == 1
    assert sorted((p.name, p.read_bytes()) for p in out.iterdir()) == before


@pytest.mark.parametrize("meta", ["{not json", json.dumps({"argv": "run"}), json.dumps([1, 2]),
                                  json.dumps({"started": "x", "command": ["x"], "argv": ["diff", "a", "b"]})])
def test_a_corrupt_run_json_is_one_line(meta: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "run.json").write_text(meta)
    assert main(["run", "--resume", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "run.json" in err and len(err.splitlines()) == 1 and "internal error" not in err
