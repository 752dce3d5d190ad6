// The component host's engine-agnostic half: values by WIT type, host imports
// served by the suite, WASI from the preview2 shim with nothing of the host
// exposed, and the conversation (init, instantiate, call). Each entry gives it
// a byte channel and what differs per engine family:
//   host.mjs            Node, Deno, Bun (locally and in Docker): two pipes or FIFOs
//   browser-worker.mjs  a browser's dedicated worker: synchronous XHR to the suite's loopback server
// Messages are framed as 4-byte big-endian length + JSON, both ways.

// io: {read(n) -> Uint8Array (1..n bytes; empty once the suite has closed the channel), write(bytes),
//      exit(code), shim, readCore(path) -> bytes, importGuest(init) -> module, engine, base64: {encode, decode}}
let io;
let shim;

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

function send(msg) {
  const body = utf8.encode(JSON.stringify(msg));
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  io.write(out);
}

function readExact(n) {
  const buf = new Uint8Array(n);
  let off = 0;
  while (off < n) {
    const got = io.read(n - off);
    if (got.length === 0) io.exit(0); // the suite closed the channel: we are done
    buf.set(got, off);
    off += got.length;
  }
  return buf;
}

function recv() {
  const n = new DataView(readExact(4).buffer).getUint32(0);
  return JSON.parse(fromUtf8.decode(readExact(n)));
}

// ---- names: jco's JavaScript spelling of WIT names --------------------------
const camel = (s) => s.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());
const pascal = (s) => camel(s).replace(/^./, (c) => c.toUpperCase());

// ---- values: wire JSON <-> jco's representation, by WIT type -----------------
const INT64 = new Set(["s64", "u64"]);
const FLOAT = new Set(["f32", "f64"]);

function floatIn(s) {
  if (s === "nan") return NaN;
  if (s === "inf") return Infinity;
  if (s === "-inf") return -Infinity;
  return Number(s);
}

function floatOut(x) {
  if (Number.isNaN(x)) return "nan";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  if (Object.is(x, -0)) return "-0.0";
  return String(x);
}

const isOptionLike = (ty) => ty && ty.k === "option";

function toJs(ty, v, ctx) {
  switch (ty.k) {
    case "prim":
      if (INT64.has(ty.t)) return BigInt(v);
      if (FLOAT.has(ty.t)) return floatIn(v);
      return v;
    case "list":
      if (ty.e.k === "prim" && ty.e.t === "u8") return io.base64.decode(v);
      return v.map((x) => toJs(ty.e, x, ctx));
    case "record": {
      const o = {};
      for (const [name, fty] of ty.f) {
        const x = toJs(fty, v[name], ctx);
        if (x !== undefined) o[camel(name)] = x;
      }
      return o;
    }
    case "tuple":
      return ty.e.map((t, i) => toJs(t, v[i], ctx));
    case "variant": {
      const pty = ty.c.find(([n]) => n === v.case)[1];
      return pty ? { tag: v.case, val: toJs(pty, v.payload, ctx) } : { tag: v.case };
    }
    case "enum":
      return v;
    case "option":
      if (isOptionLike(ty.p)) return v === null ? { tag: "none" } : { tag: "some", val: toJs(ty.p, v.some, ctx) };
      return v === null ? undefined : toJs(ty.p, v.some, ctx);
    case "result": {
      const tag = "ok" in v ? "ok" : "err";
      const pty = tag === "ok" ? ty.ok : ty.err;
      return pty ? { tag, val: toJs(pty, v[tag], ctx) } : { tag };
    }
    case "flags": {
      const o = {};
      for (const n of ty.n) o[camel(n)] = v.includes(n);
      return o;
    }
    case "own":
    case "borrow":
      return ctx.handle(ty.r, v.rep, ty.k);
  }
  throw new Error(`cannot convert into ${ty.k}`);
}

