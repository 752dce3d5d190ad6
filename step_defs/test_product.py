"""Steps and scenarios for features/product.feature: two guests, one runtime, the same backends."""
from __future__ import annotations

from typing import Any

import pytest
from pytest_bdd import parsers, scenarios, when

from keel_conformance import wave
from keel_conformance.values import Ok
from step_defs.common import Context, call_guest

INTERFACE = "product"
pytestmark = pytest.mark.usefixtures("keel_cell")
ROLES = {"repository": "repository", "email service": "email"}

scenarios("../features/product.feature")


@when(parsers.re(r"(?s)the (?P<role>repository|email service) calls (?P<call>.+)"))
def _(guest: Any, ctx: Context, role: str, call: str) -> None:
    call_guest(guest.members[ROLES[role]], ctx, call)


@when(parsers.re(r'the email service sends "(?P<tid>[^"]+)" to the stored user \$(?P<user>\w+) with code "(?P<code>[^"]*)"'))
def _(guest: Any, ctx: Context, tid: str, user: str, code: str) -> None:
    stored = ctx.vars[user]
    call = (f"send-transactional({wave.format(stored['email'])}, {wave.format(tid)}, "
            f"[(\"name\", {wave.format(stored['display-name'])}), (\"code\", {wave.format(code)})])")
    result = call_guest(guest.members["email"], ctx, call)
    assert isinstance(result, Ok), f"the welcome mail failed: {wave.format(result, ctx.sig and ctx.sig.result)}"
    ctx.vars["sent"] = result.value
