"""Neutral WIT values: the one representation steps, backends and reports use.

Each runner converts to its own representation only at its edge. The
mapping is chosen so that it never depends on how a runtime happens to
encode a type:

| WIT                    | neutral value                  |
|------------------------|--------------------------------|
| bool, integers, floats | bool, int, float               |
| char, string           | str                            |
| list<u8>               | bytes                          |
| other list             | list                           |
| record                 | dict (field name -> value)     |
| tuple                  | tuple                          |
| variant, enum          | Variant(case, payload or None) |
| option                 | Some(value) or None            |
| result                 | Ok(value) / Err(value)         |
| flags                  | frozenset of names             |
| own / borrow           | Resource(type, rep)            |
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Variant:
    case: str
    payload: Any = None


@dataclass(frozen=True)
class Some:
    value: Any


@dataclass(frozen=True)
class Ok:
    value: Any = None


@dataclass(frozen=True)
class Err:
    value: Any = None


@dataclass(frozen=True)
class Resource:
    """A handle to a host resource: `rep` is the host's own number for it."""

    type: str
    rep: int


class _Any:
    """The `_` of an expected value: matches whatever is there."""

    _instance: _Any | None = None

    def __new__(cls) -> _Any:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "_"


ANY = _Any()


def matches(expected: Any, actual: Any) -> bool:
    """Structural equality where `ANY` matches anything and NaN matches NaN.

    The canonical ABI lets a runtime change a NaN's payload bits, so a NaN is
    compared by NaN-ness only; -0.0 and 0.0 are different values.
    """
    if expected is ANY:
        return True
    if isinstance(expected, float) and isinstance(actual, float):
        if math.isnan(expected) or math.isnan(actual):
            return math.isnan(expected) and math.isnan(actual)
        return expected == actual and math.copysign(1, expected) == math.copysign(1, actual)
    if type(expected) is not type(actual):
        return False
    if isinstance(expected, (list, tuple)):
        return len(expected) == len(actual) and all(map(matches, expected, actual))
    if isinstance(expected, dict):
        return expected.keys() == actual.keys() and all(matches(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, Variant):
        return expected.case == actual.case and matches(expected.payload, actual.payload)
    if isinstance(expected, (Some, Ok, Err)):
        return matches(expected.value, actual.value)
    return bool(expected == actual)
