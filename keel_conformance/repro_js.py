"""A finding's reproduction on a JavaScript engine, without the suite: one script for jco's output.

An upstream maintainer has jco and an engine, not keel-conformance. The script passes the shrunk
call's arguments as jco's own JavaScript values and answers the guest's imports with exactly the
answers the reference runtime gave it, in the same order, so neither the seed nor the suite is
needed to see each engine's answer. WASI comes from the preview2 shim with nothing preopened, as in
the suite's jco columns.
"""
from __future__ import annotations

import json
import math
from typing import Any

from runners.protocol import Reproduction

from . import types as T
from .paths import npm_version
from .values import Err, Ok, Resource, Some, Variant

SCRIPT = "repro-jco.mjs"
TRANSPILE = "npx jco transpile component.wasm --instantiation sync --name guest --no-typescript -o jco-out"


def setup() -> list[str]:
    """The commands that make the script runnable, with the jco and shim versions the suite ran."""
    pinned = [f"{p}@{v}" if (v := npm_version(p)) else p
              for p in ("@bytecodealliance/jco", "@bytecodealliance/preview2-shim")]
    return [f"npm install --no-save {' '.join(pinned)}", TRANSPILE]


def camel(name: str) -> str:
    head, *rest = name.split("-")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def pascal(name: str) -> str:
    c = camel(name)
    return c[:1].upper() + c[1:]


def js(v: Any, ty: T.WitType) -> str:
    """`v` (a neutral value of `ty`) as a JavaScript expression of jco's representation."""
    if isinstance(ty, T.Prim):
        if ty.kind == "bool":
            return "true" if v else "false"
        if ty.kind in ("s64", "u64"):
            return f"{v}n"
        if ty.kind in ("f32", "f64"):
            if math.isnan(v):
                return "NaN"
            if math.isinf(v):
                return "Infinity" if v > 0 else "-Infinity"
            return "-0" if v == 0 and math.copysign(1, v) < 0 else repr(float(v))
        if ty.kind in ("char", "string"):
            return json.dumps(v)
        return str(int(v))
    if isinstance(ty, T.ListT):
        if ty.element == T.Prim("u8"):
            return f"new Uint8Array([{', '.join(str(b) for b in v)}])"
        return "[" + ", ".join(js(x, ty.element) for x in v) + "]"
    if isinstance(ty, T.RecordT):
        return "{ " + ", ".join(f"{camel(n)}: {js(v[n], t)}" for n, t in ty.fields) + " }"
    if isinstance(ty, T.TupleT):
        return "[" + ", ".join(js(x, t) for x, t in zip(v, ty.elements, strict=True)) + "]"
    if isinstance(ty, T.VariantT):
        assert isinstance(v, Variant)
        payload = dict(ty.cases)[v.case]
        return f"{{ tag: {json.dumps(v.case)}" + (f", val: {js(v.payload, payload)} }}" if payload else " }")
    if isinstance(ty, T.EnumT):
        return json.dumps(v.case if isinstance(v, Variant) else v)
    if isinstance(ty, T.OptionT):
        if isinstance(ty.payload, T.OptionT):  # jco nests option<option<_>> as tagged objects
            return '{ tag: "none" }' if v is None else f'{{ tag: "some", val: {js(v.value, ty.payload)} }}'
        return "undefined" if v is None else js(v.value if isinstance(v, Some) else v, ty.payload)
    if isinstance(ty, T.ResultT):
        tag, payload = ("ok", ty.ok) if isinstance(v, Ok) else ("err", ty.err)
        return f'{{ tag: "{tag}"' + (f", val: {js(v.value, payload)} }}" if payload else " }")
    if isinstance(ty, T.FlagsT):
        return "{ " + ", ".join(f"{camel(n)}: {'true' if n in v else 'false'}" for n in ty.names) + " }"
    if isinstance(ty, (T.OwnT, T.BorrowT)):
        assert isinstance(v, Resource)
        return f"handle({json.dumps(ty.resource)}, {v.rep})"
    raise TypeError(f"no JavaScript form for {type(ty).__name__}")


def _answer(value: Any, sig: T.FuncSig) -> str:
    """What a host function gives back in jco's convention: a `result` is returned (ok) or thrown (err)."""
    if sig.result is None:
        return "undefined"
    if isinstance(sig.result, T.ResultT):
        if isinstance(value, Err):
            return f"fail({js(value.value, sig.result.err) if sig.result.err else 'undefined'})"
        return js(value.value, sig.result.ok) if sig.result.ok else "undefined"
    return js(value, sig.result)


