"""Helpers the step modules share (steps themselves live in conftest.py and test_*.py)."""
from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from fixtures.backends.sql import INTERFACE as SQL
from keel_conformance import wave
from keel_conformance.types import FuncSig
from keel_conformance.values import matches


@dataclass
class Context:
    """What one scenario remembers between steps."""

    vars: dict[str, Any] = field(default_factory=dict)
    sig: FuncSig | None = None
    result: Any = None


_CALL = re.compile(r"(?P<func>[a-z][a-z0-9-]*)\s*(?P<args>\(.*\))\s*$", re.S)


def call_guest(guest: Any, ctx: Context, text: str) -> Any:
    m = _CALL.match(text.strip())
    if not m:
        raise ValueError(f"not a call: {text!r} (write it as func-name(arg, ...))")
    sig = guest.exports.funcs.get(m["func"])
    if sig is None:
        raise ValueError(f"{guest.exports.name} has no function {m['func']!r}")
    args = wave.parse_args(m["args"], sig, ctx.vars)
    ctx.sig, ctx.result = sig, guest.call(sig.name, args)
    return ctx.result


def expect(ctx: Context, text: str) -> None:
    assert ctx.sig is not None, "no call was made before this step"
    expected = wave.parse(text, ctx.sig.result, ctx.vars)  # type: ignore[arg-type]
    assert matches(expected, ctx.result), (
        f"{ctx.sig.name}: expected {wave.format(expected, ctx.sig.result, brief=True)}, "
        f"got {wave.format(ctx.result, ctx.sig.result, brief=True)}"
    )


def read_sqlite(backends: Any, statement: str) -> list[sqlite3.Row]:
    """Rows read from the scenario's SQLite file through a read-only connection of the test's own,
    not the host's: what a guest stored is what is on disk."""
    with sqlite3.connect(f"file:{backends[SQL].path}?mode=ro", uri=True) as conn:
        conn.row_factory = sqlite3.Row
        return list(conn.execute(statement))


def users_on_disk(backends: Any) -> list[sqlite3.Row]:
    """The users table, read from the SQLite file by the test itself ([] until the guest creates it)."""
    tables = {r["name"] for r in read_sqlite(backends, "SELECT name FROM sqlite_schema WHERE type = 'table'")}
    return read_sqlite(backends, "SELECT * FROM users ORDER BY id") if "users" in tables else []
