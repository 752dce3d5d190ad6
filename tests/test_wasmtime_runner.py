"""The wasmtime runner on a real built guest: compile cache, isolation, value conversion."""
from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.backends import Backends
from fixtures.components.build import BuildFailure, build_one, load_specs
from keel_conformance.values import Err, Ok, Some, Variant
from runners.protocol import GuestBuild, Limits
from runners.wasmtime_py import WasmtimeRunner


@pytest.fixture(scope="module")
def kv_guest() -> GuestBuild:
    spec = next(s for s in load_specs() if s.name == "py-kv-probe")
    build = build_one(spec)
    assert not isinstance(build, BuildFailure), build
    return build


def test_a_second_runner_loads_the_compiled_component_from_cache(kv_guest: GuestBuild) -> None:
    first = WasmtimeRunner()
    first.load(kv_guest)
    second = WasmtimeRunner()
    second.load(kv_guest)
    assert second.compiles == 0 and second.cache_hits == 1
    first.close()
    second.close()


def test_results_with_option_ok_and_variant_err_cross_both_ways(kv_guest: GuestBuild, tmp_path: Path) -> None:
    runner = WasmtimeRunner()
    backends = Backends(tmp_path)
    inst = runner.instantiate(kv_guest, backends, Limits())
    assert inst.call("get", ["absent"]) == Ok(None)
    assert inst.call("set", ["k", b"\x00\x01"]) == Ok()
    assert inst.call("get", ["k"]) == Ok(Some(b"\x00\x01"))
    # err from result<option<list<u8>>, kv-error>: what the wasmtime-py patch exists for
    assert inst.call("get", [""]) == Err(Variant("invalid-key", "key is empty"))
    inst.close()
    backends.close()
    runner.close()


def test_the_probe_reports_version_and_the_patch() -> None:
    probe = WasmtimeRunner().probe()
    assert probe.available and probe.version and probe.version.startswith("50.")
    assert any(f.startswith("patched: ") for f in probe.flags)
