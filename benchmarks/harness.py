"""What the harness costs, side by side with the raw runtimes, in one run.

    .venv/bin/python benchmarks/harness.py [--runtime R ...] [--repeat N] [--out DIR]

- wasmtime: compile cold and from the serialized cache, instantiate, and per-call latency of a
  trivial probe call (kv `exists`, one host call) and a kv round trip (`set` + `get` of 1 KiB),
  each measured through the suite's runner protocol and by a minimal raw script calling
  wasmtime-py directly with host functions written by hand; the ratio is the harness overhead.
- every runtime: instantiate from warm caches, the same calls through the runner, and for the
  JavaScript engines the cost of one host call over the RPC channel (a call that makes one host
  call minus a call that makes none).
- how cost grows: kv `set`+`get` from 1 B to 1 MiB, and `list-keys` over 1 to 1,000 keys.
Figures go to OUT/harness-<date>.json and .md with the machine's description. Nothing asserts.
"""
from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import wasmtime  # noqa: E402
import wasmtime.component as wc  # noqa: E402
from rocksdict import Options, Rdict  # noqa: E402
from tabulate import tabulate  # noqa: E402

from fixtures.backends import Backends, Services  # noqa: E402
from fixtures.backends.kv import INTERFACE as KV  # noqa: E402
from fixtures.components.build import BuildFailure, build_one, load_specs  # noqa: E402
from keel_conformance.outcomes import NotApplicable  # noqa: E402
from keel_conformance.values import Ok  # noqa: E402
from runners import registry  # noqa: E402
from runners.protocol import Limits  # noqa: E402

INSTANTIATE_TARGET_MS = 10.0
OVERHEAD_TARGET = 1.5


def median_ms(fn: Callable[[], Any], repeat: int) -> float:
    fn()  # warm
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples) * 1000


def guest(name: str) -> Any:
    b = build_one(next(s for s in load_specs() if s.name == name))
    if isinstance(b, BuildFailure):
        raise SystemExit(f"{name} failed to build: {b.reason}")
    return b


class RawKv:
    """What a developer would write by hand: wasmtime-py, host functions straight onto rocksdict."""

    def __init__(self, engine: wasmtime.Engine, component: wc.Component, root: Path) -> None:
        opts = Options(raw_mode=True)
        opts.create_if_missing(True)
        self.db = Rdict(str(root / "raw-kv"), options=opts)
        self.store = wasmtime.Store(engine)
        self.store.set_wasi(wasmtime.WasiConfig())
        self.store.set_epoch_deadline(1 << 30)
        linker = wc.Linker(engine)
        linker.add_wasip2()
        db = self.db
        with linker.root() as r, r.add_instance(KV) as kv:
            kv.add_func("get", lambda s, k: db.get(k.encode()))
            kv.add_func("set", lambda s, k, v: db.__setitem__(k.encode(), bytes(v)))
            kv.add_func("delete", lambda s, k: False)
            kv.add_func("exists", lambda s, k: db.get(k.encode()) is not None)
            kv.add_func("list-keys", lambda s, p, c, n: _page(db, p, n))
        try:
            self.instance = linker.instantiate(self.store, component)
        except wasmtime.WasmtimeError:  # a ComponentizeJS guest's wasi:http: answered with traps, as the runner does
            linker.define_unknown_imports_as_traps(component)
            self.instance = linker.instantiate(self.store, component)
        iface = self.instance.get_export_index(self.store, "keel:probes/kv-mirror@0.1.0")
        self.funcs = {n: self.instance.get_func(self.store, self.instance.get_export_index(self.store, n, iface))
                      for n in ("get", "set", "exists")}

    def call(self, name: str, *args: Any) -> Any:
        return self.funcs[name](self.store, *args)

    def close(self) -> None:
        self.db.close()


def _page(db: Any, prefix: str, limit: int) -> Any:
    r = wc.Record()
    r.keys = []
    setattr(r, "next-cursor", None)
    return r


