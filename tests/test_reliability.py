"""Issue 16, items 4-13: every accepted file is consistent, bad input is one line, nothing is lost or overwritten.

Each test works on a copy of a real run's directory (the `real_run` fixture) or a real command.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from keel_conformance.cli import main
from reports import expectations, results, submit
from tests.conftest import keel


def _copy(run: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "run"
    shutil.copytree(run, dest, symlinks=True)
    return dest


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err and "internal error" not in err, err
    return err


def _write(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(json.dumps(doc))
    return path


# 4. report from a journal never replaces a complete results file with a lesser one

def test_report_of_a_journal_keeps_the_complete_results_file(real_run: Path, tmp_path: Path) -> None:
    run = _copy(real_run, tmp_path)
    before = _digest(run / "results.json")
    assert main(["report", str(run / "journal.jsonl")]) == 0
    assert _digest(run / "results.json") == before
    doc = results.load(run / "results.json")
    assert doc["run"]["complete"] is True and all(r["version"] for r in doc["runtimes"])


def test_report_of_a_longer_journal_keeps_what_the_partial_report_knew(real_run: Path, tmp_path: Path) -> None:
    run = _copy(real_run, tmp_path)
    full = results.load(run / "results.json")
    lines = (run / "journal.jsonl").read_text().splitlines(keepends=True)
    partial = results.assemble(started=full["run"]["started"], finished=full["run"]["finished"], complete=False,
                               command=full["run"]["command"], runtimes=full["runtimes"], guests=full["guests"],
                               cells=[json.loads(x) for x in lines[:2]],
                               selected=[(c["feature"], c["scenario"], c["runtime"], c["guest"]) for c in full["cells"]])
    results.write(partial, run / "results.json")
    assert main(["report", str(run / "journal.jsonl")]) == 0
    doc = results.load(run / "results.json")
    assert len(doc["cells"]) == len(full["cells"]) and doc["run"]["complete"] is False
    assert doc["runtimes"] == full["runtimes"]  # versions and flags, not "unknown"
    known = {g["name"]: g for g in full["guests"]}
    assert all(g == known[g["name"]] for g in doc["guests"])


# 5. deadlines and worker counts that make no sense are refused

@pytest.mark.parametrize("argv", [
    ["run", "--timeout", "-1"], ["run", "--timeout", "0"], ["run", "--timeout", "nan"], ["run", "--timeout", "inf"],
    ["run", "--timeout", "-inf"], ["run", "--timeout", "soon"], ["run", "--timeout", "1e308"], ["run", "--workers", "0"], ["run", "--workers", "-2"],
    ["fuzz", "--examples", "-1"], ["fuzz", "--examples", "0"], ["run", "--no-such-flag"],
])
def test_senseless_numbers_are_refused_with_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = _one_line(capsys)
    assert argv[1] in err or "unrecognized" in err


# 6. an empty selection is an error, writes nothing and moves nothing; lost cells are a regression

@pytest.mark.parametrize("argv, says", [
    (["--guest", "no-such-guest"], "unknown guest no-such-guest"),
    (["--guest", "c-p1-kv-probe", "--interface", "sql"], "no selected guest serves a selected interface"),
    (["--interface", "kv", "-k", "wasmtime and jco"], "no cell matches the selection"),
    (["--interface", "kv", "-k", "no_scenario_is_called_this"], "no cell matches the selection"),
    (["--interface", "kv", "-k", "wasmtime and jco", "--workers", "2"], "no cell matches the selection"),
])
def test_an_empty_selection_is_exit_2_and_writes_nothing(argv: list[str], says: str, tmp_path: Path) -> None:
    out = tmp_path / "reports" / "run-x"
    proc = keel("run", "--runtime", "wasmtime", "--no-progress", "--out", str(out), *argv)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert says in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists() and list(tmp_path.rglob("*")) in ([], [tmp_path / "reports"])


def test_fuzz_of_an_unknown_function_is_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["fuzz", "--runtime", "wasmtime", "--function", "nope", "--out", str(tmp_path / "f")]) == 2
    assert "no function nope" in _one_line(capsys)
    assert not (tmp_path / "f").exists()


def test_cells_that_disappear_are_a_regression_unless_the_suite_removed_them(real_run: Path, tmp_path: Path,
                                                                             capsys: pytest.CaptureFixture[str]) -> None:
    good = results.load(real_run / "results.json")
    empty = results.assemble(started=good["run"]["started"], finished=good["run"]["finished"], complete=True,
                             command=["x"], runtimes=good["runtimes"], guests=good["guests"], cells=[])
    new = _write(tmp_path / "empty.json", empty)
    assert main(["diff", str(real_run / "results.json"), str(new)]) == 1
    assert "REGRESSED" in capsys.readouterr().out

    retired = copy.deepcopy(good)  # an older run whose scenarios this suite version no longer has
    for i, c in enumerate(retired["cells"]):
        c["scenario"] = f"a scenario since removed from the suite ({i})"
    retired = results.assemble(started=good["run"]["started"], finished=good["run"]["finished"], complete=True,
                               command=["x"], runtimes=good["runtimes"], guests=good["guests"], cells=retired["cells"])
    old = _write(tmp_path / "retired.json", retired)
    assert main(["diff", str(old), str(new)]) == 0
    assert "scenarios the suite removed" in capsys.readouterr().out


# 7. validate, submit and diff refuse files whose cells are not consistent

def _variants(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    dup_conflict = copy.deepcopy(doc)
    twin = dict(dup_conflict["cells"][0], outcome="fail", message="expected x, got y")
    twin["verdict"] = expectations.recorded_verdict(twin)
    dup_conflict["cells"].append(twin)
    dup_conflict["summary"] = results.summarize(dup_conflict["cells"])
    removed = copy.deepcopy(doc)
    removed["cells"].pop()
    removed["summary"] = results.summarize(removed["cells"])
    stale = copy.deepcopy(doc)
    stale["summary"]["outcomes"] = {"pass": 1}
    flipped = copy.deepcopy(doc)
    flipped["cells"][0]["outcome"] = "fail"
    flipped["summary"] = results.summarize(flipped["cells"])
    return {"a cell twice, pass and fail": dup_conflict, "a removed cell": removed, "a stale summary": stale,
            "a flipped outcome with its verdict kept": flipped}


def test_inconsistent_files_are_refused_by_every_command(real_run: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(submit, "SUBMISSIONS", tmp_path / "submissions")
    good = results.load(real_run / "results.json")
    for name, doc in _variants(good).items():
        f = _write(tmp_path / f"{name}.json", doc)
        before = _digest(f)
        assert main(["validate", str(f)]) == 1, name
        assert capsys.readouterr().err.strip(), name
        for argv in (["submit", str(f)], ["diff", str(real_run / "results.json"), str(f)],
                     ["merge", str(f), "-o", str(tmp_path / "m.json")]):
            assert main(argv) == 2, (name, argv)
            _one_line(capsys)
        assert _digest(f) == before
    assert not (tmp_path / "submissions").exists() and not (tmp_path / "m.json").exists()


# 9. submit scrubs paths and host names by token, and what it writes validates

@pytest.mark.parametrize("host", ["kv", "test", "KEEL-BUILDER", "wasmtime"])
def test_submit_scrubs_by_token_and_the_bundle_validates(host: str, real_run: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    monkeypatch.setattr(submit, "SUBMISSIONS", tmp_path / "submissions")
    monkeypatch.setattr(socket, "gethostname", lambda: host)
    monkeypatch.setattr(socket, "getfqdn", lambda: f"{host}.example.internal")
    doc = results.load(real_run / "results.json")
    doc["cells"][0]["message"] = (f"connect to {host.lower()}:25 from {host.upper()}.example.internal failed; log "
                                  "/var/folders/xy/T/keel/a.log, /opt/ci/keel/.cache/components/x.log, "
                                  "/home/ana/w/keel/fixtures/components/kv/app.py, /usr/lib/wasm32-wasi/crt1.o")
    doc["cells"][0]["repro"] = "/Users/ana/keel/.venv/bin/python -m pytest kv"
    f = _write(tmp_path / "results.json", doc)
    assert main(["submit", str(f)]) == 0
    (bundle,) = (tmp_path / "submissions").iterdir()
    text = (bundle / "results.json").read_text()
    assert main(["validate", str(bundle / "results.json")]) == 0
    written = json.loads(text)
    assert [c["scenario"] for c in written["cells"]] == [c["scenario"] for c in doc["cells"]]
    assert [c["guest"] for c in written["cells"]] == [c["guest"] for c in doc["cells"]]
    msg = written["cells"][0]["message"]
    assert msg.startswith("connect to <host>:25 from <host> failed")
    for private in ("/var/folders", "/opt/ci", "/home/ana", "/Users/ana"):
        assert private not in text
    assert "<suite>/.cache/components/x.log" in msg and "<suite>/fixtures/components/kv/app.py" in msg
    assert "/usr/lib/wasm32-wasi/crt1.o" in msg  # a system path says nothing about a person


# 10. a component whose function types differ from the interface's is one line before any cell

def test_a_component_with_other_function_types_is_refused_before_any_cell(tmp_path: Path) -> None:
    import subprocess

    from keel_conformance.paths import PROJECT_ROOT

    wit = tmp_path / "wit"
    shutil.copytree(PROJECT_ROOT / "wit", wit)
    probes = wit / "probes.wit"
    src = probes.read_text()
    wrong = "    set: func(key: string, value: string) -> result<_, kv-error>;"
    probes.write_text(src.replace("    set: func(key: string, value: list<u8>) -> result<_, kv-error>;", wrong))
    assert wrong in probes.read_text()
    component = tmp_path / "wrong-kv.wasm"
    made = subprocess.run(["node", str(PROJECT_ROOT / "fixtures/components/world-types.mjs"), str(wit), "kv-probe",
                           str(component)], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    if made.returncode != 0:
        pytest.skip(f"n/a: jco cannot make the component here: {made.stderr.strip()[:200]}")
    out = tmp_path / "out"
    proc = keel("run", "--component", str(component), "--interface", "kv", "--runtime", "wasmtime", "--out", str(out))
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"keel-conformance: {component}: exports keel:probes/kv-mirror with other types than "
                                   "the interface's: function set: parameter 2 (value) is string, the interface says "
                                   "list<u8>")
    assert not out.exists()


# 11. FIFOs and devices are refused, not read

@pytest.mark.parametrize("kind", ["fifo", "zero"])
@pytest.mark.parametrize("command", ["component", "validate", "report", "diff", "submit", "replay"])
def test_non_regular_files_are_refused_at_once(kind: str, command: str, tmp_path: Path, real_run: Path) -> None:
    if kind == "fifo":
        path = tmp_path / "pipe.json"
        os.mkfifo(path)
    else:
        path = Path("/dev/zero")
    argv = {"component": ["run", "--component", str(path), "--interface", "kv"], "validate": ["validate", str(path)],
            "report": ["report", str(path)], "diff": ["diff", str(real_run / "results.json"), str(path)],
            "submit": ["submit", str(path)], "replay": ["fuzz", "--replay", str(path)]}[command]
    proc = keel(*argv, timeout=60)
    assert proc.returncode in (1, 2), proc.stderr
    assert ("FIFO" in proc.stderr or "character device" in proc.stderr) and "Traceback" not in proc.stderr


# 12. only what was asked for is written; nothing the suite did not make is deleted

def test_a_users_latest_file_beside_out_is_left_alone(tmp_path: Path) -> None:
    mine = tmp_path / "latest"
    mine.write_text("my notes")
    proc = keel("run", "--runtime", "wasmtime", "--interface", "kv", "--guest", "wat-kv-probe", "-k", "missing_key",
                "--no-progress", "--out", str(tmp_path / "x"))
    assert proc.returncode == 0, proc.stderr
    assert mine.read_text() == "my notes" and sorted(p.name for p in tmp_path.iterdir()) == ["latest", "x"]


def test_merge_writes_only_its_output_and_refuses_a_directory(real_run: Path, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    run = _copy(real_run, tmp_path)
    reports_before = {p.name: _digest(p) for p in run.iterdir()}
    assert main(["merge", str(run / "results.json"), "-o", str(run / "m.json")]) == 0
    assert {p.name: _digest(p) for p in run.iterdir() if p.name != "m.json"} == reports_before
    target = tmp_path / "dir"
    target.mkdir()
    assert main(["merge", str(run / "results.json"), "-o", str(target)]) == 2
    assert "is a directory" in _one_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir", "run"] and list(target.iterdir()) == []


# 13. unwritable outputs, deep JSON, wrong kinds of files: one line each; a bad file among many is skipped

def test_outputs_that_cannot_be_written_are_one_line(real_run: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        for argv in (["run", "--interface", "kv", "--out", str(a_file)],
                     ["run", "--interface", "kv", "--out", str(a_file / "sub")],
                     ["merge", str(real_run / "results.json"), "-o", str(a_file / "m.json")],
                     ["site", str(real_run), "-o", str(a_file)],
                     ["fuzz", "--out", str(a_file)]):
            assert main(argv) == 2, argv
            _one_line(capsys)
        if os.geteuid() != 0:  # root writes anywhere
            assert main(["merge", str(real_run / "results.json"), "-o", str(ro / "m.json")]) == 2
            _one_line(capsys)
    finally:
        ro.chmod(0o700)


def test_diff_keeps_the_exit_1_of_a_regression_when_its_output_cannot_be_written(
        real_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = results.load(real_run / "results.json")
    worse = copy.deepcopy(good)
    worse["cells"][0]["outcome"] = "fail"
    worse = results.assemble(started=good["run"]["started"], finished=good["run"]["finished"], complete=True,
                             command=["x"], runtimes=good["runtimes"], guests=good["guests"],
                             cells=[{k: v for k, v in c.items() if k != "verdict"} for c in worse["cells"]])
    new = _write(tmp_path / "worse.json", worse)
    assert main(["diff", str(real_run / "results.json"), str(new), "-o", str(tmp_path)]) == 1
    assert "is a directory" in capsys.readouterr().err


def test_deep_json_is_one_line_and_does_not_stop_the_other_files(real_run: Path, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    deep = tmp_path / "deep" / "results.json"
    deep.parent.mkdir()
    deep.write_text("[" * 100_000 + "]" * 100_000)
    assert main(["validate", str(deep), str(real_run / "results.json")]) == 1
    captured = capsys.readouterr()
    assert f"{real_run / 'results.json'}: valid" in captured.out and "nested too deeply" in captured.err
    site_src = tmp_path / "history"
    shutil.copytree(tmp_path / "deep", site_src / "bad")
    (site_src / "good").mkdir()
    shutil.copy(real_run / "results.json", site_src / "good" / "results.json")
    assert main(["site", str(site_src), "-o", str(tmp_path / "site")]) == 0
    assert "skipped" in capsys.readouterr().err and (tmp_path / "site" / "index.html").exists()
    for argv in (["diff", str(deep), str(deep)], ["report", str(deep)], ["submit", str(deep)]):
        assert main(argv) == 2
        assert "nested too deeply" in _one_line(capsys)


@pytest.mark.parametrize("line", [b"garbage\n", b"{\"feature\": 1}\n", b"[]\n", b"\xff\xfe\n", b"{" * 5000 + b"\n"])
def test_a_garbage_journal_line_is_left_out_with_a_note(line: bytes, real_run: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    run = _copy(real_run, tmp_path)
    journal = run / "journal.jsonl"
    cells = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(cells[0] + line + b"".join(cells[1:]))
    (run / "results.json").unlink()
    assert main(["report", str(journal)]) == 0
    doc = results.load(run / "results.json")
    assert len(doc["cells"]) == len(cells)


def test_fuzz_replay_of_a_results_file_is_one_line(real_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fuzz", "--replay", str(real_run / "results.json")]) == 2
    assert "not a divergence bundle" in _one_line(capsys)
