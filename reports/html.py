"""report.html: one self-contained page (no external assets, works from a file).

The results travel inside the page as JSON in a `<script type="application/json">`
block with `<`, `>` and `&` escaped, and the page builds every element with
`textContent`, so text from results (scenario names, runtime reasons, guest
output) is always shown as text, never run.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
header,main,footer{padding:12px 20px}header{background:#1d2b3a;color:#fff}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:18px 0 6px}
table{border-collapse:collapse;margin:6px 0 14px;background:#fff}
th,td{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f0f0f0;font-weight:600;position:sticky;top:0}
td.cell{cursor:pointer;white-space:nowrap;text-align:center;min-width:52px}
td.cell:focus{outline:2px solid #0b57d0}
.pass{background:#d7f5dd}.fail{background:#ffd6d6}.na{background:#e8e8e8}.trap{background:#ffe0b3}
.timeout{background:#fff3b0}.crash{background:#f5c2ff}.error{background:#ffc9a8}.xpass{outline:3px solid #d00}
#filters label{margin-right:12px}#detail{position:fixed;right:0;top:0;bottom:0;width:min(46em,48vw);overflow:auto;
background:#fff;border-left:2px solid #1d2b3a;padding:14px 18px;box-shadow:-4px 0 12px #0002}
#detail[hidden]{display:none}pre{white-space:pre-wrap;word-break:break-word;background:#f4f4f4;padding:6px}
.st-passed::before{content:"✔ "}.st-failed::before{content:"✘ "}.st-skipped::before{content:"– "}.st-undefined::before{content:"? "}
.muted{color:#666}footer{font-size:12px;color:#444}button{cursor:pointer}
"""

