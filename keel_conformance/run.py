"""One matrix run: pytest over the selected scenarios, then results.json and matrix.md."""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from fixtures.components.build import BuildFailure
from reports import markdown, results, write_formats

from . import journal as journal_file
from . import stopping
from .cells import MALFORMED
from .paths import PROJECT_ROOT
from .plugin import NO_STEPS


class _Progress:
    """A pytest plugin that shows cells finishing and keeps what the session learned.

    It counts test reports (which pytest-xdist forwards from its workers), so it
    works the same with one process or several.
    """

    def __init__(self, console: Console, enabled: bool) -> None:
        self.console = console
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=console, disable=not enabled, transient=True)
        self.task = self.progress.add_task("collecting", total=None)
        self.state: Any = None
        self.collect_errors: list[str] = []

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collect_errors.append(_collect_error(report))

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.progress.start()
        self.progress.update(self.task, total=len(session.items), description="running cells")

    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        self.progress.start()
        self.progress.update(self.task, total=len(ids), description="running cells")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "teardown":
            return
        self.progress.update(self.task, advance=1, description=f"running cells · {report.nodeid.split('::')[0]}")

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        from .plugin import state

        self.progress.stop()
        self.state = state(session.config)
        runtimes, guests = list(self.state.factories), list(self.state.specs)
        stop = stopping.current()
        if stop is not None and stop.requested and self.state.journal is not None:
            # Stopping: describe what the finished cells used (in a parallel run they ran in the workers), no more.
            used_runtimes, used = self.state.used_by(journal_file.read(self.state.journal).cells)
            runtimes = [r for r in runtimes if r in used_runtimes]
            guests = [g for g in guests if g in used]
        for runtime in runtimes:  # record every selected runtime, even one no cell reached
            self.state.probe(runtime)
        for name in guests:
            self.state.build(name)


RUN_META = "run.json"
DEFAULT_OUT = PROJECT_ROOT / "reports" / "out"  # runs land here unless --out says otherwise; `latest` lives here only


def _collect_error(report: pytest.CollectReport) -> str:
    """One line for a feature or step file that cannot be loaded: the file, the line, the problem."""
    lines = [ln[1:].strip() for ln in report.longreprtext.splitlines() if ln.startswith("E ")]
    where = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("File:")), report.nodeid)
    line = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("Line number:")), None)
    problem = next((ln for ln in lines if ln.startswith("(") and "):" in ln), None) \
        or next((ln for ln in lines if not ln.startswith(("File:", "Line"))), "cannot be loaded")
    return f"{where}{':' + line if line else ''}: {problem}"


def execute(args: argparse.Namespace, step_files: list[Path], out: Path, resume: bool = False,
            meta: dict[str, Any] | None = None) -> int:
    console = Console(stderr=True)
    stop = stopping.install(out / stopping.STOP_FILE)  # before anything is created that must be cleaned up
    try:
        return _execute(args, step_files, out, resume, meta, console, stop)
    finally:
        stopping.uninstall()
        (out / stopping.STOP_FILE).unlink(missing_ok=True)