function fromJs(ty, v, ctx) {
  switch (ty.k) {
    case "prim":
      if (INT64.has(ty.t)) return String(v);
      if (FLOAT.has(ty.t)) return floatOut(v);
      return v;
    case "list":
      if (ty.e.k === "prim" && ty.e.t === "u8") return io.base64.encode(v);
      return Array.from(v, (x) => fromJs(ty.e, x, ctx));
    case "record": {
      const o = {};
      for (const [name, fty] of ty.f) o[name] = fromJs(fty, v[camel(name)], ctx);
      return o;
    }
    case "tuple":
      return ty.e.map((t, i) => fromJs(t, v[i], ctx));
    case "variant": {
      const pty = ty.c.find(([n]) => n === v.tag)[1];
      return pty ? { case: v.tag, payload: fromJs(pty, v.val, ctx) } : { case: v.tag };
    }
    case "enum":
      return v;
    case "option":
      if (isOptionLike(ty.p)) return v.tag === "none" ? null : { some: fromJs(ty.p, v.val, ctx) };
      return v === undefined || v === null ? null : { some: fromJs(ty.p, v, ctx) };
    case "result": {
      const pty = v.tag === "ok" ? ty.ok : ty.err;
      return { [v.tag]: pty ? fromJs(pty, v.val, ctx) : null };
    }
    case "flags":
      return ty.n.filter((n) => v[camel(n)]);
    case "own":
    case "borrow":
      return { resource: ty.r, rep: ctx.repOf(v, ty.r) };
  }
  throw new Error(`cannot convert from ${ty.k}`);
}

// ---- host imports served by the suite ---------------------------------------
class HostFailure extends Error {}

function rpc(msg) {
  send(msg);
  const reply = recv();
  if (reply.op === "host-error") throw new HostFailure(reply.message);
  return reply;
}

// A WIT function's `result` return crosses jco as "return ok / throw {payload: err}".
function deliver(sig, value, ctx) {
  if (!sig.result) return undefined;
  if (sig.result.k !== "result") return toJs(sig.result, value, ctx);
  if ("ok" in value) return sig.result.ok ? toJs(sig.result.ok, value.ok, ctx) : undefined;
  const err = new Error("host returned err");
  err.payload = sig.result.err ? toJs(sig.result.err, value.err, ctx) : undefined;
  throw err;
}

// Host resource classes by WIT name, shared with exports that take or return them.
const resourceClasses = {};
// The host's `[constructor]` of each resource, for a guest that makes one (jco calls `new Class(...)`).
const hostConstructors = {};

// A handle the host made: an instance without running the class's constructor, which is the guest's
// `[constructor]` call and goes to the host.
function hostHandle(r, rep) {
  const obj = Object.create(resourceClasses[r].prototype);
  obj.rep = rep;
  return obj;
}

function importObject(iface) {
  const ns = {};
  const classes = resourceClasses;
  const ctx = { handle: hostHandle, repOf: (obj) => obj.rep };
  for (const r of iface.resources) {
    const cls = class {
      constructor(...args) {
        if (!hostConstructors[r]) throw new TypeError(`resource ${r} has no constructor`);
        this.rep = hostConstructors[r](args).rep;
      }
      [Symbol.dispose || Symbol.for("dispose")]() {
        rpc({ op: "drop", iface: iface.name, resource: r, rep: this.rep });
      }
    };
    Object.defineProperty(cls, "name", { value: pascal(r) });
    classes[r] = cls;
    ns[pascal(r)] = cls;
  }
  for (const [fname, sig] of Object.entries(iface.funcs)) {
    const call = (args) => {
      const wire = sig.params.map(([, t], i) => fromJs(t, args[i], ctx));
      const reply = rpc({ op: "host", iface: iface.name, func: fname, args: wire });
      return deliver(sig, reply.value, ctx);
    };
    const m = fname.match(/^\[(method|static|constructor)\]([^.]+)(?:\.(.+))?$/);
    if (!m) {
      ns[camel(fname)] = (...args) => call(args);
    } else if (m[1] === "method") {
      classes[m[2]].prototype[camel(m[3])] = function (...args) {
        return call([this, ...args]);
      };
    } else if (m[1] === "static") {
      classes[m[2]][camel(m[3])] = (...args) => call(args);
    } else {
      hostConstructors[m[2]] = call;
    }
  }
  return ns;
}

