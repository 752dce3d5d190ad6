"""Known outcomes per runtime, kept as data in `reports/expectations/<runtime>.yaml`.

Each entry names cells by glob (`feature`, `scenario`, `guest`), the outcome
they are known to have, why, and optionally a link and an expiry date. A cell
that matches its expectation does not fail the run; one that passes where a
failure was expected (xpass) does, loudly, and so does an expired entry.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import yaml

DIR = Path(__file__).resolve().parent / "expectations"
OUTCOMES = {"pass", "fail", "n/a", "trap", "timeout", "crash", "error"}


class ExpectationError(ValueError):
    pass


@dataclass(frozen=True)
class Expectation:
    outcome: str
    reason: str
    runtime: str = "*"
    feature: str = "*"
    scenario: str = "*"
    guest: str = "*"
    link: str | None = None
    expires: dt.date | None = None

    def covers(self, cell: dict[str, Any]) -> bool:
        return (fnmatchcase(cell["feature"], self.feature) and fnmatchcase(cell["scenario"], self.scenario)
                and fnmatchcase(cell["guest"], self.guest) and fnmatchcase(cell.get("runtime", "*"), self.runtime))

    def expired(self, today: dt.date | None = None) -> bool:
        return self.expires is not None and self.expires < (today or dt.date.today())

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"outcome": self.outcome, "reason": self.reason, "source": "runtime"}
        if self.link:
            d["link"] = self.link
        if self.expires:
            d["expires"] = self.expires.isoformat()
        return d


ANY = "any"  # any.yaml: known outcomes that belong to a guest or toolchain, on whichever runtime


def load(runtime: str, directory: Path | None = None) -> list[Expectation]:
    """The expectations for `runtime`: its own file's, then any.yaml's (which may narrow by `runtime` glob)."""
    found = _load_file((directory or DIR) / f"{runtime}.yaml")
    if runtime != ANY:
        found += [e for e in _load_file((directory or DIR) / f"{ANY}.yaml") if fnmatchcase(runtime, e.runtime)]
    return found


def _load_file(path: Path) -> list[Expectation]:
    if not path.exists():
        return []
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise ExpectationError(f"{path}: not valid YAML: {e}") from None
    out = []
    for i, entry in enumerate(data.get("expectations") or []):
        if not isinstance(entry, dict) or entry.get("outcome") not in OUTCOMES or not entry.get("reason"):
            raise ExpectationError(f"{path}: entry {i + 1} needs an outcome ({', '.join(sorted(OUTCOMES))}) and a reason")
        expires = entry.get("expires")
        if isinstance(expires, str):
            expires = dt.date.fromisoformat(expires)
        out.append(Expectation(
            outcome=entry["outcome"], reason=str(entry["reason"]), runtime=entry.get("runtime", "*"),
            feature=entry.get("feature", "*"),
            scenario=entry.get("scenario", "*"), guest=entry.get("guest", "*"), link=entry.get("link"),
            expires=expires,
        ))
    return out


def find(expectations: list[Expectation], cell: dict[str, Any]) -> Expectation | None:
    return next((e for e in expectations if e.covers(cell)), None)


def verdict(cell: dict[str, Any], expectation: Expectation | None) -> str:
    """ok, unexpected or xpass for one cell."""
    outcome = cell["outcome"]
    if expectation is not None and not expectation.expired():
        if outcome == expectation.outcome:
            return "ok"
        if outcome == "pass":
            # A fuzz run that did not meet a known bug has not shown it fixed: random search, not a check.
            return "ok" if cell.get("feature") == "fuzz" else "xpass"
        return "unexpected"
    return "ok" if outcome in ("pass", "n/a") else "unexpected"


def recorded_verdict(cell: dict[str, Any]) -> str:
    """The verdict a results file's cell must carry, from its outcome and the expectation recorded with it
    (as judged when the run was made: an entry that has expired since then does not change it)."""
    e = cell.get("expected") or {}
    if not e.get("outcome") or e.get("expired") or (e.get("source") == "scenario" and cell["outcome"] == "n/a"):
        return verdict(cell, None)
    return verdict(cell, Expectation(outcome=e["outcome"], reason=str(e.get("reason", ""))))
