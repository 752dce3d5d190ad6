"""The WIT type tree every runner, step and report shares.

Runners build it from the component's own type information
(`keel_conformance.component_types`), so nothing here keeps a table of the
Keel interfaces by hand.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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


def handle_of(ty: WitType, resource: str | None) -> bool:
    """Whether a parameter of type `ty` is a handle (own or borrow) of `resource` itself."""
    return isinstance(ty, (OwnT, BorrowT)) and ty.resource == resource


@dataclass(frozen=True)
class FuncSig:
    name: str
    params: tuple[tuple[str, WitType], ...]
    result: WitType | None

    @property
    def params_type(self) -> TupleT:
        return TupleT(tuple(t for _, t in self.params))


# The name standing for a component's top level, where a world exports functions of its own: no component
# export can be named so, and runners call these functions on the instance itself.
WORLD = "(world)"


@dataclass(frozen=True)
class InterfaceSig:
    """One imported or exported instance: its functions and resource names."""

    name: str
    funcs: dict[str, FuncSig] = field(hash=False)
    resources: tuple[str, ...] = ()

    @property
    def unversioned(self) -> str:
        return self.name.split("@", 1)[0]

    def callable(self, name: str) -> FuncSig | None:
        """A function to call: one of `funcs`, or `[resource-drop]R` for a resource R the instance exports
        (dropping the caller's handle: the guest's destructor runs)."""
        if name in self.funcs:
            return self.funcs[name]
        r = name.removeprefix("[resource-drop]")
        return FuncSig(name, (("self", OwnT(r)),), None) if r != name and r in self.resources else None


def to_json(ty: WitType | None) -> Any:
    """A compact JSON form of a type, for caches and for hosts in other processes."""
    if ty is None:
        return None
    if isinstance(ty, Prim):
        return {"k": "prim", "t": ty.kind}
    if isinstance(ty, ListT):
        return {"k": "list", "e": to_json(ty.element)}
    if isinstance(ty, RecordT):
        return {"k": "record", "f": [[n, to_json(t)] for n, t in ty.fields]}
    if isinstance(ty, TupleT):
        return {"k": "tuple", "e": [to_json(t) for t in ty.elements]}
    if isinstance(ty, VariantT):
        return {"k": "variant", "c": [[n, to_json(t)] for n, t in ty.cases]}
    if isinstance(ty, EnumT):
        return {"k": "enum", "n": list(ty.names)}
    if isinstance(ty, OptionT):
        return {"k": "option", "p": to_json(ty.payload)}
    if isinstance(ty, ResultT):
        return {"k": "result", "ok": to_json(ty.ok), "err": to_json(ty.err)}
    if isinstance(ty, FlagsT):
        return {"k": "flags", "n": list(ty.names)}
    return {"k": "own" if isinstance(ty, OwnT) else "borrow", "r": ty.resource}


def from_json(j: Any) -> WitType | None:
    if j is None:
        return None
    k = j["k"]
    if k == "prim":
        return Prim(j["t"])
    if k == "list":
        return ListT(_req(from_json(j["e"])))
    if k == "record":
        return RecordT(tuple((n, _req(from_json(t))) for n, t in j["f"]))
    if k == "tuple":
        return TupleT(tuple(_req(from_json(t)) for t in j["e"]))
    if k == "variant":
        return VariantT(tuple((n, from_json(t)) for n, t in j["c"]))
    if k == "enum":
        return EnumT(tuple(j["n"]))
    if k == "option":
        return OptionT(_req(from_json(j["p"])))
    if k == "result":
        return ResultT(from_json(j["ok"]), from_json(j["err"]))
    if k == "flags":
        return FlagsT(tuple(j["n"]))
    if k in ("own", "borrow"):
        return (OwnT if k == "own" else BorrowT)(j["r"])
    raise ValueError(f"unknown type kind {k!r}")


def _req(t: WitType | None) -> WitType:
    if t is None:
        raise ValueError("a type is required here")
    return t


def sig_to_json(sig: InterfaceSig) -> dict[str, Any]:
    return {
        "name": sig.name,
        "resources": list(sig.resources),
        "funcs": {f.name: {"params": [[n, to_json(t)] for n, t in f.params], "result": to_json(f.result)}
                  for f in sig.funcs.values()},
    }


def sig_from_json(j: dict[str, Any]) -> InterfaceSig:
    funcs = {name: FuncSig(name, tuple((n, _req(from_json(t))) for n, t in f["params"]), from_json(f["result"]))
             for name, f in j["funcs"].items()}
    return InterfaceSig(j["name"], funcs, tuple(j["resources"]))


def wit_text(ty: WitType | None) -> str:
    """A type as WIT writes it (records and variants inline, since the tree keeps no type names)."""
    if ty is None:
        return "_"
    if isinstance(ty, Prim):
        return ty.kind
    if isinstance(ty, ListT):
        return f"list<{wit_text(ty.element)}>"
    if isinstance(ty, OptionT):
        return f"option<{wit_text(ty.payload)}>"
    if isinstance(ty, ResultT):
        return f"result<{wit_text(ty.ok)}, {wit_text(ty.err)}>"
    if isinstance(ty, TupleT):
        return f"tuple<{', '.join(wit_text(t) for t in ty.elements)}>"
    if isinstance(ty, RecordT):
        return "record { " + ", ".join(f"{n}: {wit_text(t)}" for n, t in ty.fields) + " }"
    if isinstance(ty, VariantT):
        return "variant { " + ", ".join(n if t is None else f"{n}({wit_text(t)})" for n, t in ty.cases) + " }"
    if isinstance(ty, EnumT):
        return "enum { " + ", ".join(ty.names) + " }"
    if isinstance(ty, FlagsT):
        return "flags { " + ", ".join(ty.names) + " }"
    if isinstance(ty, OwnT):
        return ty.resource
    if isinstance(ty, BorrowT):
        return f"borrow<{ty.resource}>"
    return repr(ty)


def _short(ty: WitType | None, limit: int = 70) -> str:
    text = wit_text(ty)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def signature_differences(have: InterfaceSig, want: InterfaceSig) -> list[str]:
    """How an exported interface differs from the one the scenarios drive, one phrase per function."""
    out = []
    for name, w in want.funcs.items():
        h = have.funcs.get(name)
        if h is None:
            out.append(f"function {name} is missing")
            continue
        if len(h.params) != len(w.params):
            out.append(f"function {name} takes {len(h.params)} parameter(s), the interface says {len(w.params)}")
        for i, ((_, ht), (wn, wt)) in enumerate(zip(h.params, w.params, strict=False), start=1):
            if ht != wt:
                out.append(f"function {name}: parameter {i} ({wn}) is {_short(ht)}, the interface says {_short(wt)}")
        if h.result != w.result:
            out.append(f"function {name} returns {_short(h.result)}, the interface says {_short(w.result)}")
    return out
