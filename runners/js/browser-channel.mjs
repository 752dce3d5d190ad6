// A browser worker's byte channel to the suite: synchronous XMLHttpRequest to the loopback server
// (runners/browser.py), which moves the bytes to and from the suite's pipes. Used by browser-worker.mjs
// (the component host) and browser-p1.mjs (a p1 bridge module's stdin and stdout).
export const params = new URL(self.location.href).searchParams;
const id = params.get("id");
const CHUNK = 1 << 16;
let pending = new Uint8Array(0);

function request(method, path, body) {
  const x = new XMLHttpRequest();
  x.open(method, path, false);
  x.responseType = "arraybuffer";
  x.send(body);
  return x;
}

export function fetchBytes(path) {
  const x = request("GET", path);
  if (x.status !== 200) throw new Error(`GET ${path}: HTTP ${x.status}`);
  return new Uint8Array(x.response);
}

// Up to n bytes (at least one), or none once the suite has closed the channel.
export function read(n) {
  while (pending.length === 0) {
    const x = request("POST", `/recv/${id}?n=${CHUNK}`);
    if (x.status === 204) continue; // nothing yet: ask again
    if (x.status !== 200) return new Uint8Array(0);
    pending = new Uint8Array(x.response);
  }
  const out = pending.subarray(0, n);
  pending = pending.subarray(out.length);
  return out;
}

export function write(bytes) {
  const x = request("POST", `/send/${id}`, bytes);
  if (x.status !== 204) exit(0); // the suite has stopped listening
}

// The worker's end, told to the page the way a process's exit status is.
export function exit(code, stderr = "") {
  self.postMessage({ op: "exit", code, stderr });
  self.close();
  throw new WorkerExit(code);
}

export class WorkerExit extends Error {}
