"""What a matrix cell is, and how a finished pytest item becomes one."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .outcomes import CellOutcome, Outcome


@dataclass(frozen=True)
class CellId:
    runtime: str
    guest: str

    @property
    def label(self) -> str:
        return f"{self.runtime}:{self.guest}"


@dataclass
class Cell:
    feature: str
    scenario: str
    interface: str
    runtime: str
    guest: str
    outcome: str
    duration_s: float
    message: str
    step: str | None = None
    nodeid: str | None = None
    expected: dict[str, Any] | None = None
    line: int | None = None
    steps: list[dict[str, Any]] | None = None
    tags: list[str] | None = None
    output: str | None = None
    repro: str | None = None
    load_ms: float | None = None  # the first instance of this guest on this runtime: compile + instantiate
    instantiate_ms: float | None = None
    call_ms: float | None = None  # median of this cell's calls
    calls: int | None = None
    abi: str | None = None  # set for guests that are not components: "wasi-p1-bridge"

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: v for k, v in d.items() if v is not None}


NA_PREFIX = "n/a: "


def classify(excinfo: Any) -> tuple[Outcome, str]:
    """The outcome and message for an exception that ended a cell."""
    exc = excinfo.value
    if isinstance(exc, CellOutcome):
        return exc.outcome, str(exc)
    if excinfo.typename == "Skipped":
        msg = str(getattr(exc, "msg", exc))
        return Outcome.NA, msg[len(NA_PREFIX):] if msg.startswith(NA_PREFIX) else msg
    if isinstance(exc, AssertionError):
        return Outcome.FAIL, str(exc).split("\nassert ")[0].strip() or "assertion failed"
    if excinfo.typename == "WaveError":
        return Outcome.ERROR, f"{MALFORMED}{exc}"
    return Outcome.ERROR, f"{type(exc).__name__}: {exc}"


MALFORMED = "malformed WAVE value in the feature file: "