def _steps(r: Reproduction) -> list[str]:
    """The export calls as `attempt(...)` lines, in jco's shapes: a function, a static method of the
    resource's class, or a resource's life over the live handles the script keeps as the suite does."""
    lines = []
    for label, name, f, args in r.steps:
        kind, _, rest = name[1:].partition("]") if name.startswith("[") else ("", "", name)
        resource, _, method = rest.partition(".")
        if f is None:  # [resource-drop]: every live handle, in the order made
            lines.append('for (const { n, h } of [...live]) attempt(n ? `drop #${n}` : "drop", '
                         '() => { h[Symbol.dispose || Symbol.for("dispose")](); }, false);')
            continue
        params = f.params[1:] if kind == "method" else f.params
        shown = ", ".join(f"pick(held, {a}, {str(isinstance(t, T.OwnT)).lower()})" if T.handle_of(t, r.session)
                          else js(a, t) for a, (_, t) in zip(args, params, strict=True))
        if kind == "constructor":
            lines.append(f"attempt({json.dumps(label)}, () => {{ keep(new api[{json.dumps(pascal(rest))}]({shown})); }}, false);")
            continue
        returns = str(isinstance(f.result, T.ResultT)).lower()
        if kind == "method":
            lines.append(f"attempt({json.dumps(label)}, () => method({json.dumps(camel(method))}, (held) => [{shown}]), {returns});")
            continue
        where = (f"api[{json.dumps(pascal(resource))}][{json.dumps(camel(method))}]" if kind == "static"
                 else f"api[{json.dumps(camel(name))}]")
        lines.append(f"attempt({json.dumps(label)}, () => {where}({shown}), {returns});")
    return lines


def script(r: Reproduction, browser: bool = False) -> str:
    """The standalone script: the import answers are the reference runtime's (`r.given`), in order. With
    `browser`, the same script for a browser's dedicated worker (BROWSER_WORKER, which BROWSER_LAUNCHER serves)."""
    answers = []
    for iface, func, value in r.given:
        fsig = r.imports[iface].funcs[func]
        answers.append(f"  [{json.dumps(iface)}, {json.dumps(func)}, () => {_answer(value, fsig)}],")
    hosts = {name: {"resources": list(s.resources), "funcs": sorted(s.funcs)} for name, s in r.imports.items()}
    steps_js = "\n".join(f"  {line}" for line in _steps(r))
    how = "\n".join(f"//   {s}" for s in setup())
    # jco puts a world's own functions on the instance itself, an interface under its name.
    resource = json.dumps(r.session)  # null when no resource lives here
    api = ("instance" if r.exported.name == T.WORLD else
           f"instance[{json.dumps(r.exported.name)}] ?? instance[camel({json.dumps(r.exported.unversioned.split('/')[-1])})]")
    return f"""// {r.title}
{_BROWSER_PRELUDE if browser else _node_prelude(how)}
const camel = (s) => s.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());
const pascal = (s) => camel(s).replace(/^./, (c) => c.toUpperCase());

// The reference runtime's answers to the guest's import calls, in order.
const ANSWERS = [
{chr(10).join(answers)}
];
const HOSTS = {json.dumps(hosts)};
const WASI = {json.dumps(list(r.wasi))};

const asked = [];
let next = 0;
function fail(payload) {{
  const e = new Error("host returned err");
  e.payload = payload;
  throw e;
}}
function answer(iface, func, args) {{
  asked.push(`${{iface}}#${{func}}(${{args.map(show).join(", ")}})`);
  const a = ANSWERS[next++];
  if (!a || a[0] !== iface || a[1] !== func) {{
    throw new Error(`the guest asked ${{iface}}#${{func}} as import call ${{next}}, where the reference runtime's guest asked ${{a ? a[0] + "#" + a[1] : "nothing more"}}`);
  }}
  return a[2]();
}}

const classes = {{}};
function handle(resource, rep) {{
  const obj = Object.create(classes[resource].prototype);
  obj.rep = rep;
  return obj;
}}
function host(iface, {{ resources, funcs }}) {{
  const ns = {{}};
  for (const r of resources) {{
    classes[r] = ns[pascal(r)] = class {{
      constructor(...args) {{ this.rep = answer(iface, `[constructor]${{r}}`, args).rep; }}
      [Symbol.dispose || Symbol.for("dispose")]() {{ asked.push(`${{iface}}#[resource-drop]${{r}}(${{this.rep}})`); }}
    }};
  }}
  for (const f of funcs) {{
    const m = f.match(/^\\[(method|static|constructor)\\]([^.]+)(?:\\.(.+))?$/);
    if (!m) ns[camel(f)] = (...args) => answer(iface, f, args);
    else if (m[1] === "method") classes[m[2]].prototype[camel(m[3])] = function (...args) {{ return answer(iface, f, [this, ...args]); }};
    else if (m[1] === "static") classes[m[2]][camel(m[3])] = (...args) => answer(iface, f, args);
  }}
  return ns;
}}

// WASI with nothing of this machine exposed, as in the suite's jco columns.
shim.filesystem._setPreopens?.({{}});
shim.cli._setEnv?.({{}});
shim.cli._setArgs?.([]);
shim.cli._setCwd?.("/");
shim.sockets._denyTcp?.();
shim.sockets._denyUdp?.();
shim.sockets._denyDnsLookup?.();
// What the suite's columns do not provide (wasi:http, say) traps on every use.
function trapping(name) {{
  const fail = () => {{ throw new Error(`${{name}} is not provided to guests`); }};
  return new Proxy({{}}, {{
    get: () => new Proxy(class {{}}, {{ construct: fail, apply: fail, get: (t, p) => (p in t ? t[p] : fail) }}),
  }});
}}
const PROVIDED = new Set(["cli", "clocks", "filesystem", "io", "random", "sockets"]);
const imports = {{}};
for (const name of WASI) {{
  const [pkg, iface] = name.split(":")[1].split("/");
  imports[name] = (PROVIDED.has(pkg) && shim[pkg][camel(iface)]) || trapping(name);
}}
for (const [name, h] of Object.entries(HOSTS)) imports[name.split("@")[0]] = host(name, h);

const instance = instantiate((p) => new WebAssembly.Module(coreBytes(p)), imports);
const api = {api};
class Ended extends Error {{}}
class NoLive extends Error {{}}
// A resource's life, as the suite lives it: its live handles in the order made, numbered from 0. A method's
// `self` is the first; a handle argument is the live one at its position modulo how many are live, and an
// `own` one leaves them; at the end every live handle is dropped.
const RESOURCE = {resource};
let live = [];
let made = 0;
function keep(v) {{
  if (RESOURCE && v instanceof api[pascal(RESOURCE)]) live.push({{ n: made++, h: v }});
  else if (Array.isArray(v)) v.forEach(keep);
  else if (v && typeof v === "object" && !ArrayBuffer.isView(v)) Object.values(v).forEach(keep);
  return v;
}}
function pick(held, k, own) {{
  if (!held.length) throw new NoLive();
  const i = k % held.length;
  const {{ h }} = held[i];
  if (own) held.splice(i, 1);
  return h;
}}
function method(name, argsOf) {{
  if (!live.length) throw new NoLive();
  const held = [...live];
  const self = held[0].h;
  const args = argsOf(held);
  live = held;
  return keep(self[name](...args));
}}
// One export call: what it returned (a `result`'s err is thrown by jco as a ComponentError), or its trap.
function attempt(label, f, isResult) {{
  try {{
    const out = f();
    say(out === undefined ? label : `${{label}}: returned ${{show(out)}}`);
  }} catch (e) {{
    if (e instanceof NoLive) return say(`${{label}}: no live ${{RESOURCE}}`);
    if (isResult && e?.constructor?.name === "ComponentError") return say(`${{label}}: returned err ${{show(e.payload)}}`);
    say(`${{label}}: trapped: ${{e?.name}}: ${{e?.message}}`);
    throw new Ended();
  }}
}}
try {{
{steps_js}
}} catch (e) {{
  if (!(e instanceof Ended)) throw e;
}}
say(`import calls: ${{asked.length ? asked.join("; ") : "none"}}`);
{"done();" if browser else ""}"""


