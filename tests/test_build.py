"""Guest builds: a failure is reported with the build log's reason, and an unchanged guest is not rebuilt."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from fixtures.components import build
from fixtures.components.build import BuildFailure, GuestSpec, build_one, load_specs


def test_a_guest_that_fails_to_build_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "components" / "wat-broken"
    broken.mkdir(parents=True)
    (broken / "broken.wat").write_text("(module (func (export \"f\") (result i32) i64.const 1))\n")
    monkeypatch.setattr(build, "COMPONENTS", tmp_path / "components")
    monkeypatch.setenv("KEEL_CACHE_DIR", str(tmp_path / "cache"))
    spec = GuestSpec("wat-broken", "hostile-guest", "hostile", "keel:probes/hostile", (), "wat", "wat-broken")
    result = build_one(spec)
    assert isinstance(result, BuildFailure)
    assert result.reason and "error" in result.reason.lower() and result.log.exists()


def test_an_unchanged_guest_is_not_rebuilt_and_a_changed_command_is() -> None:
    spec = next(s for s in load_specs() if s.name == "wat-hostile")
    first = build_one(spec)
    assert not isinstance(first, BuildFailure)
    mtime = first.path.stat().st_mtime_ns
    again = build_one(spec)
    assert not isinstance(again, BuildFailure) and again.path == first.path and again.path.stat().st_mtime_ns == mtime
    other = dataclasses.replace(spec, string_encoding="utf16")
    assert build.build_key(other, "v") != build.build_key(spec, "v")
