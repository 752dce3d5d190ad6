"""The wasmer column: wasmer's own answer per guest, n/a today, and the path on which it lights up."""
from __future__ import annotations

import pytest

from fixtures.components.build import BuildFailure, build_one, load_specs
from keel_conformance.outcomes import NotApplicable
from runners.protocol import Limits
from runners.wasmer_sdk import WasmerRunner


@pytest.fixture(scope="module")
def guest():  # type: ignore[no-untyped-def]
    build = build_one(next(s for s in load_specs() if s.name == "wat-kv-probe"))
    assert not isinstance(build, BuildFailure), build
    return build


def test_a_component_cell_carries_wasmers_own_refusal(guest) -> None:  # type: ignore[no-untyped-def]
    runner = WasmerRunner()
    if not runner.probe().available:
        pytest.skip(f"n/a: {runner.probe().reason}")
    with pytest.raises(NotApplicable, match="WebAssembly components are not supported"):
        runner.instantiate(guest, {}, Limits())


def test_the_day_wasmer_loads_components_the_reason_changes_with_no_code_change(guest) -> None:  # type: ignore[no-untyped-def]
    async def accepts(data: bytes) -> None:
        return None

    with pytest.raises(NotApplicable, match="has no API to call a component's exports"):
        WasmerRunner(load=accepts).instantiate(guest, {}, Limits())
