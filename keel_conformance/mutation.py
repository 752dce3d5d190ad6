"""Where a wrong guest can differ from a right one: mutation sites read off WIT types.

A site is one place in a function's result (a path through the type) and one
small change there. The operator set is the same for every function, so a
(function, operator) pair with no site in the result's type changes nothing
the interface can observe: that mutant is `equivalent`, decided from the
types alone and never built.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import types as T

# Each operator, and what it does to a value of the kinds it applies to.
OPERATORS = {
    "string-edit": "drop a string's last character (an empty one gains one)",
    "plus-one": "add one to a number (subtract one at its maximum)",
    "flip": "negate a bool",
    "drop-last": "drop a list's last element",
    "some-to-none": "turn some(_) into none",
    "other-case": "answer another case of an enum or variant (its payload the type's zero)",
    "other-flags": "toggle a flags value's first flag",
    "ok-to-err": "turn ok(_) into err of the declared error type",
}
INTS = frozenset({"s8", "s16", "s32", "s64", "u8", "u16", "u32", "u64", "f32", "f64"})


@dataclass(frozen=True)
class Site:
    function: str
    path: tuple[str, ...]  # steps: ok, err, some, each, field:NAME, case:NAME, elem:N
    operator: str
    type: dict  # the site's type in `types.to_json` form: what the guest-side code needs to build values

    @property
    def where(self) -> str:
        return show_path(self.path)

    @property
    def id(self) -> str:
        return f"{self.function}:{self.where}:{self.operator}"


def show_path(path: tuple[str, ...]) -> str:
    out = "result"
    for step in path:
        if step == "each":
            out += "[*]"
        elif step == "some":
            out += "?"
        elif step.startswith("elem:"):
            out += f".{step[5:]}"
        else:
            out += "." + step.split(":", 1)[-1]
    return out


def _zero_buildable(ty: T.WitType | None) -> bool:
    """Whether guest-side code can make this type's zero without knowing its binding's class names."""
    return ty is None or isinstance(ty, (T.Prim, T.ListT, T.OptionT))


def _walk(ty: T.WitType | None, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], str, T.WitType]]:
    if ty is None:
        return []
    out: list[tuple[tuple[str, ...], str, T.WitType]] = []
    if isinstance(ty, T.Prim):
        if ty.kind == "string":
            out.append((path, "string-edit", ty))
        elif ty.kind in INTS:
            out.append((path, "plus-one", ty))
        elif ty.kind == "bool":
            out.append((path, "flip", ty))
        return out
    if isinstance(ty, T.ListT):
        out.append((path, "drop-last", ty))
        out += _walk(ty.element, path + ("each",))
    elif isinstance(ty, T.RecordT):
        for name, ft in ty.fields:
            out += _walk(ft, path + (f"field:{name}",))
    elif isinstance(ty, T.TupleT):
        for i, et in enumerate(ty.elements):
            out += _walk(et, path + (f"elem:{i}",))
    elif isinstance(ty, T.OptionT):
        out.append((path, "some-to-none", ty))
        if not isinstance(ty.payload, T.OptionT):  # some(some(x)) needs bindings' own wrappers: not walked
            out += _walk(ty.payload, path + ("some",))
    elif isinstance(ty, T.EnumT):
        if len(ty.names) > 1:
            out.append((path, "other-case", ty))
    elif isinstance(ty, T.FlagsT):
        if ty.names:
            out.append((path, "other-flags", ty))
    elif isinstance(ty, T.VariantT):
        if len(ty.cases) > 1 and all(_zero_buildable(t) for _, t in ty.cases):
            out.append((path, "other-case", ty))
        for name, ct in ty.cases:
            out += _walk(ct, path + (f"case:{name}",))
    # results below the top level, resources: no site (bindings wrap them in classes of their own)
    return out


def sites(func: T.FuncSig) -> list[Site]:
    """Every mutation site of one exported function's result."""
    ty = func.result
    found: list[tuple[tuple[str, ...], str, T.WitType]] = []
    if isinstance(ty, T.ResultT):
        if _zero_buildable(ty.err) or isinstance(ty.err, T.VariantT) and all(_zero_buildable(t) for _, t in ty.err.cases):
            found.append(((), "ok-to-err", ty))
        found += _walk(ty.ok, ("ok",))
        if isinstance(ty.err, T.VariantT):
            # An error is judged by its case: what a payload says is the host's or the guest's own words,
            # which an interface seldom fixes (and a mirror's host never produces most cases at all).
            found += [(path, op, t) for path, op, t in _walk(ty.err, ("err",)) if path == ("err",)]
        else:
            found += _walk(ty.err, ("err",))
    else:
        found += _walk(ty, ())
    return [Site(func.name, path, op, T.to_json(t)) for path, op, t in found]


@dataclass(frozen=True)
class Equivalent:
    function: str
    operator: str
    reason: str


def plan(sig: T.InterfaceSig) -> tuple[list[Site], list[Equivalent]]:
    """The mutants of an interface: one per site, and the (function, operator) pairs with none."""
    all_sites: list[Site] = []
    equivalent: list[Equivalent] = []
    for name in sorted(sig.funcs):
        func = sig.funcs[name]
        found = sites(func)
        all_sites += found
        used = {s.operator for s in found}
        shown = T.wit_text(func.result) if func.result is not None else "nothing"
        for op in OPERATORS:
            if op not in used:
                equivalent.append(Equivalent(name, op, f"{name} returns {shown}: no value {op} can change"))
    return all_sites, equivalent