JS = r"""
const doc = JSON.parse(document.getElementById('results').textContent);
const SYM = {'pass':'✔','fail':'✘','n/a':'–','trap':'⚡','timeout':'◷','crash':'✸','error':'⚠'};
const CLS = {'pass':'pass','fail':'fail','n/a':'na','trap':'trap','timeout':'timeout','crash':'crash','error':'error'};
const el = (tag, attrs = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) { if (k === 'text') e.textContent = v; else e.setAttribute(k, v); }
  for (const k of kids) if (k) e.append(k);
  return e;
};
const shown = new Set(Object.keys(SYM));

function summary() {
  const s = doc.summary, r = doc.run;
  const counts = Object.entries(s.outcomes).map(([o, n]) => `${n} ${o}`).join(', ');
  document.getElementById('summary').textContent =
    `${s.cells} cells: ${counts}; ${s.unexpected} unexpected · ${r.started} → ${r.finished}` + (r.complete ? '' : ' · INCOMPLETE');
  const t = el('table', {id: 'interop'});
  const runtimes = [...new Set(doc.cells.map(c => c.runtime))];
  t.append(el('tr', {}, el('th', {text: 'interface'}), el('th', {text: 'interop'}),
    ...runtimes.map(n => el('th', {text: n}))));
  for (const [iface, io] of Object.entries(s.interop)) {
    const score = io.score === null ? '—' : `${(io.score * 100).toFixed(1)}% (${io.interop}/${io.scenarios})`;
    const rates = s.rates[iface] || {};
    t.append(el('tr', {}, el('th', {text: iface}), el('td', {text: score, title: 'columns counted: ' + io.columns.join(', ')}),
      ...runtimes.map(n => el('td', {text: rates[n] ? `${rates[n].pass}/${rates[n].ran}` : 'n/a'}))));
  }
  document.getElementById('scores').append(t);
  const cost = s.cost || {};
  const ct = el('table', {id: 'cost'}, el('tr', {}, ...['runtime', 'guest', 'first load ms', 'instantiate ms',
    'call ms', 'cell ms'].map(h => el('th', {text: h}))));
  for (const [rt, guests] of Object.entries(cost)) {
    for (const [g, f] of Object.entries(guests)) {
      ct.append(el('tr', {}, el('td', {text: rt}), el('td', {text: g}),
        ...['load_ms', 'instantiate_ms', 'call_ms', 'cell_ms'].map(k => el('td', {text: f[k] === undefined ? '' : String(f[k])}))));
    }
  }
  document.getElementById('cost-table').append(ct);
}

function filters() {
  const box = document.getElementById('filters');
  for (const o of Object.keys(SYM)) {
    const cb = el('input', {type: 'checkbox', 'data-outcome': o});
    cb.checked = true;
    cb.addEventListener('change', () => { cb.checked ? shown.add(o) : shown.delete(o); matrix(); });
    box.append(el('label', {}, cb, document.createTextNode(` ${SYM[o]} ${o}`)));
  }
}

function matrix() {
  const root = document.getElementById('matrix');
  root.replaceChildren();
  const groups = new Map();
  for (const c of doc.cells) {
    const key = `${c.interface} · ${c.guest}` + (c.abi === 'wasi-p1-bridge' ? ' † WASI p1 bridge: not the canonical ABI' : '');
    if (!groups.has(key)) groups.set(key, new Map());
    const rows = groups.get(key);
    if (!rows.has(c.scenario)) rows.set(c.scenario, new Map());
    rows.get(c.scenario).set(c.runtime, c);
  }
  for (const [key, rows] of groups) {
    const runtimes = [...new Set([...rows.values()].flatMap(r => [...r.keys()]))];
    const t = el('table', {class: 'matrix'});
    t.append(el('tr', {}, el('th', {text: key}), ...runtimes.map(n => el('th', {text: n}))));
    let visible = 0;
    for (const [scenario, cells] of rows) {
      if (![...cells.values()].some(c => shown.has(c.outcome))) continue;
      visible++;
      const tr = el('tr', {}, el('td', {text: scenario}));
      for (const n of runtimes) {
        const c = cells.get(n);
        if (!c || !shown.has(c.outcome)) { tr.append(el('td')); continue; }
        const extra = c.verdict === 'xpass' ? ' xpass' : '';
        const td = el('td', {class: `cell ${CLS[c.outcome]}${extra}`, tabindex: '0', role: 'button',
          'data-outcome': c.outcome, title: `${c.outcome}: ${c.message}`,
          text: `${SYM[c.outcome]} ${c.outcome}` + (c.expected && c.verdict === 'ok' ? ' (expected)' : '') + (extra ? ' XPASS' : '')});
        td.addEventListener('click', () => detail(c));
        td.addEventListener('keydown', e => { if (e.key === 'Enter') detail(c); });
        tr.append(td);
      }
      t.append(tr);
    }
    if (visible) root.append(el('h2', {text: key}), t);
  }
}

function detail(c) {
  const d = document.getElementById('detail');
  d.replaceChildren(el('button', {id: 'close', text: 'close ✕'}));
  d.querySelector('#close').addEventListener('click', () => { d.hidden = true; });
  d.append(el('h2', {text: c.scenario}),
    el('p', {}, el('strong', {text: `${SYM[c.outcome]} ${c.outcome}`}),
      document.createTextNode(` · ${c.runtime} · ${c.guest} · ${c.feature}` + (c.line ? `:${c.line}` : '') + ` · ${c.duration_s.toFixed(3)} s`)));
  if (c.message) d.append(el('h3', {text: 'message (expected vs actual)'}), el('pre', {class: 'message', text: c.message}));
  if (c.step) d.append(el('p', {text: `failed at: ${c.step}`}));
  if (c.expected) {
    const e = c.expected;
    d.append(el('p', {class: 'expected', text: `expected ${e.outcome}: ${e.reason}` + (e.link ? ` (${e.link})` : '') +
      (e.expires ? ` · expires ${e.expires}` : '') + (e.expired ? ' · EXPIRED' : '')}));
  }
  if (c.steps && c.steps.length) {
    const ol = el('ol', {class: 'steps'});
    for (const s of c.steps) ol.append(el('li', {class: `st-${s.status}`, text: `${s.keyword} ${s.name}`}));
    d.append(el('h3', {text: 'steps'}), ol);
  }
  if (c.repro) d.append(el('h3', {text: 'reproduce alone'}), el('pre', {text: c.repro}));
  if (c.output) d.append(el('h3', {text: 'captured output'}), el('pre', {text: c.output}));
  d.hidden = false;
}

function footer() {
  const f = document.getElementById('provenance');
  const r = doc.run;
  f.append(el('p', {text: `suite ${r.suite.version} @ ${r.suite.commit || 'unknown'}${r.suite.dirty ? ' (dirty tree)' : ''} · ` +
    `${r.host.os} · ${r.host.arch} · kernel ${r.host.kernel} · Python ${r.host.python} · command: ${r.command.join(' ')}`}));
  const rt = el('table', {}, el('tr', {}, ...['runtime', 'version', 'available', 'reason', 'flags', 'origin', 'notes'].map(h => el('th', {text: h}))));
  for (const x of doc.runtimes) rt.append(el('tr', {}, el('td', {text: x.name}), el('td', {text: x.version || ''}),
    el('td', {text: x.available ? 'yes' : 'no'}), el('td', {text: x.reason || ''}), el('td', {text: (x.flags || []).join(', ')}),
    el('td', {text: x.origin || ''}), el('td', {text: (x.notes || []).join(' · ')})));
  const gt = el('table', {}, el('tr', {}, ...['guest', 'ABI', 'toolchain', 'bytes', 'sha256'].map(h => el('th', {text: h}))));
  for (const g of doc.guests) gt.append(el('tr', {}, el('td', {text: g.name}), el('td', {text: g.abi || ''}),
    el('td', {text: `${g.toolchain} ${g.toolchain_version || ''}`}), el('td', {text: g.size_bytes == null ? '' : String(g.size_bytes)}),
    el('td', {text: g.sha256 || g.build_error || ''})));
  const be = Object.entries(doc.backends).map(([k, v]) => `${k} ${v}`).join(' · ');
  f.append(rt, gt, el('p', {text: `backends: ${be}`}));
}

function divergences() {
  if (!doc.divergences || !doc.divergences.length) return;
  const sec = document.getElementById('divergences');
  sec.append(el('h2', {text: 'Divergences'}),
    el('p', {class: 'muted', text: 'Shrunk inputs on which runtimes disagreed; replay with keel-conformance fuzz --replay BUNDLE.'}));
  const ul = el('ul');
  for (const d of doc.divergences) {
    const input = d.input.length > 300 ? d.input.slice(0, 300) + '…' : d.input;
    ul.append(el('li', {}, el('code', {text: d.function + input}), el('pre', {text: d.problems.join('\n')}),
      el('div', {class: 'muted', text: 'bundle: ' + d.bundle})));
  }
  sec.append(ul);
}

function mutation() {
  const m = doc.mutation;
  if (!m) return;
  const sec = document.getElementById('mutation');
  sec.append(el('h2', {text: 'Mutation score'}),
    el('p', {class: 'muted', text: `Wrong guests made from the built-in ones, judged by the interface's scenarios on ${m.runtime}: ` +
      'each mutant changes one site of one function\'s result with one operator. Equivalent: no site for that operator in the result type (counted, never built).'}));
  const heads = ['interface', 'toolchain', 'mutants', 'killed', 'survived', 'equivalent', 'not built/run', 'score'];
  const t = el('table', {id: 'mutation-scores'}, el('tr', {}, ...heads.map(h => el('th', {text: h}))));
  for (const g of m.scores) {
    const score = g.score === null ? '—' : `${Math.round(g.score * 100)}%`;
    t.append(el('tr', {}, ...[g.interface, g.toolchain, g.mutants, g.killed, g.survived, g.equivalent,
      g.not_built + g.not_run].map(v => el('td', {text: String(v)})),
      el('td', {class: g.score === 1 ? 'pass' : (g.score === null ? 'na' : 'fail'), text: score})));
  }
  sec.append(t);
  const left = m.mutants.filter(x => x.status !== 'killed');
  if (!left.length) return;
  const ul = el('ul', {id: 'survivors'});
  for (const x of left) ul.append(el('li', {}, el('b', {text: `${x.status}: `}), el('code', {text: `${x.guest} ${x.id}`}),
    el('div', {class: 'muted', text: x.detail}), el('pre', {text: x.rerun})));
  sec.append(el('h2', {text: 'Mutants not killed'}), ul);
}

summary(); filters(); matrix(); mutation(); divergences(); footer();
"""


