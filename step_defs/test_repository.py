"""Steps and scenarios for features/repository.feature."""
from __future__ import annotations

import time
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then

from keel_conformance import wave
from keel_conformance.types import Prim
from keel_conformance.values import Ok
from step_defs.common import Context, call_guest, users_on_disk

INTERFACE = "repository"
pytestmark = pytest.mark.usefixtures("keel_cell")

scenarios("../features/repository.feature")


@given(parsers.re(r'the guest has registered "(?P<email>[^"]+)" as "(?P<name>[^"]+)"'))
def _(guest: Any, ctx: Context, backends: Any, email: str, name: str) -> None:
    reg = (f"create-user({{email: {wave.format(email)}, display-name: {wave.format(name)}, "
           f"preferences: {{locale: en, channels: {{email}}, marketing-opt-in: false}}}})")
    result = call_guest(guest, ctx, reg)
    assert isinstance(result, Ok), f"registering {email} failed: {wave.format(result, ctx.sig and ctx.sig.result)}"
    ctx.vars[email.split("@")[0].lower()] = result.value
    # The domain is stored lower-cased (a rule of the feature), so the row is found case-insensitively.
    rows = [r["id"] for r in users_on_disk(backends) if r["email"].lower() == email.lower()]
    assert rows == [result.value], f"create-user({email}) answered id {result.value}; the row on disk has {rows}"


@then(parsers.re(r"the users table on disk has (?P<n>\d+) rows?"))
def _(backends: Any, n: str) -> None:
    rows = users_on_disk(backends)
    assert len(rows) == int(n), f"expected {n} rows in users on disk, found {len(rows)}: {[r['email'] for r in rows]}"


@then(parsers.re(r'the users table on disk holds the address "(?P<email>[^"]+)"'))
def _(backends: Any, email: str) -> None:
    emails = [r["email"] for r in users_on_disk(backends)]
    assert emails == [email], f"expected the stored address {email!r}, found {emails}"


@then(parsers.re(r'the users table on disk holds (?P<email>"[^"]*") named (?P<name>"(?:[^"\\]|\\.)*") '
                 r'with locale "(?P<locale>[a-z]+)" and channel bits (?P<bits>\d+)'))
def _(backends: Any, email: str, name: str, locale: str, bits: str) -> None:
    email, name = wave.parse(email, Prim("string")), wave.parse(name, Prim("string"))
    rows = [r for r in users_on_disk(backends) if r["email"] == email]
    assert len(rows) == 1, f"expected one row for {email!r} on disk, found {len(rows)}"
    row = rows[0]
    got = (row["display_name"], row["locale"], row["channels"])
    assert got == (name, locale, int(bits)), f"on disk: expected {(name, locale, int(bits))}, found {got}"


def _created_at(guest: Any, ctx: Context, email: str) -> int:
    result = call_guest(guest, ctx, f"find-by-email({wave.format(email)})")
    assert isinstance(result, Ok), f"find-by-email({email}) failed: {wave.format(result, ctx.sig and ctx.sig.result)}"
    return int(result.value["created-at"])


@then(parsers.re(r"created-at of (?P<emails>.+) never decreases"))
def _(guest: Any, ctx: Context, emails: str) -> None:
    stamps = [_created_at(guest, ctx, e.strip().strip('"')) for e in emails.split(",")]
    ctx.vars["created"] = stamps
    assert stamps == sorted(stamps), f"created-at decreased: {stamps}"


@then(parsers.re(r"every created-at is within (?P<s>\d+) seconds of the host's clock"))
def _(ctx: Context, s: str) -> None:
    now_ms = time.time() * 1000
    off = [abs(now_ms - t) / 1000 for t in ctx.vars["created"]]
    assert max(off) <= int(s), f"created-at is {max(off):.1f} s away from the host's clock: {ctx.vars['created']}"
