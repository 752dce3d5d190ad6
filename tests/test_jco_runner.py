"""The jco runner on the machine's Node: the RPC channel, a resource handle across it, a killed engine."""
from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest

from fixtures.backends import Backends
from fixtures.backends.sql import INTERFACE as SQL
from fixtures.components.build import BuildFailure, build_one, load_specs
from keel_conformance.outcomes import RuntimeCrash, SuiteError
from keel_conformance.values import Err, Ok, Variant
from runners.jco import ENGINES, JcoRunner
from runners.protocol import GuestBuild, Limits

# componentize-py output needs extended-const, which Node 20 only has behind a flag.
ENGINE = ENGINES["jco-node+xconst"]


@pytest.fixture(scope="module")
def runner() -> Any:
    r = JcoRunner(ENGINE)
    probe = r.probe()
    if not probe.available:
        pytest.skip(f"n/a: {probe.reason}")
    yield r
    r.close()


@pytest.fixture(scope="module")
def sql_guest() -> GuestBuild:
    build = build_one(next(s for s in load_specs() if s.name == "py-sql-probe"))
    assert not isinstance(build, BuildFailure), build
    return build


def test_values_and_a_transaction_handle_cross_the_channel(runner: Any, sql_guest: GuestBuild, tmp_path: Path) -> None:
    backends = Backends(tmp_path)
    inst = runner.instantiate(sql_guest, backends, Limits())
    assert inst.call("execute", ["CREATE TABLE t (v)", []]) == Ok(0)
    values = [Variant("integer", -(2**63)), Variant("real", -0.0), Variant("blob", b"\x00\xff"), Variant("text", "🌍")]
    assert inst.call("execute", ["INSERT INTO t VALUES (?1), (?2), (?3), (?4)", values]) == Ok(4)
    rows = inst.call("query", ["SELECT v FROM t", []]).value["rows"]
    assert [r["values"][0] for r in rows] == values
    tx = inst.call("begin-transaction", []).value
    assert list(backends[SQL].open_tx) == [1], "the host holds the transaction the guest began"
    assert inst.call("tx-execute", [tx, "INSERT INTO t VALUES (5)", []]) == Ok(1)
    assert inst.call("tx-drop", [tx]) is None
    assert backends[SQL].open_tx == {}, "dropping the handle in the engine reached the host as a drop"
    assert inst.call("query", ["SELECT count(*) FROM t", []]).value["rows"][0]["values"] == [Variant("integer", 4)]
    assert inst.call("query", ["SELEC", []]) == Err(Variant("syntax", 'near "SELEC": syntax error'))
    backends.close()


def test_an_engine_killed_mid_call_is_a_crash_and_the_next_instance_works(
        runner: Any, sql_guest: GuestBuild, tmp_path: Path) -> None:
    backends = Backends(tmp_path)
    inst = runner.instantiate(sql_guest, backends, Limits())
    real_query = backends[SQL].functions["query"]

    def kill_engine(*args: Any) -> Any:
        os.kill(inst.process.launched.proc.pid, signal.SIGKILL)
        return real_query(*args)

    backends[SQL].functions["query"] = kill_engine
    with pytest.raises(RuntimeCrash, match="killed by SIGKILL"):
        inst.call("query", ["SELECT 1", []])
    backends[SQL].functions["query"] = real_query
    again = runner.instantiate(sql_guest, backends, Limits())
    assert again.process is not inst.process
    assert again.call("query", ["SELECT 1 AS one", []]) == Ok({"columns": ["one"], "rows": [{"values": [Variant("integer", 1)]}]})
    backends.close()


def test_node_20_without_the_flag_refuses_componentize_py_output_in_its_own_words(sql_guest: GuestBuild,
                                                                                  tmp_path: Path) -> None:
    r = JcoRunner(ENGINES["jco-node"])
    probe = r.probe()
    if not probe.available or not probe.version or not probe.version.startswith("v20."):
        pytest.skip("n/a: this check is about Node 20")
    from keel_conformance.outcomes import NotApplicable

    with pytest.raises(NotApplicable, match="opcode i32.add is not allowed in constant expressions"):
        r.instantiate(sql_guest, Backends(tmp_path), Limits())
    r.close()


def test_an_engine_that_hangs_on_load_is_a_timeout_and_the_next_start_is_fresh(
        sql_guest: GuestBuild, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import runners.jco as jco
    from keel_conformance.outcomes import GuestTimeout
    from runners.jco import Engine

    hang = tmp_path / "hanging-engine"
    hang.write_text('#!/bin/sh\n[ "$1" = --version ] && { echo v0-hang; exit 0; }\nexec sleep 600\n')
    hang.chmod(0o755)
    monkeypatch.setattr(jco, "START_TIMEOUT_S", 1.0)
    r = JcoRunner(Engine("jco-hang", lambda: str(hang)))
    assert r.probe().available
    with pytest.raises(GuestTimeout, match="did not start within 1 s"):
        r.instantiate(sql_guest, Backends(tmp_path / "b"), Limits())
    assert r.processes == {}, "the hung engine was not kept for the next cell"
    r.close()


def test_an_instance_whose_engine_the_runner_ended_or_reused_is_the_suites_error_never_a_crash(
        sql_guest: GuestBuild, tmp_path: Path) -> None:
    """A column keeps two engines; making a third guest's instance ends the oldest. A caller still holding an
    instance there, or one an engine has since replaced, meets the suite's error: the engine did not crash."""
    r = JcoRunner(ENGINE)
    if not r.probe().available:
        pytest.skip("n/a: jco-node+xconst")
    guests = [build_one(next(s for s in load_specs() if s.name == n)) for n in ("py-kv-probe", "py-values")]
    assert not any(isinstance(g, BuildFailure) for g in guests)
    backends = Backends(tmp_path)
    try:
        first = r.instantiate(sql_guest, backends, Limits())
        assert first.call("execute", ["CREATE TABLE t (v)", []]) == Ok(0)
        again = r.instantiate(sql_guest, backends, Limits())  # the same engine: `first` is gone in it
        with pytest.raises(SuiteError, match="replaced by a newer one"):
            first.call("execute", ["SELECT 1", []])
        for g in guests:
            r.instantiate(g, Backends(tmp_path / g.name), Limits())
        with pytest.raises(SuiteError, match="ended by the suite"):
            again.call("execute", ["SELECT 1", []])
        assert r.instantiate(sql_guest, backends, Limits()).call("execute", ["SELECT 1", []]) == Ok(0)
    finally:
        r.close()
        backends.close()