// ---- WASI: the preview2 shim with nothing of the host exposed ----------------
// jco's glue wraps every export with `WebAssembly.promising` in a try/catch, falling back to the plain
// export where the engine has no JSPI. Engines without it (Node 20 and 22) render that TypeError's
// message by re-parsing the calling function — jco's instantiation generator, ~38,000 lines for a
// componentize-py guest — a dozen times per instance: ~350 ms of each scenario. A function that throws
// the same TypeError keeps the glue on the same path; the probe records it as a note.
function withoutJspiReparse() {
  if (typeof WebAssembly.promising === "undefined") {
    WebAssembly.promising = function promising() {
      throw new TypeError("WebAssembly.promising is not a function");
    };
  }
}

function isolate() {
  shim.filesystem._setPreopens?.({});
  shim.cli._setEnv?.({});
  shim.cli._setArgs?.([]);
  shim.cli._setCwd?.("/");
  shim.sockets._denyTcp?.();
  shim.sockets._denyUdp?.();
  shim.sockets._denyDnsLookup?.();
}

function wasiImports() {
  const out = {};
  const map = {
    "wasi:cli/environment": shim.cli.environment, "wasi:cli/exit": shim.cli.exit,
    "wasi:cli/stdin": shim.cli.stdin, "wasi:cli/stdout": shim.cli.stdout, "wasi:cli/stderr": shim.cli.stderr,
    "wasi:cli/terminal-input": shim.cli.terminalInput, "wasi:cli/terminal-output": shim.cli.terminalOutput,
    "wasi:cli/terminal-stdin": shim.cli.terminalStdin, "wasi:cli/terminal-stdout": shim.cli.terminalStdout,
    "wasi:cli/terminal-stderr": shim.cli.terminalStderr,
    "wasi:clocks/monotonic-clock": shim.clocks.monotonicClock, "wasi:clocks/wall-clock": shim.clocks.wallClock,
    "wasi:filesystem/preopens": shim.filesystem.preopens, "wasi:filesystem/types": shim.filesystem.types,
    "wasi:io/error": shim.io.error, "wasi:io/poll": shim.io.poll, "wasi:io/streams": shim.io.streams,
    "wasi:random/random": shim.random.random, "wasi:random/insecure": shim.random.insecure,
    "wasi:random/insecure-seed": shim.random.insecureSeed,
    "wasi:sockets/instance-network": shim.sockets.instanceNetwork, "wasi:sockets/network": shim.sockets.network,
    "wasi:sockets/ip-name-lookup": shim.sockets.ipNameLookup, "wasi:sockets/tcp": shim.sockets.tcp,
    "wasi:sockets/tcp-create-socket": shim.sockets.tcpCreateSocket, "wasi:sockets/udp": shim.sockets.udp,
    "wasi:sockets/udp-create-socket": shim.sockets.udpCreateSocket,
  };
  for (const [k, v] of Object.entries(map)) if (v) out[k] = v;
  return out;
}

function trapping(name) {
  const fail = () => { throw new Error(`${name} is not provided to guests`); };
  return new Proxy({}, {
    get: (_, prop) => new Proxy(class {}, { construct: fail, apply: fail, get: (t, p) => (p in t ? t[p] : fail) }),
  });
}

function describe(e) {
  return `${e && e.name ? e.name : "Error"}: ${e && e.message ? e.message : String(e)}`;
}