def wasmtime_section(repeat: int, root: Path, guests: list[str]) -> list[dict[str, Any]]:
    rows = []
    runner = registry()["wasmtime"]()
    for name in guests:
        g = guest(name)
        engine = wasmtime.Engine(_cfg())
        t = time.perf_counter()
        component = wc.Component(engine, g.path.read_bytes())
        cold = (time.perf_counter() - t) * 1000
        blob = component.serialize()
        t = time.perf_counter()
        wc.Component.deserialize(engine, blob)
        warm = (time.perf_counter() - t) * 1000
        runner.load(g)  # fills the runner's own cache
        inst_ms = median_ms(lambda: runner.instantiate(g, Backends(Path(tempfile.mkdtemp(dir=root))), Limits()),
                            max(5, repeat // 20))
        row = {"guest": name, "size_bytes": g.size_bytes, "compile_cold_ms": cold, "deserialize_ms": warm,
               "instantiate_ms": inst_ms, "instantiate_target_ms": INSTANTIATE_TARGET_MS}
        if g.interface == "kv":
            b = Backends(Path(tempfile.mkdtemp(dir=root)))
            inst = runner.instantiate(g, b, Limits())
            inst.call("set", ["k", b"x" * 1024])
            raw = RawKv(engine, component, Path(tempfile.mkdtemp(dir=root)))
            raw.call("set", "k", b"x" * 1024)
            row["harness_exists_ms"] = median_ms(lambda: inst.call("exists", ["k"]), repeat)
            row["raw_exists_ms"] = median_ms(lambda: raw.call("exists", "k"), repeat)
            row["harness_roundtrip_ms"] = median_ms(lambda: (inst.call("set", ["k", b"y" * 1024]),
                                                             inst.call("get", ["k"])), repeat)
            row["raw_roundtrip_ms"] = median_ms(lambda: (raw.call("set", "k", b"y" * 1024), raw.call("get", "k")), repeat)
            row["overhead_exists"] = row["harness_exists_ms"] / row["raw_exists_ms"]
            row["overhead_roundtrip"] = row["harness_roundtrip_ms"] / row["raw_roundtrip_ms"]
            raw.close()
            b.close()
        rows.append(row)
    runner.close()
    return rows


def _cfg() -> wasmtime.Config:
    cfg = wasmtime.Config()
    cfg.epoch_interruption = True
    return cfg


# The same probes as a component (the canonical ABI) and as WASI p1 bridge modules (frames on stdio).
TIERS = {"component": ("wat-kv-probe", "wat-hostile"), "p1 bridge": ("c-p1-kv-probe", "c-p1-hostile")}


def runtimes_section(runtimes: list[str], repeat: int, root: Path, services: Services) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows, scaling = [], []
    for tier, (kv_name, ping_name) in TIERS.items():
        r, s = _tier_section(tier, guest(kv_name), guest(ping_name), runtimes, repeat, root, services)
        rows += r
        scaling += s
    return rows, scaling


def _tier_section(tier: str, kv_guest: Any, ping_guest: Any, runtimes: list[str], repeat: int, root: Path,
                  services: Services) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows: list[dict[str, Any]] = []
    scaling: list[dict[str, Any]] = []
    factories = registry()
    for name in runtimes:
        runner = factories[name]()
        probe = runner.probe()
        if not probe.available:
            rows.append({"runtime": name, "tier": tier, "available": False, "reason": probe.reason})
            continue
        try:
            b = Backends(Path(tempfile.mkdtemp(dir=root)), services)
            try:
                runner.instantiate(kv_guest, b, Limits())  # warm: transpile, engine process, compile
            except NotApplicable as e:
                rows.append({"runtime": name, "tier": tier, "available": False, "reason": str(e)})
                continue
            made: list[Any] = []  # closed after timing: a p1 instance is a process of its own
            inst_ms = median_ms(lambda: made.append(runner.instantiate(kv_guest, b, Limits())), max(5, repeat // 20))
            inst = runner.instantiate(kv_guest, b, Limits())
            made.append(inst)
            inst.call("set", ["k", b"x" * 1024])
            exists = median_ms(lambda: inst.call("exists", ["k"]), repeat)
            roundtrip = median_ms(lambda: (inst.call("set", ["k", b"y" * 1024]), inst.call("get", ["k"])), repeat)
            ping_inst = runner.instantiate(ping_guest, Backends(Path(tempfile.mkdtemp(dir=root))), Limits())
            ping = median_ms(lambda: ping_inst.call("ping", [1]), repeat)
            inst = runner.instantiate(kv_guest, b, Limits())
            made += [ping_inst, inst]
            rows.append({"runtime": name, "tier": tier, "available": True, "version": probe.version,
                         "instantiate_ms": inst_ms,
                         "call_no_host_ms": ping, "call_one_host_call_ms": exists, "host_call_cost_ms": exists - ping,
                         "kv_roundtrip_ms": roundtrip})
            for size in (1, 1024, 64 * 1024, 1024 * 1024):
                value = os.urandom(size)
                ms = median_ms(lambda: (inst.call("set", ["big", value]), inst.call("get", ["big"])),
                               max(3, repeat // 20))
                scaling.append({"runtime": f"{name} ({tier})", "what": "kv set+get", "size": size, "ms": ms})
            for n in (1, 10, 100, 1000):
                b2 = Backends(Path(tempfile.mkdtemp(dir=root)), services)
                inst2 = runner.instantiate(kv_guest, b2, Limits())
                for i in range(n):
                    b2[KV].functions["set"](f"p/{i:04d}", b"1")
                ms = median_ms(lambda: inst2.call("list-keys", ["p/", None, n]), max(3, repeat // 20))
                assert isinstance(inst2.call("list-keys", ["p/", None, n]), Ok)
                inst2.close()
                scaling.append({"runtime": f"{name} ({tier})", "what": "list-keys", "size": n, "ms": ms})
                b2.close()
            for made_inst in made:
                made_inst.close()
        finally:
            runner.close()
    return rows, scaling


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runtime", action="append", default=[])
    ap.add_argument("--repeat", type=int, default=200)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = ap.parse_args()
    runtimes = args.runtime or [r for r in registry() if not r.startswith("docker-")]
    root = Path(tempfile.mkdtemp(prefix="keel-bench-"))
    services = Services()
    started = time.perf_counter()
    wt = wasmtime_section(args.repeat, root, ["wat-kv-probe", "py-kv-probe", "js-kv-probe", "wat-sql-probe",
                                              "py-sql-probe", "js-sql-probe", "wat-hostile"])
    rt, scaling = runtimes_section(runtimes, args.repeat, root, services)
    services.close()
    gc.collect()  # WASI state still alive at interpreter exit makes wasmtime's runtime thread panic
    machine = {"os": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
               "processor": platform.processor() or platform.machine()}
    doc = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "machine": machine,
           "repeat": args.repeat, "wasmtime": wt, "runtimes": rt, "scaling": scaling,
           "seconds": time.perf_counter() - started}
    md = render(doc)
    print(md)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = doc["date"][:10]
    (args.out / f"harness-{stamp}.json").write_text(json.dumps(doc, indent=2) + "\n")
    (args.out / f"harness-{stamp}.md").write_text(md + "\n")
    return 0


def render(doc: dict[str, Any]) -> str:
    f = lambda x: f"{x:.3f}" if isinstance(x, float) else x  # noqa: E731
    wt = [[r["guest"], f"{r['size_bytes']:,}", f(r["compile_cold_ms"]), f(r["deserialize_ms"]), f(r["instantiate_ms"]),
           "meets" if r["instantiate_ms"] < INSTANTIATE_TARGET_MS else "misses",
           f(r.get("raw_exists_ms", "")), f(r.get("harness_exists_ms", "")),
           f"{r['overhead_exists']:.2f}x" if "overhead_exists" in r else "",
           f"{r['overhead_roundtrip']:.2f}x" if "overhead_roundtrip" in r else ""] for r in doc["wasmtime"]]
    rt = [[r["runtime"], r.get("tier", "component"), r.get("version", r.get("reason", ""))[:90], f(r.get("instantiate_ms", "")),
           f(r.get("call_no_host_ms", "")), f(r.get("call_one_host_call_ms", "")), f(r.get("host_call_cost_ms", "")),
           f(r.get("kv_roundtrip_ms", ""))] for r in doc["runtimes"]]
    sizes = sorted({(s["what"], s["size"]) for s in doc["scaling"]})
    names = list(dict.fromkeys(s["runtime"] for s in doc["scaling"]))
    sc = [[w, size] + [f(next((s["ms"] for s in doc["scaling"] if s["runtime"] == n and s["what"] == w
                                and s["size"] == size), "")) for n in names] for w, size in sizes]
    m = doc["machine"]
    return "\n".join([
        f"# Harness benchmark, {doc['date']}",
        f"Machine: {m['os']}, {m['cpus']} cpus, Python {m['python']}; medians of {doc['repeat']} calls; "
        f"{doc['seconds']:.0f} s in all.",
        "", "## wasmtime: compile, instantiate (target < 10 ms), harness vs raw per call (target <= 1.5x)", "",
        tabulate(wt, headers=["guest", "bytes", "compile cold ms", "from cache ms", "instantiate ms", "< 10 ms",
                              "raw exists ms", "harness exists ms", "overhead exists", "overhead set+get"]),
        "", "## Every runtime, per tier (component: wat-kv-probe, wat-hostile ping for a call with no host call; "
        "p1 bridge: c-p1-kv-probe, c-p1-hostile)", "",
        tabulate(rt, headers=["runtime", "tier", "version", "instantiate ms", "call, no host call ms",
                              "call, 1 host call ms", "1 host call costs ms", "kv set+get 1 KiB ms"]),
        "", "## How cost grows (ms per operation)", "",
        tabulate(sc, headers=["operation", "size / keys"] + names),
    ])


if __name__ == "__main__":
    sys.exit(main())
