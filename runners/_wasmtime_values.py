"""Neutral values <-> wasmtime-py component values.

wasmtime-py passes a variant, option or result bare when each case has its
own Python class and as `Variant(tag, payload)` otherwise; which one is
decided by the type (`_tagged`), so the conversion asks the type each time
and the neutral model never depends on it.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import wasmtime.component as wc
import wasmtime.component._types as _wt

from keel_conformance.outcomes import SuiteError
from keel_conformance.values import Err, Ok, Resource, Some, Variant

_NONE = type(None)


def _tagged_fixed(self: Any) -> bool:
    memo = self.__dict__.get("_keel_tagged")
    if memo is not None:  # types are walked over FFI; the answer never changes for one type object
        return bool(memo)
    self.__dict__["_keel_tagged"] = answer = _tagged_walk(self)
    return answer


def _tagged_walk(self: Any) -> bool:
    seen: set[type] = set()
    for _, ty in self._cases():
        case: set[type] = set()
        if ty is None:
            case.add(_NONE)
        else:
            ty.add_classes(case)
        if case & seen:
            return True
        seen |= case
    return False


def _add_classes_fixed(self: Any, s: set[type]) -> None:
    if self._tagged():
        s.add(wc.Variant)
        return
    for _, ty in self._cases():
        if ty is None:
            s.add(_NONE)
        else:
            ty.add_classes(s)


# wasmtime-py 50 stands for a payload-less case with `object`, and lowering
# tests `isinstance(value, object)`, which every value passes: a host could
# never return `err` from `result<option<T>, E>` (it is always lowered as
# `ok`). `NoneType` is what such a case really holds. It has to be replaced
# in `_tagged` too, or nested options (option<option<T>>) stop being tagged
# and `some(none)` collapses to `none`. Both use the one symbol in the one
# structural way the original does, so which types are tagged is unchanged.
# The runner's probe lists this patch in its flags.
PATCH = "wasmtime-py VariantLikeType.add_classes/_tagged: payload-less case is NoneType, not object"
_wt.VariantLikeType._tagged = _tagged_fixed  # type: ignore[method-assign]
_wt.VariantLikeType.add_classes = _add_classes_fixed  # type: ignore[method-assign]

_PRIMS = (wc.Bool, wc.S8, wc.S16, wc.S32, wc.S64, wc.U8, wc.U16, wc.U32, wc.U64, wc.F32, wc.F64, wc.Char, wc.String)


def _cases(vt: Any) -> list[tuple[str, Any]]:
    if isinstance(vt, wc.OptionType):
        return [("none", None), ("some", vt.payload)]
    if isinstance(vt, wc.ResultType):
        return [("ok", vt.ok), ("err", vt.err)]
    return list(vt.cases)


def _which(vt: Any, value: Any) -> str:
    """The case an untagged value belongs to, found the way wasmtime-py lowers it."""
    for name, ty in _cases(vt):
        if ty is None:
            if value is None:
                return name
            continue
        classes: set[type] = set()
        ty.add_classes(classes)
        classes.discard(object)
        if isinstance(value, tuple(classes)):
            return name
    raise ValueError(f"value {value!r} fits no case of {vt}")


class Converter:
    """Converts in both directions for one store; resources map through `to_rep`/`from_rep`."""

    def __init__(self, resource_ids: dict[str, int], store: Any) -> None:
        self.resource_ids = resource_ids  # filled in while the imports are bound
        self.store = store
        # The guest's own exported resources: their types by name, and the handles the suite holds, by the
        # number it shows them as (a guest's handle has no rep the host may read).
        self.guest_types: dict[str, Any] = {}
        self.guest_handles: dict[int, Any] = {}
        self.made = 0

    def guest_resource(self, vt: Any) -> str | None:
        return next((n for n, t in self.guest_types.items() if t == vt.ty), None)

    @property
    def names(self) -> dict[int, str]:
        return {v: k for k, v in self.resource_ids.items()}

    def to_wasm(self, vt: Any, v: Any) -> Any:
        if isinstance(vt, _PRIMS):
            return v
        if isinstance(vt, wc.ListType):
            el = vt.element
            if isinstance(el, wc.U8):
                return bytes(v)
            return [self.to_wasm(el, x) for x in v]
        if isinstance(vt, wc.RecordType):
            r = wc.Record()
            for name, ft in vt.fields:
                setattr(r, name, self.to_wasm(ft, v[name]))
            return r
        if isinstance(vt, wc.TupleType):
            return tuple(self.to_wasm(t, x) for t, x in zip(vt.elements, v, strict=True))
        if isinstance(vt, wc.EnumType):
            return v.case
        if isinstance(vt, wc.FlagsType):
            return set(v)
        if isinstance(vt, (wc.VariantType, wc.OptionType, wc.ResultType)):
            tag, payload = _neutral_case(vt, v)
            pty = dict(_cases(vt))[tag]
            low = None if pty is None else self.to_wasm(pty, payload)
            return wc.Variant(tag, low) if vt._tagged() else low
        if isinstance(vt, (wc.OwnType, wc.BorrowType)):
            if self.guest_resource(vt):
                handles = self.guest_handles
                if v.rep not in handles:
                    raise SuiteError(f"no live {v.type} handle {v.rep}")
                return handles.pop(v.rep) if isinstance(vt, wc.OwnType) else handles[v.rep]  # own moves it back
            make = wc.ResourceHost.own if isinstance(vt, wc.OwnType) else wc.ResourceHost.borrow
            return make(v.rep, self.resource_ids[v.type])
        raise TypeError(f"cannot lower into {type(vt).__name__}")

    def from_wasm(self, vt: Any, v: Any) -> Any:
        if isinstance(vt, _PRIMS):
            return v
        if isinstance(vt, wc.ListType):
            if isinstance(vt.element, wc.U8):
                return bytes(v)
            return [self.from_wasm(vt.element, x) for x in v]
        if isinstance(vt, wc.RecordType):
            return {name: self.from_wasm(ft, getattr(v, name)) for name, ft in vt.fields}
        if isinstance(vt, wc.TupleType):
            return tuple(self.from_wasm(t, x) for t, x in zip(vt.elements, v, strict=True))
        if isinstance(vt, wc.EnumType):
            return Variant(v)
        if isinstance(vt, wc.FlagsType):
            return frozenset(v)
        if isinstance(vt, (wc.VariantType, wc.OptionType, wc.ResultType)):
            if vt._tagged():
                tag, raw = v.tag, v.payload
            else:
                tag, raw = _which(vt, v), v
            pty = dict(_cases(vt))[tag]
            payload = None if pty is None else self.from_wasm(pty, raw)
            return _neutral(vt, tag, payload)
        if isinstance(vt, (wc.OwnType, wc.BorrowType)):
            name = self.guest_resource(vt)
            if name:
                self.made += 1
                self.guest_handles[self.made] = v
                return Resource(name, self.made)
            host = v.to_host(self.store)
            return Resource(self.names.get(host.type, "resource"), host.rep)
        raise TypeError(f"cannot lift from {type(vt).__name__}")


def _neutral_case(vt: Any, v: Any) -> tuple[str, Any]:
    if isinstance(vt, wc.OptionType):
        return ("none", None) if v is None else ("some", v.value)
    if isinstance(vt, wc.ResultType):
        return ("ok", v.value) if isinstance(v, Ok) else ("err", v.value)
    return v.case, v.payload


_BUILD: dict[type, Callable[[str, Any], Any]] = {
    wc.OptionType: lambda tag, p: None if tag == "none" else Some(p),
    wc.ResultType: lambda tag, p: Ok(p) if tag == "ok" else Err(p),
    wc.VariantType: Variant,
}


def _neutral(vt: Any, tag: str, payload: Any) -> Any:
    return _BUILD[type(vt)](tag, payload)
