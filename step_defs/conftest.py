"""Steps every feature shares: call the guest, check what came back.

Steps talk to the `guest` fixture only; which runtime and which guest build
stand behind it is the plugin's business (keel_conformance.plugin).
"""
from __future__ import annotations

import random
from typing import Any

import pytest
from pytest_bdd import given, parsers, then, when

from fixtures.backends.kv import INTERFACE as KV
from fixtures.backends.mail import INTERFACE as MAIL
from keel_conformance import wave
from keel_conformance.types import Prim
from keel_conformance.values import Err, Ok
from step_defs.common import Context, call_guest, expect, read_sqlite, users_on_disk

STRING = Prim("string")


@pytest.fixture
def ctx() -> Context:
    return Context()



@when(parsers.re(r"(?s)the guest calls (?P<call>.+)"))
def _(guest: Any, ctx: Context, call: str) -> None:
    call_guest(guest, ctx, call)


@then(parsers.re(r"(?s)the result is (?P<value>.+)"))
def _(ctx: Context, value: str) -> None:
    expect(ctx, value)


@then(parsers.re(r'the error message contains "(?P<text>[^"]*)"'))
def _(ctx: Context, text: str) -> None:
    assert isinstance(ctx.result, Err), f"expected an err, got {wave.format(ctx.result, brief=True)}"
    message = getattr(ctx.result.value, "payload", None)
    assert isinstance(message, str) and text.lower() in message.lower(), (
        f"expected an error message containing {text!r}, got {message!r}"
    )


@then(parsers.re(r"the ok value is remembered as \$(?P<name>[A-Za-z_][A-Za-z0-9_-]*)"))
def _(ctx: Context, name: str) -> None:
    assert isinstance(ctx.result, Ok), f"expected ok, got {wave.format(ctx.result, ctx.sig and ctx.sig.result, brief=True)}"
    ctx.vars[name] = ctx.result.value


@given(parsers.re(r"\$(?P<name>[A-Za-z_][A-Za-z0-9_-]*) is (?P<size>\d+) pseudo-random bytes"))
def _(ctx: Context, name: str, size: str) -> None:
    ctx.vars[name] = random.Random(f"{name}:{size}").randbytes(int(size))


@given(parsers.re(r'\$(?P<name>[A-Za-z_][A-Za-z0-9_-]*) is the text "(?P<text>[^"]+)" repeated (?P<n>\d+) times'))
def _(ctx: Context, name: str, text: str, n: str) -> None:
    ctx.vars[name] = text * int(n)


@given("a fresh SQL database")
def _(backends: Any) -> None:
    tables = [r["name"] for r in read_sqlite(backends, "SELECT name FROM sqlite_schema")]
    assert tables == [], f"a new scenario's database must be empty, found {tables}"


# Mail and templates: shared by features/email.feature and features/product.feature.


@given(parsers.re(r'the template "(?P<tid>[^"]+)" in RocksDB has subject "(?P<subject>[^"]*)" and body "(?P<body>[^"]*)"'))
def _(backends: Any, tid: str, subject: str, body: str) -> None:
    import json

    record = {"sender": "noreply@keel.test", "subject": subject, "body": body}
    backends[KV].db[f"template/{tid}".encode()] = json.dumps(record).encode()


@given("the SMTP server is stopped")
def _(backends: Any) -> None:
    backends[MAIL].server.stop()


@given(parsers.re(r'\$(?P<name>[A-Za-z_][A-Za-z0-9_-]*) is a list of (?P<n>\d+) addresses "(?P<pattern>[^"]*NN[^"]*)"'))
def _(ctx: Context, name: str, n: str, pattern: str) -> None:
    ctx.vars[name] = [pattern.replace("NN", f"{i:02d}") for i in range(int(n))]


def _received(backends: Any) -> list[Any]:
    return backends[MAIL].received()


@then(parsers.re(r"the SMTP server received (?P<n>\d+) messages?$"))
def _(backends: Any, n: str) -> None:
    got = _received(backends)
    assert len(got) == int(n), f"expected {n} messages at the SMTP server, got {len(got)}: {[m.rcpt_tos for m in got]}"


