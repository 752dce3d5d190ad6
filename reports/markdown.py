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


BRIDGE_MARK = "†"
BRIDGE_NOTE = f"{BRIDGE_MARK} WASI p1 bridge guest: a command module speaking the suite's framed stdio protocol; " \
    "it runs the same scenarios on the same backends but does not exercise the canonical ABI."


def _group(c: dict[str, Any]) -> str:
    """A (interface, guest) heading; a bridge-tier guest is marked, as it does not test the canonical ABI."""
    mark = f" {BRIDGE_MARK}" if c.get("abi") == "wasi-p1-bridge" else ""
    return f"{c['interface']} · {c['guest']}{mark}"


def _bridge_note(doc: dict[str, Any]) -> list[str]:
    """The footnote for the † mark, where a table shows it."""
    return ["", BRIDGE_NOTE] if any(c.get("abi") == "wasi-p1-bridge" for c in doc["cells"]) else []


def matrix(doc: dict[str, Any], fmt: str = "github") -> str:
    """One table per (interface, guest): scenarios down, runtimes across."""
    groups: dict[str, dict[str, dict[str, dict[str, Any]]]] = defaultdict(lambda: defaultdict(dict))
    runtimes: dict[str, None] = {}
    for c in doc["cells"]:
        groups[_group(c)][c["scenario"]][c["runtime"]] = c
        runtimes.setdefault(c["runtime"], None)
    parts = []
    for group, rows in groups.items():
        cols = [r for r in runtimes if any(r in row for row in rows.values())]
        headers = [group] + cols
        table = [[_label(name)] + [_cell_text(row.get(r)) for r in cols] for name, row in rows.items()]
        parts.append(tabulate(table, headers=headers, tablefmt=fmt))
    return "\n\n".join(parts)


def summary(doc: dict[str, Any], fmt: str = "github") -> str:
    """Runtimes down, (interface, guest) across: how many cells passed, and what else happened."""
    counts: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    groups: dict[str, None] = {}
    for c in doc["cells"]:
        key = _group(c)
        groups.setdefault(key, None)
        counts[c["runtime"]][key][c["outcome"]] += 1
    rows = []
    for runtime, per in counts.items():
        row = [runtime]
        for key in groups:
            n = per.get(key)
            if not n:
                row.append("")
                continue
            total = sum(n.values())
            others = " ".join(f"{Outcome(o).symbol}{k}" for o, k in sorted(n.items()) if o != "pass")
            row.append(f"{n.get('pass', 0)}/{total}" + (f" {others}" if others else ""))
        rows.append(row)
    return "\n".join([tabulate(rows, headers=["runtime"] + list(groups), tablefmt=fmt), *_bridge_note(doc)])


def interop_table(doc: dict[str, Any], fmt: str = "github") -> str:
    s = doc["summary"]
    runtimes = list(dict.fromkeys(c["runtime"] for c in doc["cells"]))
    rows = []
    for iface, io in s["interop"].items():
        score = "—" if io["score"] is None else f"{io['score'] * 100:.1f}% ({io['interop']}/{io['scenarios']})"
        rates = s["rates"].get(iface, {})
        rows.append([iface, score] + [f"{rates[r]['pass']}/{rates[r]['ran']}" if r in rates else "n/a" for r in runtimes])
    return tabulate(rows, headers=["interface", "interop"] + runtimes, tablefmt=fmt)


def cost_table(doc: dict[str, Any], fmt: str = "github") -> str:
    rows = []
    for runtime, guests in doc["summary"].get("cost", {}).items():
        for guest, f in guests.items():
            rows.append([runtime, guest] + [f.get(k, "") for k in ("load_ms", "instantiate_ms", "call_ms", "cell_ms")])
    return tabulate(rows, headers=["runtime", "guest", "first load ms", "instantiate ms", "call ms", "cell ms"],
                    tablefmt=fmt)


def runtimes_table(doc: dict[str, Any], fmt: str = "github") -> str:
    rows = [[r["name"], r.get("version") or "", "yes" if r["available"] else "no", r.get("reason") or "",
             ", ".join(r.get("flags") or [])] for r in doc["runtimes"]]
    table = tabulate(rows, headers=["runtime", "version", "available", "reason", "flags"], tablefmt=fmt)
    notes = [f"- {r['name']}: {n}" for r in doc["runtimes"] for n in r.get("notes") or []]
    return table + ("\n\nRuntime notes (limits met and worked within):\n\n" + "\n".join(notes) if notes else "")


