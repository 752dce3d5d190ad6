"""Steps and scenarios for features/hostile.feature."""
from __future__ import annotations

from typing import Any

import pytest
from pytest_bdd import scenarios, then, when

from step_defs.common import Context

INTERFACE = "hostile"
PAGE = 65536
pytestmark = pytest.mark.usefixtures("keel_cell")

scenarios("../features/hostile.feature")


@then("the result is below the per-instance memory cap in pages")
def _(ctx: Context, request: pytest.FixtureRequest) -> None:
    from keel_conformance.plugin import state

    cap = state(request.config).limits.memory_bytes // PAGE
    got = ctx.result
    assert isinstance(got, int) and 0 <= got < cap, f"grew {got} pages; the per-instance cap is {cap} pages"


@when("the process hosting the guest is killed")
def _(guest: Any) -> None:
    guest.kill_runtime()  # offered by every runner that declares "separate-process" (see @needs)