@then(parsers.re(r'message (?P<i>\d+) went to "(?P<to>[^"]+)" only, with subject (?P<subject>"(?:[^"\\]|\\.)*")'))
def _(backends: Any, i: str, to: str, subject: str) -> None:
    m = _received(backends)[int(i) - 1]
    assert list(m.rcpt_tos) == [to], f"SMTP recipients: expected [{to!r}], got {list(m.rcpt_tos)}"
    assert m.message["To"] == to, f"To header: expected {to!r}, got {m.message['To']!r}"
    want = wave.parse(subject, STRING)
    assert m.message["Subject"] == want, f"Subject: expected {want!r}, got {m.message['Subject']!r}"


@then(parsers.re(r'message (?P<i>\d+) has the body "(?P<body>[^"]*)"'))
def _(backends: Any, i: str, body: str) -> None:
    m = _received(backends)[int(i) - 1]
    got = m.message.get_content().replace("\r\n", "\n").rstrip("\n")
    assert got == body, f"body: expected {body!r}, got {got!r}"


@then(parsers.re(r"message (?P<i>\d+) has the Message-ID \$(?P<name>\w+)"))
def _(backends: Any, ctx: Context, i: str, name: str) -> None:
    m = _received(backends)[int(i) - 1]
    assert m.message["Message-ID"] == ctx.vars[name], f"Message-ID: expected {ctx.vars[name]!r}, got {m.message['Message-ID']!r}"


@then(parsers.re(r'message (?P<i>\d+) has no "(?P<header>[^"]+)" header'))
def _(backends: Any, i: str, header: str) -> None:
    m = _received(backends)[int(i) - 1]
    assert m.message[header] is None, f"unexpected {header} header: {m.message[header]!r}"


@then(parsers.re(r'RocksDB holds the record of message \$(?P<name>\w+) to "(?P<to>[^"]+)"'))
def _(backends: Any, ctx: Context, name: str, to: str) -> None:
    import json

    raw = backends[KV].raw_get(f"message/{ctx.vars[name]}")
    assert raw is not None, f"no record message/{ctx.vars[name]} in RocksDB"
    assert json.loads(raw)["to"] == to, f"record: expected to={to!r}, got {raw!r}"


@then(parsers.re(r"\$(?P<name>\w+) holds (?P<n>\d+) distinct message ids"))
def _(ctx: Context, name: str, n: str) -> None:
    ids = ctx.vars[name]
    assert len(ids) == int(n) and len(set(ids)) == int(n), f"expected {n} distinct ids, got {len(ids)} ({len(set(ids))} distinct)"


@then(parsers.re(r"the SMTP server received (?P<n>\d+) messages, one to each of \$(?P<name>\w+)"))
def _(backends: Any, ctx: Context, n: str, name: str) -> None:
    got = _received(backends)
    assert len(got) == int(n), f"expected {n} messages, got {len(got)}"
    assert sorted(r for m in got for r in m.rcpt_tos) == sorted(ctx.vars[name]), "recipients differ from the list sent to"
    assert all(len(m.rcpt_tos) == 1 for m in got), "a message went to more than one recipient"


@then(parsers.re(r"the Message-IDs received are \$(?P<name>\w+)"))
def _(backends: Any, ctx: Context, name: str) -> None:
    got = sorted(m.message["Message-ID"] for m in _received(backends))
    assert got == sorted(ctx.vars[name]), "the Message-ID headers received differ from the ids returned"


CHANNEL_BITS = {"email": 1, "sms": 2, "push": 4}


@then(parsers.re(r"the users row on disk is \$(?P<name>[A-Za-z_][A-Za-z0-9_-]*)"))
def _(backends: Any, ctx: Context, name: str) -> None:
    """Every field of a user the guest returned against its row in the SQLite file: the id, the address
    and created-at included, so a guest that answers other numbers than it stored fails."""
    user = ctx.vars[name]
    rows = [r for r in users_on_disk(backends) if r["email"] == user["email"]]
    assert len(rows) == 1, f"expected one row for {user['email']!r} on disk, found {len(rows)}"
    row, prefs = rows[0], user["preferences"]
    tz = prefs["timezone"]
    want = {"id": user["id"], "email": user["email"], "display_name": user["display-name"],
            "locale": prefs["locale"].case, "channels": sum(CHANNEL_BITS[c] for c in prefs["channels"]),
            "marketing_opt_in": int(prefs["marketing-opt-in"]), "timezone": None if tz is None else tz.value,
            "created_at": user["created-at"]}
    got = {k: row[k] for k in want}
    assert got == want, f"the guest said {want}, the users row on disk is {got}"
