"""The WIT type tree every runner, step and report shares.

Runners build it from the component's own type information
(`keel_conformance.component_types`), so nothing here keeps a table of the
Keel interfaces by hand.
"""
from __future__ import annotations

from dataclasses import dataclass, field

PRIMITIVES = frozenset(
    {"bool", "s8", "s16", "s32", "s64", "u8", "u16", "u32", "u64", "f32", "f64", "char", "string"}
)

INT_BOUNDS = {
    "s8": (-(2**7), 2**7 - 1),
    "s16": (-(2**15), 2**15 - 1),
    "s32": (-(2**31), 2**31 - 1),
    "s64": (-(2**63), 2**63 - 1),
    "u8": (0, 2**8 - 1),
    "u16": (0, 2**16 - 1),
    "u32": (0, 2**32 - 1),
    "u64": (0, 2**64 - 1),
}


@dataclass(frozen=True)
class Prim:
    kind: str

    def __post_init__(self) -> None:
        if self.kind not in PRIMITIVES:
            raise ValueError(f"not a WIT primitive: {self.kind}")


@dataclass(frozen=True)
class ListT:
    element: WitType


@dataclass(frozen=True)
class RecordT:
    fields: tuple[tuple[str, WitType], ...]


@dataclass(frozen=True)
class TupleT:
    elements: tuple[WitType, ...]


@dataclass(frozen=True)
class VariantT:
    cases: tuple[tuple[str, WitType | None], ...]


@dataclass(frozen=True)
class EnumT:
    names: tuple[str, ...]


@dataclass(frozen=True)
class OptionT:
    payload: WitType


@dataclass(frozen=True)
class ResultT:
    ok: WitType | None
    err: WitType | None


@dataclass(frozen=True)
class FlagsT:
    names: tuple[str, ...]


@dataclass(frozen=True)
class OwnT:
    resource: str


@dataclass(frozen=True)
class BorrowT:
    resource: str


WitType = Prim | ListT | RecordT | TupleT | VariantT | EnumT | OptionT | ResultT | FlagsT | OwnT | BorrowT


@dataclass(frozen=True)
class FuncSig:
    name: str
    params: tuple[tuple[str, WitType], ...]
    result: WitType | None

    @property
    def params_type(self) -> TupleT:
        return TupleT(tuple(t for _, t in self.params))


@dataclass(frozen=True)
class InterfaceSig:
    """One imported or exported instance: its functions and resource names."""

    name: str
    funcs: dict[str, FuncSig] = field(hash=False)
    resources: tuple[str, ...] = ()

    @property
    def unversioned(self) -> str:
        return self.name.split("@", 1)[0]