def _execute(args: argparse.Namespace, step_files: list[Path], out: Path, resume: bool, meta: dict[str, Any] | None,
             console: Console, stop: stopping.StopRequest) -> int:
    if stop.requested:
        print(f"keel-conformance: {stop.reason} before any cell ran; nothing was written", file=sys.stderr)
        return stop.exit_code
    out.mkdir(parents=True, exist_ok=True)
    journal = out / "journal.jsonl"
    (out / stopping.STOP_FILE).unlink(missing_ok=True)
    if resume:
        assert meta is not None
        repaired = journal_file.repair(journal)
        if repaired.damaged:
            print(f"keel-conformance: {journal}: repaired before resuming: {repaired.describe()}", file=sys.stderr)
    else:
        for stale in (journal, journal_file.selection_path(journal), journal.with_name("journal.rejected")):
            stale.unlink(missing_ok=True)
        meta = {"started": results.now(), "command": ["keel-conformance", *sys.argv[1:]], "argv": sys.argv[1:]}
        results.write_text(out / RUN_META, json.dumps(meta))
    pytest_args = [str(p) for p in step_files] + [
        "--rootdir", str(PROJECT_ROOT), "-c", str(PROJECT_ROOT / "pyproject.toml"),
        "-p", "no:cacheprovider", "-p", "no:terminal", "-o", "testpaths=",
        # faulthandler would restore its own SIGILL/SIGSEGV handlers at the end of the session and drop
        # wasmtime's, which turn guest traps into exceptions: the next trap would kill the process.
        "-p", "no:faulthandler",
        "--keel-journal", str(journal), "--keel-timeout", str(args.timeout),
    ]
    if resume:
        pytest_args += ["--keel-skip-done"]
    for r in args.runtime:
        pytest_args += ["--keel-runtime", r]
    for g in args.guest:
        pytest_args += ["--keel-guest", g]
    if args.component is not None:
        pytest_args += ["--keel-component", str(args.component), "--keel-component-interface", args.interface[0]]
    if args.keyword:
        pytest_args += ["-k", args.keyword]
    if args.workers and args.workers > 1:
        pytest_args += ["-n", str(args.workers), "--dist", "load"]
    # A run-private temp root for every scenario's SQLite and RocksDB directories: two runs at once never
    # share one, and it is removed afterwards whatever happened.
    basetemp = Path(tempfile.mkdtemp(prefix="keel-run-"))
    pytest_args += ["--basetemp", str(basetemp / "t")]
    progress = _Progress(console, enabled=not args.no_progress and console.is_terminal)
    try:
        with console.status("building fixtures and probing runtimes…", spinner="dots") if console.is_terminal else _null():
            code = pytest.main(pytest_args, plugins=[progress])
    finally:
        shutil.rmtree(basetemp, ignore_errors=True)
    finished = results.now()
    if progress.collect_errors:
        for err in progress.collect_errors:
            print(f"keel-conformance: {err}", file=sys.stderr)
        return 2
    interrupted = stop.requested or code == pytest.ExitCode.INTERRUPTED
    selection = journal_file.load_selection(journal)
    if selection is None and interrupted:
        print(f"keel-conformance: {stop.reason if stop.requested else 'interrupted'} before any cell was selected; "
              "no report was written", file=sys.stderr)
        return stop.exit_code
    if code in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.INTERNAL_ERROR) or progress.state is None \
            or selection is None:
        print(f"keel-conformance: the scenario run could not start (pytest exit {int(code)})", file=sys.stderr)
        return 2
    if not selection:
        print("keel-conformance: no cell matches the selection (runtimes, interfaces, guests and -k together); "
              "nothing was run or written", file=sys.stderr)
        for stale in (journal, journal_file.selection_path(journal), out / RUN_META):
            stale.unlink(missing_ok=True)
        _remove_if_empty(out)
        return 2
    read = journal_file.read(journal)
    if read.damaged:
        print(f"keel-conformance: {journal}: {read.describe()}; those lines are left out", file=sys.stderr)
    done = read.cells
    st = progress.state
    runtimes = [results.runtime_entry(p) for p in st.probes.values()]
    builds = list(st.builds.values())
    used_runtimes, used = st.used_by(done)
    if interrupted:  # only what the finished cells used was probed and built
        runtimes = [r for r in runtimes if r["name"] in used_runtimes]
        builds = [b for b in builds if (b.spec.name if isinstance(b, BuildFailure) else b.name) in used]
    guests = [results.guest_entry(b) for b in builds]
    guests += [results.composite_entry(c) for c in st.composites.values() if not interrupted or c.name in used]
    # Complete means every selected cell is there once: a signal that came after the last cell lost nothing.
    doc = results.assemble(started=meta["started"], finished=finished, complete=True,
                           command=meta["command"], runtimes=runtimes, guests=guests, cells=done,
                           services=st.services.versions(), selected=[c.key for c in selection])
    results.write(doc, out / "results.json")
    write_formats(doc, out)
    if doc["run"]["complete"] and out.resolve().parent == DEFAULT_OUT.resolve():
        _link_latest(out)
    print(markdown.summary(doc, fmt="simple"))
    print()
    for line in markdown.problems(doc, group=True):
        print(line)
    s = doc["summary"]
    counts = ", ".join(f"{n} {o}" for o, n in sorted(s["outcomes"].items()))
    print(f"\n{s['cells']} cells: {counts}; {s['unexpected']} unexpected. "
          f"Wrote {out}/: results.json, matrix.md, report.html, junit.xml, cucumber.json, messages.ndjson")
    malformed = sorted({f"features/{c['feature']}:{c.get('line', '?')}: {c['message']}"
                        + (f" (step: {c['step']})" if c.get("step") else "")
                        for c in done if c["message"].startswith((MALFORMED, NO_STEPS))})
    for line in malformed:
        print(f"keel-conformance: {line}", file=sys.stderr)
    if malformed:
        return 2
    missing = len(doc["run"]["selection"].get("missing", []))
    if interrupted and missing:
        print(f"keel-conformance: {stop.reason if stop.requested else 'interrupted'}; {len(done)} of {len(selection)} "
              f"cells are saved in {journal} and the reports above are marked incomplete. Finish the rest with: "
              f"keel-conformance run --resume {out}", file=sys.stderr)
        return stop.exit_code
    if missing:
        print(f"keel-conformance: {missing} of {len(selection)} selected cells have no result (a worker died?); the "
              f"reports are marked incomplete. Run them with: keel-conformance run --resume {out}", file=sys.stderr)
        return 1
    return 1 if s["unexpected"] else 0


def _remove_if_empty(path: Path) -> None:
    try:
        path.rmdir()
    except OSError:
        pass


def _link_latest(out: Path) -> None:
    """Points reports/out/latest at the run, but only where `latest` is absent or a link the suite made."""
    latest = out.parent / "latest"
    try:
        if latest.is_symlink():
            latest.unlink()
        elif latest.exists():
            print(f"keel-conformance: {latest} is not a link the suite made; left as it is", file=sys.stderr)
            return
        latest.symlink_to(out.name)
    except OSError:
        pass  # a read-only or odd filesystem: the run's own directory is what matters


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *a: Any) -> None:
        return None
