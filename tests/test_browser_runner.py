"""The browser columns: one browser per column, a dead one costs its call, nothing outlives the runner,
and the loopback server serves only what the page and its workers need."""
from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fixtures.backends import Backends
from fixtures.components.build import BuildFailure, build_one, load_specs
from keel_conformance.outcomes import GuestTimeout, RuntimeCrash
from keel_conformance.values import Ok, Some
from runners.browser import BROWSERS, Browser, BrowserRunner, BrowserSession
from runners.protocol import GuestBuild, Limits


def _built(name: str) -> GuestBuild:
    build = build_one(next(s for s in load_specs() if s.name == name))
    assert not isinstance(build, BuildFailure), build
    return build


@pytest.fixture(params=sorted(BROWSERS))
def runner(request: pytest.FixtureRequest) -> Iterator[BrowserRunner]:
    r = BrowserRunner(BROWSERS[request.param])
    probe = r.probe()
    if not probe.available:
        r.close()
        pytest.skip(f"n/a: {probe.reason}")
    yield r
    r.close()


def test_a_browser_that_dies_under_a_call_costs_that_call_and_the_next_instance_gets_a_new_one(
        runner: BrowserRunner, tmp_path: Path) -> None:
    backends = Backends(tmp_path)
    try:
        for guest in (_built("wat-kv-probe"), _built("c-p1-kv-probe")):
            inst = runner.instantiate(guest, backends, Limits())
            assert inst.call("set", ["k", b"v"]) == Ok(None)
            inst.kill_runtime()
            with pytest.raises(RuntimeCrash, match="the browser ended: killed by SIGKILL"):
                inst.call("get", ["k"])
            again = runner.instantiate(guest, backends, Limits())
            assert again.call("get", ["k"]) == Ok(Some(b"v"))  # RocksDB kept what the first instance wrote
    finally:
        backends.close()


def test_after_a_browser_dies_every_guest_it_held_starts_again_in_the_next(runner: BrowserRunner, tmp_path: Path) -> None:
    backends = Backends(tmp_path)
    try:
        kv, sql = _built("wat-kv-probe"), _built("wat-sql-probe")
        runner.instantiate(sql, backends, Limits()).call("execute", ["CREATE TABLE t (x INTEGER)", []])
        runner.instantiate(kv, backends, Limits()).kill_runtime()
        assert runner.instantiate(kv, backends, Limits()).call("set", ["k", b"v"]) == Ok(None)
        again = runner.instantiate(sql, backends, Limits(call_timeout_s=5.0))
        assert again.call("execute", ["INSERT INTO t VALUES (1)", []]) == Ok(1)
    finally:
        backends.close()


def test_a_looping_guest_is_stopped_and_the_browser_keeps_serving(runner: BrowserRunner, tmp_path: Path) -> None:
    backends = Backends(tmp_path)
    try:
        hostile = runner.instantiate(_built("wat-hostile"), backends, Limits(call_timeout_s=1.0))
        with pytest.raises(GuestTimeout):
            hostile.call("spin", [])
        assert runner.session is not None and runner.session.browser_alive()
        kv = runner.instantiate(_built("wat-kv-probe"), backends, Limits())
        assert kv.call("set", ["k", b"v"]) == Ok(None)
    finally:
        backends.close()


def test_closing_the_runner_leaves_no_browser_or_screen(own_browser_processes: Callable[..., list[str]]) -> None:
    for name in sorted(BROWSERS):
        r = BrowserRunner(BROWSERS[name])
        if not r.probe().available:
            continue
        assert r.session is not None and r.session.browser_alive()
        binary = BROWSERS[name].binary.rsplit("/", 1)[-1]
        assert any(binary in p for p in own_browser_processes()), name  # so the empty list below means something
        r.close()
    assert own_browser_processes(settle_s=10) == []


@pytest.mark.parametrize("path", ["/js/../../pyproject.toml", "/js/%2e%2e/%2e%2e/pyproject.toml", "/guest/nope/guest.js",
                                  "/p2-shim/../package.json", "/etc/passwd", "/", "/js/"])
def test_the_server_serves_nothing_outside_its_roots(path: str) -> None:
    session = BrowserSession(Browser("browser-none", ("/nonexistent",), "none", (), lambda p: []))
    try:
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(session.url + path, timeout=10)
        assert e.value.code == 404
        with urllib.request.urlopen(session.url + "/js/host-core.mjs", timeout=10) as ok:
            assert ok.status == 200 and ok.headers["Content-Type"] == "text/javascript"
    finally:
        session.close()


def test_a_browser_that_cannot_start_is_na_with_its_words() -> None:
    r = BrowserRunner(Browser("browser-false", ("/bin/false",), "coreutils", (), lambda p: []))
    try:
        probe = r.probe()
    finally:
        r.close()
    assert not probe.available and probe.reason == "/bin/false ended before opening the page: exit 1"
