"""The nightly workflow is valid GitHub Actions syntax and uses the README's commands."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from keel_conformance.paths import PROJECT_ROOT
from runners import registry

WORKFLOW = PROJECT_ROOT / ".github" / "workflows" / "nightly.yml"


def test_the_workflow_validates_against_the_github_workflow_schema() -> None:
    tool = shutil.which("check-jsonschema") or str(Path(sys.executable).parent / "check-jsonschema")
    proc = subprocess.run([tool, "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_workflow_uses_the_readme_commands_and_real_runtimes() -> None:
    text = WORKFLOW.read_text()
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert "./dev.sh matrix" in text and "./dev.sh matrix" in readme
    for command in ("merge", "diff", "site", "fuzz"):
        assert f"keel-conformance {command}" in text
    known = set(registry())
    named = set(re.findall(r"--runtime ([\w.+-]+)", text))
    assert named and named <= known, f"the workflow names runtimes the suite does not know: {named - known}"
    jobs = yaml.safe_load(text)["jobs"]
    families = {i["family"] for i in jobs["matrix"]["strategy"]["matrix"]["include"]}
    merged = jobs["merge"]["steps"]
    merge_line = next(s["run"] for s in merged if "keel-conformance merge" in str(s.get("run", "")))
    assert all(f"results-{f}/results.json" in merge_line for f in families)
