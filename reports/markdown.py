"""The matrix as Markdown (for matrix.md, terminals and PR comments)."""
from __future__ import annotations

from collections import defaultdict
from typing import Any

from tabulate import tabulate

from keel_conformance.outcomes import Outcome

MAX_LABEL = 90


def _label(scenario: str) -> str:
    return scenario if len(scenario) <= MAX_LABEL else scenario[: MAX_LABEL - 1] + "…"


def _cell_text(cell: dict[str, Any] | None) -> str:
    if cell is None:
        return ""
    text = f"{Outcome(cell['outcome']).symbol} {cell['outcome']}"
    if cell.get("verdict") == "xpass":
        text += " (XPASS)"
    elif cell.get("expected") and cell.get("verdict") == "ok":
        text += " (expected)"
    return text


def columns(doc: dict[str, Any]) -> list[tuple[str, str]]:
    seen: dict[tuple[str, str], None] = {}
    for c in doc["cells"]:
        seen.setdefault((c["runtime"], c["guest"]), None)
    return list(seen)


def matrix(doc: dict[str, Any], fmt: str = "github") -> str:
    cols = columns(doc)
    by_iface: dict[str, dict[str, dict[tuple[str, str], dict[str, Any]]]] = defaultdict(lambda: defaultdict(dict))
    for c in doc["cells"]:
        by_iface[c["interface"]][c["scenario"]][(c["runtime"], c["guest"])] = c
    # One table per interface: guests differ per interface, so columns are that interface's own.
    parts = []
    for iface, rows in by_iface.items():
        icols = [k for k in cols if any(k in r for r in rows.values())]
        headers = [f"{iface} scenario"] + [f"{rt} · {g}" for rt, g in icols]
        table = [[_label(name)] + [_cell_text(r.get(k)) for k in icols] for name, r in rows.items()]
        parts.append(tabulate(table, headers=headers, tablefmt=fmt))
    return "\n\n".join(parts)


def runtimes_table(doc: dict[str, Any], fmt: str = "github") -> str:
    rows = [[r["name"], r.get("version") or "", "yes" if r["available"] else "no", r.get("reason") or "",
             ", ".join(r.get("flags") or [])] for r in doc["runtimes"]]
    return tabulate(rows, headers=["runtime", "version", "available", "reason", "flags"], tablefmt=fmt)


def guests_table(doc: dict[str, Any], fmt: str = "github") -> str:
    rows = [[g["name"], f"{g['toolchain']} {g.get('toolchain_version', '')}".strip(),
             "" if g.get("size_bytes") is None else f"{g['size_bytes']:,}",
             {True: "yes", False: "no", None: ""}[g.get("meets_size_target")],
             (g.get("sha256") or g.get("build_error") or "")[:16]] for g in doc["guests"]]
    return tabulate(rows, headers=["guest", "toolchain", "bytes", "< 1 MB", "sha256 / build error"], tablefmt=fmt)


def problems(doc: dict[str, Any]) -> list[str]:
    return [f"- {c['outcome']} · {c['runtime']} · {c['guest']} · {c['scenario']}: {c['message']}"
            + (f" (step: {c['step']})" if c.get("step") else "")
            for c in doc["cells"] if c["outcome"] not in ("pass",)]


def document(doc: dict[str, Any]) -> str:
    run = doc["run"]
    s = doc["summary"]
    counts = ", ".join(f"{n} {o}" for o, n in sorted(s["outcomes"].items()))
    suite = run["suite"]
    lines = [
        "# keel-conformance matrix",
        "",
        f"Run {run['started']} → {run['finished']}{'' if run['complete'] else ' (INCOMPLETE)'} · suite "
        f"{suite['version']} @ {(suite['commit'] or 'unknown')[:12]}{' (dirty)' if suite['dirty'] else ''} · "
        f"{run['host']['os']} {run['host']['arch']} · Python {run['host']['python']}",
        "",
        f"{s['cells']} cells: {counts}; {s['unexpected']} unexpected.",
        "",
        "Legend: " + " ".join(f"{o.symbol} {o.value}" for o in Outcome),
        "",
        "## Runtimes",
        "",
        runtimes_table(doc),
        "",
        "## Guests",
        "",
        guests_table(doc),
        "",
        "## Matrix",
        "",
        matrix(doc),
    ]
    notes = problems(doc)
    if notes:
        lines += ["", "## Cells that did not pass", "", *notes]
    return "\n".join(lines) + "\n"