def guests_table(doc: dict[str, Any], fmt: str = "github") -> str:
    rows = [[g["name"], g.get("abi", "component" if g.get("sha256") else ""),
             f"{g['toolchain']} {g.get('toolchain_version', '')}".strip(),
             "" if g.get("size_bytes") is None else f"{g['size_bytes']:,}",
             {True: "yes", False: "no", None: ""}[g.get("meets_size_target")],
             (g.get("sha256") or g.get("build_error") or "")[:16]] for g in doc["guests"]]
    return tabulate(rows, headers=["guest", "ABI", "toolchain", "bytes", "< 1 MB", "sha256 / build error"], tablefmt=fmt)


def _expectation(c: dict[str, Any]) -> str:
    e = c.get("expected")
    if not e:
        return ""
    state = {"ok": "as expected", "xpass": "XPASS: expected it to fail", "unexpected": "NOT as expected"}[c.get("verdict", "ok")]
    if e.get("expired"):
        state = f"EXPECTATION EXPIRED {e.get('expires')}"
    return f" [{state}: {e['outcome']}, {e['reason']}" + (f", {e['link']}" if e.get("link") else "") + "]"


def problems(doc: dict[str, Any], group: bool = False) -> list[str]:
    """Every cell that did not pass; with `group`, cells sharing runtime, guest, outcome and message fold into one line."""
    bad = [c for c in doc["cells"] if c["outcome"] != "pass" or c.get("verdict", "ok") != "ok"]
    if not group:
        return [f"- {c['outcome']} · {c['runtime']} · {c['guest']} · {c['scenario']}: {c['message']}"
                + (f" (step: {c['step']})" if c.get("step") else "") + _expectation(c)
                + (f"\n  reproduce: `{c['repro']}`" if c.get("repro") else "") for c in bad]
    folded: dict[tuple[str, str, str, str], list[str]] = defaultdict(list)
    for c in bad:
        folded[(c["outcome"], c["runtime"], c["guest"], c["message"])].append(c["scenario"])
    lines = []
    for (outcome, runtime, guest, message), scenarios in folded.items():
        which = scenarios[0] if len(scenarios) == 1 else f"{len(scenarios)} scenarios"
        lines.append(f"- {outcome} · {runtime} · {guest} · {which}: {message}")
    return lines


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
        "## Interop",
        "",
        "Scenarios that pass on every runtime that ran them (n/a cells left out), and each runtime's passed / run.",
        "",
        interop_table(doc),
        "",
        "## Cost",
        "",
        "Medians per runtime and guest: the first load (compile or transpile, then instantiate), an instance "
        "per scenario, a guest call, a whole cell. Seed targets: instantiate < 10 ms, responses < 100 ms.",
        "",
        cost_table(doc),
        "",
        "## Summary",
        "",
        summary(doc),
        "",
        "## Matrix",
        "",
        matrix(doc),
        *_bridge_note(doc),
    ]
    if doc.get("divergences"):
        lines += ["", "## Divergences", "", "Shrunk inputs on which runtimes disagreed; replay each with "
                  "`keel-conformance fuzz --replay BUNDLE`.", ""]
        for d in doc["divergences"]:
            shown = d["input"] if len(d["input"]) <= 200 else d["input"][:200] + "…"
            lines.append(f"- `{d['function']}{shown}` → " + "; ".join(p[:200] for p in d["problems"])
                         + f" (bundle: `{d['bundle']}`)")
    if doc.get("mutation"):
        lines += ["", "## Mutation score", "", mutation_note(doc), "", mutation_table(doc)]
        survivors = [m for m in doc["mutation"]["mutants"] if m["status"] != "killed"]
        if survivors:
            lines += ["", "Mutants not killed:", ""]
            lines += [f"- {m['status']}: {m['guest']} `{m['id']}` ({m['detail']}); rerun: `{m['rerun']}`"
                      for m in survivors]
    notes = problems(doc)
    if notes:
        lines += ["", "## Cells that did not pass", "", *notes]
    return "\n".join(lines) + "\n"


def mutation_note(doc: dict[str, Any]) -> str:
    m = doc["mutation"]
    return (f"Wrong guests made from the built-in ones, judged by the interface's scenarios on {m['runtime']}: "
            "each mutant changes one site of one function's result with one operator. Equivalent: a function "
            "whose result type has no site for that operator (counted, never built).")


def mutation_table(doc: dict[str, Any], fmt: str = "github") -> str:
    rows = [[g["interface"], g["toolchain"], g["mutants"], g["killed"], g["survived"], g["equivalent"],
             g["not_built"] + g["not_run"], "—" if g["score"] is None else f"{g['score']:.0%}"]
            for g in doc["mutation"]["scores"]]
    return tabulate(rows, headers=["interface", "toolchain", "mutants", "killed", "survived", "equivalent",
                                   "not built/run", "score"], tablefmt=fmt)
