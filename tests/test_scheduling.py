"""Cells of one (column, guest) run as one block, in scenario order, serially and across workers."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from keel_conformance.scheduling import ByColumnAndGuest, block_order

KEYS = st.lists(st.one_of(st.none(), st.tuples(st.sampled_from("ab"), st.sampled_from("xyz"))), max_size=30)


@given(KEYS)
def test_block_order_groups_cells_and_keeps_everything_else(keys: list[tuple[str, str] | None]) -> None:
    order = block_order(keys)
    assert sorted(order) == list(range(len(keys)))
    assert all(order[i] == i for i, k in enumerate(keys) if k is None)  # unit tests keep their place
    cells = [i for i in order if keys[i] is not None]
    seen: list[tuple[str, str]] = []
    for i in cells:
        if not seen or seen[-1] != keys[i]:
            assert keys[i] not in seen, "a (column, guest) block was split"
            seen.append(keys[i])  # type: ignore[arg-type]
    for key in seen:  # scenario order within a block
        mine = [i for i in cells if keys[i] == key]
        assert mine == sorted(mine)


def test_the_scope_is_column_and_guest_whatever_the_example() -> None:
    sched = ByColumnAndGuest.__new__(ByColumnAndGuest)
    sched.guests = sorted(["py-kv-probe", "py-kv", "c-p1-kv-probe"], key=len, reverse=True)
    scope = sched._split_scope
    assert scope("step_defs/test_kv.py::test_set[wasmtime:py-kv-probe]") == "wasmtime:py-kv-probe"
    assert scope("step_defs/test_kv.py::test_set[jco-node+xconst:py-kv-probe-caf\\xe9]") == "jco-node+xconst:py-kv-probe"
    assert scope("step_defs/test_kv.py::test_set[docker-jco-node22:py-kv-x]") == "docker-jco-node22:py-kv"
    assert scope("step_defs/test_kv.py::test_set[wasmtime:user:my.wasm-null]") == "wasmtime:user:my.wasm-null"
    assert scope("tests/test_wave.py::test_roundtrip") == "tests/test_wave.py::test_roundtrip"
    assert scope("tests/test_wave.py::test_p[1-2]") == "tests/test_wave.py::test_p[1-2]"
