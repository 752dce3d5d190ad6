"""Steps every feature shares: call the guest, check what came back.

Steps talk to the `guest` fixture only; which runtime and which guest build
stand behind it is the plugin's business (keel_conformance.plugin).
"""
from __future__ import annotations

import random
from typing import Any

import pytest
from pytest_bdd import given, parsers, then, when

from keel_conformance import wave
from keel_conformance.values import Err, Ok
from step_defs.common import Context, call_guest, expect


@pytest.fixture
def ctx() -> Context:
    return Context()



@when(parsers.re(r"the guest calls (?P<call>.+)"))
def _(guest: Any, ctx: Context, call: str) -> None:
    call_guest(guest, ctx, call)


@then(parsers.re(r"the result is (?P<value>.+)"))
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
