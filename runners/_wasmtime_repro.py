"""A finding's reproduction on wasmtime-py alone, the wasmtime column's own runtime, without the suite.

The wasmtime CLI answers WASI imports only, and `--invoke` cannot make a resource. A wasmtime-py
script can do what the column did: link WASI with nothing preopened, answer every other import with
the reference host's answers in order, and call the export (or live a resource's life) under the same
deadline and memory limit. Arguments and answers are written as wasmtime-py's own values, made by the
column's converter, so the script needs neither the seed nor the suite. The column runs wasmtime-py
with one patch (`_wasmtime_values.PATCH`); the script carries the same functions, verbatim.
"""
from __future__ import annotations

import inspect
import math
from typing import Any

import wasmtime
import wasmtime.component as wc

from keel_conformance import types as T
from keel_conformance.types import WORLD

from . import _wasmtime_values as wv
from .protocol import Reproduction

SCRIPT = "repro-wasmtime.py"


def literal(v: Any) -> str:
    """A wasmtime-py component value as Python source."""
    if v is None or isinstance(v, (bool, int, str, bytes)):
        return repr(v)
    if isinstance(v, float):
        return f"float({str(v)!r})" if math.isnan(v) or math.isinf(v) else repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(literal(x) for x in v) + "]"
    if isinstance(v, tuple):
        return "(" + "".join(f"{literal(x)}, " for x in v) + ")"
    if isinstance(v, (set, frozenset)):
        return "{" + ", ".join(repr(x) for x in sorted(v)) + "}" if v else "set()"
    if isinstance(v, wc.Record):
        return "record({" + ", ".join(f"{k!r}: {literal(x)}" for k, x in vars(v).items()) + "})"
    if isinstance(v, wc.Variant):
        return f"wc.Variant({v.tag!r}, {literal(v.payload)})"
    if isinstance(v, wc.ResourceHost):
        return f"wc.ResourceHost.{'own' if v.owned else 'borrow'}({v.rep}, {v.type})"
    raise TypeError(f"no Python source for {type(v).__name__}")


def record(fields: dict[str, Any]) -> Any:
    """A wasmtime-py record; its field names are WIT's, dashes and all."""
    r = wc.Record()
    for k, v in fields.items():
        setattr(r, k, v)
    return r


def show(v: Any) -> str:
    """A wasmtime-py value as the script prints it: wasmtime-py's own shapes (an untagged option or
    result is its payload, a payload-less case None), sets in order, so that equal values print alike."""
    if isinstance(v, wc.Record):
        return "{" + ", ".join(f"{k}: {show(x)}" for k, x in vars(v).items()) + "}"
    if isinstance(v, wc.Variant):
        return v.tag if v.payload is None else f"{v.tag}({show(v.payload)})"
    if isinstance(v, list):
        return "[" + ", ".join(show(x) for x in v) + "]"
    if isinstance(v, tuple):
        return "(" + ", ".join(show(x) for x in v) + ")"
    if isinstance(v, (set, frozenset)):
        return "{" + ", ".join(sorted(show(x) for x in v)) + "}"
    if isinstance(v, wc.ResourceAny):
        return "handle"
    if isinstance(v, wc.ResourceHost):
        return f"resource {v.type}#{v.rep}"
    return repr(v)


def _funcs(itype: Any, engine: wasmtime.Engine) -> dict[str, Any]:
    return {n: e.ty for n, e in itype.exports(engine).items() if isinstance(e.ty, wc.FuncType)}


