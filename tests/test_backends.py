"""The host backends on their own, on real SQLite and RocksDB (no runtime involved)."""
from __future__ import annotations

from pathlib import Path

from fixtures.backends import Backends
from fixtures.backends.kv import INTERFACE as KV
from fixtures.backends.sql import INTERFACE as SQL
from keel_conformance.values import Err, Ok, Resource, Variant


def test_backends_are_created_on_first_use_only(tmp_path: Path) -> None:
    b = Backends(tmp_path)
    assert KV in b and SQL in b and "wasi:cli/stdout@0.2.0" not in b
    b[KV]
    assert (tmp_path / "kv" / "rocksdb").is_dir() and not (tmp_path / "sql").exists()
    b.close()


def test_kv_cursor_pages_never_repeat_or_skip(tmp_path: Path) -> None:
    b = Backends(tmp_path)
    kv = b[KV]
    keys = [f"p/{i:03d}" for i in range(25)] + ["p", "q/1", "o/9"]
    for k in keys:
        assert kv.functions["set"](k, b"x") == Ok()
    seen, cursor = [], None
    while True:
        page = kv.functions["list-keys"]("p/", cursor, 7).value
        seen += page["keys"]
        cursor = page["next-cursor"]
        if cursor is None:
            break
    assert seen == sorted(k for k in keys if k.startswith("p/"))
    b.close()


def test_kv_values_over_the_limit_are_too_large(tmp_path: Path) -> None:
    b = Backends(tmp_path)
    from fixtures.backends.kv import MAX_VALUE_BYTES

    assert b[KV].functions["set"]("k", bytes(MAX_VALUE_BYTES + 1)) == Err(Variant("too-large", MAX_VALUE_BYTES))
    b.close()


def test_sql_transaction_is_a_real_sqlite_transaction(tmp_path: Path) -> None:
    b = Backends(tmp_path)
    sql = b[SQL]
    f = sql.functions
    assert f["execute"]("CREATE TABLE t (v)", []) == Ok(0)
    tx = f["begin-transaction"]().value
    assert isinstance(tx, Resource) and tx.type == "transaction"
    assert f["[method]transaction.execute"](tx, "INSERT INTO t VALUES (?1)", [Variant("integer", 1)]) == Ok(1)
    assert f["execute"]("INSERT INTO t VALUES (2)", []) == Err(Variant("busy"))
    sql.drop("transaction", tx.rep)
    assert f["query"]("SELECT count(*) FROM t", []).value["rows"] == [{"values": [Variant("integer", 0)]}]
    assert f["[static]transaction.commit"](tx) == Err(Variant("closed"))
    b.close()


def test_sql_parameters_are_bound_not_spliced(tmp_path: Path) -> None:
    b = Backends(tmp_path)
    f = b[SQL].functions
    f["execute"]("CREATE TABLE t (v TEXT)", [])
    evil = "x'); DROP TABLE t; --"
    assert f["execute"]("INSERT INTO t VALUES (?1)", [Variant("text", evil)]) == Ok(1)
    assert f["query"]("SELECT v FROM t", []).value["rows"] == [{"values": [Variant("text", evil)]}]
    assert isinstance(f["query"]("SELECT 1", []).value, dict)
    b.close()
