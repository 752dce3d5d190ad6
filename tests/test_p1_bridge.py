"""The WASI p1 bridge tier: the frame protocol itself, and real bridge modules on the three runtimes.

The runtime tests drive the C kv probe on wasmtime (in process), Node's
node:wasi and wasmer-sdk against a real RocksDB, then make each way a call
can end without a value happen for real: the guest traps, the host backend
fails, the call outlives its deadline.
"""
from __future__ import annotations

import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fixtures.backends import Backends
from fixtures.backends.kv import INTERFACE as KV
from fixtures.components.build import BuildFailure, build_one, load_specs
from keel_conformance import types as T
from keel_conformance.component_types import guest_types
from keel_conformance.outcomes import GuestTimeout, GuestTrap, RuntimeCrash, SuiteError
from keel_conformance.strategies import for_type
from keel_conformance.values import Err, Ok, Some, Variant, matches
from runners import _bridge as B
from runners.browser import BROWSERS, BrowserRunner
from runners.jco import ENGINES, JcoRunner
from runners.jco_docker import DockerJcoRunner
from runners.protocol import GuestBuild, Limits
from runners.wasmer_sdk import WasmerRunner
from runners.wasmtime_py import WasmtimeRunner

BRIDGE_GUESTS = [s for s in load_specs() if s.toolchain == "clang-wasi-p1"]


@pytest.fixture(scope="module")
def builds() -> dict[str, GuestBuild]:
    out = {}
    for spec in BRIDGE_GUESTS:
        build = build_one(spec)
        if isinstance(build, BuildFailure):
            pytest.fail(f"{spec.name} did not build: {build.reason} (log: {build.log})")
        out[spec.name] = build
    return out


# ---- the value encoding ----

def _nested(ty: T.WitType | None) -> Iterator[T.WitType]:
    if ty is None:
        return
    yield ty
    inner: list[T.WitType | None] = []
    if isinstance(ty, T.ListT):
        inner = [ty.element]
    elif isinstance(ty, T.RecordT):
        inner = [t for _, t in ty.fields]
    elif isinstance(ty, T.TupleT):
        inner = list(ty.elements)
    elif isinstance(ty, T.VariantT):
        inner = [t for _, t in ty.cases]
    elif isinstance(ty, T.OptionT):
        inner = [ty.payload]
    elif isinstance(ty, T.ResultT):
        inner = [ty.ok, ty.err]
    for t in inner:
        yield from _nested(t)


def _value_types(builds: dict[str, GuestBuild]) -> list[T.WitType]:
    """Every type (and nested type) the bridge worlds carry that a generator can make, plus every primitive."""
    found: list[T.WitType] = [T.Prim(k) for k in sorted(T.PRIMITIVES)]
    for build in builds.values():
        types = guest_types(build)
        for sig in [*types.exports.values(), *types.imports.values()]:
            for f in sig.funcs.values():
                for top in [t for _, t in f.params] + [f.result]:
                    for ty in _nested(top):
                        handles = any(isinstance(t, (T.OwnT, T.BorrowT)) for t in _nested(ty))
                        if not handles and ty not in found:
                            found.append(ty)
    return found


def test_the_bridge_worlds_carry_every_kind_of_value_the_encoding_has(builds: dict[str, GuestBuild]) -> None:
    kinds = {type(t) for t in _value_types(builds)}
    assert {T.ListT, T.RecordT, T.TupleT, T.VariantT, T.EnumT, T.OptionT, T.ResultT, T.FlagsT} <= kinds


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_every_value_round_trips_through_the_encoding(builds: dict[str, GuestBuild], data: st.DataObject) -> None:
    ty = data.draw(st.sampled_from(_value_types(builds)))
    value = data.draw(for_type(ty))
    out = bytearray()
    B.encode(ty, value, out)
    r = B.Reader(bytes(out))
    back = B.decode(ty, r)
    r.done()
    if isinstance(ty, T.Prim) and ty.kind == "f32":
        value = struct.unpack("<f", struct.pack("<f", value))[0]
    assert matches(value, back), f"{ty}: {value!r} came back as {back!r}"


def test_the_encoding_is_the_documented_little_endian_layout() -> None:
    ty = T.ResultT(T.RecordT((("id", T.Prim("u64")), ("tz", T.OptionT(T.Prim("string"))))), T.EnumT(("a", "b")))
    out = bytearray()
    B.encode(ty, Ok({"id": 2, "tz": Some("é")}), out)
    assert bytes(out) == b"\x00" + (2).to_bytes(8, "little") + b"\x01" + b"\x02\x00\x00\x00\xc3\xa9"
    out.clear()
    B.encode(ty, Err(Variant("b")), out)
    assert bytes(out) == b"\x01\x01\x00\x00\x00"


@pytest.mark.parametrize(("ty", "data", "says"), [
    (T.Prim("string"), b"\x05\x00\x00\x00ab", "frame ends"),
    (T.Prim("string"), b"\x01\x00\x00\x00\xff", "not UTF-8"),
    (T.Prim("bool"), b"\x02", "bool index 2"),
    (T.Prim("char"), b"\x00\xd8\x00\x00", "not a Unicode scalar"),
    (T.VariantT((("a", None),)), b"\x01\x00\x00\x00", "variant index 1 names no case"),
    (T.OptionT(T.Prim("u8")), b"\x07", "option index 7"),
    (T.FlagsT(("x", "y")), b"\x04\x00\x00\x00", "bits past the 2 names"),
])
def test_malformed_values_are_protocol_errors_that_say_what_is_wrong(ty: T.WitType, data: bytes, says: str) -> None:
    with pytest.raises(B.ProtocolError, match=says):
        B.decode(ty, B.Reader(data))