def script(r: Reproduction, component: wc.Component, engine: wasmtime.Engine, version: str) -> str:
    """The script's text. Host resources get the numbers the column gives them: one per imported
    resource, in the component's import order."""
    ctype = component.type
    imports: dict[str, dict[str, Any]] = {}
    import_funcs: dict[str, dict[str, Any]] = {}
    resource_ids: dict[str, int] = {}
    for name, ext in ctype.imports(engine).items():
        if name.startswith("wasi:"):
            continue
        items = {k: e.ty for k, e in ext.ty.exports(engine).items()}
        rs = [k for k, t in items.items() if isinstance(t, wc.ResourceType)]
        for k in rs:
            resource_ids[k] = len(resource_ids) + 1
        import_funcs[name] = {k: t for k, t in items.items() if isinstance(t, wc.FuncType)}
        imports[name] = {"resources": {k: resource_ids[k] for k in rs}, "funcs": sorted(import_funcs[name])}
    conv = wv.Converter(resource_ids, None)
    answers = []
    for iface, func, value in r.given:
        result = import_funcs[iface][func].result
        shown = "None" if result is None else literal(conv.to_wasm(result, value))
        answers.append(f"    ({iface!r}, {func!r}, lambda: {shown}),")
    top = ctype.exports(engine)
    funcs = (_funcs(ctype, engine) if r.exported.name == WORLD else _funcs(top[r.exported.name].ty, engine))
    steps = []
    for label, name, f, args in r.steps:
        if f is None:  # [resource-drop]: every live handle, in the order made
            steps += ["    for n, h in list(live):",
                      "        step('drop' if n == 0 else f'drop #{n}', lambda h=h: h.drop(store))"]
            continue
        method = name.startswith("[method]")
        params = [t for _, t in funcs[name].params][1 if method else 0:]
        wit = f.params[1 if method else 0:]
        shown = ", ".join(f"pick(held, {a}, {isinstance(w, T.OwnT)})"
                          if T.handle_of(w, r.session)
                          else literal(conv.to_wasm(t, a)) for t, (_, w), a in zip(params, wit, args, strict=True))
        if method:
            steps.append(f"    step({label!r}, lambda: method({name!r}, lambda held: [{shown}]))")
        elif name.startswith("[constructor]"):
            steps.append(f"    step({label!r}, lambda: keep(export({name!r})(store, {shown})))")
        else:
            steps.append(f"    step({label!r}, lambda: export({name!r})(store, {shown}))")
    patch = "\n\n".join(inspect.getsource(f) for f in (wv._tagged_fixed, wv._tagged_walk, wv._add_classes_fixed))
    helpers = "\n\n".join(inspect.getsource(f) for f in (record, show))
    export = None if r.exported.name == WORLD else r.exported.name
    return f'''"""{r.title}

Reproduces a keel-conformance finding with wasmtime-py alone. In this directory:
    pip install wasmtime=={version}
    python3 {SCRIPT}
The guest's imports get the answers the reference runtime's host gave, in the same order; WASI has
nothing of this machine preopened, as in the suite's wasmtime column.
"""
from __future__ import annotations

import importlib.metadata
import threading

import wasmtime
import wasmtime.component as wc
import wasmtime.component._types as _wt

# The suite's wasmtime column runs wasmtime-py with this patch ({wv.PATCH}),
# so a host can return err from result<option<T>, E> and option<option<T>> keeps some(none).
_NONE = type(None)


{patch}

_wt.VariantLikeType._tagged = _tagged_fixed
_wt.VariantLikeType.add_classes = _add_classes_fixed

if importlib.metadata.version("wasmtime") != {version!r}:
    print(f"note: the finding came from wasmtime-py {version}; this is {{importlib.metadata.version('wasmtime')}}")

# The reference runtime's answers to the guest's import calls, in order.
ANSWERS = [
{chr(10).join(answers)}
]
HOSTS = {imports!r}
EXPORT = {export!r}
DEADLINE_S = {r.limits.call_timeout_s!r}
TICK_S = 0.01


{helpers}

asked = []
served = 0


class HostAnswers(Exception):
    pass


def held(v):
    """A host resource's handle as the host holds it: a borrow must be let go before the call ends."""
    if isinstance(v, wc.ResourceAny):
        return v.to_host(store)
    if isinstance(v, (list, tuple)):
        return type(v)(held(x) for x in v)
    if isinstance(v, wc.Variant):
        return wc.Variant(v.tag, held(v.payload))
    if isinstance(v, wc.Record):
        return record({{k: held(x) for k, x in vars(v).items()}})
    return v


def answer(iface, func, args):
    global served
    args = [held(a) for a in args]
    asked.append(f"{{iface}}#{{func}}({{', '.join(show(a) for a in args)}})")
    a = ANSWERS[served] if served < len(ANSWERS) else None
    served += 1
    if a is None or a[:2] != (iface, func):
        wanted = f"{{a[0]}}#{{a[1]}}" if a else "nothing more"
        raise HostAnswers(f"the guest asked {{iface}}#{{func}} as import call {{served}}, "
                           f"where the reference runtime's guest asked {{wanted}}")
    return a[2]()


def link(traps):
    linker = wc.Linker(engine)
    linker.add_wasip2()
    for name, host in HOSTS.items():
        with linker.root() as root, root.add_instance(name) as inst:
            for rname, rid in host["resources"].items():
                inst.add_resource(rname, wc.ResourceType.host(rid),
                                  lambda _store, rep, n=f"{{name}}#[resource-drop]{{rname}}": asked.append(f"{{n}}({{rep}})"))
            for f in host["funcs"]:
                inst.add_func(f, lambda _store, *args, n=name, f=f: answer(n, f, args))
    if traps:  # WASI the column does not provide (wasi:http): every use traps
        linker.define_unknown_imports_as_traps(component)
    return linker


def tick():
    """Advances the epoch, so the deadline counts wall-clock time."""
    while not threading.Event().wait(TICK_S):
        engine.increment_epoch()


config = wasmtime.Config()
config.epoch_interruption = True
engine = wasmtime.Engine(config)
threading.Thread(target=tick, daemon=True).start()
component = wc.Component.from_file(engine, "{r.component}")
store = wasmtime.Store(engine)
store.set_wasi(wasmtime.WasiConfig())
store.set_limits(memory_size={r.limits.memory_bytes})
store.set_epoch_deadline(int(DEADLINE_S / TICK_S))
try:
    instance = link(False).instantiate(store, component)
except wasmtime.WasmtimeError as e:
    if "matching implementation was not found" not in str(e):
        raise
    instance = link(True).instantiate(store, component)
where = None if EXPORT is None else instance.get_export_index(store, EXPORT)


def export(name):
    return instance.get_func(store, instance.get_export_index(store, name, where))


class Ended(Exception):
    pass


# A resource's life, as the suite lives it: its live handles in the order made, numbered from 0. A method's
# `self` is the first; a handle argument is the live one at its position modulo how many are live, and an
# `own` one leaves them; at the end every live handle is dropped.
RESOURCE = {r.session!r}
live = []
made = 0


class NoLive(Exception):
    pass


def keep(v):
    global made
    if isinstance(v, wc.ResourceAny):
        live.append((made, v))
        made += 1
    elif isinstance(v, (list, tuple)):
        for x in v:
            keep(x)
    elif isinstance(v, wc.Record):
        for x in vars(v).values():
            keep(x)
    elif isinstance(v, wc.Variant):
        keep(v.payload)
    return v


def pick(held, k, own):
    if not held:
        raise NoLive
    i = k % len(held)
    h = held[i][1]
    if own:
        del held[i]
    return h


def method(name, args_of):
    if not live:
        raise NoLive
    held = list(live)
    self = held[0][1]
    args = args_of(held)
    live[:] = held
    return keep(export(name)(store, self, *args))


def step(label, f):
    """One export call under the deadline: what it returned, or its trap in wasmtime's words."""
    store.set_epoch_deadline(int(DEADLINE_S / TICK_S))
    try:
        out = f()
    except NoLive:
        print(f"{{label}}: no live {{RESOURCE}}")
        return None
    except HostAnswers as e:  # the guest asked something else than on the reference runtime
        print(f"{{label}}: {{e}}")
        raise Ended from None
    except (wasmtime.Trap, wasmtime.WasmtimeError) as e:
        causes = [ln.strip() for ln in str(e).splitlines() if ln.strip().startswith("wasm trap:")]
        print(f"{{label}}: trapped: {{causes[-1] if causes else str(e).splitlines()[0]}}")
        raise Ended from None
    print(label if out is None or isinstance(out, wc.ResourceAny) else f"{{label}}: returned {{show(out)}}")
    return out


try:
{chr(10).join(steps)}
except Ended:
    pass
print(f"import calls: {{'; '.join(asked) if asked else 'none'}}")
'''
