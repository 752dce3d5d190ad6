"""`fuzz --component`: any component's exports compared across runtimes, findings written, listed and replayed."""
from __future__ import annotations

import ast
import json
import math
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import wasmtime
import wasmtime.component as wc

from fixtures.components.build import BuildFailure, build_one, load_specs
from keel_conformance import fuzz, wave
from keel_conformance.any_fuzz import AnyColumn, ImportCall, signature
from keel_conformance.any_fuzz_cmd import _columns, load
from keel_conformance.cli import main
from keel_conformance.component_types import guest_types, inspect_file
from keel_conformance.paths import PROJECT_ROOT
from keel_conformance.values import Variant
from reports import results
from runners import registry
from runners._wasmtime_repro import show
from runners._wasmtime_values import Converter

PLANTED_ON = "jco-node+xconst"  # Node 20 itself refuses componentize-py guests (README)


def _component(name: str) -> Path:
    build = build_one(next(s for s in load_specs() if s.name == name))
    assert not isinstance(build, BuildFailure), build
    return build.path


def _probe(runtime: str) -> Any:
    """What the runtime says of itself; a browser column's probe starts the browser, which must end here."""
    runner = registry()[runtime]()
    try:
        return runner.probe()
    finally:
        runner.close()


def _needs(runtime: str) -> None:
    probe = _probe(runtime)
    if not probe.available:
        pytest.skip(f"{runtime}: {probe.reason}")


def _plant(monkeypatch: pytest.MonkeyPatch, alter: Any, on: str = PLANTED_ON) -> None:
    """Alters what the host answers, or records, on one column only."""
    original = AnyColumn.call

    def call(self: AnyColumn, func: str, args: list[Any]) -> tuple[str, Any]:
        if self.runtime == on:
            self.answers.alter = alter
        return original(self, func, args)

    monkeypatch.setattr(AnyColumn, "call", call)


def _bounce_args(finding: dict[str, Any], component: Path) -> dict[str, Any]:
    sig = inspect_file(component).exports["keel:probes/values@0.1.0"].funcs["bounce"]
    (arg,) = wave.parse_args(finding["input"], sig)
    return arg  # type: ignore[no-any-return]


