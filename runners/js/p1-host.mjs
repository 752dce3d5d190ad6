// Runs one WASI p1 bridge module (runners/_bridge.py) under the engine's own
// `node:wasi`: the module's stdin and stdout are the suite's channel, opened
// the way host.mjs opens it. Before the module starts, one frame says whether
// it did: `S` + the engine's version, or `N` + why the engine cannot run it.
// A trap is reported on stderr as `keel-p1: trap: <message>`, exit code 70.
//   <engine> p1-host.mjs <module.wasm>
// (The global `process` only: importing from node:process makes fd 0 non-blocking.)
import { readFileSync, writeSync } from "node:fs";
import { openChannel } from "./channel.mjs";

const IN = openChannel(process.env.KEEL_RPC_IN, "r");
const OUT = openChannel(process.env.KEEL_RPC_OUT, "w");

function frame(tag, text) {
  const s = Buffer.from(text, "utf8");
  const out = Buffer.alloc(4 + 1 + 4 + s.length);
  out.writeUInt32LE(1 + 4 + s.length, 0);
  out.write(tag, 4, "latin1");
  out.writeUInt32LE(s.length, 5);
  s.copy(out, 9);
  let off = 0;
  while (off < out.length) off += writeSync(OUT, out, off, out.length - off);
}

function engineVersion() {
  if (globalThis.Deno) return `deno ${Deno.version.deno} (V8 ${Deno.version.v8})`;
  if (globalThis.Bun) return `bun ${Bun.version}`;
  return `node ${process.version} (V8 ${process.versions.v8})`;
}

const describe = (e) => `${e && e.name ? e.name : "Error"}: ${e && e.message ? e.message : String(e)}`;

let wasi, instance;
try {
  const { WASI } = await import("node:wasi");
  wasi = new WASI({ version: "preview1", args: ["guest"], env: {}, stdin: IN, stdout: OUT, stderr: 2,
                    returnOnExit: true });
  const module = await WebAssembly.compile(readFileSync(process.argv[2]));
  // `wasiImport` rather than `getImportObject()`: Bun 1.4 has only the former.
  instance = await WebAssembly.instantiate(module, { wasi_snapshot_preview1: wasi.wasiImport });
} catch (e) {
  frame("N", `${engineVersion()}: ${describe(e)}`);
  process.exit(0);
}
frame("S", engineVersion());
let code;
try {
  code = wasi.start(instance);
} catch (e) {
  process.stderr.write(`keel-p1: trap: ${describe(e)}\n`);
  process.exit(70);
}
process.exit(code ?? 0);
