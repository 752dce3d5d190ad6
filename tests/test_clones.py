"""Issue 16.8: a results file made in one checkout validates and submits in another, at another path.

Two real clones of this repository (git clone of its HEAD) at different paths and depths; a real run in the
first; validate and submit in the second. The clones share this checkout's installed toolchain (node_modules),
as two checkouts on one machine with the same pinned toolchain do.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from keel_conformance.paths import PROJECT_ROOT
from tests.conftest import keel


def _clone(dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["git", "clone", "--quiet", str(PROJECT_ROOT), str(dest)], capture_output=True, text=True,
                          timeout=120)
    if proc.returncode != 0:
        pytest.skip(f"n/a: this checkout cannot be cloned: {proc.stderr.strip()[:200]}")
    (dest / "node_modules").symlink_to(PROJECT_ROOT / "node_modules")
    return dest


def _keys(checkout: Path) -> dict[str, str]:
    code = ("import json; from fixtures.components.build import TOOLCHAINS, build_key, load_specs; "
            "print(json.dumps({s.name: build_key(s, TOOLCHAINS[s.toolchain][1]()) for s in load_specs()}))")
    proc = subprocess.run([str(PROJECT_ROOT / ".venv/bin/python"), "-c", code], cwd=checkout, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def clones(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("clones")
    return _clone(base / "a"), _clone(base / "elsewhere" / "much" / "deeper" / "b")


def test_build_keys_are_the_same_in_two_clones_at_different_paths(clones: tuple[Path, Path]) -> None:
    a, b = clones
    assert _keys(a) == _keys(b)


def test_a_run_made_in_one_clone_validates_and_submits_in_the_other(clones: tuple[Path, Path]) -> None:
    a, b = clones
    out = a / "reports" / "out" / "from-a"
    ran = keel("run", "--runtime", "wasmtime", "--interface", "kv", "--guest", "wat-kv-probe", "-k",
               "missing_key or exists_follows", "--no-progress", "--out", str(out), cwd=a)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    doc = json.loads((out / "results.json").read_text())
    assert any(g.get("build_key") for g in doc["guests"] if g["name"] == "wat-kv-probe")

    checked = keel("validate", str(out / "results.json"), cwd=b)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.strip().endswith(": valid")

    submitted = keel("submit", str(out / "results.json"), cwd=b)
    assert submitted.returncode == 0, submitted.stderr
    (bundle,) = (b / "reports" / "submissions").iterdir()
    again = keel("validate", str(bundle / "results.json"), cwd=a)
    assert again.returncode == 0, again.stderr
    text = (bundle / "results.json").read_text()
    assert str(a) not in text and str(b) not in text
