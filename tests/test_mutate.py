"""`keel-conformance mutate`: real mutants of real guests, judged by the real scenarios on wasmtime."""
from __future__ import annotations

import hashlib
import json
import shlex
from pathlib import Path

import pytest

from fixtures.components.build import load_specs, world_types
from keel_conformance.component_types import inspect_file
from keel_conformance.mutation import plan
from reports import results
from tests.conftest import keel

LISTED_KEY = "list-keys:result.ok.keys[*]:string-edit"  # every listed key loses its last character


def _kv_sig():
    spec = next(s for s in load_specs() if s.name == "py-kv-probe")
    types = world_types(spec.world)
    if types is None:
        pytest.skip("n/a: jco is not installed (npm ci)")
    return inspect_file(types).export_named(spec.export)


def test_sites_and_equivalents_come_from_the_wit_types() -> None:
    sites, equivalent = plan(_kv_sig())
    ids = {s.id for s in sites}
    assert {LISTED_KEY, "list-keys:result.ok.keys:drop-last", "list-keys:result.ok.next-cursor:some-to-none",
            "get:result.ok?:drop-last", "get:result.ok?[*]:plus-one", "delete:result.ok:flip",
            "set:result:ok-to-err", "set:result.err:other-case"} <= ids
    # An error is judged by its case; what its payload says is nobody's contract here.
    assert not [i for i in ids if ".err." in i]
    pairs = {(e.function, e.operator): e.reason for e in equivalent}
    assert "set returns result<_, " in pairs[("set", "flip")] and ("set", "ok-to-err") not in pairs
    assert ("delete", "flip") not in pairs and ("delete", "string-edit") in pairs


SWAPPED = "list-keys:result:swap-result-case"  # the WAT or C source edited so list-keys' ok and err trade places


@pytest.mark.parametrize("guest, site, equivalent", [
    ("py-kv-probe", LISTED_KEY, ("set", "flip")),  # componentize-py: a wrapper in Python
    ("js-kv-probe", LISTED_KEY, ("set", "flip")),  # ComponentizeJS: a wrapper in JavaScript
    ("wat-sql-probe", "tx-commit:result:swap-result-case", ("tx-drop", "swap-result-case")),  # hand-written WAT
    ("c-p1-kv-probe", SWAPPED, None),  # C over the p1 bridge
])
def test_a_mutant_of_each_toolchain_is_built_run_and_killed(guest: str, site: str, equivalent: tuple[str, str] | None,
                                                            tmp_path: Path) -> None:
    out = tmp_path / "m"
    interface = "sql" if "sql" in guest else "kv"
    proc = keel("mutate", "--interface", interface, "--guest", guest, "--mutant", site, "--out", str(out),
                timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = results.load(out / "results.json")  # validates, the `mutation` field included
    (mutant,) = doc["mutation"]["mutants"]
    assert (mutant["guest"], mutant["status"], mutant["id"]) == (guest, "killed", site)
    assert mutant["rerun"].endswith(f"--guest {guest} --mutant {shlex.quote(site)}")
    if equivalent is not None:
        found = [e for e in doc["mutation"]["equivalent"] if (e["function"], e["operator"]) == equivalent]
        assert len(found) == 1 and found[0]["guest"] == guest
    (score,) = doc["mutation"]["scores"]
    assert score["killed"] == 1 and score["survived"] == 0 and score["score"] == 1
    assert {c["guest"] for c in doc["cells"]} == {guest}  # the baseline's cells; mutants are not matrix cells
    assert "Mutation score" in (out / "matrix.md").read_text()
    # Nothing changed: the second run builds nothing.
    again = keel("mutate", "--interface", interface, "--guest", guest, "--mutant", site, "--out", str(out),
                 timeout=900)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "0 of 2 builds made now" in again.stderr


def test_a_mutant_bytes_differ_from_its_schema_only_at_the_marker(tmp_path: Path) -> None:
    out = tmp_path / "m"
    proc = keel("mutate", "--interface", "kv", "--guest", "py-kv-probe", "--mutant", LISTED_KEY, "--out", str(out),
                timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    toml = (out / "mutants.toml").read_text()
    mutant = Path(json.loads(next(ln.split("= ", 1)[1] for ln in toml.splitlines()
                                  if ln.startswith("source =") and ".wasm" in ln)))
    # A mutant is named by its schema build's sha256 and its slot.
    prefix = mutant.name.split("-")[0]
    (schema,) = [f for f in mutant.parent.parent.joinpath("components").glob("py-kv-probe~schema-*.wasm")
                 if hashlib.sha256(f.read_bytes()).hexdigest().startswith(prefix)]
    a, b = schema.read_bytes(), mutant.read_bytes()
    assert len(a) == len(b) and a != b
    changed = [i for i in range(len(a)) if a[i] != b[i]]
    # Only the marker's digits differ: each changed byte is one of the six after "keel-mutant-slot:".
    marker = b"keel-mutant-slot:"
    for i in changed:
        assert any(b[i - k - len(marker):i - k] == marker for k in range(6)), f"byte {i} changed outside the marker"


@pytest.mark.parametrize("argv, says", [
    (["--interface", "values"], "no mutable guests for interface values"),
    (["--interface", "hostile"], "features/hostile.feature opts out of mutants"),
    (["--interface", "kv", "--mutant", "nope:result:flip"], "no mutant 'nope:result:flip'"),
    (["--interface", "kv", "--guest", "nobody"], "unknown guest nobody"),
    (["--interface", "kv", "--runtime", "nowhere"], "unknown runtime nowhere"),
    (["--interface", "kv", "--workers", "0"], "must be 1 or more"),
])
def test_bad_selections_are_one_line_and_write_nothing(argv: list[str], says: str, tmp_path: Path) -> None:
    proc = keel("mutate", *argv, "--out", str(tmp_path / "m"))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert says in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not (tmp_path / "m" / "results.json").exists()


def test_a_member_mutant_shared_by_its_interface_and_its_composite_builds_once_from_an_empty_cache(
        tmp_path: Path) -> None:
    """c-p1-email-service's send-bulk mutant judges email and, as a member, product: one build serves both
    (two threads building it at once once shared a temporary file and lost it)."""
    import os

    site = "send-bulk:result:swap-result-case"
    proc = keel("mutate", "--interface", "email", "--interface", "product", "--guest", "c-p1-email-service",
                "--guest", "c-p1-product", "--mutant", site, "--out", str(tmp_path / "m"), timeout=900,
                env={**os.environ, "KEEL_CACHE_DIR": str(tmp_path / "cache")})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    mutants = results.load(tmp_path / "m" / "results.json")["mutation"]["mutants"]
    assert {(m["interface"], m["status"]) for m in mutants} == {("email", "killed"), ("product", "killed")}
