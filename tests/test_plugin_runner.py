"""A runner from an installed package (entry point `keel_conformance.runners`) becomes a column."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from keel_conformance.paths import PROJECT_ROOT
from reports import results

PLUGIN = Path(__file__).resolve().parent / "plugin_example"


def test_an_out_of_tree_runner_shows_up_in_the_matrix(tmp_path: Path) -> None:
    # The directory holds the module and its dist-info, as `pip install` would leave them.
    env = {**os.environ, "PYTHONPATH": f"{PLUGIN}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    listed = subprocess.run([sys.executable, "-m", "keel_conformance.cli", "list-runtimes"], cwd=PROJECT_ROOT,
                            env=env, capture_output=True, text=True, timeout=120)
    assert "oot-wasmtime" in listed.stdout, listed.stdout + listed.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "keel_conformance.cli", "run", "--runtime", "oot-wasmtime", "--interface", "kv",
         "-k", "missing_key", "--guest", "py-kv-probe", "--out", str(tmp_path), "--no-progress"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = results.load(tmp_path / "results.json")
    assert [r["name"] for r in doc["runtimes"]] == ["oot-wasmtime"]
    assert doc["runtimes"][0]["origin"] == "an out-of-tree plugin (entry point)"
    assert [(c["runtime"], c["outcome"]) for c in doc["cells"]] == [("oot-wasmtime", "pass")]
