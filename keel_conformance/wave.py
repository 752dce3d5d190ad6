"""WAVE-style text for WIT values, always read against a WIT type.

Follows the WebAssembly Value Encoding (`"abc"`, `'c'`, `[1, 2]`, `(1, "a")`,
`{a: 1}`, `some(5)`, `none`, `ok(3)`, `err(no-such-key)`, `{read, write}`,
`nan`, `-inf`), plus two extensions that scenario tables need:

- `_` in an expected value matches anything (an error message, an id);
- `$name` stands for a value a scenario prepared (a 1 MiB blob, a handle).
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from . import types as T
from .values import ANY, Err, Ok, Resource, Some, Variant


class WaveError(ValueError):
    """Text that is not a value of the expected type; says where and why."""


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<char>'(?:[^'\\]|\\.|\\u\{[0-9a-fA-F]+\})+')
    | (?P<number>-?(?:inf|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?))
    | (?P<var>\$[A-Za-z_][A-Za-z0-9_-]*)
    | (?P<ident>%?[a-z][a-z0-9]*(?:-[a-z0-9]+)*)
    | (?P<wild>_)
    | (?P<punct>[\[\](){},:])
    )""",
    re.VERBOSE,
)

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "0": "\0"}


def _unescape(body: str, where: int) -> str:
    out: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        nxt = body[i + 1 : i + 2]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt == "u" and body[i + 2 : i + 3] == "{":
            end = body.index("}", i)
            cp = int(body[i + 3 : end], 16)
            if 0xD800 <= cp <= 0xDFFF or cp > 0x10FFFF:
                raise WaveError(f"at {where}: \\u{{{cp:x}}} is not a Unicode scalar value")
            out.append(chr(cp))
            i = end + 1
        else:
            raise WaveError(f"at {where}: unknown escape \\{nxt}")
    return "".join(out)


