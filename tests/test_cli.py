"""The command line: its input errors give one line and exit 2; a real run writes valid results."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from keel_conformance.cli import main
from keel_conformance.paths import PROJECT_ROOT
from reports import results


@pytest.mark.parametrize("argv, says", [
    (["run", "--component", "README.md", "--interface", "kv"], "README.md: not a WebAssembly component"),
    (["run", "--component", "no/such.wasm", "--interface", "kv"], "cannot read"),
    (["run", "--component", "README.md"], "needs exactly one --interface"),
    (["run", "--runtime", "quickjs-9000"], "unknown runtime quickjs-9000; known: wasmtime"),
    (["run", "--interface", "gopher"], "unknown interface gopher"),
])
def test_usage_errors_exit_2_with_one_line(argv: list[str], says: str, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(PROJECT_ROOT)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert says in err and len(err.splitlines()) == 1


def test_a_core_module_is_not_a_component(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    core = tmp_path / "core.wasm"
    core.write_bytes(b"\0asm\x01\0\0\0")
    assert main(["run", "--component", str(core), "--interface", "kv"]) == 2
    assert "is a core WebAssembly module, not a component" in capsys.readouterr().err


def test_a_truncated_component_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.wasm"
    broken.write_bytes(b"\0asm\x0d\0\x01\0\x07\xff")
    assert main(["run", "--component", str(broken), "--interface", "kv"]) == 2
    assert "not a valid component" in capsys.readouterr().err


def test_validate_refuses_a_hostile_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "results.json"
    f.write_text(json.dumps({"schema_version": 1, "cells": "all good"}))
    assert main(["validate", str(f)]) == 1
    assert str(f) in capsys.readouterr().err


@pytest.mark.slow
def test_a_real_run_writes_valid_results_and_a_matrix(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "keel_conformance.cli", "run", "--runtime", "wasmtime", "--interface", "kv",
         "-k", "missing_key or exists_follows", "--out", str(out)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = results.load(out / "results.json")
    names = {c["scenario"] for c in doc["cells"]}
    assert names == {"a missing key reads as none", "exists follows set and delete"}
    assert all(c["runtime"] == "wasmtime" and c["outcome"] == "pass" for c in doc["cells"])
    assert doc["runtimes"][0]["version"] and doc["guests"][0]["sha256"]
    assert "✔ pass" in (out / "matrix.md").read_text()


def test_a_200_mb_file_is_refused_before_it_is_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    big = tmp_path / "big.wasm"
    with big.open("wb") as f:
        f.write(b"\0asm\x0d\0\x01\0")
        f.truncate(200 * 1024 * 1024)  # sparse: costs no disk
    assert main(["run", "--component", str(big), "--interface", "kv"]) == 2
    err = capsys.readouterr().err
    assert "big.wasm: 209,715,200 bytes is more than" in err and len(err.strip().splitlines()) == 1


def test_an_expectations_file_for_an_unknown_runtime_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    from reports import expectations

    (tmp_path / "quickjs-9000.yaml").write_text("expectations: []\n")
    monkeypatch.setattr(expectations, "DIR", tmp_path)
    assert main(["run", "--interface", "kv"]) == 2
    assert "quickjs-9000.yaml: no runtime is named 'quickjs-9000'" in capsys.readouterr().err


def test_a_malformed_expectations_entry_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from reports import expectations

    (tmp_path / "wasmtime.yaml").write_text("expectations:\n  - outcome: maybe\n")
    monkeypatch.setattr(expectations, "DIR", tmp_path)
    assert main(["run", "--interface", "kv"]) == 2
    assert "wasmtime.yaml: entry 1 needs an outcome" in capsys.readouterr().err


def test_a_feature_syntax_error_is_one_line_naming_file_line_and_problem() -> None:
    from types import SimpleNamespace

    from keel_conformance.run import _collect_error

    longrepr = ("E   pytest_bdd.exceptions.GherkinParseError: Unknown parsing error: Parser errors:\n"
                "E   (7:7): inconsistent cell count within the table\nE   Line number: 7\n"
                "E   Line:       | c |\nE   File: /x/features/kv.feature\n")
    report = SimpleNamespace(longreprtext=longrepr, nodeid="step_defs/test_kv.py")
    assert _collect_error(report) == "/x/features/kv.feature:7: (7:7): inconsistent cell count within the table"


def test_internal_errors_are_one_line_unless_debug(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from keel_conformance import cli

    def boom(args: object) -> int:
        raise RuntimeError("kaput")

    monkeypatch.setitem(cli.COMMANDS, "list-runtimes", boom)
    assert main(["list-runtimes"]) == 2
    assert capsys.readouterr().err.strip() == (
        "keel-conformance: internal error: RuntimeError: kaput (run with --debug for the traceback)")
    with pytest.raises(RuntimeError):
        main(["--debug", "list-runtimes"])


def test_a_reader_that_closes_stdout_early_is_no_error_of_the_users_files(tmp_path: Path) -> None:
    """`keel-conformance findings DIR | head -0`: the reader went away; that is no read or write failure."""
    read, write = os.pipe()
    os.close(read)
    try:
        proc = subprocess.run([str(Path(sys.executable).parent / "keel-conformance"), "findings", str(tmp_path)], stdout=write,
                              stderr=subprocess.PIPE, text=True, cwd=PROJECT_ROOT, timeout=300)
    finally:
        os.close(write)
    assert proc.returncode == 141 and proc.stderr == "", proc.stderr
