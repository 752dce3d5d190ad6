// A component host for JavaScript engines (Node, Deno, Bun), driven by the
// suite over a synchronous channel on fd KEEL_RPC_IN and KEEL_RPC_OUT (two
// inherited pipes, or two FIFOs in a container), so anything the guest or the
// engine prints on stdout/stderr can never corrupt it. The conversation itself
// is host-core.mjs, shared with the browser columns.
import { readFileSync, readSync, writeSync } from "node:fs";
import { Buffer } from "node:buffer";
import { pathToFileURL } from "node:url";
import { join } from "node:path";
import * as shim from "@bytecodealliance/preview2-shim";
import { openChannel } from "./channel.mjs";
import { fatal, serve } from "./host-core.mjs";

const IN = openChannel(process.env.KEEL_RPC_IN, "r");
const OUT = openChannel(process.env.KEEL_RPC_OUT, "w");
const CHUNK = 1 << 16;

function read(n) {
  const buf = Buffer.alloc(Math.min(n, CHUNK));
  for (;;) {
    try {
      return buf.subarray(0, readSync(IN, buf, 0, buf.length, null));
    } catch (e) {
      if (e.code !== "EAGAIN") throw e; // a non-blocking fd: spin until the suite writes
    }
  }
}

function write(bytes) {
  let off = 0;
  while (off < bytes.length) off += writeSync(OUT, bytes, off, bytes.length - off);
}

function engineVersion() {
  if (globalThis.Deno) return `deno ${Deno.version.deno} (V8 ${Deno.version.v8})`;
  if (globalThis.Bun) return `bun ${Bun.version}`;
  return `node ${process.version} (V8 ${process.versions.v8})`;
}

let dir;
serve({
  read,
  write,
  exit: (code) => process.exit(code),
  shim,
  engine: engineVersion(),
  importGuest: (init) => {
    dir = init.dir;
    return import(pathToFileURL(init.module).href);
  },
  readCore: (p) => readFileSync(join(dir, p)),
  base64: {
    encode: (u8) => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength).toString("base64"),
    decode: (s) => new Uint8Array(Buffer.from(s, "base64")),
  },
}).catch(fatal);
