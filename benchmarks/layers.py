"""Latency of the upper layers on one runtime, next to the seed's < 100 ms response target.

    .venv/bin/python benchmarks/layers.py [--runtime wasmtime] [--users 1000] [--bulk 200]

Creates N users through the user-repository guest and looks each up, then
sends one bulk mail to M recipients through the email-service guest, on
the same real SQLite, RocksDB and SMTP backends the scenarios use. Prints
per-operation percentiles; this is a benchmark, not a test: nothing asserts.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tabulate import tabulate  # noqa: E402

from fixtures.backends import Backends, Services  # noqa: E402
from fixtures.backends.kv import INTERFACE as KV  # noqa: E402
from fixtures.backends.mail import INTERFACE as MAIL  # noqa: E402
from fixtures.components.build import BuildFailure, build_one, load_specs  # noqa: E402
from keel_conformance.values import Ok, Variant  # noqa: E402
from runners import registry  # noqa: E402
from runners.protocol import Limits  # noqa: E402

TARGET_MS = 100.0


def percentiles(samples: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in samples)
    q = statistics.quantiles(ms, n=100, method="inclusive") if len(ms) > 1 else ms * 99
    return {"n": len(ms), "p50": q[49], "p95": q[94], "p99": q[98], "max": ms[-1]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runtime", default="wasmtime")
    ap.add_argument("--users", type=int, default=1000)
    ap.add_argument("--bulk", type=int, default=200)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()

    specs = {s.name: s for s in load_specs()}
    builds = {n: build_one(specs[n]) for n in ("py-user-repository", "py-email-service")}
    for b in builds.values():
        if isinstance(b, BuildFailure):
            print(f"build failed: {b.spec.name}: {b.reason}", file=sys.stderr)
            return 2
    runner = registry()[args.runtime]()
    probe = runner.probe()
    if not probe.available:
        print(f"{args.runtime} is not available: {probe.reason}", file=sys.stderr)
        return 2
    services = Services()
    samples: dict[str, list[float]] = {"create-user": [], "find-by-email": [], "send-bulk (whole call)": []}
    with tempfile.TemporaryDirectory() as tmp:
        backends = Backends(Path(tmp), services)
        t0 = time.perf_counter()
        repo = runner.instantiate(builds["py-user-repository"], backends, Limits())
        mail = runner.instantiate(builds["py-email-service"], backends, Limits())
        instantiate_s = time.perf_counter() - t0
        prefs = {"locale": Variant("en"),
                 "channels": frozenset({"email"}), "marketing-opt-in": False, "timezone": None}
        for i in range(args.users):
            reg = {"email": f"user{i}@example.com", "display-name": f"User {i}", "preferences": prefs}
            t = time.perf_counter()
            r = repo.call("create-user", [reg])
            samples["create-user"].append(time.perf_counter() - t)
            assert isinstance(r, Ok), r
        for i in range(args.users):
            t = time.perf_counter()
            r = repo.call("find-by-email", [f"user{i}@example.com"])
            samples["find-by-email"].append(time.perf_counter() - t)
            assert isinstance(r, Ok), r
        backends[KV].db[b"template/bench"] = json.dumps(
            {"sender": "noreply@keel.test", "subject": "Hi {{name}}", "body": "Hello {{name}}."}).encode()
        recipients = [f"r{i}@example.com" for i in range(args.bulk)]
        t = time.perf_counter()
        r = mail.call("send-bulk", [recipients, "bench", [("name", "you")]])
        bulk_s = time.perf_counter() - t
        samples["send-bulk (whole call)"].append(bulk_s)
        assert isinstance(r, Ok) and len(r.value) == args.bulk, r
        arrived = len(backends[MAIL].received())
        sweep = []
        for n in (1, 10, 50, 200):  # how the cost of a bulk send grows with its recipients
            t = time.perf_counter()
            r = mail.call("send-bulk", [[f"s{n}-{i}@example.com" for i in range(n)], "bench", [("name", "you")]])
            sweep.append((n, (time.perf_counter() - t) * 1000))
            assert isinstance(r, Ok) and len(r.value) == n, r
        repo.close()
        mail.close()
        backends.close()
    services.close()
    runner.close()

    rows = []
    figures = {}
    for op, s in samples.items():
        p = percentiles(s)
        figures[op] = p
        verdict = "meets" if p["p99"] < TARGET_MS else "misses"
        rows.append([op, p["n"], f"{p['p50']:.2f}", f"{p['p95']:.2f}", f"{p['p99']:.2f}", f"{p['max']:.2f}",
                     f"{verdict} < {TARGET_MS:g} ms"])
    per_mail_ms = bulk_s * 1000 / args.bulk
    rows.append([f"send-bulk per recipient ({arrived} arrived)", args.bulk, f"{per_mail_ms:.2f}", "", "", "",
                 f"{'meets' if per_mail_ms < TARGET_MS else 'misses'} < {TARGET_MS:g} ms"])
    print(f"{args.runtime} {probe.version} · two guests instantiated in {instantiate_s * 1000:.1f} ms")
    print(tabulate(rows, headers=["operation", "n", "p50 ms", "p95 ms", "p99 ms", "max ms", "seed target"]))
    print()
    print(tabulate([[n, f"{ms:.1f}", f"{ms / n:.2f}"] for n, ms in sweep],
                   headers=["bulk recipients", "send-bulk ms", "ms per recipient"]))
    if args.json:
        args.json.write_text(json.dumps({"runtime": args.runtime, "version": probe.version, "latency_ms": figures,
                                         "bulk_per_recipient_ms": per_mail_ms, "bulk_sweep_ms": sweep}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
