// The component host in a browser's dedicated worker: host-core.mjs over browser-channel.mjs, WASI from
// the preview2 shim's browser build, core modules fetched from the suite's server and compiled in place.
import * as shim from "/p2-shim/index.js";
import { exit, fetchBytes, read, write, WorkerExit } from "./browser-channel.mjs";
import { fatal, serve } from "./host-core.mjs";

function encode(u8) {
  let s = "";
  for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode.apply(null, u8.subarray(i, i + 0x8000));
  return btoa(s);
}

function decode(s) {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

let dir;
serve({
  read,
  write,
  exit,
  shim,
  engine: navigator.userAgent,
  importGuest: (init) => {
    dir = init.dir;
    return import(init.module);
  },
  readCore: (p) => fetchBytes(`${dir}/${p}`),
  base64: { encode, decode },
}).catch((e) => {
  if (!(e instanceof WorkerExit)) fatal(e);
});
