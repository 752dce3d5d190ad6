"""One matrix run: pytest over the selected scenarios, then results.json and matrix.md."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from reports import markdown, results, write_formats

from .cells import Cell
from .outcomes import Outcome
from .paths import PROJECT_ROOT


class _Progress:
    """A pytest plugin that shows cells finishing and keeps what the session learned."""

    def __init__(self, console: Console, enabled: bool) -> None:
        self.console = console
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=console, disable=not enabled, transient=True)
        self.task = self.progress.add_task("collecting", total=None)
        self.counts: dict[str, int] = {}
        self.state: Any = None
        self.collect_errors: list[str] = []

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collect_errors.append(f"{report.nodeid or 'collection'}: {report.longreprtext.strip().splitlines()[-1]}")

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.progress.start()
        self.progress.update(self.task, total=len(session.items), description="running cells")

    def pytest_keel_cell_finished(self, config: pytest.Config, cell: Cell) -> None:
        self.counts[cell.outcome] = self.counts.get(cell.outcome, 0) + 1
        summary = " ".join(f"{Outcome(o).symbol}{n}" for o, n in sorted(self.counts.items()))
        self.progress.update(self.task, advance=1, description=f"{cell.runtime} · {cell.interface} {summary}")

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        from .plugin import state

        self.progress.stop()
        self.state = state(session.config)
        for runtime in self.state.factories:  # record every selected runtime, even one no cell reached
            self.state.probe(runtime)
        for name in self.state.specs:
            self.state.build(name)


def execute(args: argparse.Namespace, step_files: list[Path], out: Path) -> int:
    console = Console(stderr=True)
    out.mkdir(parents=True, exist_ok=True)
    journal = out / "journal.jsonl"
    journal.unlink(missing_ok=True)
    pytest_args = [str(p) for p in step_files] + [
        "--rootdir", str(PROJECT_ROOT), "-c", str(PROJECT_ROOT / "pyproject.toml"),
        "-p", "no:cacheprovider", "-p", "no:terminal", "-o", "testpaths=",
        "--keel-journal", str(journal), "--keel-timeout", str(args.timeout),
    ]
    for r in args.runtime:
        pytest_args += ["--keel-runtime", r]
    for g in args.guest:
        pytest_args += ["--keel-guest", g]
    if args.component is not None:
        pytest_args += ["--keel-component", str(args.component), "--keel-component-interface", args.interface[0]]
    if args.keyword:
        pytest_args += ["-k", args.keyword]
    command = ["keel-conformance", *sys.argv[1:]]
    started = results.now()
    progress = _Progress(console, enabled=not args.no_progress and console.is_terminal)
    with console.status("building fixtures and probing runtimes…", spinner="dots") if console.is_terminal else _null():
        code = pytest.main(pytest_args, plugins=[progress])
    finished = results.now()
    if progress.collect_errors:
        for err in progress.collect_errors:
            print(f"keel-conformance: {err}", file=sys.stderr)
        return 2
    if code in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.INTERNAL_ERROR) or progress.state is None:
        print(f"keel-conformance: the scenario run could not start (pytest exit {int(code)})", file=sys.stderr)
        return 2
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        print("keel-conformance: no scenario matched the selection", file=sys.stderr)
        return 2
    st = progress.state
    runtimes = [{"name": p.runtime, "version": p.version, "available": p.available, "reason": p.reason,
                 "flags": list(p.flags), "origin": p.origin, "capabilities": sorted(p.capabilities)}
                for p in st.probes.values()]
    guests = [results.guest_entry(b) for b in st.builds.values()]
    guests += [results.composite_entry(c) for c in st.composites.values()]
    doc = results.assemble(started=started, finished=finished, complete=code != pytest.ExitCode.INTERRUPTED,
                           command=command, runtimes=runtimes, guests=guests, cells=results.read_journal(journal),
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
    print(f"\n{s['cells']} cells: {counts}; {s['unexpected']} unexpected. Wrote {out}/: results.json, matrix.md, report.html, junit.xml, cucumber.json")
    if code == pytest.ExitCode.INTERRUPTED:
        print("keel-conformance: interrupted; the results above are partial (run.complete is false)", file=sys.stderr)
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
