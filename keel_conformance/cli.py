"""`keel-conformance`: build fixtures, run the matrix, validate results.

Exit codes: 0 every cell passed, was n/a, or matched its expectation;
1 some cell did not; 2 a usage or input error (one line on stderr).
"""
from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from .inputs import InputError, read_json, writable_dir, writable_file
from .journal import JournalError
from .paths import PROJECT_ROOT

EXIT_OK, EXIT_CELLS, EXIT_USAGE = 0, 1, 2
from reports import FILES as FORMATS  # noqa: E402


class UsageFailure(Exception):
    """Ends the command with exit 2 and this one-line message."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line, like every other usage error (argparse would print the whole usage first)."""
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: a deadline is a positive, finite number of seconds")
    if value > MAX_TIMEOUT_S:
        raise argparse.ArgumentTypeError(f"{text!r}: a deadline of more than {MAX_TIMEOUT_S} s (a day) is no deadline")
    return value


def _at_least_one(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: must be 1 or more")
    return value


DEFAULT_TIMEOUT_S = 10.0
MAX_TIMEOUT_S = 86_400


def _interfaces() -> dict[str, Path]:
    """Interfaces that have scenarios: features/<name>.feature with step_defs/test_<name>.py."""
    found = {}
    for feature in sorted((PROJECT_ROOT / "features").glob("*.feature")):
        steps = PROJECT_ROOT / "step_defs" / f"test_{feature.stem}.py"
        if steps.exists():
            found[feature.stem] = steps
    return found


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="keel-conformance", description=__doc__.split("\n")[0])
    p.add_argument("--debug", action="store_true", help="show tracebacks instead of one-line errors")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run the scenarios on every selected runtime and write the matrix")
    run.add_argument("--runtime", action="append", default=[], help="runtime to run (repeatable; default: all)")
    run.add_argument("--interface", action="append", default=[], help="interface to run (repeatable; default: all)")
    run.add_argument("--guest", action="append", default=[], help="guest build to run (repeatable; default: all)")
    run.add_argument("--component", type=Path, help="run the --interface scenarios against this component instead")
    run.add_argument("--out", type=Path, help="output directory (default: reports/out/<timestamp>)")
    run.add_argument("--timeout", type=_seconds, default=None,
                     help=f"deadline per guest call in seconds (default {DEFAULT_TIMEOUT_S:g})")
    run.add_argument("-k", dest="keyword", help="only scenarios whose test id matches this pytest -k expression")
    run.add_argument("--no-progress", action="store_true", help="no live progress display")
    # One process by default: every worker keeps an engine process per guest and column alive, and two of
    # them exhausted 24 GB on 2 cores with the Docker columns running (false timeouts and crashes).
    run.add_argument("--workers", type=_at_least_one, default=os.cpu_count() or 1,
                     help="run cells in N processes (pytest-xdist; default: one per core)")
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
    mg.add_argument("--reports", action="store_true",
                    help="also write every report format (matrix.md, report.html, …) beside the output file")

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
    fz.add_argument("--examples", type=_at_least_one, default=200, help="examples per function (default 200)")
    fz.add_argument("--seed", type=int, default=1)
    fz.add_argument("--out", type=Path)
    fz.add_argument("--replay", type=Path, metavar="BUNDLE", help="play one divergence bundle or finding again")
    fz.add_argument("--component", type=Path, metavar="PATH",
                    help="fuzz this component's own exports, comparing runtimes with each other (imports answered from the seed)")
    fz.add_argument("--against", type=Path, metavar="PATH",
                    help="with --component: another toolchain's component of the same interface, run side by side "
                         "to tell which layer a divergence belongs to")

    fd = sub.add_parser("findings", help="the findings of a `fuzz --component` run, as Markdown for an issue tracker")
    fd.add_argument("dir", type=Path)

    mu = sub.add_parser("mutate", help="mutation score: wrong builds of the built-in guests the scenarios must catch")
    mu.add_argument("--interface", action="append", default=[], help="interface (repeatable; default: every one "
                    "with guests of a mutable toolchain)")
    mu.add_argument("--guest", action="append", default=[], help="only mutants of these guests or composites")
    mu.add_argument("--runtime", default="wasmtime", help="the runtime that judges the mutants (default wasmtime)")
    mu.add_argument("--mutant", metavar="ID", help="only this mutant (FUNCTION:PATH:OPERATOR, as the report shows)")
    mu.add_argument("--timeout", type=_seconds, default=DEFAULT_TIMEOUT_S, help="deadline per guest call, seconds")
    mu.add_argument("--out", type=Path, help="output directory (default: reports/out/mutate-<timestamp>)")
    mu.add_argument("--workers", type=_at_least_one, default=os.cpu_count() or 1,
                    help="pytest processes judging mutants at once (default: one per core)")

    dif = sub.add_parser("diff", help="what changed between two results files; exit 1 on a regression")
    dif.add_argument("old", type=Path)
    dif.add_argument("new", type=Path)
    dif.add_argument("-o", "--output", type=Path, help="also write the Markdown here")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as e:  # --help, or a usage error already said in one line
        return e.code if isinstance(e.code, int) else EXIT_USAGE
    from . import stopping

    try:
        with stopping.sigterm_as_interrupt():  # `run` takes both signals itself, between cells
            return int(COMMANDS[args.command](args))
    except (UsageFailure, InputError, JournalError) as e:
        print(f"keel-conformance: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as e:
        terminated = isinstance(e, stopping.Terminated)
        print(f"keel-conformance: {'terminated' if terminated else 'interrupted'}", file=sys.stderr)
        return 143 if terminated else 130
    except BrokenPipeError:  # stdout closed by its reader (`| head`): nothing of the user's was lost
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit's flush does not fail again
        return 128 + 13  # as a process ended by SIGPIPE
    except OSError as e:  # an output that cannot be written: say which, whatever command met it
        if args.debug:
            raise
        where = f"{e.filename}: " if e.filename else ""
        print(f"keel-conformance: {where}cannot write or read: {e.strerror or e}", file=sys.stderr)
        return EXIT_USAGE
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
        try:
            found = check_file(f)
        except Exception as e:  # one file's surprise must not cost the others their verdict
            if args.debug:
                raise
            found = [f"cannot be checked: {type(e).__name__}: {e}"]
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
            target = source.with_name("results.json")
            existing = _loadable(target)
            if existing is not None and _covers(existing, doc):
                # What the run itself wrote knows more (versions, toolchains): never replace it with less.
                print(f"{target} already holds every cell of the journal; rendering from it", file=sys.stderr)
                doc = existing
            else:
                if existing is not None:
                    doc = _with_provenance_of(doc, existing)
                writable_file(target, "results file")
                write(doc, target)
                print(f"{target} (partial: recovered from the journal)")
            source = target
        else:
            doc = load(source)
    except ResultsError as e:
        raise UsageFailure(str(e)) from None
    formats = sorted(FORMATS) if not args.format or "all" in args.format else args.format
    for path in write_formats(doc, source.parent, formats):
        print(path)
    return EXIT_OK


def _loadable(path: Path) -> dict[str, Any] | None:
    from reports.results import ResultsError, load

    try:
        return load(path) if path.exists() else None
    except ResultsError:
        return None


def _covers(have: dict[str, Any], recovered: dict[str, Any]) -> bool:
    from .journal import cell_key

    keys = {cell_key(c) for c in have["cells"]}
    return all(cell_key(c) in keys for c in recovered["cells"])


def _with_provenance_of(doc: dict[str, Any], earlier: dict[str, Any]) -> dict[str, Any]:
    """A recovered document, with the runtimes and guests an earlier report of the same run knew better."""
    runtimes = {r["name"]: r for r in earlier["runtimes"]}
    guests = {g["name"]: g for g in earlier["guests"]}
    return {**doc, "runtimes": [runtimes.get(r["name"], r) for r in doc["runtimes"]],
            "guests": [guests.get(g["name"], g) for g in doc["guests"]]}


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

    writable_file(args.output, "merge output")
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
    if args.reports:
        write_formats(m.doc, args.output.parent)
    s = m.doc["summary"]
    print(f"{args.output}: {s['cells']} cells from {len(args.files)} runs"
          + (f" ({m.duplicates} duplicate cells agreed)" if m.duplicates else ""))
    return EXIT_OK


def cmd_submit(args: argparse.Namespace) -> int:
    import socket

    from reports.results import ResultsError, load
    from reports.submit import SubmitError, bundle
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
    try:
        out, manifest = bundle(doc, [socket.gethostname(), socket.getfqdn()])
    except SubmitError as e:
        raise UsageFailure(f"{args.results}: {e}; nothing was prepared") from None
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

    if not args.results_dir.is_dir():
        raise UsageFailure(f"{args.results_dir}: not a directory of results files")
    writable_dir(args.output, "site directory")
    skipped: list[str] = []
    try:
        index = build(args.results_dir, args.output, skipped)
    except ValueError as e:
        raise UsageFailure(str(e)) from None
    finally:
        for line in skipped:
            print(f"keel-conformance: skipped {line}", file=sys.stderr)
    print(index)
    return EXIT_OK


def cmd_fuzz(args: argparse.Namespace) -> int:
    from .any_fuzz_cmd import AnyUsage
    from .any_fuzz_cmd import execute as execute_any
    from .fuzz_cmd import FuzzUsage, execute

    try:
        if args.component is not None:
            if args.replay or args.guest or args.interface != "values":
                raise FuzzUsage("--component fuzzes a component of its own: it takes no --replay, --guest or --interface")
            return execute_any(args)
        if args.against is not None:
            raise FuzzUsage("--against needs --component")
        return execute(args)
    except (FuzzUsage, AnyUsage) as e:
        raise UsageFailure(str(e)) from None


def cmd_findings(args: argparse.Namespace) -> int:
    from .findings_cmd import FindingsUsage, execute

    try:
        return execute(args.dir)
    except FindingsUsage as e:
        raise UsageFailure(str(e)) from None


def cmd_mutate(args: argparse.Namespace) -> int:
    from fixtures.components.build import load_composites, load_specs
    from runners import registry

    from . import mutate_cmd

    if args.runtime not in registry():
        raise UsageFailure(f"unknown runtime {args.runtime}; known: {', '.join(registry())}")
    mutable = {s.interface for s in load_specs() if s.toolchain in mutate_cmd.MUTABLE_TOOLCHAINS and not s.fixture_only}
    specs = {s.name: s for s in load_specs()}
    mutable |= {c.interface for c in load_composites()
                if all(specs[m].toolchain in mutate_cmd.MUTABLE_TOOLCHAINS for m in c.members.values())}
    # Interfaces with scenarios, whose features do not opt out with @mutants:none.
    features = _interfaces()
    opted_out = {i for i in mutable if i in features
                 and "@mutants:none" in (PROJECT_ROOT / "features" / f"{i}.feature").read_text().split("Feature:")[0]}
    mutable = {i for i in mutable if i in features} - opted_out
    if set(args.interface) & opted_out:
        raise UsageFailure(f"features/{sorted(set(args.interface) & opted_out)[0]}.feature opts out of mutants "
                           "(@mutants:none): its scenarios judge the runtime, not what a guest returns")
    unknown = [i for i in args.interface if i not in mutable]
    if unknown:
        raise UsageFailure(f"no mutable guests for interface {', '.join(unknown)}; these have: {', '.join(sorted(mutable))}")
    args.interface = args.interface or sorted(mutable)
    _check_guests(args.guest, args.interface)
    out = mutate_cmd.prepare_out(args.out)
    try:
        return mutate_cmd.execute(args, out)
    except mutate_cmd.MutateError as e:
        raise UsageFailure(str(e)) from None


def cmd_diff(args: argparse.Namespace) -> int:
    from reports import diff, results
    from reports.results import ResultsError, load

    try:
        old, new = load(args.old), load(args.new)
    except ResultsError as e:
        raise UsageFailure(str(e)) from None
    from reports.validate import scenario_names

    d = diff.compare(old, new, scenario_names())
    text = diff.markdown(d)
    print(text, end="")
    code = EXIT_CELLS if d.regression else EXIT_OK
    if args.output:
        try:
            writable_file(args.output, "diff output")
            results.write_text(args.output, text)
        except (InputError, OSError) as e:  # the regression is the news; a failed copy of it must not hide it
            print(f"keel-conformance: {e if isinstance(e, InputError) else f'{args.output}: {e.strerror}'}",
                  file=sys.stderr)
            return code or EXIT_USAGE
    return code


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
    """A component the user brings must be a regular file of sane size whose export has the interface's types."""
    from fixtures.components.build import load_specs, world_types

    from .component_types import NotAComponent, inspect_file
    from .inputs import read_bytes
    from .types import signature_differences

    spec = next((s for s in load_specs() if s.interface == interface), None)
    assert spec is not None
    read_bytes(path, MAX_COMPONENT_BYTES, "component")  # a FIFO, a device or a huge file: refused before use
    try:
        types = inspect_file(path)
    except NotAComponent as e:
        raise UsageFailure(str(e)) from None
    exported = types.export_named(spec.export)
    if exported is None:
        names = ", ".join(types.exports) or "nothing"
        raise UsageFailure(f"{path}: does not export {spec.export} (the {interface} probe world); it exports {names}")
    reference = world_types(spec.world)
    want = inspect_file(reference).export_named(spec.export) if reference is not None else None
    if want is None:
        print(f"keel-conformance: note: jco is not installed, so {path.name}'s function types are not compared "
              f"with {spec.export}'s before the run", file=sys.stderr)
        return
    differences = signature_differences(exported, want)
    if differences:
        more = f" (and {len(differences) - 1} more)" if len(differences) > 1 else ""
        raise UsageFailure(f"{path}: exports {spec.export} with other types than the interface's: "
                           f"{differences[0]}{more}")


RESUME_KEEPS = ("no_progress", "workers", "debug", "resume", "command")


def _resume(args: argparse.Namespace) -> int:
    from .run import RUN_META, execute

    given = [f"--{k.replace('_', '-')}" for k, v in vars(args).items()
             if k not in RESUME_KEEPS and v not in (None, [], False)]
    if given:
        raise UsageFailure(f"--resume finishes a run with that run's own selection and deadline; "
                           f"it takes no {', '.join(given)}")
    meta_path = args.resume / RUN_META
    if not args.resume.is_dir() or not meta_path.exists():
        raise UsageFailure(f"{args.resume}: no {RUN_META} here; nothing to resume")
    meta = read_json(meta_path, "run file")
    argv = meta.get("argv") if isinstance(meta, dict) else None
    if not (isinstance(argv, list) and all(isinstance(a, str) for a in argv) and isinstance(meta.get("started"), str)
            and isinstance(meta.get("command"), list)):
        raise UsageFailure(f"{meta_path}: not a run file this suite wrote (it needs started, command and argv)")
    original = _parser().parse_args(argv) if argv[:1] == ["run"] else None
    if original is None or original.resume is not None:
        raise UsageFailure(f"{meta_path}: its argv is not that of a `run`")
    original.no_progress = args.no_progress
    original.workers = args.workers
    original.timeout = original.timeout or DEFAULT_TIMEOUT_S
    writable_dir(args.resume, "run directory")
    known = _interfaces()
    selected = original.interface or list(known)
    return execute(original, [known[i] for i in selected if i in known], args.resume, resume=True, meta=meta)


def cmd_run(args: argparse.Namespace) -> int:
    from . import stopping

    stopping.install()  # from here on a signal stops the run between cells, never inside one
    try:
        return _resume(args) if args.resume is not None else _run(args)
    finally:
        stopping.uninstall()


def _run(args: argparse.Namespace) -> int:
    from .run import DEFAULT_OUT, execute

    args.timeout = args.timeout or DEFAULT_TIMEOUT_S
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
    _check_guests(args.guest, args.interface or list(known))
    _check_expectations(list(runtimes))
    selected = args.interface or list(known)
    out = args.out or DEFAULT_OUT / dt.datetime.now().strftime("run-%Y%m%d-%H%M%S")
    writable_dir(out, "run directory")
    return execute(args, [known[i] for i in selected], out)


def _check_guests(names: list[str], interfaces: list[str]) -> None:
    """Unknown guests, or guests none of whose interfaces is selected, select nothing: say so before running."""
    from fixtures.components.build import load_composites, load_specs

    serves = {s.name: s.interface for s in load_specs()} | {c.name: c.interface for c in load_composites()}
    unknown = [g for g in names if g not in serves]
    if unknown:
        raise UsageFailure(f"unknown guest {', '.join(unknown)}; known: {', '.join(sorted(serves))}")
    if names and not any(serves[g] in interfaces for g in names):
        raise UsageFailure(f"no selected guest serves a selected interface ({', '.join(f'{g}: {serves[g]}' for g in names)}"
                           f"; interfaces: {', '.join(interfaces)})")


COMMANDS: dict[str, Any] = {
    "run": cmd_run,
    "build-fixtures": cmd_build_fixtures,
    "list-runtimes": cmd_list_runtimes,
    "findings": cmd_findings,
    "validate": cmd_validate,
    "report": cmd_report,
    "diff": cmd_diff,
    "fuzz": cmd_fuzz,
    "mutate": cmd_mutate,
    "merge": cmd_merge,
    "submit": cmd_submit,
    "site": cmd_site,
}


if __name__ == "__main__":
    sys.exit(main())