class _Parser:
    def __init__(self, text: str, variables: Mapping[str, Any]) -> None:
        self.text = text
        self.vars = variables
        self.tokens: list[tuple[str, str, int]] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise WaveError(f"at {pos}: cannot read {text[pos:pos + 20]!r}")
            kind = m.lastgroup or ""
            self.tokens.append((kind, m.group(kind), m.start(kind)))
            pos = m.end()
        self.i = 0

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.i] if self.i < len(self.tokens) else ("end", "", len(self.text))

    def take(self, kind: str | None = None, value: str | None = None) -> tuple[str, str, int]:
        tok = self.peek()
        if (kind and tok[0] != kind) or (value is not None and tok[1] != value):
            want = value or kind
            raise WaveError(f"at {tok[2]}: expected {want}, found {tok[1] or 'end of text'!r}")
        self.i += 1
        return tok

    def done(self) -> None:
        tok = self.peek()
        if tok[0] != "end":
            raise WaveError(f"at {tok[2]}: unexpected {tok[1]!r} after the value")

    def seq(self, close: str, item: Any) -> list[Any]:
        items: list[Any] = []
        while self.peek()[1] != close:
            items.append(item())
            if self.peek()[1] == ",":
                self.take("punct", ",")
            elif self.peek()[1] != close:
                tok = self.peek()
                raise WaveError(f"at {tok[2]}: expected ',' or {close!r}, found {tok[1] or 'end of text'!r}")
        self.take("punct", close)
        return items

    def value(self, ty: T.WitType) -> Any:
        kind, text, where = self.peek()
        if kind == "wild":
            self.take()
            return ANY
        if kind == "var":
            self.take()
            name = text[1:]
            if name not in self.vars:
                raise WaveError(f"at {where}: no value named ${name} was prepared")
            return self.vars[name]
        return _READERS[type(ty)](self, ty)

    def prim(self, ty: T.Prim) -> Any:
        kind, text, where = self.take()
        k = ty.kind
        if k == "bool":
            if text not in ("true", "false"):
                raise WaveError(f"at {where}: expected true or false, found {text!r}")
            return text == "true"
        if k in T.INT_BOUNDS:
            if kind != "number" or not re.fullmatch(r"-?\d+", text):
                raise WaveError(f"at {where}: expected an integer for {k}, found {text!r}")
            n = int(text)
            lo, hi = T.INT_BOUNDS[k]
            if not lo <= n <= hi:
                raise WaveError(f"at {where}: {n} is out of range for {k} [{lo}, {hi}]")
            return n
        if k in ("f32", "f64"):
            if kind == "ident" and text == "nan":
                return math.nan
            if kind != "number":
                raise WaveError(f"at {where}: expected a number for {k}, found {text!r}")
            return float(text)
        if k == "char":
            if kind != "char":
                raise WaveError(f"at {where}: expected a char literal, found {text!r}")
            c = _unescape(text[1:-1], where)
            if len(c) != 1:
                raise WaveError(f"at {where}: a char holds one scalar value, found {c!r}")
            return c
        if kind != "string":
            raise WaveError(f"at {where}: expected a string literal, found {text!r}")
        return _unescape(text[1:-1], where)

    def list_(self, ty: T.ListT) -> Any:
        self.take("punct", "[")
        items = self.seq("]", lambda: self.value(ty.element))
        if ty.element == T.Prim("u8") and ANY not in items:
            return bytes(items)
        return items

    def record(self, ty: T.RecordT) -> Any:
        _, _, where = self.take("punct", "{")
        fields = dict(ty.fields)
        got: dict[str, Any] = {}

        def field() -> None:
            _, name, at = self.take("ident")
            name = name.lstrip("%")
            if name not in fields:
                raise WaveError(f"at {at}: no field {name!r}; fields are {', '.join(fields)}")
            if name in got:
                raise WaveError(f"at {at}: field {name!r} given twice")
            self.take("punct", ":")
            got[name] = self.value(fields[name])

        self.seq("}", field)
        out: dict[str, Any] = {}
        for name, fty in ty.fields:
            if name in got:
                out[name] = got[name]
            elif isinstance(fty, T.OptionT):
                out[name] = None
            else:
                raise WaveError(f"at {where}: record is missing field {name!r}")
        return out

    def cased(self, cases: tuple[tuple[str, T.WitType | None], ...], what: str) -> tuple[str, Any]:
        _, name, where = self.take("ident")
        name = name.lstrip("%")
        table = dict(cases)
        if name not in table:
            raise WaveError(f"at {where}: {name!r} is not a case of this {what}; cases are {', '.join(table)}")
        payload_ty = table[name]
        if payload_ty is None:
            if self.peek()[1] == "(":
                raise WaveError(f"at {where}: case {name!r} has no payload")
            return name, None
        if self.peek()[1] != "(":
            raise WaveError(f"at {where}: case {name!r} needs a payload: {name}(...)")
        self.take("punct", "(")
        payload = self.value(payload_ty)
        self.take("punct", ")")
        return name, payload

    def variant(self, ty: T.VariantT) -> Any:
        return Variant(*self.cased(ty.cases, "variant"))

    def enum(self, ty: T.EnumT) -> Any:
        return Variant(self.cased(tuple((n, None) for n in ty.names), "enum")[0])

    def option(self, ty: T.OptionT) -> Any:
        name, payload = self.cased((("none", None), ("some", ty.payload)), "option")
        return None if name == "none" else Some(payload)

    def result(self, ty: T.ResultT) -> Any:
        name, payload = self.cased((("ok", ty.ok), ("err", ty.err)), "result")
        return Ok(payload) if name == "ok" else Err(payload)

    def flags(self, ty: T.FlagsT) -> Any:
        self.take("punct", "{")

        def flag() -> str:
            _, name, where = self.take("ident")
            if name not in ty.names:
                raise WaveError(f"at {where}: {name!r} is not a flag; flags are {', '.join(ty.names)}")
            return name

        return frozenset(self.seq("}", flag))

    def handle(self, ty: T.OwnT | T.BorrowT) -> Any:
        tok = self.peek()
        raise WaveError(f"at {tok[2]}: a {ty.resource} handle cannot be written as text; use a $name")