// ---- the conversation --------------------------------------------------------
export async function serve(entry) {
  io = entry;
  shim = entry.shim;
  const init = recv();
  isolate();
  withoutJspiReparse();
  let mod;
  try {
    mod = await io.importGuest(init);
  } catch (e) {
    send({ op: "init-failed", message: describe(e) });
    return;
  }
  // Each core module is compiled once per engine process, and a refusal is kept too: compiling is
  // deterministic, and an engine that refuses a guest would otherwise re-read and re-refuse it per scenario.
  const modules = new Map();
  const getCoreModule = (p) => {
    if (!modules.has(p)) {
      try {
        modules.set(p, new WebAssembly.Module(io.readCore(p)));
      } catch (e) {
        if (!(e instanceof WebAssembly.CompileError)) throw e;
        modules.set(p, e);
      }
    }
    const m = modules.get(p);
    if (m instanceof WebAssembly.Module) return m;
    throw m;
  };
  const exported = init.exports;
  // Host resources handed to an export are the import's own classes (jco checks instanceof). The guest's
  // own resources are jco's objects, which the suite sees as numbers of this process's choosing.
  const guestOwned = new Set(exported.resources || []);
  const guestObjects = new Map();
  let made = 0;
  const exportCtx = {
    handle(r, rep, kind) {
      if (!guestOwned.has(r)) return hostHandle(r, rep);
      if (!guestObjects.has(rep)) throw new HostFailure(`no live ${r} handle ${rep}`);
      const obj = guestObjects.get(rep);
      if (kind === "own") guestObjects.delete(rep); // passed back to the guest
      return obj;
    },
    repOf(obj, r) {
      if (!guestOwned.has(r)) return obj.rep;
      guestObjects.set(++made, obj);
      return made;
    },
  };
  send({ op: "ready", engine: io.engine });

  let instance = null;
  for (;;) {
    const msg = recv();
    if (msg.op === "instantiate") {
      try {
        const imports = wasiImports();
        // WASI interfaces the shim is not asked to provide (wasi:http for ComponentizeJS guests): every
        // use traps, so a guest gets no network through them.
        for (const name of init.wasi || []) if (!(name in imports)) imports[name] = trapping(name);
        for (const iface of init.imports) imports[iface.name.split("@")[0]] = importObject(iface);
        instance = mod.instantiate(getCoreModule, imports);
        send({ op: "instantiated" });
      } catch (e) {
        send({ op: "refused", message: describe(e) });
      }
    } else if (msg.op === "call" && msg.func.startsWith("[resource-drop]")) {
      const rep = msg.args[0] && msg.args[0].rep;
      const obj = guestObjects.get(rep);
      if (!obj) {
        send({ op: "host-failed", message: `no live handle ${rep} to drop` });
        continue;
      }
      guestObjects.delete(rep);
      try {
        obj[Symbol.dispose || Symbol.for("dispose")]();
      } catch (e) {
        send({ op: "trap", message: describe(e) });
        continue;
      }
      send({ op: "return", value: null });
    } else if (msg.op === "call") {
      const sig = exported.funcs[msg.func];
      if (!sig) {  // the suite asked this process for another interface's function: its bug, never a crash
        send({ op: "host-failed", message: `${exported.name} has no function ${msg.func}` });
        continue;
      }
      const api = exportedApi(instance, exported.name);
      let value;
      try {
        const args = sig.params.map(([, t], i) => toJs(t, msg.args[i], exportCtx));
        const out = callExport(api, msg.func, args);
        if (!sig.result) value = null;
        else if (sig.result.k === "result") value = { ok: sig.result.ok ? fromJs(sig.result.ok, out, exportCtx) : null };
        else value = fromJs(sig.result, out, exportCtx);
      } catch (e) {
        if (e instanceof HostFailure) {
          send({ op: "host-failed", message: e.message });
          continue;
        }
        if (sig.result && sig.result.k === "result" && e && e.constructor && e.constructor.name === "ComponentError") {
          value = { err: sig.result.err ? fromJs(sig.result.err, e.payload, exportCtx) : null };
        } else {
          send({ op: "trap", message: describe(e) });
          continue;
        }
      }
      send({ op: "return", value });
    } else if (msg.op === "exit") {
      io.exit(0);
    }
  }
}

// Where jco puts an exported interface: under its name (or its short name in camelCase); a world's own
// functions ("(world)", types.py's WORLD) on the instance itself.
function exportedApi(instance, name) {
  if (name === "(world)") return instance;
  return instance[name] || instance[camel(name.split("/")[1].split("@")[0])];
}

// jco's shape of an exported interface: functions, and a class per resource.
function callExport(api, func, args) {
  const m = func.match(/^\[(constructor|method|static)\]([^.]+)(?:\.(.+))?$/);
  if (!m) return api[camel(func)](...args);
  const cls = api[pascal(m[2])];
  if (m[1] === "constructor") return new cls(...args);
  if (m[1] === "static") return cls[camel(m[3])](...args);
  const [self, ...rest] = args;
  return self[camel(m[3])](...rest);
}

// For an entry whose serve() failed outside any request.
export function fatal(e) {
  try {
    send({ op: "fatal", message: describe(e) });
  } catch {}
  io.exit(70);
}
