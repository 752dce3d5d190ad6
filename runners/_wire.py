"""Neutral values <-> the JSON that crosses to a host in another process.

Typed by the WIT type tree, so the other side needs no guessing:
s64/u64 travel as strings (JSON numbers lose precision past 2**53), floats as
strings (`nan`, `inf`, `-0.0` have no JSON number), `list<u8>` as base64,
variants as {"case", "payload"}, options as null / {"some": v}, results as
{"ok": v} / {"err": v}, flags as a list of names, handles as {"resource", "rep"}.
runners/js/host-core.mjs is the other side of this file.
"""
from __future__ import annotations

import base64
from typing import Any

from keel_conformance import types as T
from keel_conformance.values import Err, Ok, Resource, Some, Variant


def _float_out(x: float) -> str:
    if x != x:
        return "nan"
    if x in (float("inf"), float("-inf")):
        return "inf" if x > 0 else "-inf"
    return repr(x)


def encode(ty: T.WitType, v: Any) -> Any:
    if isinstance(ty, T.Prim):
        if ty.kind in ("s64", "u64"):
            return str(v)
        if ty.kind in ("f32", "f64"):
            return _float_out(float(v))
        return v
    if isinstance(ty, T.ListT):
        if ty.element == T.Prim("u8"):
            return base64.b64encode(bytes(v)).decode("ascii")
        return [encode(ty.element, x) for x in v]
    if isinstance(ty, T.RecordT):
        return {n: encode(t, v[n]) for n, t in ty.fields}
    if isinstance(ty, T.TupleT):
        return [encode(t, x) for t, x in zip(ty.elements, v, strict=True)]
    if isinstance(ty, T.VariantT):
        pty = dict(ty.cases)[v.case]
        return {"case": v.case} if pty is None else {"case": v.case, "payload": encode(pty, v.payload)}
    if isinstance(ty, T.EnumT):
        return v.case
    if isinstance(ty, T.OptionT):
        return None if v is None else {"some": encode(ty.payload, v.value)}
    if isinstance(ty, T.ResultT):
        tag, pty = ("ok", ty.ok) if isinstance(v, Ok) else ("err", ty.err)
        return {tag: None if pty is None else encode(pty, v.value)}
    if isinstance(ty, T.FlagsT):
        return [n for n in ty.names if n in v]
    return {"resource": v.type, "rep": v.rep}


def decode(ty: T.WitType, j: Any) -> Any:
    if isinstance(ty, T.Prim):
        if ty.kind in ("s64", "u64"):
            return int(j)
        if ty.kind in ("f32", "f64"):
            return float(j)
        return j
    if isinstance(ty, T.ListT):
        if ty.element == T.Prim("u8"):
            return base64.b64decode(j)
        return [decode(ty.element, x) for x in j]
    if isinstance(ty, T.RecordT):
        return {n: decode(t, j[n]) for n, t in ty.fields}
    if isinstance(ty, T.TupleT):
        return tuple(decode(t, x) for t, x in zip(ty.elements, j, strict=True))
    if isinstance(ty, T.VariantT):
        pty = dict(ty.cases)[j["case"]]
        return Variant(j["case"], None if pty is None else decode(pty, j["payload"]))
    if isinstance(ty, T.EnumT):
        return Variant(j)
    if isinstance(ty, T.OptionT):
        return None if j is None else Some(decode(ty.payload, j["some"]))
    if isinstance(ty, T.ResultT):
        if "ok" in j:
            return Ok(None if ty.ok is None else decode(ty.ok, j["ok"]))
        return Err(None if ty.err is None else decode(ty.err, j["err"]))
    if isinstance(ty, T.FlagsT):
        return frozenset(j)
    return Resource(j["resource"], int(j["rep"]))
