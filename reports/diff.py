"""What changed between two runs: the thing a nightly job posts, and fails on."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tabulate import tabulate

Key = tuple[str, str, str, str]
BAD = {"fail", "trap", "timeout", "crash", "error"}


def _key(c: dict[str, Any]) -> Key:
    return (c["feature"], c["scenario"], c["runtime"], c["guest"])


@dataclass
class Diff:
    regressed: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)  # was pass, now not
    fixed: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    changed: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)  # other outcome changes
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)  # cells whose scenario this suite still has
    retired: list[dict[str, Any]] = field(default_factory=list)  # cells whose scenario the suite no longer has
    versions: list[tuple[str, str | None, str | None]] = field(default_factory=list)

    @property
    def regression(self) -> bool:
        """Newly not passing, a new cell that does not pass, or a cell that is gone though its scenario is not."""
        return bool(self.regressed or self.removed) or any(c["outcome"] in BAD for c in self.added)


def compare(old: dict[str, Any], new: dict[str, Any], scenarios: dict[str, set[str]] | None = None) -> Diff:
    """`scenarios` (feature file -> scenario labels of this suite version) tells a removed scenario from a lost cell;
    without it every cell that is gone counts as lost."""
    d = Diff()
    before = {_key(c): c for c in old["cells"]}
    after = {_key(c): c for c in new["cells"]}
    for k, n in after.items():
        o = before.get(k)
        if o is None:
            d.added.append(n)
        elif o["outcome"] == "pass" and n["outcome"] != "pass":
            d.regressed.append((o, n))
        elif o["outcome"] != "pass" and n["outcome"] == "pass":
            d.fixed.append((o, n))
        elif o["outcome"] != n["outcome"]:
            d.changed.append((o, n))
    for k, c in before.items():
        if k not in after:
            retired = scenarios is not None and c["scenario"] not in scenarios.get(c["feature"], set())
            (d.retired if retired else d.removed).append(c)
    old_rt = {r["name"]: r.get("version") for r in old["runtimes"]}
    for r in new["runtimes"]:
        if r["name"] in old_rt and old_rt[r["name"]] != r.get("version"):
            d.versions.append((r["name"], old_rt[r["name"]], r.get("version")))
    return d


def _rows(pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> list[list[str]]:
    return [[n["runtime"], n["guest"], n["scenario"], o["outcome"], n["outcome"], n["message"][:160]] for o, n in pairs]


def markdown(d: Diff) -> str:
    head = ["runtime", "guest", "scenario", "was", "now", "message"]
    parts = ["# keel-conformance: what changed", ""]
    verdict = "REGRESSED" if d.regression else "no regression"
    parts.append(f"**{verdict}** · {len(d.regressed)} newly not passing (incl. "
                 f"{sum(n['outcome'] == 'n/a' for _, n in d.regressed)} newly n/a) · {len(d.fixed)} newly passing · "
                 f"{len(d.changed)} other changes · {len(d.added)} new cells · {len(d.removed)} cells gone · "
                 f"{len(d.retired)} cells of scenarios the suite removed")
    for title, pairs in (("Newly not passing", d.regressed), ("Newly passing", d.fixed), ("Other outcome changes", d.changed)):
        if pairs:
            parts += ["", f"## {title}", "", tabulate(_rows(pairs), headers=head, tablefmt="github")]
    if d.added:
        parts += ["", "## New cells", "", tabulate([[c["runtime"], c["guest"], c["scenario"], c["outcome"]] for c in d.added],
                                                     headers=["runtime", "guest", "scenario", "outcome"], tablefmt="github")]
    for title, cells in (("Cells no longer run (their scenario still exists: a regression)", d.removed),
                         ("Cells of scenarios this suite version removed", d.retired)):
        if cells:
            parts += ["", f"## {title}", "", tabulate([[c["runtime"], c["guest"], c["scenario"]] for c in cells],
                                                      headers=["runtime", "guest", "scenario"], tablefmt="github")]
    if d.versions:
        parts += ["", "## Runtime versions that changed", "",
                  tabulate([[n, o or "", v or ""] for n, o, v in d.versions], headers=["runtime", "was", "now"],
                           tablefmt="github")]
    return "\n".join(parts) + "\n"
