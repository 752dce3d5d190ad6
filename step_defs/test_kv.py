"""Steps and scenarios for features/kv.feature."""
from __future__ import annotations

from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from fixtures.backends.kv import INTERFACE as KV
from keel_conformance import wave
from keel_conformance.types import ListT, Prim
from keel_conformance.values import Ok
from step_defs.common import Context, call_guest

INTERFACE = "kv"
STRING, BYTES = Prim("string"), ListT(Prim("u8"))
pytestmark = pytest.mark.usefixtures("keel_cell")

scenarios("../features/kv.feature")


@given("a fresh key-value store")
def _(backends: Any) -> None:
    assert backends[KV].keys() == [], "the store of a new scenario must be empty"


@given(parsers.re(r'the guest has stored (?P<n>\d+) keys "(?P<prefix>[^"]*)NN"'))
def _(guest: Any, ctx: Context, n: str, prefix: str) -> None:
    for i in range(int(n)):
        assert call_guest(guest, ctx, f'set("{prefix}{i:02d}", [{i}])') == Ok()


@when(parsers.re(r'the guest lists keys with prefix "(?P<prefix>[^"]*)" (?P<limit>\d+) at a time'))
def _(guest: Any, ctx: Context, prefix: str, limit: str) -> None:
    pages: list[list[str]] = []
    cursor = "none"
    while len(pages) < 1000:
        page = call_guest(guest, ctx, f"list-keys({wave.format(prefix)}, {cursor}, {limit})")
        assert isinstance(page, Ok), f"list-keys failed: {wave.format(page, brief=True)}"
        pages.append(page.value["keys"])
        nxt = page.value["next-cursor"]
        if nxt is None:
            break
        cursor = f"some({wave.format(nxt.value)})"
    ctx.vars["pages"] = pages


@then(parsers.re(r"there were (?P<n>\d+) pages of at most (?P<limit>\d+) keys"))
def _(ctx: Context, n: str, limit: str) -> None:
    pages = ctx.vars["pages"]
    sizes = [len(p) for p in pages]
    assert len(pages) == int(n), f"expected {n} pages, got {len(pages)} with sizes {sizes}"
    assert all(0 < s <= int(limit) for s in sizes), f"page sizes {sizes} exceed {limit} or are empty"


@then(parsers.re(r'together the pages hold "(?P<first>[^"]*)" to "(?P<last>[^"]*)" in byte order'))
def _(ctx: Context, backends: Any, first: str, last: str) -> None:
    listed = [k for page in ctx.vars["pages"] for k in page]
    stored = [k.decode() for k in backends[KV].keys()]
    want = [k for k in stored if first <= k <= last]
    assert listed == want, f"expected {want}, got {listed}"
    assert listed == sorted(listed, key=lambda k: k.encode()), f"not in byte order: {listed}"


@then(parsers.re(r'RocksDB holds (?P<key>"(?:[^"\\]|\\.)*") = (?P<value>.+)'))
def _(backends: Any, ctx: Context, key: str, value: str) -> None:
    key = wave.parse(key, STRING)
    want = wave.parse(value, BYTES, ctx.vars)
    got = backends[KV].raw_get(key)
    assert got == want, f"RocksDB {key!r}: expected {wave.format(want, brief=True)}, got {wave.format(got, brief=True)}"


@then(parsers.re(r'RocksDB has no key (?P<key>"(?:[^"\\]|\\.)*")'))
def _(backends: Any, key: str) -> None:
    key = wave.parse(key, STRING)
    assert backends[KV].raw_get(key) is None, f"RocksDB still holds {key!r}"

