"""The Docker columns: one container per column, a dead one costs its cell, and they say why they cannot run."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.backends import Backends
from fixtures.components.build import BuildFailure, build_one, load_specs
from keel_conformance.outcomes import RuntimeCrash
from keel_conformance.values import Ok, Some
from runners import jco_docker
from runners.jco import ENGINES, Engine
from runners.jco_docker import DockerJcoRunner
from runners.protocol import GuestBuild, Limits

docker = pytest.importorskip("docker")


def test_no_docker_engine_is_na_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    monkeypatch.setattr(jco_docker.shutil, "which", lambda name: None)
    probe = DockerJcoRunner(Engine("jco-fake", lambda: "/bin/true")).probe()
    assert not probe.available
    assert probe.reason and "no Docker engine answers" in probe.reason


def test_a_missing_engine_build_is_na_with_the_reason() -> None:
    client, why = jco_docker.ensure_daemon()
    if client is None:
        pytest.skip(f"n/a: {why}")
    probe = DockerJcoRunner(Engine("jco-fake", lambda: None, install_hint="install it")).probe()
    assert not probe.available and probe.reason == "engine build not installed (install it)"


@pytest.fixture(scope="module")
def docker_runner() -> Iterator[DockerJcoRunner]:
    """A Docker column on the machine's own node (always present where npm is), n/a without Docker."""
    r = DockerJcoRunner(ENGINES["jco-node"])
    probe = r.probe()
    if not probe.available:
        pytest.skip(f"n/a: {probe.reason}")
    yield r
    r.close()


def _built(name: str) -> GuestBuild:
    build = build_one(next(s for s in load_specs() if s.name == name))
    assert not isinstance(build, BuildFailure), build
    return build


def test_a_column_runs_every_engine_process_in_one_container_and_leaves_none(tmp_path: Path) -> None:
    r = DockerJcoRunner(ENGINES["jco-node"])
    probe = r.probe()
    if not probe.available:
        pytest.skip(f"n/a: {probe.reason}")
    backends = Backends(tmp_path)
    p1, wat = _built("c-p1-kv-probe"), _built("wat-kv-probe")
    try:
        for guest in (p1, wat, p1, p1, wat):
            inst = r.instantiate(guest, backends, Limits())
            assert inst.call("set", ["k", b"v"]) == Ok(None)
            assert inst.call("get", ["k"]) == Ok(Some(b"v"))
            inst.close()
        assert len(r.containers) == 1
        box = next(iter(r.containers.values()))
        assert box.container.id in {c.id for c in r.client.containers.list()}
    finally:
        r.close()
        backends.close()
    with pytest.raises(docker.errors.NotFound):
        r.client.containers.get(box.container.id).reload()


def test_a_container_that_dies_under_a_call_costs_that_call_only(docker_runner: DockerJcoRunner, tmp_path: Path) -> None:
    backends = Backends(tmp_path)
    p1 = _built("c-p1-kv-probe")
    inst = docker_runner.instantiate(p1, backends, Limits())
    box = next(iter(docker_runner.containers.values()))
    box.container.kill()
    with pytest.raises(RuntimeCrash, match="container is gone|died"):
        inst.call("get", ["k"])
    inst.close()
    again = docker_runner.instantiate(p1, backends, Limits())
    assert again.call("get", ["k"]) == Ok(None)
    assert next(iter(docker_runner.containers.values())) is not box, "a fresh container took over"
    again.close()
    backends.close()
