// Runs one WASI p1 bridge module (runners/_bridge.py) in a browser's dedicated worker under
// @bjorn3/browser_wasi_shim, as p1-host.mjs does under node:wasi: the module's stdin and stdout are the
// suite's channel (browser-channel.mjs), nothing is preopened, and before the module starts one frame says
// whether it did: `S` + the engine, or `N` + why it cannot run. A trap ends the worker with exit code 70
// and `keel-p1: trap: <message>` as its stderr.
import { ConsoleStdout, Fd, WASI } from "/p1-shim/index.js";
import { exit, fetchBytes, params, read, write, WorkerExit } from "./browser-channel.mjs";

class ChannelIn extends Fd {
  fd_read(size) {
    return { ret: 0, data: read(size) };
  }
}

class ChannelOut extends Fd {
  fd_write(data) {
    write(data);
    return { ret: 0, nwritten: data.byteLength };
  }
}

function frame(tag, text) {
  const s = new TextEncoder().encode(text);
  const out = new Uint8Array(4 + 1 + 4 + s.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, 1 + 4 + s.length, true);
  out[4] = tag.charCodeAt(0);
  view.setUint32(5, s.length, true);
  out.set(s, 9);
  write(out);
}

const describe = (e) => `${e && e.name ? e.name : "Error"}: ${e && e.message ? e.message : String(e)}`;
let stderr = "";

try {
  let wasi, instance;
  try {
    const errors = new ConsoleStdout((bytes) => { stderr += new TextDecoder().decode(bytes); });
    wasi = new WASI(["guest"], [], [new ChannelIn(), new ChannelOut(), errors]);
    const module = new WebAssembly.Module(fetchBytes(params.get("module")));
    instance = new WebAssembly.Instance(module, { wasi_snapshot_preview1: wasi.wasiImport });
  } catch (e) {
    frame("N", `${navigator.userAgent}: ${describe(e)}`);
    exit(0);
  }
  frame("S", navigator.userAgent);
  let code;
  try {
    code = wasi.start(instance);
  } catch (e) {
    if (e instanceof WorkerExit) throw e;
    exit(70, `${stderr}keel-p1: trap: ${describe(e)}\n`);
  }
  exit(code ?? 0, stderr);
} catch (e) {
  if (!(e instanceof WorkerExit)) throw e;
}