def _node_prelude(how: str) -> str:
    return f"""// Reproduces a keel-conformance finding with jco alone. In this directory:
{how}
//   node {SCRIPT}        (or: deno run -A {SCRIPT}, bun {SCRIPT})
// The guest's imports get the answers the reference runtime's host gave, in the same order.
import {{ readFileSync }} from "node:fs";
import {{ inspect }} from "node:util";
import * as shim from "@bytecodealliance/preview2-shim";
import {{ instantiate }} from "./jco-out/guest.js";

const show = (v) => inspect(v, {{ depth: null, breakLength: Infinity }});
const say = console.log;
const coreBytes = (p) => readFileSync(new URL(`./jco-out/${{p}}`, import.meta.url));"""


BROWSER_WORKER = "repro-browser-worker.mjs"
BROWSER_LAUNCHER = "repro-browser.mjs"

# In a browser's dedicated worker, as the suite's browser columns run guests: the shim's browser build, the
# core modules fetched synchronously (a worker may compile them in place), and the lines handed back at the end.
_BROWSER_PRELUDE = f"""// {SCRIPT} for a browser's dedicated worker; {BROWSER_LAUNCHER} serves this directory and runs it.
import * as shim from "/shim/index.js";
import {{ instantiate }} from "/jco-out/guest.js";

function show(v) {{
  if (typeof v === "bigint") return `${{v}}n`;
  if (typeof v === "string") return JSON.stringify(v);
  if (v === undefined) return "undefined";
  if (ArrayBuffer.isView(v)) return `${{v.constructor.name}}(${{v.length}}) [ ${{Array.from(v).join(", ")}} ]`;
  if (Array.isArray(v)) return `[ ${{v.map(show).join(", ")}} ]`;
  if (v && typeof v === "object") {{
    const name = v.constructor && v.constructor !== Object ? `${{v.constructor.name}} ` : "";
    return `${{name}}{{ ${{Object.entries(v).map(([k, x]) => `${{k}}: ${{show(x)}}`).join(", ")}} }}`;
  }}
  return String(v);
}}
const lines = [];
const say = (line) => lines.push(line);
function request(method, path, body) {{
  const x = new XMLHttpRequest();
  x.open(method, path, false);
  x.responseType = "arraybuffer";
  x.send(body);
  if (x.status !== 200) throw new Error(`${{method}} ${{path}}: HTTP ${{x.status}}`);
  return x;
}}
const coreBytes = (p) => new Uint8Array(request("GET", `/jco-out/${{p}}`).response);
const done = () => request("POST", "/done", JSON.stringify({{ lines }}));
self.addEventListener("error", (e) => request("POST", "/done", JSON.stringify({{ lines, error: String(e.message || "the worker failed") }})));"""


