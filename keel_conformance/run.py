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

from reports import markdown, results, write_formats

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

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        self.progress.start()
        self.progress.update(self.task, total=len(items), description="running cells")

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
        for runtime in self.state.factories:  # record every selected runtime, even one no cell reached
            self.state.probe(runtime)
        for name in self.state.specs:
            self.state.build(name)


RUN_META = "run.json"


def _collect_error(report: pytest.CollectReport) -> str:
    """One line for a feature or step file that cannot be loaded: the file, the line, the problem."""
    lines = [ln[1:].strip() for ln in report.longreprtext.splitlines() if ln.startswith("E ")]
    where = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("File:")), report.nodeid)
    line = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("Line number:")), None)
    problem = next((ln for ln in lines if ln.startswith("(") and "):" in ln), None) \
        or next((ln for ln in lines if not ln.startswith(("File:", "Line"))), "cannot be loaded")
    return f"{where}{':' + line if line else ''}: {problem}"


def execute(args: argparse.Namespace, step_files: list[Path], out: Path, resume: bool = False) -> int:
    console = Console(stderr=True)
    out.mkdir(parents=True, exist_ok=True)
    journal = out / "journal.jsonl"
    meta_path = out / RUN_META
    if resume:
        meta = json.loads(meta_path.read_text())
    else:
        journal.unlink(missing_ok=True)
        meta = {"started": results.now(), "command": ["keel-conformance", *sys.argv[1:]], "argv": sys.argv[1:]}
        meta_path.write_text(json.dumps(meta))
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
    if code in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.INTERNAL_ERROR) or progress.state is None:
        print(f"keel-conformance: the scenario run could not start (pytest exit {int(code)})", file=sys.stderr)
        return 2
    done = results.read_journal(journal)
    if code == pytest.ExitCode.NO_TESTS_COLLECTED and not (resume and done):
        print("keel-conformance: no scenario matched the selection", file=sys.stderr)
        return 2
    st = progress.state
    runtimes = [results.runtime_entry(p) for p in st.probes.values()]
    guests = [results.guest_entry(b) for b in st.builds.values()]
    guests += [results.composite_entry(c) for c in st.composites.values()]
    interrupted = code == pytest.ExitCode.INTERRUPTED
    doc = results.assemble(started=meta["started"], finished=finished, complete=not interrupted,
                           command=meta["command"], runtimes=runtimes, guests=guests, cells=done,
                           services=st.services.versions())
    results.write(doc, out / "results.json")
    write_formats(doc, out)
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
    if interrupted:
        print(f"keel-conformance: interrupted; {len(done)} finished cells are saved in {journal} and the reports "
              f"above are marked incomplete. Finish the rest with: keel-conformance run --resume {out}",
              file=sys.stderr)
        return 130
    return 1 if s["unexpected"] else 0


def _link_latest(out: Path) -> None:
    latest = out.parent / "latest"
    try:
        if latest.is_symlink() or latest.exists():
            latest.unlink()
        latest.symlink_to(out.name)
    except OSError:
        pass  # a read-only or odd filesystem: the run's own directory is what matters


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *a: Any) -> None:
        return None
