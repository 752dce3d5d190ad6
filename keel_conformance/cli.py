"""`keel-conformance`: build fixtures, run the matrix, validate results.

Exit codes: 0 every cell passed, was n/a, or matched its expectation;
1 some cell did not; 2 a usage or input error (one line on stderr).
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .paths import PROJECT_ROOT

EXIT_OK, EXIT_CELLS, EXIT_USAGE = 0, 1, 2
from reports import FILES as FORMATS  # noqa: E402


class UsageFailure(Exception):
    """Ends the command with exit 2 and this one-line message."""


def _interfaces() -> dict[str, Path]:
    """Interfaces that have scenarios: features/<name>.feature with step_defs/test_<name>.py."""
    found = {}
    for feature in sorted((PROJECT_ROOT / "features").glob("*.feature")):
        steps = PROJECT_ROOT / "step_defs" / f"test_{feature.stem}.py"
        if steps.exists():
            found[feature.stem] = steps
    return found


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="keel-conformance", description=__doc__.split("\n")[0])
    p.add_argument("--debug", action="store_true", help="show tracebacks instead of one-line errors")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the scenarios on every selected runtime and write the matrix")
    run.add_argument("--runtime", action="append", default=[], help="runtime to run (repeatable; default: all)")
    run.add_argument("--interface", action="append", default=[], help="interface to run (repeatable; default: all)")
    run.add_argument("--guest", action="append", default=[], help="guest build to run (repeatable; default: all)")
    run.add_argument("--component", type=Path, help="run the --interface scenarios against this component instead")
    run.add_argument("--out", type=Path, help="output directory (default: reports/out/<timestamp>)")
    run.add_argument("--timeout", type=float, default=10.0, help="deadline per guest call in seconds (default 10)")
    run.add_argument("-k", dest="keyword", help="only scenarios whose test id matches this pytest -k expression")
    run.add_argument("--no-progress", action="store_true", help="no live progress display")
    run.add_argument("--workers", type=int, default=1, help="run cells in N processes (pytest-xdist)")
    run.add_argument("--resume", type=Path, metavar="DIR",
                     help="finish an interrupted run in DIR: only the cells its journal lacks, same selection")

    sub.add_parser("build-fixtures", help="build every guest component (cached by content hash)")
    sub.add_parser("list-runtimes", help="probe every known runtime and print what it says")

    val = sub.add_parser("validate", help="check results files against the published schema")
    val.add_argument("files", nargs="+", type=Path)

    rep = sub.add_parser("report", help="render report formats from a results.json, a run directory or a journal")
    rep.add_argument("results", type=Path, help="results.json, a run's directory, or its journal.jsonl")
    rep.add_argument("--format", action="append", choices=sorted(FORMATS) + ["all"], default=[],
                     help="format to write beside the results file (repeatable; default: all)")

    mg = sub.add_parser("merge", help="combine results files from several runs into one matrix")
    mg.add_argument("files", nargs="+", type=Path)
    mg.add_argument("-o", "--output", type=Path, required=True)
    mg.add_argument("--allow-mixed-versions", action="store_true", help="merge runs of different suite versions")

    sb = sub.add_parser("submit", help="prepare a results file to send upstream (validated, scrubbed, content-addressed)")
    sb.add_argument("results", type=Path)

    st = sub.add_parser("site", help="a static history site from many results files")
    st.add_argument("results_dir", type=Path)
    st.add_argument("-o", "--output", type=Path, required=True)

    fz = sub.add_parser("fuzz", help="differential fuzzing of every WIT value kind across runtimes")
    fz.add_argument("--interface", default="values")
    fz.add_argument("--runtime", action="append", default=[], help="runtime (repeatable; default: all)")
    fz.add_argument("--guest", action="append", default=[], help="guest (repeatable; default: the interface's)")
    fz.add_argument("--function", action="append", default=[], help="only these functions (repeatable)")
    fz.add_argument("--examples", type=int, default=200, help="examples per function (default 200)")
    fz.add_argument("--seed", type=int, default=1)
    fz.add_argument("--out", type=Path)
    fz.add_argument("--replay", type=Path, metavar="BUNDLE", help="play one divergence bundle again")

    dif = sub.add_parser("diff", help="what changed between two results files; exit 1 on a regression")
    dif.add_argument("old", type=Path)
    dif.add_argument("new", type=Path)
    dif.add_argument("-o", "--output", type=Path, help="also write the Markdown here")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(COMMANDS[args.command](args))
    except UsageFailure as e:
        print(f"keel-conformance: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("keel-conformance: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug of ours: one line, the traceback only when asked for
        if args.debug:
            raise
        print(f"keel-conformance: internal error: {type(e).__name__}: {e} (run with --debug for the traceback)",
              file=sys.stderr)
        return EXIT_USAGE


def cmd_build_fixtures(args: argparse.Namespace) -> int:
    import time

    from fixtures.components.build import BuildFailure, build_all

    started = time.perf_counter()
    failed = 0
    for b in build_all():
        if isinstance(b, BuildFailure):
            failed += 1
            print(f"FAILED {b.spec.name}: {b.reason} (log: {b.log})")
        else:
            print(f"{b.name:24} {b.size_bytes:>12,} bytes  sha256 {b.sha256[:16]}  {b.path}")
    print(f"built in {time.perf_counter() - started:.1f} s")
    return EXIT_CELLS if failed else EXIT_OK


def cmd_list_runtimes(args: argparse.Namespace) -> int:
    from runners import registry

    for name, factory in registry().items():
        try:
            probe = factory().probe()
            print(f"{name:12} {'available' if probe.available else 'unavailable':12} {probe.version or ''}  {probe.reason or ''}")
            for note in probe.notes:
                print(f"{'':12} note: {note}")
        except Exception as e:
            print(f"{name:12} {'broken':12} {type(e).__name__}: {e}")
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from reports.validate import check_file

    bad = 0
    for f in args.files:
        found = check_file(f)
        if found:
            bad += 1
            for p in found[:50]:
                print(f"{f}: {p}", file=sys.stderr)
            if len(found) > 50:
                print(f"{f}: … and {len(found) - 50} more problems", file=sys.stderr)
        else:
            print(f"{f}: valid")
    return EXIT_CELLS if bad else EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from reports import write_formats
    from reports.results import ResultsError, from_journal, load, write

    source: Path = args.results
    try:
        if source.is_dir():
            source = source / "results.json" if (source / "results.json").exists() else source / "journal.jsonl"
        if source.suffix == ".jsonl":
            doc = from_journal(source)
            write(doc, source.with_name("results.json"))
            print(f"{source.with_name('results.json')} (partial: recovered from the journal)")
        else:
            doc = load(source)
    except ResultsError as e:
        raise UsageFailure(str(e)) from None
    except OSError as e:
        raise UsageFailure(f"{source}: cannot read: {e.strerror}") from None
    formats = sorted(FORMATS) if not args.format or "all" in args.format else args.format
    for path in write_formats(doc, source.parent, formats):
        print(path)
    return EXIT_OK


def _load_all(paths: list[Path]) -> list[tuple[str, dict[str, Any]]]:
    from reports.results import ResultsError, load

    docs = []
    for p in paths:
        try:
            docs.append((str(p), load(p)))
        except ResultsError as e:
            raise UsageFailure(str(e) if str(e).startswith(str(p)) else f"{p}: {e}") from None
    return docs


def cmd_merge(args: argparse.Namespace) -> int:
    from reports import write_formats
    from reports.merge import MergeError, merge
    from reports.results import write

    try:
        m = merge(_load_all(args.files), args.allow_mixed_versions)
    except MergeError as e:
        raise UsageFailure(str(e)) from None
    if m.conflicts:
        for c in m.conflicts:
            print(f"conflict: {c}", file=sys.stderr)
        print(f"keel-conformance: {len(m.conflicts)} conflict(s); nothing written", file=sys.stderr)
        return EXIT_CELLS
    args.output.parent.mkdir(parents=True, exist_ok=True)
    write(m.doc, args.output)
    write_formats(m.doc, args.output.parent)
    s = m.doc["summary"]
    print(f"{args.output}: {s['cells']} cells from {len(args.files)} runs"
          + (f" ({m.duplicates} duplicate cells agreed)" if m.duplicates else ""))
    return EXIT_OK


def cmd_submit(args: argparse.Namespace) -> int:
    import socket

    from reports.results import ResultsError, load
    from reports.submit import bundle
    from reports.validate import problems

    try:
        doc = load(args.results)
    except ResultsError as e:
        raise UsageFailure(str(e)) from None
    found = problems(doc)
    if found:
        for p in found:
            print(f"{args.results}: {p}", file=sys.stderr)
        raise UsageFailure(f"{args.results}: not valid; nothing was prepared")
    out, manifest = bundle(doc, socket.gethostname())
    print(f"Prepared {out}/ (results.json + MANIFEST.json, sha256 {manifest['results_sha256'][:16]}).")
    print("Local paths and the host name were replaced by <suite>, <home>, <tmp> and <host>. To send it upstream:")
    print("  1. fork the keel-conformance repository and create a branch, e.g. results/<runtime>-<date>")
    shown = out.relative_to(PROJECT_ROOT) if out.is_relative_to(PROJECT_ROOT) else out
    print(f"  2. git add {shown} && git commit -m 'Results: <runtime> <version>'")
    print("  3. push the branch and open a pull request; CI runs `keel-conformance validate` on the file")
    print("  (CONTRIBUTING.md has the details)")
    return EXIT_OK


def cmd_site(args: argparse.Namespace) -> int:
    from reports.site import build

    try:
        index = build(args.results_dir, args.output)
    except ValueError as e:
        raise UsageFailure(str(e)) from None
    print(index)
    return EXIT_OK


def cmd_fuzz(args: argparse.Namespace) -> int:
    from .fuzz_cmd import FuzzUsage, execute

    try:
        return execute(args)
    except FuzzUsage as e:
        raise UsageFailure(str(e)) from None


def cmd_diff(args: argparse.Namespace) -> int:
    from reports import diff
    from reports.results import ResultsError, load

    try:
        old, new = load(args.old), load(args.new)
    except ResultsError as e:
        raise UsageFailure(str(e)) from None
    d = diff.compare(old, new)
    text = diff.markdown(d)
    print(text, end="")
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    return EXIT_CELLS if d.regression else EXIT_OK


MAX_COMPONENT_BYTES = 64 * 1024 * 1024


def _check_expectations(runtimes: list[str]) -> None:
    """Every expectations file must name a known runtime and parse, before any cell runs."""
    from reports import expectations

    for f in sorted(expectations.DIR.glob("*.yaml")):
        if f.stem not in runtimes and f.stem != expectations.ANY:
            raise UsageFailure(f"{f}: no runtime is named {f.stem!r} (known: {', '.join(runtimes)})")
        try:
            expectations.load(f.stem)
        except expectations.ExpectationError as e:
            raise UsageFailure(str(e)) from None


def _check_component(path: Path, interface: str) -> None:
    from fixtures.components.build import load_specs

    from .component_types import NotAComponent, inspect_file

    spec = next((s for s in load_specs() if s.interface == interface), None)
    assert spec is not None
    try:
        size = path.stat().st_size
    except OSError as e:
        raise UsageFailure(f"{path}: cannot read: {e.strerror}") from None
    if size > MAX_COMPONENT_BYTES:
        raise UsageFailure(f"{path}: {size:,} bytes is more than the {MAX_COMPONENT_BYTES:,} bytes a guest may have")
    try:
        types = inspect_file(path)
    except NotAComponent as e:
        raise UsageFailure(str(e)) from None
    if types.export_named(spec.export) is None:
        exported = ", ".join(types.exports) or "nothing"
        raise UsageFailure(f"{path}: does not export {spec.export} (the {interface} probe world); it exports {exported}")


def cmd_run(args: argparse.Namespace) -> int:
    from .run import RUN_META, execute

    if args.resume is not None:
        meta = args.resume / RUN_META
        if not meta.exists():
            raise UsageFailure(f"{args.resume}: no {RUN_META} here; nothing to resume")
        import json

        original = _parser().parse_args(json.loads(meta.read_text())["argv"])
        original.no_progress = args.no_progress
        known = _interfaces()
        selected = original.interface or list(known)
        return execute(original, [known[i] for i in selected if i in known], args.resume, resume=True)
    known = _interfaces()
    unknown = [i for i in args.interface if i not in known]
    if unknown:
        raise UsageFailure(f"unknown interface {', '.join(unknown)}; known: {', '.join(known)}")
    if args.component is not None:
        if len(args.interface) != 1:
            raise UsageFailure("--component needs exactly one --interface (the one the component serves)")
        _check_component(args.component, args.interface[0])
    from runners import registry

    runtimes = registry()
    bad = [r for r in args.runtime if r not in runtimes]
    if bad:
        raise UsageFailure(f"unknown runtime {', '.join(bad)}; known: {', '.join(runtimes)}")
    _check_expectations(list(runtimes))
    selected = args.interface or list(known)
    out = args.out or PROJECT_ROOT / "reports" / "out" / dt.datetime.now().strftime("run-%Y%m%d-%H%M%S")
    return execute(args, [known[i] for i in selected], out)


COMMANDS: dict[str, Any] = {
    "run": cmd_run,
    "build-fixtures": cmd_build_fixtures,
    "list-runtimes": cmd_list_runtimes,
    "validate": cmd_validate,
    "report": cmd_report,
    "diff": cmd_diff,
    "fuzz": cmd_fuzz,
    "merge": cmd_merge,
    "submit": cmd_submit,
    "site": cmd_site,
}


if __name__ == "__main__":
    sys.exit(main())
