"""Steps and scenarios for features/product.feature: two guests, one runtime, the same backends."""
from __future__ import annotations

from typing import Any

import pytest
from pytest_bdd import parsers, scenarios, then, when

from fixtures.backends.mail import INTERFACE as MAIL
from keel_conformance import wave
from keel_conformance.values import Ok
from step_defs.common import Context, call_guest, users_on_disk

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


@then(parsers.re(r"the SMTP server received (?P<n>\d+) messages, one to each of the users on disk"))
def _(backends: Any, n: str) -> None:
    """The layers meet only through the host's data: the recipients are the addresses the repository stored."""
    got = sorted(r for m in backends[MAIL].received() for r in m.rcpt_tos)
    stored = sorted(r["email"] for r in users_on_disk(backends))
    assert len(got) == int(n) and got == stored, f"expected one message to each of {stored}, the SMTP server got {got}"
