"""Hypothesis strategies for neutral values, derived from the WIT type tree.

One resolver per WIT kind, recursing on element types, so any type a
component declares gets a generator without a hand-written table.
"""
from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from . import types as T
from .values import Err, Ok, Some, Variant

# Unicode scalar values: every code point except the surrogates.
CHARS = st.characters(codec="utf-8")


def for_type(ty: T.WitType) -> st.SearchStrategy[Any]:
    return _RESOLVERS[type(ty)](ty)


def _prim(ty: T.Prim) -> st.SearchStrategy[Any]:
    k = ty.kind
    if k == "bool":
        return st.booleans()
    if k in T.INT_BOUNDS:
        lo, hi = T.INT_BOUNDS[k]
        return st.integers(lo, hi)
    if k == "f32":
        return st.floats(width=32)
    if k == "f64":
        return st.floats()
    if k == "char":
        return CHARS
    return st.text(CHARS)


def _list(ty: T.ListT) -> st.SearchStrategy[Any]:
    if ty.element == T.Prim("u8"):
        return st.binary()
    return st.lists(for_type(ty.element), max_size=5)


def _record(ty: T.RecordT) -> st.SearchStrategy[Any]:
    return st.fixed_dictionaries({name: for_type(t) for name, t in ty.fields})


def _tuple(ty: T.TupleT) -> st.SearchStrategy[Any]:
    return st.tuples(*(for_type(t) for t in ty.elements))


def _variant(ty: T.VariantT) -> st.SearchStrategy[Any]:
    return st.one_of(*(st.just(Variant(n)) if t is None else for_type(t).map(lambda v, n=n: Variant(n, v))
                       for n, t in ty.cases))


def _enum(ty: T.EnumT) -> st.SearchStrategy[Any]:
    return st.sampled_from([Variant(n) for n in ty.names])


def _option(ty: T.OptionT) -> st.SearchStrategy[Any]:
    return st.none() | for_type(ty.payload).map(Some)


def _result(ty: T.ResultT) -> st.SearchStrategy[Any]:
    ok = st.just(Ok()) if ty.ok is None else for_type(ty.ok).map(Ok)
    err = st.just(Err()) if ty.err is None else for_type(ty.err).map(Err)
    return ok | err


def _flags(ty: T.FlagsT) -> st.SearchStrategy[Any]:
    return st.frozensets(st.sampled_from(ty.names)) if ty.names else st.just(frozenset())


def _handle(ty: T.OwnT | T.BorrowT) -> st.SearchStrategy[Any]:
    raise TypeError(f"handles ({ty.resource}) come from a host, not from a generator")


_RESOLVERS: dict[type, Any] = {
    T.Prim: _prim, T.ListT: _list, T.RecordT: _record, T.TupleT: _tuple, T.VariantT: _variant,
    T.EnumT: _enum, T.OptionT: _option, T.ResultT: _result, T.FlagsT: _flags, T.OwnT: _handle, T.BorrowT: _handle,
}
