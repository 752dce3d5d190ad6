"""A run's journal (one JSON line per finished cell) and the selection it has to reach.

The journal is appended to by every process of a run, and a process can die in
the middle of a line (SIGKILL, a crash, a full disk). Reading it therefore
keeps only whole cell lines, each cell once; a cell that appears with two
different outcomes is not trusted at all and runs again on resume.
"""
from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .inputs import InputError, read_bytes, read_json
from .outcomes import Outcome

SELECTION = "selection.json"
MAX_JOURNAL_BYTES = 1024 * 1024 * 1024
_OUTCOMES = frozenset(o.value for o in Outcome)
Key = tuple[str, str, str, str]


class JournalError(ValueError):
    """The journal or selection of a run cannot be used; one line."""


def cell_key(cell: dict[str, Any]) -> Key:
    return (cell["feature"], cell["scenario"], cell["runtime"], cell["guest"])


@dataclass(frozen=True)
class SelectedCell:
    feature: str
    scenario: str
    runtime: str
    guest: str
    nodeid: str

    @property
    def key(self) -> Key:
        return (self.feature, self.scenario, self.runtime, self.guest)


@dataclass
class Journal:
    cells: list[dict[str, Any]] = field(default_factory=list)  # each cell once, in the order they finished
    torn: list[bytes] = field(default_factory=list)  # lines that are not a whole cell
    duplicates: int = 0  # repeats of a cell with the same outcome, dropped
    conflicting: list[Key] = field(default_factory=list)  # cells seen with different outcomes, dropped

    @property
    def damaged(self) -> bool:
        return bool(self.torn or self.duplicates or self.conflicting)

    def describe(self) -> str:
        parts = []
        if self.torn:
            parts.append(f"{len(self.torn)} line(s) that are not a whole cell (a process stopped mid-write)")
        if self.duplicates:
            parts.append(f"{self.duplicates} repeated cell(s)")
        if self.conflicting:
            parts.append(f"{len(self.conflicting)} cell(s) recorded with different outcomes (they run again)")
        return "; ".join(parts)


def _is_cell(obj: Any) -> bool:
    return (isinstance(obj, dict) and all(isinstance(obj.get(k), str) for k in ("feature", "scenario", "runtime", "guest"))
            and obj.get("outcome") in _OUTCOMES and isinstance(obj.get("message", ""), str))


def read(path: Path) -> Journal:
    """Every whole cell of a journal, each once. A missing journal has none."""
    try:
        data = read_bytes(path, MAX_JOURNAL_BYTES, "journal")
    except InputError as e:
        if not path.exists() and not path.is_symlink():
            return Journal()
        raise JournalError(str(e)) from None
    j = Journal()
    first: dict[Key, dict[str, Any]] = {}
    for raw in data.split(b"\n"):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except (ValueError, RecursionError):
            j.torn.append(raw)
            continue
        if not _is_cell(obj):
            j.torn.append(raw)
            continue
        key = cell_key(obj)
        seen = first.get(key)
        if seen is None:
            first[key] = obj
        elif seen["outcome"] == obj["outcome"]:
            j.duplicates += 1
        elif key not in j.conflicting:
            j.conflicting.append(key)
    j.cells = [c for k, c in first.items() if k not in j.conflicting]
    return j


def repair(path: Path) -> Journal:
    """Rewrites a damaged journal with its whole cells only; what was taken out goes to journal.rejected."""
    j = read(path)
    if not j.damaged:
        return j
    rejected = path.with_name(path.stem + ".rejected")
    with rejected.open("ab") as f:
        for raw in j.torn:
            f.write(raw + b"\n")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as f:
        for c in j.cells:
            f.write(json.dumps(c, ensure_ascii=False).encode("utf-8") + b"\n")
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)
    return j


def append(path: Path, cell: dict[str, Any]) -> None:
    """One cell as one line, under a lock (parallel workers share the journal); a torn line before it is
    ended first, so a cell is never glued to another process's fragment."""
    line = (json.dumps(cell, ensure_ascii=False) + "\n").encode("utf-8")
    with path.open("a+b") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            end = f.seek(0, os.SEEK_END)
            if end:
                f.seek(end - 1)
                if f.read(1) != b"\n":
                    line = b"\n" + line
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def selection_path(journal: Path) -> Path:
    return journal.with_name(SELECTION)


def record_selection(journal: Path, cells: list[SelectedCell]) -> None:
    """Writes the run's selection once; a resumed run must select the same cells."""
    path = selection_path(journal)
    now = sorted(c.key for c in cells)
    if path.exists():
        then = load_selection(journal)
        if then is not None and sorted(c.key for c in then) != now:
            raise JournalError(f"{journal.parent}: the cells selected now ({len(now)}) are not those of the run being "
                               f"resumed ({len(then)}): the suite, its guests or its runtimes changed; start a new run")
        return
    body = json.dumps({"cells": [[c.feature, c.scenario, c.runtime, c.guest, c.nodeid] for c in cells]},
                      ensure_ascii=False)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(body, encoding="utf-8")
    tmp.replace(path)  # parallel workers write the same list; whichever lands is the same


def load_selection(journal: Path) -> list[SelectedCell] | None:
    """The cells the run selected, or None when it never got that far (or the file is not ours)."""
    path = selection_path(journal)
    if not path.exists():
        return None
    try:
        doc = read_json(path, "selection file")
        return [SelectedCell(*map(str, row)) for row in doc["cells"] if isinstance(row, list) and len(row) == 5]
    except (InputError, KeyError, TypeError) as e:
        raise JournalError(f"{path}: not a selection this suite wrote: {e}") from None
