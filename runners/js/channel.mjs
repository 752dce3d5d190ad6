// The suite's channel as the JavaScript hosts open it: two inherited pipes (a
// descriptor number) or two FIFOs (a path, for engines in containers). Deno's
// node:fs cannot use an inherited descriptor number, but every engine can
// open the same pipe through /dev/fd.
import { openSync } from "node:fs";

export function openChannel(spec, flags) {
  const path = spec.startsWith("/") ? spec : `/dev/fd/${spec}`;
  try {
    return openSync(path, flags);
  } catch (e) {
    if (spec.startsWith("/")) throw e;
    return Number(spec);
  }
}
