"""Steps and scenarios for features/sql.feature."""
from __future__ import annotations

from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then

from fixtures.backends.sql import INTERFACE as SQL
from keel_conformance import wave
from keel_conformance.values import Ok, Variant, matches
from step_defs.common import Context, call_guest, read_sqlite

INTERFACE = "sql"
pytestmark = pytest.mark.usefixtures("keel_cell")

scenarios("../features/sql.feature")


@given(parsers.re(r'the guest has run "(?P<statement>[^"]+)"'))
def _(guest: Any, ctx: Context, statement: str) -> None:
    result = call_guest(guest, ctx, f"execute({wave.format(statement)}, [])")
    assert isinstance(result, Ok), f"setup statement failed: {wave.format(result, brief=True)}"


@then(parsers.re(r"the database file has (?P<n>\d+) rows? in (?P<table>[a-z_]+)"))
def _(backends: Any, n: str, table: str) -> None:
    (count,), = read_sqlite(backends, f"SELECT count(*) FROM {table}")  # table names come from the feature file
    assert count == int(n), f"expected {n} rows in {table} on disk, found {count}"


@then(parsers.re(r"the database file holds (?P<value>.+) in items\.v"))
def _(backends: Any, guest: Any, value: str) -> None:
    sql_value = guest.exports.funcs["query"].params[1][1].element  # sql-value, from the guest's own types
    want = wave.parse(value, sql_value)
    rows = read_sqlite(backends, "SELECT v FROM items")
    assert len(rows) == 1, f"expected one row on disk, found {len(rows)}"
    got = rows[0][0]
    got_value = (Variant("null") if got is None else Variant("integer", got) if isinstance(got, int)
                 else Variant("real", got) if isinstance(got, float) else Variant("text", got)
                 if isinstance(got, str) else Variant("blob", bytes(got)))
    assert matches(want, got_value), f"on disk: expected {wave.format(want)}, found {wave.format(got_value)}"


@then("the host holds no open transaction")
def _(backends: Any) -> None:
    assert backends[SQL].open_tx == {}, f"transactions still open on the host: {sorted(backends[SQL].open_tx)}"
