"""Differential fuzzing: every value kind both ways on two runtimes, and a broken guest caught and replayed."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from keel_conformance.cli import main
from reports import results

KINDS = {"echo-bool", "echo-s8", "echo-s16", "echo-s32", "echo-s64", "echo-u8", "echo-u16", "echo-u32", "echo-u64",
         "echo-f32", "echo-f64", "echo-char", "echo-string", "echo-bytes", "echo-points", "echo-point", "echo-tuple",
         "echo-shape", "echo-color", "echo-option", "echo-nested-option", "echo-result", "echo-unit-result",
         "echo-small-flags", "echo-big-flags", "echo-everything", "bounce", "pass-counter", "read-counter"}


def test_a_fixed_seed_run_covers_every_value_kind_on_wasmtime_and_node(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["fuzz", "--runtime", "wasmtime", "--runtime", "jco-node+xconst", "--examples", "200",
                 "--seed", "1", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    doc = results.load(tmp_path / "results.json")
    for guest in ("py-values", "js-values"):  # componentize-py and ComponentizeJS
        functions = {c["scenario"].split(" (")[0] for c in doc["cells"] if c["guest"] == guest}
        assert functions == KINDS, guest
    ran = {c["runtime"] for c in doc["cells"] if c["outcome"] != "n/a"}
    assert "wasmtime" in ran
    assert code == 0, out
    # The faithful Python echo agrees everywhere; the JS guest's divergences are known ones (any.yaml).
    assert all(c["outcome"] in ("pass", "n/a") for c in doc["cells"] if c["guest"] == "py-values")
    assert all(c["verdict"] == "ok" for c in doc["cells"])


def test_a_broken_echo_is_caught_shrunk_and_replayed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["fuzz", "--runtime", "wasmtime", "--guest", "py-values-broken", "--function", "echo-string",
                 "--examples", "100", "--seed", "3", "--out", str(tmp_path)])
    assert code == 1
    (bundle,) = (tmp_path / "divergences").glob("*/bundle.json")
    data = json.loads(bundle.read_text())
    arg = data["input"]
    assert data["function"] == "echo-string" and data["columns"]["wasmtime:py-values-broken"]["guest_sha256"]
    from keel_conformance import wave
    from keel_conformance.types import FuncSig, Prim

    (text,) = wave.parse_args(arg, FuncSig("echo-string", (("v", Prim("string")),), Prim("string")))
    assert 256 <= len(text.encode()) <= 260, "Hypothesis shrank the input to just past the 255-byte bug"
    doc = results.load(tmp_path / "results.json")
    assert doc["divergences"][0]["bundle"] == str(bundle)
    assert "Divergences" in (tmp_path / "matrix.md").read_text()
    capsys.readouterr()
    assert main(["fuzz", "--replay", str(bundle)]) == 1
    assert "returned" in capsys.readouterr().out