def _standalone(finding: Path, runtime: str) -> str:
    """Runs a finding's README commands for `runtime` in its directory, as a maintainer would; the npm install
    is the checkout's own node_modules (the same pinned versions), so the test needs no registry."""
    rep = json.loads(finding.read_text())["reproduce"]
    install, *rest = rep["setup"]
    assert install.startswith("npm install --no-save @bytecodealliance/jco@")
    if not (finding.parent / "node_modules").exists():
        (finding.parent / "node_modules").symlink_to(PROJECT_ROOT / "node_modules")
    for line in [*rest, rep["runtimes"][runtime]]:
        done = subprocess.run(line, shell=True, cwd=finding.parent, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, (line, done.stderr)
    return done.stdout


def _wasmtime_alone(finding: Path) -> list[str]:
    """Runs a finding's wasmtime line in its directory with a Python that has only wasmtime-py: this venv's
    interpreter in isolated mode. The script imports wasmtime-py and the standard library, nothing else."""
    command = json.loads(finding.read_text())["reproduce"]["runtimes"]["wasmtime"]
    assert command == "python3 repro-wasmtime.py"
    tree = ast.parse((finding.parent / "repro-wasmtime.py").read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert imported == {"__future__", "importlib.metadata", "threading", "wasmtime", "wasmtime.component", "wasmtime.component._types"}
    done = subprocess.run([sys.executable, "-I", *command.split()[1:]], cwd=finding.parent, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0 and not done.stderr, done
    return done.stdout.splitlines()


def _as_wasmtime_py(component: Path, func: str, answer: str) -> str:
    """A values-guest answer in WAVE as the wasmtime script prints it: made into wasmtime-py's value by the
    column's converter, shown by the script's own function."""
    iface = "keel:probes/values@0.1.0"
    engine = wasmtime.Engine()
    exports = wc.Component.from_file(engine, str(component)).type.exports(engine)
    result = exports[iface].ty.exports(engine)[func].ty.result
    value = wave.parse(answer, inspect_file(component).exports[iface].funcs[func].result)
    return show(Converter({}, None).to_wasm(result, value))


def test_a_planted_host_answer_is_found_shrunk_written_listed_and_replayed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _needs(PLANTED_ON)
    component = _component("py-values")
    _plant(monkeypatch, lambda call, v: {**v, "name": v["name"] + "!"} if call.function == "echo" else v)
    out = tmp_path / "run"
    code = main(["fuzz", "--component", str(component), "--runtime", "wasmtime", "--runtime", PLANTED_ON,
                 "--function", "bounce", "--function", "echo-u8", "--examples", "25", "--seed", "2", "--out", str(out)])
    assert code == 1, capsys.readouterr()
    (path,) = (out / "findings").glob("*/finding.json")
    finding = json.loads(path.read_text())
    assert finding["function"] == "bounce" and finding["reference"] == "wasmtime" and finding["diverged"] == [PLANTED_ON]
    assert (path.parent / "component.wasm").read_bytes() == component.read_bytes()
    assert (path.parent / "call.wave").read_text().strip() == finding["call"]
    both = finding["runtimes"]
    assert set(both) == {"wasmtime", PLANTED_ON} and all(v["version"] and v["outcome"] == "ok" for v in both.values())
    # What the guest asked is the same on both (the plant is in the answer): one echo of the argument.
    assert both["wasmtime"]["asked"] == both[PLANTED_ON]["asked"]
    assert len(both["wasmtime"]["asked"]) == 1 and both["wasmtime"]["asked"][0].startswith("keel:probes/host-echo")
    assert both[PLANTED_ON]["answer"] != both["wasmtime"]["answer"]
    # Every input shows the plant, so Hypothesis shrinks to the smallest one.
    arg = _bounce_args(finding, component)
    assert arg["name"] == "" and arg["tags"] == [] and arg["points"] == [] and arg["shapes"] == []
    doc = results.load(out / "results.json")
    cells = {(c["scenario"].split(" (")[0], c["runtime"]): c for c in doc["cells"]}
    assert cells[("keel:probes/values#bounce", PLANTED_ON)]["outcome"] == "fail"
    assert cells[("keel:probes/values#bounce", "wasmtime")]["outcome"] == "pass"
    assert cells[("keel:probes/values#echo-u8", PLANTED_ON)]["outcome"] == "pass"
    assert doc["divergences"][0]["bundle"] == str(path)
    # wasmtime-py alone, given the reference host's answers, returns what the wasmtime column did.
    alone = _wasmtime_alone(path)
    assert alone[0] == "bounce: returned " + _as_wasmtime_py(component, "bounce", finding["runtimes"]["wasmtime"]["answer"])
    assert alone[1].startswith("import calls: keel:probes/host-echo@0.1.0#echo({") and len(alone) == 2, alone
    capsys.readouterr()

    assert main(["findings", str(out)]) == 0
    listing = capsys.readouterr().out
    assert f"## {PLANTED_ON}" in listing and "### record" in listing and finding["call"][:40] in listing

    # The replay still has the plant: it shows the divergence again; without it, none.
    assert main(["fuzz", "--replay", str(path)]) == 1
    monkeypatch.undo()
    capsys.readouterr()
    assert main(["fuzz", "--replay", str(path)]) == 0
    assert "no divergence" in capsys.readouterr().out


def test_a_difference_in_what_the_guest_asks_the_host_is_a_finding(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _needs(PLANTED_ON)

    def garble(call: ImportCall, v: Any) -> Any:
        call.args = call.args.replace("name: ", "name: \"?\" ", 1)  # as if the guest had lowered it differently
        return v

    _plant(monkeypatch, garble)
    out = tmp_path / "run"
    code = main(["fuzz", "--component", str(_component("py-values")), "--runtime", "wasmtime", "--runtime", PLANTED_ON,
                 "--function", "bounce", "--examples", "5", "--seed", "4", "--out", str(out)])
    assert code == 1
    (path,) = (out / "findings").glob("*/finding.json")
    finding = json.loads(path.read_text())
    assert any("asked the host" in p for p in finding["problems"])
    assert "Import calls the guest made, per runtime" in (path.parent / "README.md").read_text()


def test_the_same_wrong_guest_on_every_runtime_is_no_divergence(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    # py-values-broken cuts strings at 255 bytes: the `values` fuzzer catches it against the echo's promise;
    # compared only with each other, the runtimes agree, as they should.
    _needs(PLANTED_ON)
    code = main(["fuzz", "--component", str(_component("py-values-broken")), "--runtime", "wasmtime",
                 "--runtime", PLANTED_ON, "--runtime", "wasmer", "--function", "echo-string", "--examples", "20",
                 "--out", str(tmp_path)])
    assert code == 0, capsys.readouterr()
    doc = results.load(tmp_path / "results.json")
    by_runtime = {c["runtime"]: c for c in doc["cells"]}
    assert by_runtime["wasmtime"]["outcome"] == by_runtime[PLANTED_ON]["outcome"] == "pass"
    assert by_runtime["wasmer"]["outcome"] == "n/a" and by_runtime["wasmer"]["message"]
    assert not list(tmp_path.glob("findings/*"))


@pytest.mark.parametrize("content, says", [
    (None, "cannot read"),
    (b"hello", "not a WebAssembly component"),
    (b"\x00asm\x01\x00\x00\x00", "core WebAssembly module"),
    (b"\x00asm\x0d\x00\x01\x00\xff\xff", "not a valid component"),
])
def test_a_bad_component_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 content: bytes | None, says: str) -> None:
    path = tmp_path / "bad.wasm"
    if content is not None:
        path.write_bytes(content)
    before = path.read_bytes() if content is not None else None
    assert main(["fuzz", "--component", str(path), "--runtime", "wasmtime", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert says in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert (path.read_bytes() if content is not None else None) == before


def test_unknown_function_and_runtime_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    component = str(_component("wat-kv-probe"))
    assert main(["fuzz", "--component", component, "--runtime", "wasmtime", "--runtime", "wasmer"]) == 2
    err = capsys.readouterr().err
    assert "only wasmtime loads it, so there is nothing to compare" in err and "wasmer" in err
    assert main(["fuzz", "--component", component, "--runtime", "nope"]) == 2
    assert "unknown runtime nope" in capsys.readouterr().err
    assert main(["fuzz", "--component", component, "--runtime", "wasmtime", "--function", "nope"]) == 2
    err = capsys.readouterr().err
    assert "has no function nope" in err and "keel:probes/kv-mirror#get" in err, err  # what it can call instead
    assert main(["fuzz", "--component", component, "--guest", "x"]) == 2


def test_findings_of_hostile_or_empty_directories(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["findings", str(tmp_path / "missing")]) == 2
    assert "not a directory" in capsys.readouterr().err
    for i, text in enumerate(['[]', '{"kind": "keel-conformance/finding"}', "\xff", '{"a": ' * 5000]):
        (tmp_path / f"f{i}").mkdir()
        (tmp_path / f"f{i}" / "finding.json").write_text(text)
    assert main(["findings", str(tmp_path)]) == 0
    io = capsys.readouterr()
    assert "no findings" in io.out and io.err.count("skipped:") == 4 and "Traceback" not in io.err


def test_a_stranger_component_with_a_host_resource_agrees_across_columns(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """py-stock: its own WIT package, logic instead of echoes, every value kind, a host resource, imports."""
    _needs(PLANTED_ON)
    component = _component("py-stock")
    types = inspect_file(component)
    assert set(types.imports) >= {"acme:stock/host@0.3.0"} and "acme:stock/stock@0.3.0" in types.exports
    code = main(["fuzz", "--component", str(component), "--runtime", "wasmtime", "--runtime", PLANTED_ON,
                 "--examples", "30", "--seed", "5", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    doc = results.load(tmp_path / "results.json")
    functions = {c["scenario"].split(" (")[0] for c in doc["cells"]}
    assert {f"acme:stock/stock#{f}" for f in ("quote", "restock", "classify", "mix", "[session]basket")} <= functions
    assert {"(world)#checksum", "(world)#total"} <= functions  # exported by the world itself
    assert "acme:stock/stock#[static]basket.fits" in functions  # a resource's static function, called alone
    assert "not fuzzed" not in out  # the exported resources' constructors and methods are driven by sessions
    # Every function agrees but one, a real divergence of jco's (reports/expectations/any.yaml): a crate
    # passed as `own` to its own method, which borrows it as `self`, is taken on jco and traps on wasmtime.
    assert code == 1, out
    assert {c["scenario"].split(" (")[0] for c in doc["cells"] if c["outcome"] != "pass"} == {
        "acme:stock/stock#[session]crate"}
    (path,) = (tmp_path / "findings").glob("*/finding.json")
    finding = json.loads(path.read_text())
    assert finding["input"] == '("", [absorb(0)])' and finding["diverged"] == [PLANTED_ON]
    ref, jco = finding["runtimes"]["wasmtime"], finding["runtimes"][PLANTED_ON]
    assert ref["answer"] == '["new", "absorb: trap"]' and ref["said"] == "cannot remove owned resource while borrowed"
    assert jco["answer"] == '["new", "absorb: 1"]'
    # Both reproduce without the suite, each on its own runtime alone.
    assert _wasmtime_alone(path) == ["new", "absorb: trapped: cannot remove owned resource while borrowed",
                                     "import calls: none"]
    assert _standalone(path, PLANTED_ON).splitlines() == ["new", "absorb: returned 1", "import calls: none"]
    capsys.readouterr()
    assert main(["findings", str(tmp_path)]) == 0
    assert "Known: jco lets the host pass a guest resource as `own`" in capsys.readouterr().out


def test_a_hand_written_wat_component_shows_the_crate_divergence_alone(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], own_browser_processes: Callable[..., list[str]]) -> None:
    """wat-crate is the crate divergence's minimal component: a constructor and an absorb that answers 1 without
    looking at its argument, so the difference can only come from the host side."""
    _needs(PLANTED_ON)
    component = _component("wat-crate")
    assert component.stat().st_size < 4096
    browsers = [b for b in ("browser-chromium", "browser-firefox", "browser-webkitgtk") if _probe(b).available]
    code = main(["fuzz", "--component", str(component), "--runtime", "wasmtime", "--runtime", PLANTED_ON,
                 *(a for b in browsers for a in ("--runtime", b)), "--examples", "20", "--out", str(tmp_path)])
    assert code == 1, capsys.readouterr()
    (path,) = (tmp_path / "findings").glob("*/finding.json")
    finding = json.loads(path.read_text())
    assert finding["call"] == "[session]crate([absorb(0)])" and finding["diverged"] == [PLANTED_ON, *browsers]
    assert finding["runtimes"]["wasmtime"]["said"] == "cannot remove owned resource while borrowed"
    assert _wasmtime_alone(path) == ["new", "absorb: trapped: cannot remove owned resource while borrowed",
                                     "import calls: none"]
    # Each JavaScript column's line, run as a maintainer would: jco's transpilation in Node, then each browser
    # running the same steps in a dedicated worker of a page the launcher serves.
    for runtime in (PLANTED_ON, *browsers):
        assert _standalone(path, runtime).splitlines() == ["new", "absorb: returned 1", "import calls: none"], runtime
    assert own_browser_processes(settle_s=10) == []  # the launcher ends each browser it started, and the fuzz run its own
    capsys.readouterr()
    assert main(["findings", str(tmp_path)]) == 0
    assert "wat-crate (1,851 bytes of hand-written WAT)" in capsys.readouterr().out


def test_a_session_keeps_every_handle_it_makes_and_passes_them_back_by_position(tmp_path: Path) -> None:
    """basket.split returns a new basket (handle #1), merge borrows one by its position among the live
    handles, and every live handle is dropped at the end: the same steps on wasmtime and jco."""
    _needs(PLANTED_ON)
    component = _component("py-stock")
    guests, imports = load(component)
    (guest,) = [g for g in guests if g.export == "acme:stock/stock"]
    iface = guest_types(guest).export_named(guest.export)
    sig = signature(iface, "[session]basket")
    item = {"sku": "a", "qty": 1, "weight": 1.0, "kind": Variant("service"), "marks": frozenset(), "code": "c",
            "origin": None, "raw": b"", "serial": 0, "delta": 0, "active": True}
    calls = [Variant("add", item), Variant("add", {**item, "sku": "b"}), Variant("split", 1), Variant("merge", 1),
             Variant("summary"), Variant("split", 9), Variant("merge", 2)]
    # With seed 0 the host knows no price for the first add. split(1) moves "b" to basket #1; merge(1) is the
    # live handle at 1 % 2 (#1), merge(2) at 2 % 2 (#0: the basket merges itself).
    want = ["new", 'add: err("no price for a")', "add: ok(1)", "split: some(<basket #1>)", "merge: 1",
            'summary: ("o", 1, 1.0, [])', "split: none", "merge: 2", "drop", "drop #1"]
    for runtime in ("wasmtime", PLANTED_ON):
        with fuzz.workspace("keel-test-") as ws:
            (col,) = _columns([runtime], [guest], imports, 0, ws)[0][guest.export]
            assert col.call(sig.name, ["o", 5, calls]) == ("ok", want), runtime
            # An `own` argument leaves the live handles: crate #1 is absorbed. The last absorb passes the crate
            # itself (5 % 1), jco's known divergence; on jco nothing is left live to drop.
            crate = signature(iface, "[session]crate")
            steps = [Variant("spawn", "y"), Variant("absorb", 1), Variant("labels"), Variant("absorb", 5)]
            assert col.call(crate.name, ["x", steps]) == ("ok", [
                "new", "spawn: <crate #1>", "absorb: 1", 'labels: ["x", "y"]', *(
                    ["absorb: 2"] if runtime != "wasmtime" else ["absorb: trap"])]), runtime


def test_a_planted_ledger_answer_is_found_with_the_resource_calls_on_both_columns(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _needs(PLANTED_ON)
    component = _component("py-stock")
    _plant(monkeypatch, lambda call, v: type(v)(v.value + 1) if call.function == "[method]ledger.post"
           and hasattr(v, "value") and isinstance(v.value, int) and v.value < 2**64 - 1 else v)
    code = main(["fuzz", "--component", str(component), "--runtime", "wasmtime", "--runtime", PLANTED_ON,
                 "--function", "restock", "--examples", "40", "--seed", "6", "--out", str(tmp_path)])
    assert code == 1
    (path,) = (tmp_path / "findings").glob("*/finding.json")
    finding = json.loads(path.read_text())
    assert finding["diverged"] == [PLANTED_ON]
    asked = finding["runtimes"]["wasmtime"]["asked"]
    assert asked == finding["runtimes"][PLANTED_ON]["asked"]
    # The host resource's whole life, in the same order on both: made, used, dropped; then the audit.
    kinds = [a.split("#", 1)[1].split("(")[0] for a in asked]
    assert kinds[0] == "[constructor]ledger" and "[method]ledger.post" in kinds
    assert kinds[-2:] == ["[resource-drop]ledger", "audit"]
    assert "restocked" in asked[-1]
    # Without the suite, jco's transpilation on the planted column's engine, given the reference host's
    # answers (not the plant), asks the same things in the same order, the resource's drop included.
    out = _standalone(path, PLANTED_ON)
    calls = out.split("import calls: ", 1)[1].strip().split("; ")
    assert [c.split("#", 1)[1].split("(")[0] for c in calls] == kinds, out
    assert out.startswith("restock: returned [")
    readme = (path.parent / "README.md").read_text()
    assert "Reproduce without the suite" in readme and f"`{finding['reproduce']['runtimes'][PLANTED_ON]}`" in readme
    # wasmtime-py alone makes, uses and drops the host's ledger the same way, and answers what the column did.
    alone = _wasmtime_alone(path)
    calls = alone[-1].removeprefix("import calls: ").split("; ")
    assert [c.split("#", 1)[1].split("(")[0] for c in calls] == kinds, alone
    assert alone[0].startswith("restock: returned [") and len(alone) == 2, alone


def test_an_exported_resource_is_made_used_and_dropped_and_a_planted_difference_is_a_finding(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """py-stock's `basket` lives in the guest: the fuzzer makes one, calls its methods in a drawn order, drops it,
    and compares every step. The plant: on one column the host knows no price, so `add` says err."""
    _needs(PLANTED_ON)
    component = _component("py-stock")
    _plant(monkeypatch, lambda call, v: None if call.function == "price" else v)
    path, finding = _one_finding(component, "basket", 3, tmp_path, capsys)
    assert finding["function"] == "[session]basket" and finding["diverged"] == [PLANTED_ON]
    ref, planted = (finding["runtimes"][r] for r in ("wasmtime", PLANTED_ON))
    # Shrunk to the one step that shows it: a basket with room, one add, and the drop.
    steps = wave.parse_args(f"({ref['answer']})", sig := _string_list())[0]
    assert steps[0] == "new" and steps[-1] == "drop" and len(steps) == 3, steps
    assert steps[1].startswith("add: ok(1)")
    assert wave.parse_args(f"({planted['answer']})", sig)[0][1].startswith('add: err("no price for ')
    assert ref["asked"] == planted["asked"] and ref["asked"][0].startswith("acme:stock/host@0.3.0#price(")
    capsys.readouterr()
    assert main(["fuzz", "--replay", str(path)]) == 1
    # Without the suite: jco's transpilation given the reference host's answers makes, adds and drops.
    out = _standalone(path, PLANTED_ON).splitlines()
    assert out[0] == "new" and out[1] == "add: returned 1" and out[2] == "drop", out
    # And wasmtime-py alone does the same steps, as the wasmtime column did.
    alone = _wasmtime_alone(path)
    assert alone[:3] == out[:3] and alone[3].startswith("import calls: acme:stock/host@0.3.0#price("), alone


def test_a_function_the_world_exports_itself_is_fuzzed_and_its_finding_reproduces_without_the_suite(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """py-stock's `total` is exported by its world, outside any interface. The plant: one column's host knows no
    price."""
    _needs(PLANTED_ON)
    component = _component("py-stock")
    assert set(inspect_file(component).exports["(world)"].funcs) == {"checksum", "total"}
    _plant(monkeypatch, lambda call, v: None if call.function == "price" else v)
    path, finding = _one_finding(component, "total", 4, tmp_path, capsys)
    assert path.parent.name.startswith("world.total-")
    assert finding["function"] == "total" and finding["diverged"] == [PLANTED_ON]
    ref = finding["runtimes"]["wasmtime"]
    lines = wave.parse_args(finding["input"], inspect_file(component).exports["(world)"].funcs["total"])[0]
    assert len(lines) == 1, lines  # shrunk to one line, which the reference host prices
    assert ref["answer"].startswith("some(") and finding["runtimes"][PLANTED_ON]["answer"] == "none"
    assert [a.split("#", 1)[1].split("(")[0] for a in ref["asked"]] == ["price"]
    capsys.readouterr()
    assert main(["fuzz", "--replay", str(path)]) == 1
    # jco's transpilation alone, given the reference host's answers, returns the reference's sum.
    out = _standalone(path, PLANTED_ON).splitlines()
    shown = float(out[0].removeprefix("total: returned ").replace("Infinity", "inf"))
    want = float(ref["answer"].removeprefix("some(").removesuffix(")"))
    assert shown == want or (math.isnan(shown) and math.isnan(want)), out
    assert out[1].startswith("import calls: acme:stock/host@0.3.0#price(") and out[1].count("#price(") == 1, out
    alone = _wasmtime_alone(path)
    shown = float(alone[0].removeprefix("total: returned "))
    assert shown == want or (math.isnan(shown) and math.isnan(want)), alone
    assert alone[1].startswith("import calls: acme:stock/host@0.3.0#price(") and alone[1].count("#price(") == 1, alone


def test_a_static_function_of_an_exported_resource_is_called_alone_and_reproduces_without_the_suite(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """`basket.fits` needs no basket; it asks the host's audit. The plant: one column's audit always says no."""
    _needs(PLANTED_ON)
    component = _component("py-stock")
    _plant(monkeypatch, lambda call, v: False if call.function == "audit" else v)
    path, finding = _one_finding(component, "basket", 1, tmp_path, capsys)  # the resource's name chooses it
    assert path.parent.name.startswith("acme_stock.stock.static-basket.fits-")
    assert finding["function"] == "[static]basket.fits" and finding["input"] == "([], 0)"
    assert finding["runtimes"]["wasmtime"]["answer"] == "some(0)" and finding["runtimes"][PLANTED_ON]["answer"] == "none"
    out = _standalone(path, PLANTED_ON).splitlines()
    assert out == ["[static]basket.fits: returned 0", "import calls: acme:stock/host@0.3.0#audit({ tag: 'idle' })"], out
    assert _wasmtime_alone(path) == ["[static]basket.fits: returned 0",
                                     "import calls: acme:stock/host@0.3.0#audit(None)"]  # wasmtime-py's own form


def _one_finding(component: Path, function: str, seed: int, out: Path,
                 capsys: pytest.CaptureFixture[str]) -> tuple[Path, dict[str, Any]]:
    """Fuzzes one function of `component` on wasmtime and the planted column; the one finding it must write."""
    code = main(["fuzz", "--component", str(component), "--runtime", "wasmtime", "--runtime", PLANTED_ON,
                 "--function", function, "--examples", "40", "--seed", str(seed), "--out", str(out)])
    assert code == 1, capsys.readouterr()
    (path,) = (out / "findings").glob("*/finding.json")
    return path, json.loads(path.read_text())


def _string_list() -> Any:
    from keel_conformance import types as T
    return T.FuncSig("steps", (("steps", T.ListT(T.Prim("string"))),), None)


def test_side_by_side_with_another_toolchain_names_the_layer_of_the_three_js_values_divergences(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The ComponentizeJS echo against the componentize-py one, on wasmtime and a jco column (README, any.yaml)."""
    _needs(PLANTED_ON)
    code = main(["fuzz", "--component", str(_component("js-values")), "--against", str(_component("py-values")),
                 "--runtime", "wasmtime", "--runtime", PLANTED_ON, "--function", "echo-s64", "--function", "echo-u32",
                 "--function", "echo-shape", "--examples", "200", "--seed", "1", "--out", str(tmp_path)])
    assert code == 1
    found = {json.loads(p.read_text())["function"]: json.loads(p.read_text())
             for p in (tmp_path / "findings").glob("*/finding.json")}
    assert set(found) == {"echo-s64", "echo-u32", "echo-shape"}, capsys.readouterr()
    assert found["echo-s64"]["layer"].startswith("guest toolchain")
    assert found["echo-s64"]["input"] == "(-1)"
    assert found["echo-u32"]["layer"].startswith("guest toolchain")
    assert found["echo-u32"]["input"] == "(2147483648)"
    assert found["echo-shape"]["layer"].startswith("transpiler")
    assert found["echo-shape"]["diverged"] == [PLANTED_ON]
    assert found["echo-shape"]["against"]["runtimes"][PLANTED_ON]["outcome"] == "ok"
    assert len(list((tmp_path / "findings").glob("*/against.wasm"))) == 3
    # Each runtime's line reproduces it without the suite: jco's answer from jco's transpilation alone.
    for fn, number in (("echo-s64", "-1"), ("echo-u32", "2147483648")):
        finding = next((tmp_path / "findings").glob(f"*.{fn}-*/finding.json"))
        jco = found[fn]["runtimes"][PLANTED_ON]
        out = _standalone(finding, PLANTED_ON)
        first = out.splitlines()[0]
        if jco["outcome"] == "trap":
            assert first == f"{fn}: trapped: {jco['answer']}", (out, jco)
        else:
            assert jco["outcome"] == "ok", jco
            assert first.removeprefix(f"{fn}: returned ").removesuffix("n") == jco["answer"] != number, (out, jco)
        # wasmtime-py alone, answering keel:probes/host-echo as the reference host did, says what the column said.
        ref = found[fn]["runtimes"]["wasmtime"]
        said = "trapped" if ref["outcome"] == "trap" else "returned"
        assert _wasmtime_alone(finding)[0] == f"{fn}: {said}: {ref['answer']}".replace("returned:", "returned")
    capsys.readouterr()
    assert main(["findings", str(tmp_path)]) == 0
    listing = capsys.readouterr().out
    assert "**Layer:** transpiler" in listing and "Known: ComponentizeJS 0.23" in listing


# An exception escaping wasmtime-py's ctypes callback is printed as a traceback and the guest goes on.
@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
def test_a_ctrl_c_while_the_guest_waits_on_the_host_stops_the_run_and_is_no_outcome(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Python raises KeyboardInterrupt where the main thread is: inside wasmtime, in a host import. That must
    stop the run (exit 130) and never be recorded as the guest's trap, the suite's error or a finding."""
    def interrupted(call: ImportCall, v: Any) -> Any:
        raise KeyboardInterrupt

    _needs(PLANTED_ON)
    _plant(monkeypatch, interrupted, on="wasmtime")
    code = main(["fuzz", "--component", str(_component("py-values")), "--runtime", "wasmtime", "--runtime", PLANTED_ON,
                 "--function", "bounce", "--examples", "3", "--out", str(tmp_path)])
    assert code == 130
    assert not list(tmp_path.glob("findings/*")) and not (tmp_path / "results.json").exists()
    assert "interrupted" in capsys.readouterr().err


def test_sigterm_mid_fuzz_ends_it_like_ctrl_c_with_exit_143_and_no_process_left(tmp_path: Path) -> None:
    """`kill PID` of a fuzz run that is calling guests: one line, exit 143, no traceback, no results,
    and its engine processes gone with it."""
    _needs(PLANTED_ON)
    component = _component("py-stock")
    cli = Path(sys.executable).parent / "keel-conformance"
    proc = subprocess.Popen([str(cli), "fuzz", "--component", str(component), "--runtime", "wasmtime", "--runtime",
                             PLANTED_ON, "--function", "restock", "--examples", "100000", "--out", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    assert "fuzzing acme:stock/stock#restock" in proc.stderr.readline()
    engines = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
    assert engines, "the jco column's engine runs as a child process"
    time.sleep(3)  # well inside the examples: calls in flight
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert err.strip().splitlines()[-1] == "keel-conformance: terminated" and "Traceback" not in err, err
    assert not (tmp_path / "results.json").exists()
    time.sleep(1)
    assert not [p for p in engines if Path(f"/proc/{p}").exists()], "an engine outlived the run"


def test_a_host_side_failure_is_the_suites_error_never_a_finding(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _needs(PLANTED_ON)

    def broken(call: ImportCall, v: Any) -> Any:
        raise RuntimeError("the generator broke")

    _plant(monkeypatch, broken)
    code = main(["fuzz", "--component", str(_component("py-values")), "--runtime", "wasmtime", "--runtime", PLANTED_ON,
                 "--function", "bounce", "--examples", "3", "--out", str(tmp_path)])
    assert code == 1
    assert not list(tmp_path.glob("findings/*"))
    doc = results.load(tmp_path / "results.json")
    assert {c["outcome"] for c in doc["cells"]} == {"error"}
    assert "the generator broke" in capsys.readouterr().err
