"""Where the full matrix's time goes, side by side in one run.

1. The whole matrix, warm (guests, transpiles and compiles cached): wall time, with the default
   workers (one per core), against the 3-minute target.
2. Each column family alone (wasmtime, wasmer, jco on local engines, jco in Docker, browsers): wall time.
3. From the full run's cells, per column: median cell, median first load of a guest (compile or
   engine start), median call, and the seconds its cells took in all.
4. With `--fresh`: the README's `./dev.sh matrix` in a fresh clone (empty .venv, node_modules and
   cache; what the machine itself has installed, such as docker.io and clang, is kept).

    .venv/bin/python benchmarks/matrix.py [--fresh] [--no-warm-up] [--json FILE]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from tabulate import tabulate

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from runners import registry  # noqa: E402

TARGET_S = 180


def family(runtime: str) -> str:
    for prefix, name in (("docker-", "docker"), ("jco-", "jco"), ("browser-", "browsers")):
        if runtime.startswith(prefix):
            return name
    return runtime


def timed(argv: list[str], cwd: Path) -> tuple[float, int, str]:
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    tail = (proc.stdout + proc.stderr).strip().splitlines()[-1:] or [""]
    return round(time.perf_counter() - started, 1), proc.returncode, tail[0]


def run(out: Path, *runtimes: str) -> tuple[float, int, str]:
    argv = [sys.executable, "-m", "keel_conformance.cli", "run", "--no-progress", "--out", str(out)]
    for r in runtimes:
        argv += ["--runtime", r]
    return timed(argv, ROOT)


def per_column(results: dict[str, Any]) -> list[dict[str, Any]]:
    cells: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in results["cells"]:
        cells[c["runtime"]].append(c)
    rows = []
    for runtime, mine in sorted(cells.items()):
        loads = [c["load_ms"] for c in mine if c.get("load_ms")]
        inst = [g["instantiate_ms"] for g in results["summary"].get("cost", {}).get(runtime, {}).values()
                if g.get("instantiate_ms") is not None]
        calls = [c["call_ms"] / c["calls"] for c in mine if c.get("calls")]
        rows.append({"column": runtime, "cells": len(mine),
                     "cell_ms": round(statistics.median(c["duration_s"] for c in mine) * 1000, 1),
                     "load_ms": round(statistics.median(loads), 1) if loads else None,
                     "instantiate_ms": round(statistics.median(inst), 1) if inst else None,
                     "call_ms": round(statistics.median(calls), 2) if calls else None,
                     "cells_s": round(sum(c["duration_s"] for c in mine), 1)})
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fresh", action="store_true", help="also time ./dev.sh matrix in a fresh clone")
    ap.add_argument("--no-warm-up", action="store_true", help="the cache is already warm: skip the warm-up run")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    doc: dict[str, Any] = {"machine": {"cores": os.cpu_count(), "python": platform.python_version(),
                                       "platform": platform.platform(), "date": dt.datetime.now(dt.UTC).isoformat()}}
    with tempfile.TemporaryDirectory(prefix="keel-bench-matrix-") as tmp:
        subprocess.run([sys.executable, "-m", "keel_conformance.cli", "build-fixtures"], cwd=ROOT,
                       capture_output=True, stdin=subprocess.DEVNULL, check=True)
        if not args.no_warm_up:
            run(Path(tmp) / "warm-up")  # transpiles, compiles and engine images: what "warm" means
        wall, code, said = run(Path(tmp) / "full")
        results = json.loads((Path(tmp) / "full" / "results.json").read_text())
        doc["full"] = {"wall_s": wall, "exit": code, "said": said, "cells": len(results["cells"]),
                       "workers": os.cpu_count(), "target_s": TARGET_S}
        print(json.dumps(doc["full"]), flush=True)
        families: dict[str, list[str]] = defaultdict(list)
        for name in registry():
            families[family(name)].append(name)
        doc["families"] = []
        for fam, names in families.items():
            wall, code, said = run(Path(tmp) / f"family-{fam}", *names)
            doc["families"].append({"family": fam, "columns": len(names), "wall_s": wall, "exit": code})
            print(json.dumps(doc["families"][-1]), flush=True)
        doc["columns"] = per_column(results)
        if args.fresh:
            clone = Path(tmp) / "fresh clone"
            subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
            wall, code, said = timed(["./dev.sh", "matrix", "--no-progress"], clone)
            doc["fresh"] = {"wall_s": wall, "exit": code, "said": said}
            shutil.rmtree(clone, ignore_errors=True)
    text = render(doc)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(doc, indent=1))
        args.json.with_suffix(".md").write_text(text + "\n")
    return 0 if doc["full"]["exit"] in (0, 1) else 1


def render(doc: dict[str, Any]) -> str:
    m, full = doc["machine"], doc["full"]
    lines = [f"# The full matrix ({m['cores']} cores, {m['date'][:10]})", "",
             f"Warm, {full['workers']} workers: **{full['wall_s']} s** for {full['cells']} cells "
             f"(target < {full['target_s']} s: {'meets' if full['wall_s'] < full['target_s'] else 'misses'}).", ""]
    if "fresh" in doc:
        lines += [f"`./dev.sh matrix` in a fresh clone (empty .venv, node_modules, cache): "
                  f"**{doc['fresh']['wall_s']} s**, exit {doc['fresh']['exit']}.", ""]
    lines += ["## Each column family alone (wall s)", "",
              tabulate([[f["family"], f["columns"], f["wall_s"]] for f in doc["families"]],
                       headers=["family", "columns", "wall s"], tablefmt="github"), "",
              "## Per column, from the full run (medians; cells s = the column's cells added up)", "",
              tabulate([[r["column"], r["cells"], r["cell_ms"], r["load_ms"], r["instantiate_ms"], r["call_ms"],
                         r["cells_s"]] for r in doc["columns"]],
                       headers=["column", "cells", "cell ms", "first load ms", "instantiate ms", "call ms", "cells s"],
                       tablefmt="github"),
              "", "first load: compile, or engine start, once per guest and process; instantiate: each scenario's "
              "fresh instance (median over the column's guests); call: one call with its host calls."]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
