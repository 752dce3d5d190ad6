"""Issue 16: real results files and journals, corrupted by hypothesis; every command accepts only what is
consistent, refuses the rest with exit 1 or 2 and one line, never a traceback, never a changed input file."""
from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import shutil
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keel_conformance.cli import main
from reports import expectations, results, submit

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
OUTCOMES = ["pass", "fail", "n/a", "trap", "timeout", "crash", "error"]


def _key(c: dict[str, Any]) -> tuple[str, str, str, str]:
    return (c["feature"], c["scenario"], c["runtime"], c["guest"])


def _truly_consistent(text: str, original: dict[str, Any]) -> bool:
    """An oracle written apart from reports/results.py: what an accepted file must at least satisfy.
    (A file that satisfies it may still be refused, e.g. for a scenario name this suite does not have.)"""
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return False
    if doc == original:
        return True
    try:
        cells = doc["cells"]
        keys = [_key(c) for c in cells]
        sel = doc["run"]["selection"]
        return (len(set(keys)) == len(keys) and doc["summary"]["cells"] == len(cells)
                and doc["summary"]["outcomes"] == dict(Counter(c["outcome"] for c in cells))
                and all(c["outcome"] in OUTCOMES for c in cells)
                and all(c.get("verdict") == expectations.recorded_verdict(c) for c in cells)
                and sel["cells"] == len(cells) + len(sel.get("missing", [])))
    except (KeyError, TypeError, AttributeError):
        return False


def _call(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@st.composite
def corrupted(draw: st.DrawFn, text: str) -> tuple[str, str]:
    """(what was done, the corrupted text) for a real results file."""
    doc = json.loads(text)
    kind = draw(st.sampled_from(["same", "truncate", "duplicate", "drop", "flip", "stale", "bytes", "reorder"]))
    if kind == "same":
        return kind, text
    if kind == "truncate":
        return kind, text[: draw(st.integers(0, len(text) - 2))]
    if kind == "bytes":
        data = bytearray(text.encode())
        for _ in range(draw(st.integers(1, 8))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        return kind, data.decode("utf-8", errors="replace")
    i = draw(st.integers(0, len(doc["cells"]) - 1))
    if kind == "duplicate":
        twin = copy.deepcopy(doc["cells"][i])
        if draw(st.booleans()):
            twin["outcome"] = draw(st.sampled_from([o for o in OUTCOMES if o != twin["outcome"]]))
        doc["cells"].insert(draw(st.integers(0, len(doc["cells"]))), twin)
    elif kind == "drop":
        doc["cells"].pop(i)
    elif kind == "flip":  # to an outcome whose verdict differs (pass -> n/a, both "ok", is a consistent file)
        cell = doc["cells"][i]
        doc["cells"][i]["outcome"] = draw(st.sampled_from(
            [o for o in OUTCOMES if expectations.recorded_verdict(dict(cell, outcome=o)) != cell["verdict"]]))
    elif kind == "stale":
        doc["summary"]["cells"] += draw(st.sampled_from([-1, 1, 7]))
    elif kind == "reorder":  # the same cells in another order: still consistent
        doc["cells"] = draw(st.permutations(doc["cells"]))
    if kind in ("duplicate", "drop", "flip") and draw(st.booleans()):
        doc["summary"] = results.summarize(doc["cells"])  # a forger who also fixes the summary
    return kind, json.dumps(doc, indent=draw(st.sampled_from([None, 2])))


def _check(code: int, stdout: str, stderr: str, consistent: bool, argv: list[str]) -> None:
    assert "Traceback" not in stderr and "internal error" not in stderr, (argv, stderr)
    if consistent:
        return
    assert code in (1, 2), (argv, code, stdout, stderr)
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert lines, (argv, "refused without a word")
    if argv[0] != "validate":  # validate lists every problem, one line each; the rest say one line
        assert len(lines) == 1, (argv, stderr)


def test_corrupted_results_files_are_accepted_only_when_consistent(real_run: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    good_path = real_run / "results.json"
    text = good_path.read_text()
    original = json.loads(text)

    @SETTINGS
    @given(corrupted(text))
    def check(case: tuple[str, str]) -> None:
        kind, bad_text = case
        consistent = _truly_consistent(bad_text, original)
        if kind in ("same", "reorder"):
            assert consistent
        if kind in ("duplicate", "drop", "flip", "stale"):
            assert not consistent, kind
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            monkeypatch.setattr(submit, "SUBMISSIONS", root / "submissions")
            run = root / "run"
            run.mkdir()
            bad = run / "results.json"
            bad.write_text(bad_text)
            before = _sha(bad)
            for argv in (["validate", str(bad)], ["submit", str(bad)], ["diff", str(good_path), str(bad)],
                         ["diff", str(bad), str(good_path)], ["merge", str(bad), "-o", str(root / "m.json")],
                         ["report", str(bad)]):
                code, out, err = _call(argv)
                _check(code, out, err, consistent, argv)
                if kind in ("same", "reorder") and argv[0] in ("validate", "submit", "merge", "report"):
                    assert code == 0, (kind, argv, err)
                assert _sha(bad) == before, (kind, argv, "the input file changed")
            history = root / "history"
            (history / "good").mkdir(parents=True)
            shutil.copy(good_path, history / "good" / "results.json")
            shutil.copy(bad, history / "results.json")
            code, _, err = _call(["site", str(history), "-o", str(root / "site")])
            assert code == 0 and "Traceback" not in err and (consistent or "skipped" in err), (kind, err)

    check()


@st.composite
def damaged_journal(draw: st.DrawFn, lines: list[bytes]) -> list[bytes]:
    out = list(lines)
    for _ in range(draw(st.integers(1, 4))):
        what = draw(st.sampled_from(["tear", "repeat", "drop", "garbage", "glue"]))
        i = draw(st.integers(0, len(out) - 1)) if out else 0
        if not out:
            break
        if what == "tear" and out[i]:  # a process killed mid-write: the rest of the file is gone
            out = out[:i] + [out[i][: draw(st.integers(0, len(out[i]) - 1))]]
        elif what == "repeat":
            out.insert(draw(st.integers(0, len(out))), out[i])
        elif what == "drop":
            out.pop(i)
        elif what == "garbage":
            out.insert(i, draw(st.binary(min_size=1, max_size=200)).replace(b"\n", b" ") + b"\n")
        else:  # another process appended after a torn line: two cells on one line
            out[i] = out[i].rstrip(b"\n")
    return out


def test_damaged_journals_report_only_real_cells_and_never_complete_when_cells_are_missing(real_run: Path) -> None:
    lines = (real_run / "journal.jsonl").read_bytes().splitlines(keepends=True)
    truth = {_key(c): c["outcome"] for c in map(json.loads, lines)}

    @SETTINGS
    @given(damaged_journal(lines))
    def check(damaged: list[bytes]) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            run = Path(tmp) / "run"
            shutil.copytree(real_run, run)
            (run / "results.json").unlink()
            journal = run / "journal.jsonl"
            journal.write_bytes(b"".join(damaged))
            code, out, err = _call(["report", str(journal)])
            assert "Traceback" not in err and "internal error" not in err, err
            if code != 0:
                assert code == 2 and len(err.strip().splitlines()) == 1, err
                return
            doc = results.load(run / "results.json")
            got = {_key(c): c["outcome"] for c in doc["cells"]}
            assert got.items() <= truth.items(), "a cell that the run never recorded"
            assert doc["run"]["complete"] is False
            assert len(doc["run"]["selection"].get("missing", [])) == len(truth) - len(got)

    check()