def _tuple(p: _Parser, ty: T.TupleT) -> tuple[Any, ...]:
    _, _, where = p.take("punct", "(")
    items: list[Any] = []

    def item() -> Any:
        if len(items) >= len(ty.elements):
            raise WaveError(f"at {p.peek()[2]}: tuple has only {len(ty.elements)} elements")
        v = p.value(ty.elements[len(items)])
        items.append(v)
        return v

    p.seq(")", item)
    if len(items) != len(ty.elements):
        raise WaveError(f"at {where}: expected {len(ty.elements)} elements, found {len(items)}")
    return tuple(items)


_READERS: dict[type, Any] = {
    T.Prim: _Parser.prim,
    T.ListT: _Parser.list_,
    T.TupleT: _tuple,
    T.RecordT: _Parser.record,
    T.VariantT: _Parser.variant,
    T.EnumT: _Parser.enum,
    T.OptionT: _Parser.option,
    T.ResultT: _Parser.result,
    T.FlagsT: _Parser.flags,
    T.OwnT: _Parser.handle,
    T.BorrowT: _Parser.handle,
}


def parse(text: str, ty: T.WitType, variables: Mapping[str, Any] | None = None) -> Any:
    """Reads one value of type `ty`; raises `WaveError` saying where it went wrong."""
    p = _Parser(text, variables or {})
    v = p.value(ty)
    p.done()
    return v


def parse_args(text: str, sig: T.FuncSig, variables: Mapping[str, Any] | None = None) -> list[Any]:
    """Reads an argument list `(a, b)` for `sig`."""
    p = _Parser(text, variables or {})
    args = list(_tuple(p, sig.params_type))
    p.done()
    return args


def _quote(s: str, q: str) -> str:
    out = []
    for c in s:
        if c == "\\" or c == q:
            out.append("\\" + c)
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif c == "\r":
            out.append("\\r")
        elif ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0:
            out.append(f"\\u{{{ord(c):x}}}")
        else:
            out.append(c)
    return q + "".join(out) + q


def format(value: Any, ty: T.WitType | None = None, *, brief: bool = False) -> str:  # noqa: A001
    """Writes `value` as WAVE text. `brief` shortens long lists and strings for messages."""
    if value is ANY:
        return "_"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        if isinstance(ty, T.Prim) and ty.kind == "char":
            return _quote(value, "'")
        if brief and len(value) > 80:
            return _quote(value[:60], '"') + f"…({len(value)} chars)"
        return _quote(value, '"')
    if isinstance(value, (bytes, bytearray, list)):
        elem = ty.element if isinstance(ty, T.ListT) else None
        items = list(value)
        more = ""
        if brief and len(items) > 16:
            more = f", …({len(items)} items)"
            items = items[:8]
        return "[" + ", ".join(format(v, elem, brief=brief) for v in items) + more + "]"
    if isinstance(value, tuple):
        elems = ty.elements if isinstance(ty, T.TupleT) else (None,) * len(value)
        return "(" + ", ".join(format(v, t, brief=brief) for v, t in zip(value, elems, strict=True)) + ")"
    if isinstance(value, dict):
        ftypes = dict(ty.fields) if isinstance(ty, T.RecordT) else {}
        return "{" + ", ".join(f"{k}: {format(v, ftypes.get(k), brief=brief)}" for k, v in value.items()) + "}"
    if isinstance(value, frozenset):
        order = list(ty.names) if isinstance(ty, T.FlagsT) else sorted(value)
        return "{" + ", ".join(n for n in order if n in value) + "}"
    if isinstance(value, Variant):
        if value.payload is None:
            return value.case
        pty = dict(ty.cases).get(value.case) if isinstance(ty, T.VariantT) else None
        return f"{value.case}({format(value.payload, pty, brief=brief)})"
    if value is None:
        return "none"
    if isinstance(value, Some):
        return f"some({format(value.value, ty.payload if isinstance(ty, T.OptionT) else None, brief=brief)})"
    if isinstance(value, (Ok, Err)):
        name = "ok" if isinstance(value, Ok) else "err"
        pty = (ty.ok if name == "ok" else ty.err) if isinstance(ty, T.ResultT) else None
        if value.value is None and not isinstance(pty, T.OptionT):
            return name
        return f"{name}({format(value.value, pty, brief=brief)})"
    if isinstance(value, Resource):
        return f"<{value.type} #{value.rep}>"
    return repr(value)