def _embed(doc: dict[str, Any]) -> str:
    # Inside <script>, only "</" could end the block; escaping <, > and & keeps any text inert.
    text = json.dumps(doc, ensure_ascii=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def render(doc: dict[str, Any]) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>keel-conformance matrix</title>
<style>{CSS}</style></head>
<body>
<header><h1>keel-conformance matrix</h1><div id="summary"></div></header>
<main>
<h2>Interop score and pass rates</h2>
<p class="muted">Interop: scenarios that pass on every runtime that ran them (n/a cells left out); per runtime: passed / cells run.</p>
<div id="scores"></div>
<h2>Cost, beside conformance</h2>
<p class="muted">Medians per runtime and guest: first load (compile or transpile, then instantiate), an instance per scenario, a guest call, a whole cell. Seed targets: instantiate &lt; 10 ms, responses &lt; 100 ms.</p>
<div id="cost-table"></div>
<h2>Matrix</h2>
<div id="filters">Show: </div>
<div id="matrix"></div>
<section id="mutation"></section>
<section id="divergences"></section>
</main>
<aside id="detail" hidden></aside>
<footer><h2>Provenance</h2><div id="provenance"></div></footer>
<script type="application/json" id="results">{_embed(doc)}</script>
<script>{JS}</script>
</body></html>
"""


def write(doc: dict[str, Any], path: Path) -> None:
    path.write_text(render(doc), encoding="utf-8")
