"""The Docker columns say why they cannot run, instead of crashing or vanishing."""
from __future__ import annotations

import pytest

from runners import jco_docker
from runners.jco import Engine
from runners.jco_docker import DockerJcoRunner


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