def browser_launcher() -> str:
    """A Node script with no dependencies that serves the finding's directory on loopback, starts the browser
    command it is given on a page whose dedicated worker runs BROWSER_WORKER, and prints what it printed."""
    return f"""// Runs {BROWSER_WORKER} in a browser's dedicated worker, as the suite's browser columns run guests,
// and prints what it printed. It needs jco's transpilation in ./jco-out and the preview2 shim in
// ./node_modules (the setup lines of README.md). In this directory:
//   node {BROWSER_LAUNCHER} BROWSER [FLAGS...]        (the line for each browser column in README.md)
// The page's address is appended to the browser's command; the browser is ended once the worker is done.
import {{ spawn }} from "node:child_process";
import {{ readFile }} from "node:fs/promises";
import {{ createServer }} from "node:http";
import {{ extname, join, normalize, sep }} from "node:path";
import {{ fileURLToPath }} from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const ROOTS = [["/shim/", join(here, "node_modules/@bytecodealliance/preview2-shim/dist/browser") + sep], ["/", here]];
const TYPES = {{ ".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm" }};
const PAGE = `<!doctype html><meta charset="utf-8"><script type="module">
const w = new Worker("/{BROWSER_WORKER}", {{ type: "module" }});
w.onerror = (e) => {{
  e.preventDefault();
  fetch("/done", {{ method: "POST", body: JSON.stringify({{ lines: [], error: e.message || "the worker failed to start" }}) }});
}};
</script>`;

let browser;
const result = await new Promise((resolve) => {{
  const server = createServer(async (req, res) => {{
    const path = decodeURIComponent(new URL(req.url, "http://localhost").pathname);
    if (req.method === "POST" && path === "/done") {{
      let body = "";
      for await (const chunk of req) body += chunk;
      res.end();
      resolve(JSON.parse(body));
      return;
    }}
    if (path === "/") {{
      res.writeHead(200, {{ "content-type": "text/html" }});
      res.end(PAGE);
      return;
    }}
    const [prefix, root] = ROOTS.find(([p]) => path.startsWith(p));
    const file = normalize(join(root, path.slice(prefix.length)));
    try {{
      if (!file.startsWith(root)) throw new Error("outside");
      const data = await readFile(file);
      res.writeHead(200, {{ "content-type": TYPES[extname(file)] ?? "application/octet-stream" }});
      res.end(data);
    }} catch {{
      res.writeHead(404);
      res.end();
    }}
  }});
  server.listen(0, "127.0.0.1", () => {{
    const [command, ...flags] = process.argv.slice(2);
    if (!command) {{
      resolve({{ lines: [], error: "usage: node {BROWSER_LAUNCHER} BROWSER [FLAGS...]" }});
      return;
    }}
    browser = spawn(command, [...flags, `http://127.0.0.1:${{server.address().port}}/`], {{ stdio: "ignore", detached: true }});
    browser.on("error", (e) => resolve({{ lines: [], error: `cannot start ${{command}}: ${{e.message}}` }}));
    browser.on("exit", (code, signal) => resolve({{ lines: [], error: `${{command}} ended (${{signal ?? code}}) before the worker was done` }}));
  }});
  setTimeout(() => resolve({{ lines: [], error: "the worker was not done within 120 s" }}), 120_000).unref();
}});
try {{
  if (browser?.pid) process.kill(-browser.pid, "SIGKILL");  // the browser and every process it started
}} catch {{}}
for (const line of result.lines) console.log(line);
if (result.error) {{
  console.error(result.error);
  process.exit(1);
}}
process.exit(0);
"""