class _Bytes:
    """A Pipe over fixed bytes, for what a module might print instead of frames."""

    def __init__(self, data: bytes) -> None:
        self.chunks = [data, b""]

    def read(self, deadline: float) -> bytes:
        return self.chunks.pop(0)


def test_a_module_printing_text_instead_of_frames_is_named_with_what_it_printed() -> None:
    with pytest.raises(B.ProtocolError, match="hello world"):
        B.FrameReader(_Bytes(b"hello world\n")).next(0)  # type: ignore[arg-type]


def test_output_ending_inside_a_frame_is_the_end_of_output() -> None:
    assert B.FrameReader(_Bytes(B.frame(b"r", b"\x00")[:-1])).next(0) is None  # type: ignore[arg-type]


# ---- real modules on the three runtimes ----

RUNTIMES = {
    "wasmtime": WasmtimeRunner,
    "jco-node": lambda: JcoRunner(ENGINES["jco-node"]),
    "wasmer": WasmerRunner,
    "docker-jco-node": lambda: DockerJcoRunner(ENGINES["jco-node"]),  # n/a where no Docker engine answers
    "browser-firefox": lambda: BrowserRunner(BROWSERS["browser-firefox"]),  # n/a where Firefox is not installed
}


@pytest.fixture(params=list(RUNTIMES), scope="module")
def runner(request: pytest.FixtureRequest) -> Iterator[Any]:
    r = RUNTIMES[request.param]()
    probe = r.probe()
    if not probe.available:
        pytest.skip(f"n/a: {probe.reason}")
    assert "wasi-p1" in probe.capabilities
    yield r
    r.close()


@pytest.fixture
def kv(builds: dict[str, GuestBuild]) -> GuestBuild:
    return builds["c-p1-kv-probe"]


def test_calls_and_host_requests_cross_the_bridge_to_a_real_rocksdb(runner: Any, kv: GuestBuild, tmp_path: Path) -> None:
    backends = Backends(tmp_path)
    inst = runner.instantiate(kv, backends, Limits())
    value = bytes(range(256)) * 300
    assert inst.call("set", ["k/é", value]) == Ok(None)
    assert backends[KV].db[b"k/\xc3\xa9"] == value, "the value is in RocksDB under the key's UTF-8 bytes"
    assert inst.call("get", ["k/é"]) == Ok(Some(value))
    assert inst.call("get", [""]) == Err(Variant("invalid-key", "key is empty"))
    assert inst.call("list-keys", ["k/", None, 10]) == Ok({"keys": ["k/é"], "next-cursor": None})
    inst.close()
    backends.close()


def test_a_guest_that_traps_is_a_trap_in_the_runtimes_words(runner: Any, builds: dict[str, GuestBuild],
                                                             tmp_path: Path) -> None:
    inst = runner.instantiate(builds["c-p1-hostile"], Backends(tmp_path), Limits())
    with pytest.raises(GuestTrap, match="(?i)unreachable"):
        inst.call("crash", [])
    inst.close()


def test_a_frame_the_protocol_cannot_carry_is_refused_as_a_trap(runner: Any, builds: dict[str, GuestBuild],
                                                                tmp_path: Path) -> None:
    inst = runner.instantiate(builds["c-p1-hostile"], Backends(tmp_path), Limits())
    with pytest.raises(GuestTrap, match="variant index 7 names no case"):
        inst.call("bad-variant", [])
    inst.close()


def test_a_failing_host_backend_is_the_suites_error_not_the_guests_trap(runner: Any, kv: GuestBuild,
                                                                         tmp_path: Path) -> None:
    backends = Backends(tmp_path)
    inst = runner.instantiate(kv, backends, Limits())

    def broken(key: str) -> Any:
        raise RuntimeError("backend bug")

    backends[KV].functions["exists"] = broken
    with pytest.raises(SuiteError, match="backend bug"):
        inst.call("exists", ["k"])
    inst.close()
    backends.close()


def test_a_looping_guest_is_stopped_at_its_deadline_and_the_next_instance_works(
        runner: Any, builds: dict[str, GuestBuild], tmp_path: Path) -> None:
    hostile = builds["c-p1-hostile"]
    inst = runner.instantiate(hostile, Backends(tmp_path), Limits(call_timeout_s=0.5))
    with pytest.raises(GuestTimeout, match="exceeded 0.5 s"):
        inst.call("spin", [])
    inst.close()
    again = runner.instantiate(hostile, Backends(tmp_path), Limits())
    assert again.call("ping", [41]) == 42
    again.close()


def test_a_call_after_the_guest_trapped_says_so_at_once(runner: Any, builds: dict[str, GuestBuild],
                                                        tmp_path: Path) -> None:
    inst = runner.instantiate(builds["c-p1-hostile"], Backends(tmp_path), Limits(call_timeout_s=5))
    with pytest.raises(GuestTrap):
        inst.call("crash", [])
    started = time.monotonic()
    with pytest.raises((GuestTrap, RuntimeCrash)):
        inst.call("ping", [1])
    assert time.monotonic() - started < 2, "the second call waited for its deadline instead of seeing the end"
    inst.close()
