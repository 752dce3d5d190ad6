// The main process of a Docker column's container. It starts engine processes (host.mjs, p1-host.mjs)
// when the suite asks, so a guest's engine or a p1 module costs a process start rather than a
// container start, and it reports how each one ended, as `docker wait` and `docker logs` did.
//   requests on KEEL_CTL_IN:  {op: "spawn", id, argv, env} | {op: "kill", id}
//   events on KEEL_CTL_OUT:   {op: "ready"} | {op: "exit", id, code, signal, stderr}
// Framing as in host.mjs: 4-byte big-endian length + JSON; each child opens its own channel from `env`.
// When the suite's end closes, every child is killed and the launcher exits, and the container goes with it.
import { spawn } from "node:child_process";
import { createReadStream, openSync, writeSync } from "node:fs";

const OUT = openSync(process.env.KEEL_CTL_OUT, "w");
const STDERR_KEPT = 4096;
const children = new Map();

function send(msg) {
  const body = Buffer.from(JSON.stringify(msg), "utf8");
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length, 0);
  const buf = Buffer.concat([head, body]);
  let off = 0;
  while (off < buf.length) off += writeSync(OUT, buf, off, buf.length - off);
}

function start({ id, argv, env }) {
  try {
    const child = spawn(argv[0], argv.slice(1), { env, cwd: "/keel", detached: true, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = Buffer.alloc(0);
    child.stderr.on("data", (d) => {
      stderr = Buffer.concat([stderr, d]);
      if (stderr.length > STDERR_KEPT) stderr = stderr.subarray(stderr.length - STDERR_KEPT);
    });
    child.on("error", (e) => ended(id, 127, null, `the launcher could not start it: ${e.message}`));
    child.on("close", (code, signal) => ended(id, code, signal, stderr.toString("utf8")));
    children.set(id, child);
  } catch (e) {
    send({ op: "exit", id, code: 127, signal: null, stderr: `the launcher could not start it: ${e.message}` });
  }
}

function ended(id, code, signal, stderr) {
  if (children.delete(id)) send({ op: "exit", id, code, signal, stderr });
}

function kill(id) {
  const child = children.get(id);
  if (!child || child.pid === undefined) return;
  try {
    process.kill(-child.pid, "SIGKILL"); // its whole process group
  } catch {}
}

function killAll() {
  for (const id of children.keys()) kill(id);
}

let pending = Buffer.alloc(0);
const requests = createReadStream(process.env.KEEL_CTL_IN);
requests.on("data", (chunk) => {
  pending = Buffer.concat([pending, chunk]);
  while (pending.length >= 4 && pending.length >= 4 + pending.readUInt32BE(0)) {
    const n = pending.readUInt32BE(0);
    const msg = JSON.parse(pending.subarray(4, 4 + n).toString("utf8"));
    pending = pending.subarray(4 + n);
    if (msg.op === "spawn") start(msg);
    else if (msg.op === "kill") kill(msg.id);
  }
});
requests.on("end", () => {
  killAll();
  process.exit(0);
});
requests.on("error", () => {
  killAll();
  process.exit(1);
});
process.on("SIGTERM", () => {
  killAll();
  process.exit(0);
});
send({ op: "ready" });
