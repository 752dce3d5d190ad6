"""The pytest plugin that turns scenarios into matrix cells.

Each scenario function in `step_defs/` is parametrized over every
(runtime, guest) pair that serves its interface. Steps only see the
`guest` fixture: which runtime is behind it is decided here.
"""
from __future__ import annotations

import dataclasses
import signal
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fixtures.backends import Backends, Services
from fixtures.components.build import BuildFailure, GuestSpec, abi_of, build_one, load_composites, load_specs
from reports import expectations
from runners import registry
from runners.protocol import GuestBuild, Limits, Probe

from . import journal as journal_file
from . import scheduling, stopping
from .cells import NA_PREFIX, Cell, CellId, classify
from .component_types import NotAComponent, check_preamble
from .outcomes import GuestTimeout, GuestTrap, NotApplicable, Outcome, RuntimeCrash, SuiteError

OUTCOME_EXCEPTIONS: dict[str, type[BaseException]] = {
    "trap": GuestTrap, "timeout": GuestTimeout, "crash": RuntimeCrash, "error": SuiteError, "fail": AssertionError}


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("keel-conformance")
    g.addoption("--keel-runtime", action="append", default=[], help="runtime to run (repeatable; default: all)")
    g.addoption("--keel-guest", action="append", default=[], help="guest to run (repeatable; default: all)")
    g.addoption("--keel-component", default=None, help="run against this component instead of the built guests")
    g.addoption("--keel-component-interface", default=None, help="interface the --keel-component serves")
    g.addoption("--keel-journal", default=None, help="append one JSON line per finished cell here")
    g.addoption("--keel-timeout", type=float, default=10.0, help="deadline per guest call, seconds")
    g.addoption("--keel-skip-done", action="store_true", help="skip cells the journal already holds (resume)")
    g.addoption("--keel-guests-file", default=None, help="guests and composites from this TOML instead of guests.toml")
    g.addoption("--keel-stop-guest-on-fail", action="store_true",
                help="once a guest has a cell that did not pass, its further cells are skipped (mutation runs)")


