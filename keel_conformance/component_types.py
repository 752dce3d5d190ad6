"""Reads a component's own type information into the shared WIT type tree.

wasmtime's parser is used here as a library for reading the binary, the way
one would use wasm-tools: nothing is instantiated or run, so every runner can
rely on these types whatever runtime it drives.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import wasmtime
import wasmtime.component as wc

from . import types as T

COMPONENT_PREAMBLE = b"\x00asm\x0d\x00\x01\x00"
CORE_PREAMBLE = b"\x00asm\x01\x00\x00\x00"


class NotAComponent(ValueError):
    """The file cannot be what the caller needs; the message is one line."""


_PRIMS = {
    wc.Bool: "bool", wc.S8: "s8", wc.S16: "s16", wc.S32: "s32", wc.S64: "s64",
    wc.U8: "u8", wc.U16: "u16", wc.U32: "u32", wc.U64: "u64",
    wc.F32: "f32", wc.F64: "f64", wc.Char: "char", wc.String: "string",
}


class _Namer:
    """Gives structural resource types the names their instance exports them under."""

    def __init__(self, resources: dict[str, Any]) -> None:
        self.resources = resources

    def name(self, rt: Any) -> str:
        for name, known in self.resources.items():
            if known == rt:
                return name
        return "resource"

    def convert(self, vt: Any) -> T.WitType:
        for cls, kind in _PRIMS.items():
            if isinstance(vt, cls):
                return T.Prim(kind)
        if isinstance(vt, wc.ListType):
            return T.ListT(self.convert(vt.element))
        if isinstance(vt, wc.RecordType):
            return T.RecordT(tuple((n, self.convert(t)) for n, t in vt.fields))
        if isinstance(vt, wc.TupleType):
            return T.TupleT(tuple(self.convert(t) for t in vt.elements))
        if isinstance(vt, wc.VariantType):
            return T.VariantT(tuple((n, None if t is None else self.convert(t)) for n, t in vt.cases))
        if isinstance(vt, wc.EnumType):
            return T.EnumT(tuple(vt.names))
        if isinstance(vt, wc.OptionType):
            return T.OptionT(self.convert(vt.payload))
        if isinstance(vt, wc.ResultType):
            ok, err = vt.ok, vt.err
            return T.ResultT(None if ok is None else self.convert(ok), None if err is None else self.convert(err))
        if isinstance(vt, wc.FlagsType):
            return T.FlagsT(tuple(vt.names))
        if isinstance(vt, wc.OwnType):
            return T.OwnT(self.name(vt.ty))
        if isinstance(vt, wc.BorrowType):
            return T.BorrowT(self.name(vt.ty))
        raise TypeError(f"unsupported WIT type {type(vt).__name__}")


def _instance_sig(name: str, inst: wc.ComponentInstanceType, engine: wasmtime.Engine, outer: dict[str, Any],
                  exported: bool = False) -> T.InterfaceSig:
    return _items_sig(name, {k: v.ty for k, v in inst.exports(engine).items()}, outer, exported)


def _items_sig(name: str, items: dict[str, Any], outer: dict[str, Any], exported: bool = False) -> T.InterfaceSig:
    resources = {k: v for k, v in items.items() if isinstance(v, wc.ResourceType)}
    namer = _Namer({**outer, **resources})
    if exported:  # an imported resource an export `use`s is the host's, not one the guest makes
        resources = {k: v for k, v in resources.items() if not any(v == o for o in outer.values())}
    funcs = {}
    for fname, item in items.items():
        if isinstance(item, wc.FuncType):
            result = item.result
            funcs[fname] = T.FuncSig(
                fname,
                tuple((p, namer.convert(t)) for p, t in item.params),
                None if result is None else namer.convert(result),
            )
    return T.InterfaceSig(name, funcs, tuple(resources))


@dataclass(frozen=True)
class ComponentTypes:
    imports: dict[str, T.InterfaceSig]
    exports: dict[str, T.InterfaceSig]

    def export_named(self, unversioned: str) -> T.InterfaceSig | None:
        for sig in self.exports.values():
            if sig.unversioned == unversioned:
                return sig
        return None


def check_preamble(data: bytes, path: Path | str) -> None:
    if data[:8] == COMPONENT_PREAMBLE:
        return
    if data[:8] == CORE_PREAMBLE:
        raise NotAComponent(f"{path}: is a core WebAssembly module, not a component")
    if data[:4] == b"\x00asm":
        raise NotAComponent(f"{path}: WebAssembly binary of unknown version/layer {data[4:8].hex()}")
    raise NotAComponent(f"{path}: not a WebAssembly component (no \\0asm preamble)")


def read_types(component: wc.Component, engine: wasmtime.Engine) -> ComponentTypes:
    ctype = component.type
    imports: dict[str, T.InterfaceSig] = {}
    outer: dict[str, Any] = {}
    for name, ext in ctype.imports(engine).items():
        item = ext.ty
        if isinstance(item, wc.ComponentInstanceType):
            sig = _instance_sig(name, item, engine, outer)
            imports[name] = sig
            for k, v in item.exports(engine).items():
                if isinstance(v.ty, wc.ResourceType):
                    outer.setdefault(k, v.ty)
    items = ctype.exports(engine).items()
    exports = {name: _instance_sig(name, ext.ty, engine, outer, exported=True)
               for name, ext in items if isinstance(ext.ty, wc.ComponentInstanceType)}
    # Functions a world exports itself, outside any interface (`export f: func(...)`), as one more instance.
    root = {name: ext.ty for name, ext in items if isinstance(ext.ty, wc.FuncType)}
    if root:
        exports[T.WORLD] = _items_sig(T.WORLD, root, outer, exported=True)
    return ComponentTypes(imports, exports)


def inspect_file(path: Path) -> ComponentTypes:
    """Types of the component at `path`, or `NotAComponent` with a one-line reason."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise NotAComponent(f"{path}: cannot read: {e.strerror}") from None
    check_preamble(data, path)
    engine = wasmtime.Engine()
    try:
        component = wc.Component(engine, data)
    except wasmtime.WasmtimeError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else "invalid"
        raise NotAComponent(f"{path}: not a valid component: {first}") from None
    return read_types(component, engine)


@functools.cache  # every instance of a guest asks again; the answer is read-only
def types_for(path: Path, sha256: str) -> ComponentTypes:
    """`inspect_file`, remembered on disk by the component's sha256 (reading types compiles it)."""
    import json
    import os

    from .paths import cache_dir
    from .types import sig_from_json, sig_to_json

    cached = cache_dir("types") / f"{sha256}.v3.json"  # v3: the world's own functions; exports' own resources
    if cached.exists():
        j = json.loads(cached.read_text())
        return ComponentTypes({k: sig_from_json(v) for k, v in j["imports"].items()},
                              {k: sig_from_json(v) for k, v in j["exports"].items()})
    types = inspect_file(path)
    j = {"imports": {k: sig_to_json(v) for k, v in types.imports.items()},
         "exports": {k: sig_to_json(v) for k, v in types.exports.items()}}
    tmp = cached.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(j))
    tmp.replace(cached)
    return types


def guest_types(guest: Any) -> ComponentTypes:
    """The types of a GuestBuild's world: its own, or its types component's for a p1 bridge module."""
    if guest.types_path is None:
        return types_for(guest.path, guest.sha256)
    return _types_component(guest.types_path)


@functools.cache
def _types_component(path: Path) -> ComponentTypes:
    import hashlib

    return types_for(path, hashlib.sha256(path.read_bytes()).hexdigest())
