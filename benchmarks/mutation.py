"""What `keel-conformance mutate` costs per interface, side by side in one run.

For each interface: the wall time of `mutate --interface I` from an empty cache
(`KEEL_CACHE_DIR` in a fresh folder: every guest, schema and compile made now)
and again warm (the same cache: nothing to build), with the mutant counts and
the seconds spent building and judging, against the 10-minute target.

    .venv/bin/python benchmarks/mutation.py [--interface I ...] [--no-cold] [--json FILE]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 600
INTERFACES = ["sql", "kv", "repository", "email", "product"]


def one(interface: str, cache: Path, out: Path) -> dict[str, object]:
    env = {**os.environ, "KEEL_CACHE_DIR": str(cache)}
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "keel_conformance.cli", "mutate", "--interface", interface,
                           "--out", str(out)], cwd=ROOT, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    figures: dict[str, object] = {"interface": interface, "exit": proc.returncode, "wall_s": round(wall, 1)}
    try:
        m = json.loads((out / "results.json").read_text())["mutation"]
    except (OSError, ValueError, KeyError):
        figures["error"] = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return figures
    figures.update(mutants=len(m["mutants"]), killed=sum(x["status"] == "killed" for x in m["mutants"]),
                   equivalent=len(m["equivalent"]), **{f"{k}_s": v for k, v in m.get("seconds", {}).items()})
    return figures


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--interface", action="append", default=[])
    ap.add_argument("--no-cold", action="store_true", help="only warm runs, on the checkout's own cache")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="keel-bench-mutate-") as tmp:
        for interface in args.interface or INTERFACES:
            cache = Path(tmp) / f"cache-{interface}" if not args.no_cold else Path(
                os.environ.get("KEEL_CACHE_DIR") or ROOT / ".cache")
            runs = [("warm", cache)] if args.no_cold else [("cold", cache), ("warm", cache)]
            for label, where in runs:
                r = one(interface, where, Path(tmp) / f"out-{interface}-{label}")
                r["cache"] = label
                rows.append(r)
                print(json.dumps(r), flush=True)
    machine = {"cores": os.cpu_count(), "python": platform.python_version(), "machine": platform.machine(),
               "date": dt.date.today().isoformat()}
    lines = [f"# mutate per interface ({machine['cores']} cores, {machine['date']}); target < {TARGET_S} s", "",
             "| interface | cache | mutants | killed | equivalent | build s | judge s | wall s | of target |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['interface']} | {r['cache']} | {r.get('mutants', '—')} | {r.get('killed', '—')} | "
                     f"{r.get('equivalent', '—')} | {r.get('build_s', '—')} | {r.get('judge_s', '—')} | "
                     f"{r['wall_s']} | {float(r['wall_s']) / TARGET_S:.0%} |")  # type: ignore[arg-type]
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "rows": rows}, indent=1))
        args.json.with_suffix(".md").write_text("\n".join(lines) + "\n")
    return 0 if all(r["exit"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
