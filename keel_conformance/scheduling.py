"""Cell order: the cells of one (column, guest) run one after another, in one process.

An engine process compiles its guest once and then makes a fresh instance per scenario; with each
(column, guest) run as one block, a runner needs only the current guest's engine alive, so live
engine processes stay few per worker, and no guest is compiled twice by one worker.
Serially this is a stable sort of the cells; with pytest-xdist the block is the scheduling unit.
"""
from __future__ import annotations

from typing import Any

from xdist.scheduler import LoadScopeScheduling


def block_order(keys: list[tuple[str, str] | None]) -> list[int]:
    """The order (indices) that groups equal keys in the order each first appears; None (a unit test)
    keeps its place."""
    first: dict[tuple[str, str], int] = {}
    for i, k in enumerate(keys):
        if k is not None:
            first.setdefault(k, i)
    slots = [i for i, k in enumerate(keys) if k is not None]
    cells = sorted(slots, key=lambda i: first[keys[i]])  # type: ignore[index]  # stable: scenario order kept
    order, it = list(range(len(keys))), iter(cells)
    for s in slots:
        order[s] = next(it)
    return order


class ByColumnAndGuest(LoadScopeScheduling):  # type: ignore[misc]
    """pytest-xdist's scope scheduling with (column, guest) as the scope, read from the cell's id
    `[runtime:guest]` or `[runtime:guest-example]`; anything else is a scope of its own."""

    def __init__(self, config: Any, log: Any, guests: list[str]) -> None:
        super().__init__(config, log)
        self.guests = sorted(guests, key=len, reverse=True)  # the longest name that fits wins

    def _split_scope(self, nodeid: str) -> str:
        if not nodeid.endswith("]"):
            return nodeid
        runtime, colon, rest = nodeid.rpartition("[")[2][:-1].partition(":")
        if not colon:
            return nodeid
        guest = next((g for g in self.guests if rest == g or rest.startswith(g + "-")), rest)
        return f"{runtime}:{guest}"