class KeelState:
    """Everything shared by the cells of one session: runners, probes, guest builds."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        factories = registry()
        wanted = config.getoption("keel_runtime") or list(factories)
        unknown = [r for r in wanted if r not in factories]
        if unknown:
            raise pytest.UsageError(f"unknown runtime {', '.join(unknown)}; known: {', '.join(factories)}")
        self.factories = {r: factories[r] for r in wanted}
        self.runners: dict[str, Any] = {}
        self.probes: dict[str, Probe] = {}
        self.builds: dict[str, GuestBuild | BuildFailure] = {}
        self.limits = Limits(call_timeout_s=config.getoption("keel_timeout"))
        guests_file = config.getoption("keel_guests_file")
        self.guests_file = Path(guests_file) if guests_file else None
        self.specs = self._specs()
        self.composites = {} if config.getoption("keel_component") else {
            c.name: c for c in self._load(load_composites) if all(m in self.specs for m in c.members.values())}
        self.killed: set[str] = set()  # guests with a cell that did not pass (--keel-stop-guest-on-fail)
        self.services = Services()
        self.loaded: set[tuple[str, str]] = set()  # (runtime, guest) pairs instantiated at least once
        journal = config.getoption("keel_journal")
        self.journal = Path(journal) if journal else None

    def _specs(self) -> dict[str, GuestSpec]:
        component = self.config.getoption("keel_component")
        if component:
            iface = self.config.getoption("keel_component_interface")
            template = next((s for s in load_specs() if s.interface == iface), None)
            if template is None:
                raise pytest.UsageError(f"no scenarios for interface {iface!r}")
            path = Path(component).resolve()
            try:
                check_preamble(path.read_bytes(), path)
            except (OSError, NotAComponent) as e:
                raise pytest.UsageError(str(e)) from None
            spec = GuestSpec(f"user:{path.name}", template.world, iface, template.export,
                             template.imports, "user-supplied", str(path))
            return {spec.name: spec}
        wanted = set(self.config.getoption("keel_guest"))
        for c in self._load(load_composites):  # asking for a composite asks for its members
            if c.name in wanted:
                wanted |= set(c.members.values())
        return {s.name: s for s in self._load(load_specs) if (s.name in wanted if wanted else not s.fixture_only)}

    def _load(self, loader: Any) -> list[Any]:
        return loader(self.guests_file) if self.guests_file is not None else loader()

    def cells_for(self, interface: str) -> list[CellId]:
        # Named guests only, when guests are named: a named composite's members are loaded for it, not run alone.
        named = set(self.config.getoption("keel_guest"))
        guests = [g.name for g in self.specs.values() if g.interface == interface and (not named or g.name in named)]
        guests += [c.name for c in self.composites.values() if c.interface == interface and (not named or c.name in named)]
        return [CellId(r, g) for r in self.factories for g in guests]

    def interface_of(self, guest: str) -> str:
        spec = self.specs.get(guest) or self.composites[guest]
        return spec.interface

    def used_by(self, cells: list[dict[str, Any]]) -> tuple[set[str], set[str]]:
        """The runtimes and guests (a composite's members included) that these cells ran on."""
        guests = {c["guest"] for c in cells}
        guests |= {m for c in self.composites.values() if c.name in guests for m in c.members.values()}
        return {c["runtime"] for c in cells}, guests

    def abi_of(self, guest: str) -> str | None:
        """None for components (and composites of them); the tier's name for anything else."""
        if guest in self.composites:
            abis = {self.abi_of(m) for m in self.composites[guest].members.values()}
            return abis.pop() if len(abis) == 1 else None
        abi = abi_of(self.specs[guest])
        return None if abi == "component" else abi

    def probe(self, runtime: str) -> Probe:
        if runtime not in self.probes:
            try:
                runner = self.factories[runtime]()
                self.runners[runtime] = runner
                self.probes[runtime] = runner.probe()
            except Exception as e:  # a runner that cannot even start is unavailable, said plainly
                self.probes[runtime] = Probe(runtime, False, reason=f"runner failed to start: {type(e).__name__}: {e}")
        return self.probes[runtime]

    def build(self, name: str) -> GuestBuild | BuildFailure:
        if name not in self.builds:
            spec = self.specs[name]
            if spec.toolchain == "user-supplied":
                self.builds[name] = _user_build(spec)
            else:
                self.builds[name] = build_one(spec)
        return self.builds[name]

    def close(self) -> None:
        for runner in self.runners.values():
            runner.close()
        self.services.close()


def _user_build(spec: GuestSpec) -> GuestBuild:
    import hashlib

    path = Path(spec.source)
    data = path.read_bytes()
    return GuestBuild(spec.name, spec.world, spec.interface, spec.export, path,
                      hashlib.sha256(data).hexdigest(), len(data), "user-supplied", "unknown",
                      extra={"imports": list(spec.imports)})


_STATE = pytest.StashKey[KeelState]()
_CELL_INFO = pytest.StashKey[dict[str, Any]]()
NO_STEPS = "the scenario has no steps"
ALREADY_KILLED = "not run: an earlier cell of this guest already differed (--keel-stop-guest-on-fail)"
OUTPUT_LIMIT = 4000  # characters of captured output kept per cell


def state(config: pytest.Config) -> KeelState:
    return config.stash[_STATE]


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    for line in ("keel_outcome(outcome): the scenario expects this outcome (Gherkin tag @outcome:NAME)",
                 "keel_timeout(seconds): the call deadline for this scenario (Gherkin tag @timeout:SECONDS)",
                 "keel_needs(capability): cells on runtimes without it are n/a (Gherkin tag @needs:NAME)"):
        config.addinivalue_line("markers", line)
    config.stash[_STATE] = KeelState(config)
    st = config.stash[_STATE]
    if st.journal is not None:  # a `keel-conformance run`: signals stop it between cells, never inside one
        stop = stopping.install(st.journal.with_name(stopping.STOP_FILE), quiet=hasattr(config, "workerinput"))
        if not hasattr(config, "workerinput"):
            stop.on_signal.append(lambda _signum: _stop_workers(config, stop))
    if hasattr(config, "workerinput"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # see pytest_xdist_setupnodes


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """A parallel run hands each worker whole (column, guest) blocks (see scheduling.py)."""
    st = state(config)
    return scheduling.ByColumnAndGuest(config, log, [*st.specs, *st.composites])


# SIGINT while pytest-xdist starts its workers: a worker still importing its bootstrap would die of it with
# a traceback on the run's stderr. The controller holds SIGINT blocked while it starts them (they inherit the
# mask) and each worker unblocks it once the run's handler is installed, so a Ctrl-C that came meanwhile is
# handled like any other.
_workers_to_start = [0]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_setupnodes(config: pytest.Config, specs: list[Any]) -> None:
    _workers_to_start[0] = len(specs)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_newgateway(gateway: Any) -> None:
    _workers_to_start[0] -= 1
    if _workers_to_start[0] <= 0:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _stop_workers(config: pytest.Config, stop: stopping.StopRequest) -> None:
    """A parallel run's controller: no new cells are handed out; the workers see the stop file."""
    dsession = config.pluginmanager.getplugin("dsession")
    if dsession is not None:
        dsession.shouldstop = stop.reason


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
    """Once a stop is asked for, no further cell starts."""
    stop = stopping.current()
    if stop is not None and stop.requested and _cell_id(item) is not None:
        item.session.shouldstop = stop.reason
        return True
    return None


def pytest_runtest_logstart(nodeid: str, location: Any) -> None:
    stop = stopping.current()
    if stop is not None:
        stop.cell_started()


def pytest_runtest_logfinish(nodeid: str, location: Any) -> None:
    stop = stopping.current()
    if stop is not None:
        stop.cell_ended()


@pytest.hookimpl(tryfirst=True)
def pytest_bdd_apply_tag(tag: str, function: Any) -> bool | None:
    """The suite's own Gherkin tags: @outcome:NAME, @timeout:SECONDS, @needs:CAPABILITY."""
    kind, sep, value = tag.partition(":")
    if not sep or kind not in ("outcome", "timeout", "needs", "mutants"):
        return None
    if kind == "mutants":  # read by `keel-conformance mutate` from the feature file; nothing to do per cell
        return True
    if kind == "outcome":
        if value not in {o.value for o in Outcome}:
            raise pytest.UsageError(f"@outcome:{value}: not an outcome ({', '.join(o.value for o in Outcome)})")
        pytest.mark.keel_outcome(value)(function)
    elif kind == "timeout":
        pytest.mark.keel_timeout(float(value))(function)
    else:
        pytest.mark.keel_needs(value)(function)
    return True


def pytest_unconfigure(config: pytest.Config) -> None:
    if _STATE in config.stash:
        config.stash[_STATE].close()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "keel_cell" not in metafunc.fixturenames:
        return
    interface = getattr(metafunc.module, "INTERFACE", None)
    if interface is None:
        raise pytest.UsageError(f"{metafunc.module.__name__} uses keel_cell but sets no INTERFACE")
    cells = state(metafunc.config).cells_for(interface)
    metafunc.parametrize("keel_cell", cells, ids=[c.label for c in cells], scope="function")


@pytest.fixture
def backends(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backends]:
    """This scenario's real host backends, each in a fresh directory."""
    b = Backends(tmp_path / "backends", state(request.config).services)
    yield b
    b.close()


class Composite:
    """The instances of a composite cell, by role (`guest.members["repository"]`)."""

    def __init__(self, members: dict[str, Any]) -> None:
        self.members = members

    def close(self) -> None:
        for inst in self.members.values():
            inst.close()


class _Timed:
    """The instance as steps see it; every call's duration goes to the cell's cost figures."""

    def __init__(self, inner: Any, calls: list[float]) -> None:
        self._inner, self._calls = inner, calls

    def call(self, func: str, args: Any) -> Any:
        t = time.perf_counter()
        try:
            return self._inner.call(func, args)
        finally:
            self._calls.append(time.perf_counter() - t)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _instantiate(st: KeelState, cell: CellId, guest_name: str, backends: Backends, limits: Limits,
                 info: dict[str, Any]) -> Any:
    build = st.build(guest_name)
    if isinstance(build, BuildFailure):
        raise SuiteError(f"guest {guest_name} failed to build: {build.reason} (log: {build.log})")
    first = (cell.runtime, guest_name) not in st.loaded
    t = time.perf_counter()
    try:
        instance = st.runners[cell.runtime].instantiate(build, backends, limits)
    except NotApplicable as e:
        pytest.skip(NA_PREFIX + str(e))
    took = time.perf_counter() - t
    st.loaded.add((cell.runtime, guest_name))
    # The first instance of a guest on a runtime also pays for compiling (or transpiling) it.
    info.setdefault("load_ms" if first else "instantiate_ms", round(took * 1000, 3))
    return _Timed(instance, info.setdefault("calls", []))


@pytest.fixture
def guest(request: pytest.FixtureRequest, keel_cell: CellId, backends: Backends) -> Iterator[Any]:
    """A fresh instance of the cell's guest on the cell's runtime (a Composite for composite cells)."""
    st = state(request.config)
    if keel_cell.guest in st.killed:
        pytest.skip(ALREADY_KILLED)
    probe = st.probe(keel_cell.runtime)
    if not probe.available:
        pytest.skip(NA_PREFIX + (probe.reason or "runtime not available"))
    for mark in request.node.iter_markers("keel_needs"):
        if mark.args[0] not in probe.capabilities:
            pytest.skip(NA_PREFIX + f"{keel_cell.runtime} cannot provide {mark.args[0]} "
                        f"(it offers: {', '.join(sorted(probe.capabilities)) or 'nothing declared'})")
    limits = st.limits
    deadline = request.node.get_closest_marker("keel_timeout")
    if deadline is not None:
        limits = dataclasses.replace(limits, call_timeout_s=min(limits.call_timeout_s, deadline.args[0]))
    info = request.node.stash.setdefault(_CELL_INFO, {})
    composite = st.composites.get(keel_cell.guest)
    if composite is None:
        instance = _instantiate(st, keel_cell, keel_cell.guest, backends, limits, info)
    else:
        instance = Composite({})
        try:
            for role, name in composite.members.items():
                instance.members[role] = _instantiate(st, keel_cell, name, backends, limits, info)
        except BaseException:  # n/a or a failure in one member: the others made so far (processes, for some) go
            instance.close()
            raise
    yield instance
    instance.close()


def pytest_bdd_before_scenario(request: pytest.FixtureRequest, feature: Any, scenario: Any) -> None:
    info = request.node.stash.setdefault(_CELL_INFO, {})
    info["line"] = scenario.line_number
    if not scenario.steps:
        # A scenario with no steps checks nothing; passing it would be a lie.
        raise SuiteError(f"{NO_STEPS} ({Path(feature.filename).name}:{scenario.line_number})")
    info["tags"] = sorted(scenario.tags | feature.tags)
    # Every step starts as skipped; the hooks below record what really ran.
    info["steps"] = [{"keyword": st.keyword, "name": st.name, "line": st.line_number, "status": "skipped"}
                     for st in scenario.steps]


def _mark_step(request: pytest.FixtureRequest, step: Any, status: str) -> None:
    for entry in request.node.stash.get(_CELL_INFO, {}).get("steps", []):
        if entry["line"] == step.line_number and entry["name"] == step.name:
            entry["status"] = status
            return


def pytest_bdd_after_step(request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any,
                          step_func: Any, step_func_args: Any) -> None:
    _mark_step(request, step, "passed")


def pytest_bdd_step_error(request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any,
                          step_func: Any, step_func_args: Any, exception: Exception) -> None:
    request.node.stash.setdefault(_CELL_INFO, {})["step"] = f"{step.keyword} {step.name}"
    _mark_step(request, step, "failed")


def pytest_bdd_step_func_lookup_error(request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any,
                                      exception: Exception) -> None:
    request.node.stash.setdefault(_CELL_INFO, {})["step"] = f"{step.keyword} {step.name}"
    _mark_step(request, step, "undefined")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    cell_id = _cell_id(item)
    if cell_id is None:
        return report
    info = item.stash.setdefault(_CELL_INFO, {})
    info.setdefault("duration", 0.0)
    info["duration"] += report.duration
    if call.excinfo is not None and "outcome" not in info:
        info["outcome"], info["message"] = classify(call.excinfo)
    captured = "\n".join(text for _, text in report.sections if text.strip())
    if captured:
        info["output"] = (info.get("output", "") + captured)[-OUTPUT_LIMIT:]
    if report.when == "teardown":
        _finish_cell(item, cell_id, info)
    return report


def _cell_id(item: pytest.Item) -> CellId | None:
    """The (runtime, guest) a scenario item runs on, or None for the project's own unit tests."""
    cell = item.callspec.params.get("keel_cell") if hasattr(item, "callspec") else None
    return cell if isinstance(cell, CellId) else None


def _scenario_label(item: pytest.Item) -> str:
    # pytest-bdd documents each scenario function as "<feature name>: <scenario name>".
    name = (item.function.__doc__ or item.name).split(": ", 1)[-1]  # type: ignore[attr-defined]
    example = item.callspec.params.get("_pytest_bdd_example") if hasattr(item, "callspec") else None
    if example:
        name += " [" + ", ".join(f"{k}={v}" for k, v in example.items()) + "]"
    return name


def _scenario_expectation(item: pytest.Item) -> dict[str, Any] | None:
    wanted = item.get_closest_marker("keel_outcome")
    if wanted is None:
        return None
    return {"outcome": wanted.args[0], "reason": f"the scenario expects it (@outcome:{wanted.args[0]})",
            "source": "scenario"}


def _repro(item: pytest.Item, cell_id: CellId) -> str:
    """The command that runs this one cell again, alone."""
    import shlex

    args = [".venv/bin/python", "-m", "pytest", "-p", "no:cacheprovider", item.nodeid, "--keel-runtime", cell_id.runtime]
    component = item.config.getoption("keel_component")
    if component:
        args += ["--keel-component", str(Path(component).resolve()),
                 "--keel-component-interface", item.config.getoption("keel_component_interface")]
    return shlex.join(args)


def _feature_file(item: pytest.Item) -> str:
    return f"{item.module.INTERFACE}.feature"  # type: ignore[attr-defined]


@pytest.hookimpl(trylast=True)  # after -k and -m have deselected: what is left is the run's selection
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Records the run's selection; on a resumed run leaves out the cells the journal already holds;
    marks cells with a known non-pass outcome as strict xfail, so the test command agrees with the matrix."""
    st = state(config)
    if st.journal is not None:
        cells = [(i, _cell_id(i)) for i in items]
        selection = [journal_file.SelectedCell(_feature_file(i), _scenario_label(i), c.runtime, c.guest, i.nodeid)
                     for i, c in cells if c is not None]
        try:
            journal_file.record_selection(st.journal, selection)
        except journal_file.JournalError as e:
            raise pytest.UsageError(str(e)) from None
    if config.getoption("keel_skip_done") and st.journal is not None:
        done = {c.get("nodeid") for c in journal_file.read(st.journal).cells}
        keep = [i for i in items if i.nodeid not in done]
        if len(keep) != len(items):
            config.hook.pytest_deselected(items=[i for i in items if i.nodeid in done])
            items[:] = keep
    keys = [(c.runtime, c.guest) if (c := _cell_id(i)) is not None else None for i in items]
    items[:] = [items[i] for i in scheduling.block_order(keys)]
    loaded: dict[str, list[expectations.Expectation]] = {}
    for item in items:
        cell_id = _cell_id(item)
        if cell_id is None:
            continue
        if cell_id.runtime not in loaded:
            loaded[cell_id.runtime] = expectations.load(cell_id.runtime)
        exps = loaded[cell_id.runtime]
        key = {"feature": _feature_file(item), "scenario": _scenario_label(item), "guest": cell_id.guest}
        exp = expectations.find(exps, key)
        wanted = item.get_closest_marker("keel_outcome")
        if exp is not None and not exp.expired() and exp.outcome not in ("pass", "n/a"):
            item.add_marker(pytest.mark.xfail(reason=f"expected {exp.outcome}: {exp.reason}", strict=True))
        elif wanted is not None and wanted.args[0] not in ("pass", "n/a"):
            item.add_marker(pytest.mark.xfail(reason=f"the scenario expects {wanted.args[0]}", strict=True,
                                              raises=OUTCOME_EXCEPTIONS.get(wanted.args[0], Exception)))


def _finish_cell(item: pytest.Item, cell_id: CellId, info: dict[str, Any]) -> None:
    st = state(item.config)
    outcome: Outcome = info.get("outcome", Outcome.PASS)
    cell = Cell(
        feature=_feature_file(item),
        scenario=_scenario_label(item),
        interface=st.interface_of(cell_id.guest),
        runtime=cell_id.runtime,
        guest=cell_id.guest,
        outcome=outcome.value,
        duration_s=round(info["duration"], 6),
        message=info.get("message", ""),
        step=info.get("step"),
        nodeid=item.nodeid,
        line=info.get("line"),
        steps=info.get("steps"),
        tags=info.get("tags"),
        output=info.get("output") if outcome is not Outcome.PASS else None,
        expected=_scenario_expectation(item),
        repro=_repro(item, cell_id) if outcome is not Outcome.PASS else None,
        load_ms=info.get("load_ms"),
        instantiate_ms=info.get("instantiate_ms"),
        call_ms=round(statistics.median(info["calls"]) * 1000, 4) if info.get("calls") else None,
        calls=len(info["calls"]) if info.get("calls") else None,
        abi=st.abi_of(cell_id.guest),
    )
    wanted = item.get_closest_marker("keel_outcome")
    if st.config.getoption("keel_stop_guest_on_fail") and outcome.value != (wanted.args[0] if wanted else "pass") \
            and cell.message != ALREADY_KILLED:
        st.killed.add(cell_id.guest)
    stop = stopping.current()
    if stop is not None and stop.cell_disturbed():
        return  # a signal arrived while it ran: what it ended with is not the runtime's answer; resume runs it
    if st.journal is not None:
        journal_file.append(st.journal, cell.to_json())
