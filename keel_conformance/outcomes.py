"""The outcomes a cell can have, and the exceptions runners raise to earn them.

Every cell ends as exactly one outcome; none is folded into another.
"""
from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    PASS = "pass"
    FAIL = "fail"  # the runtime answered, and the answer was wrong
    NA = "n/a"  # the runtime lacks a capability; the reason is the runtime's own
    TRAP = "trap"  # the guest trapped where the scenario did not expect it
    TIMEOUT = "timeout"  # a call outlived its deadline
    CRASH = "crash"  # the runtime itself died or broke its own contract
    ERROR = "error"  # the suite is wrong: a bug in a step, a backend or a runner

    @property
    def symbol(self) -> str:
        return _SYMBOLS[self]


_SYMBOLS = {
    Outcome.PASS: "✔",
    Outcome.FAIL: "✘",
    Outcome.NA: "–",
    Outcome.TRAP: "⚡",
    Outcome.TIMEOUT: "◷",
    Outcome.CRASH: "✸",
    Outcome.ERROR: "⚠",
}


class CellOutcome(Exception):
    """Raised from a runner to end the cell with `outcome`; `str()` is the message."""

    outcome: Outcome = Outcome.ERROR


class NotApplicable(CellOutcome):
    outcome = Outcome.NA


class GuestTrap(CellOutcome):
    outcome = Outcome.TRAP


class GuestTimeout(CellOutcome):
    outcome = Outcome.TIMEOUT


class RuntimeCrash(CellOutcome):
    outcome = Outcome.CRASH


class SuiteError(CellOutcome):
    """A host backend or the harness failed while serving the guest."""

    outcome = Outcome.ERROR
