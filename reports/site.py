"""A static history site (no server, no script) from many results files.

- index.html: the latest publishable run (complete, and no runtime missing
  that the run before had), interop score over time as an inline SVG chart,
  every run with its status, the cells that changed and the flaky ones.
- latest.html: the latest publishable run's full report.
- history.html: per cell, its outcome in every run, and what changed it.

A cell that flips between two runs with the same runtime version and the same
guest build is flaky; a flip that comes with a version change is a change.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import html as report_html
from . import results

CSS = """body{font:14px/1.4 system-ui,sans-serif;margin:20px;color:#1d1d1f}table{border-collapse:collapse;margin:8px 0 18px}
th,td{border:1px solid #ddd;padding:3px 6px;text-align:left}th{background:#f0f0f0}.bad{background:#ffd6d6}
.ok{background:#d7f5dd}.muted{color:#666}.flaky{background:#fff3b0}svg{background:#fafafa;border:1px solid #ddd}"""
COLOURS = ["#0b57d0", "#c5221f", "#188038", "#e37400", "#9334e6", "#007b83", "#b31412", "#5f6368"]


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


@dataclass
class Run:
    source: Path
    doc: dict[str, Any]
    status: str = "published"

    @property
    def label(self) -> str:
        suite = self.doc["run"]["suite"]
        return f"{self.doc['run']['started'][:16]} @ {(suite.get('commit') or 'unknown')[:10]}"

    def versions(self) -> dict[str, str | None]:
        return {r["name"]: r.get("version") for r in self.doc["runtimes"]}

    def builds(self) -> dict[str, str | None]:
        return {g["name"]: g.get("build_key") or g.get("sha256") for g in self.doc["guests"]}


def load_runs(root: Path, skipped: list[str] | None = None) -> list[Run]:
    """Every results file under `root`; a results file that cannot be read is named in `skipped` and left out."""
    runs = []
    for path in sorted(root.rglob("*.json")):
        try:
            doc = results.load(path)
        except results.ResultsError as e:
            # Other JSON (manifests, cucumber.json, a run's run.json) is not a results file and is passed over quietly.
            if skipped is not None and "results" in path.name:
                skipped.append(str(e) if str(e).startswith(str(path)) else f"{path}: {e}")
            continue
        runs.append(Run(path, doc))
    runs.sort(key=lambda r: r.doc["run"]["started"])
    previous: set[str] = set()
    for r in runs:
        names = {x["name"] for x in r.doc["runtimes"] if x["available"]}
        if not r.doc["run"]["complete"]:
            r.status = "incomplete (interrupted or still running)"
        elif previous - names:
            r.status = f"incomplete (missing {', '.join(sorted(previous - names))})"
        else:
            previous = names
    return runs


def _chart(runs: list[Run]) -> str:
    series: dict[str, list[tuple[int, float]]] = {}
    for i, r in enumerate(runs):
        for iface, io in r.doc["summary"].get("interop", {}).items():
            if io["score"] is not None:
                series.setdefault(iface, []).append((i, io["score"]))
    w, h, pad = 640, 220, 30
    n = max(len(runs) - 1, 1)
    parts = [f'<svg id="interop-chart" width="{w}" height="{h + 2 * pad}" role="img" aria-label="interop score over time">']
    for frac in (0, 0.5, 1):
        y = pad + h * (1 - frac)
        parts.append(f'<line x1="{pad}" x2="{w - pad}" y1="{y}" y2="{y}" stroke="#ddd"/>'
                     f'<text x="2" y="{y + 4}" font-size="10">{int(frac * 100)}%</text>')
    for k, (iface, pts) in enumerate(sorted(series.items())):
        colour = COLOURS[k % len(COLOURS)]
        xy = " ".join(f"{pad + (w - 2 * pad) * i / n:.1f},{pad + h * (1 - s):.1f}" for i, s in pts)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{xy}"/>')
        parts.append(f'<text x="{w - pad + 2 - 90}" y="{pad + 12 * k}" font-size="11" fill="{colour}">{_e(iface)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _history(published: list[Run]) -> tuple[list[list[str]], list[str], list[str]]:
    """Per-cell outcome rows, the changes explained, and the flaky cells."""
    keys: dict[tuple[str, str, str, str], None] = {}
    for r in published:
        for c in r.doc["cells"]:
            keys.setdefault((c["feature"], c["scenario"], c["runtime"], c["guest"]), None)
    rows, changes, flaky = [], [], []
    for key in keys:
        outcomes: list[str] = []
        for i, r in enumerate(published):
            cell = next((c for c in r.doc["cells"] if (c["feature"], c["scenario"], c["runtime"], c["guest"]) == key), None)
            outcomes.append(cell["outcome"] if cell else "")
            if i and cell and outcomes[i - 1] and outcomes[i - 1] != cell["outcome"]:
                before, now = published[i - 1], r
                old_v, new_v = before.versions().get(key[2]), now.versions().get(key[2])
                old_b, new_b = before.builds().get(key[3]), now.builds().get(key[3])
                what = f"{key[2]} · {key[3]} · {key[1][:70]}: {outcomes[i - 1]} → {cell['outcome']} at {now.label}"
                if old_v != new_v:
                    changes.append(f"{what} (runtime {old_v} → {new_v})")
                elif old_b != new_b:
                    changes.append(f"{what} (guest rebuilt)")
                else:
                    flaky.append(f"{what} (same runtime version and guest: flaky)")
        if len(set(o for o in outcomes if o)) > 1:
            rows.append([key[2], key[3], key[1]] + outcomes)
    return rows, changes, flaky


def _score(io: dict[str, Any]) -> str:
    pct = "—" if io["score"] is None else f"{io['score'] * 100:.1f}%"
    return f"{pct} ({io['interop']}/{io['scenarios']})"


def build(root: Path, out: Path, skipped: list[str] | None = None) -> Path:
    runs = load_runs(root, skipped)
    if not runs:
        raise ValueError(f"{root}: no results file this suite can read")
    out.mkdir(parents=True, exist_ok=True)
    published = [r for r in runs if r.status == "published"]
    latest = published[-1] if published else None
    if latest is not None:
        (out / "latest.html").write_text(report_html.render(latest.doc), encoding="utf-8")
    rows, changes, flaky = _history(published)
    run_rows = "".join(
        f"<tr class='{'ok' if r.status == 'published' else 'bad'}'><td>{_e(r.label)}</td><td>{_e(r.status)}</td>"
        f"<td>{r.doc['summary']['cells']}</td><td>{_e(', '.join(f'{k} {v}' for k, v in sorted(r.versions().items())))}</td></tr>"
        for r in reversed(runs))
    latest_html = "<p>No complete run yet.</p>"
    if latest is not None:
        io = latest.doc["summary"].get("interop", {})
        latest_html = (f"<p id='latest'>Latest complete run: <strong>{_e(latest.label)}</strong> — "
                       f"<a href='latest.html'>full matrix</a></p><table><tr><th>interface</th><th>interop</th></tr>"
                       + "".join(f"<tr><td>{_e(k)}</td><td>{_score(v)}</td></tr>" for k, v in io.items()) + "</table>")
    def items(xs: list[str], cls: str) -> str:
        return "<ul>" + "".join(f"<li class='{cls}'>{_e(x)}</li>" for x in xs) + "</ul>" if xs else "<p class='muted'>none</p>"
    index = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>keel-conformance history</title>"
             f"<style>{CSS}</style></head><body><h1>keel-conformance history</h1>{latest_html}"
             f"<h2>Interop score over time</h2>{_chart(published)}"
             f"<h2>Runs</h2><table id='runs'><tr><th>run</th><th>status</th><th>cells</th><th>runtimes</th></tr>{run_rows}</table>"
             f"<h2>Changes</h2><div id='changes'>{items(changes, 'change')}</div>"
             f"<h2>Flaky cells</h2><div id='flaky'>{items(flaky, 'flaky')}</div>"
             f"<p><a href='history.html'>Every cell that ever changed</a></p></body></html>")
    (out / "index.html").write_text(index, encoding="utf-8")
    head = "".join(f"<th>{_e(r.label)}</th>" for r in published)
    body = "".join("<tr>" + "".join(f"<td>{_e(x)}</td>" for x in row) + "</tr>" for row in rows)
    (out / "history.html").write_text(
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>keel-conformance cell history</title>"
        f"<style>{CSS}</style></head><body><h1>Cells whose outcome changed</h1><table id='history'><tr><th>runtime</th>"
        f"<th>guest</th><th>scenario</th>{head}</tr>{body}</table></body></html>", encoding="utf-8")
    return out / "index.html"
