"""JUnit XML: one testcase per cell, grouped in one testsuite per (runtime, guest).

Named for CI viewers: the classname is `<interface>.<runtime>.<guest>` with
no dots from versions (Jenkins splits on dots), runtime and guest are also
properties of the suite, and testcase names are unique within a classname
(GitLab keeps only the first of duplicates).
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from junitparser import Error, Failure, JUnitXml, Properties, Property, Skipped, TestCase, TestSuite


def _seg(name: str) -> str:
    return name.replace(".", "_")


def _detail(c: dict[str, Any]) -> str:
    lines = [c["message"]]
    if c.get("step"):
        lines.append(f"step: {c['step']}")
    if c.get("expected"):
        e = c["expected"]
        lines.append(f"expected {e['outcome']}: {e['reason']}" + (f" ({e['link']})" if e.get("link") else ""))
    if c.get("repro"):
        lines.append(f"reproduce: {c['repro']}")
    return "\n".join(lines)


def _testcase(c: dict[str, Any], name: str) -> TestCase:
    case = TestCase(name, classname=f"{c['interface']}.{_seg(c['runtime'])}.{_seg(c['guest'])}", time=c["duration_s"])
    outcome, verdict = c["outcome"], c.get("verdict", "ok")
    exp = c.get("expected")
    if verdict == "xpass":
        case.result = [Failure(f"XPASS: expected {exp['outcome']} ({exp['reason']}) but it passed", "xpass")]
    elif outcome == "pass":
        pass
    elif outcome == "n/a":
        case.result = [Skipped(f"n/a: {c['message']}")]
    elif verdict == "ok" and exp:
        case.result = [Skipped(f"expected {outcome}: {exp['reason']}")]
    elif outcome == "fail":
        f = Failure(c["message"], "fail")
        f.text = _detail(c)
        case.result = [f]
    else:
        e = Error(c["message"], outcome)
        e.text = _detail(c)
        case.result = [e]
    if c.get("output"):
        case.system_out = c["output"]
    return case


def render(doc: dict[str, Any]) -> str:
    runtimes = {r["name"]: r for r in doc["runtimes"]}
    guests = {g["name"]: g for g in doc["guests"]}
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for c in doc["cells"]:
        groups[(c["runtime"], c["guest"])].append(c)
    xml = JUnitXml("keel-conformance")
    for (runtime, guest), cells in groups.items():
        suite = TestSuite(f"{runtime} / {guest}")
        props = Properties()
        for k, v in (("runtime", runtime), ("runtime_version", runtimes.get(runtime, {}).get("version") or ""),
                     ("runtime_flags", " ".join(runtimes.get(runtime, {}).get("flags") or [])),
                     ("guest", guest), ("guest_sha256", guests.get(guest, {}).get("sha256") or "")):
            props.add_property(Property(k, v))
        suite.append(props)
        seen: dict[str, int] = defaultdict(int)
        for c in cells:
            base = f"{c['feature']}: {c['scenario']}"
            seen[base] += 1
            suite.add_testcase(_testcase(c, base if seen[base] == 1 else f"{base} #{seen[base]}"))
        suite.update_statistics()
        xml.add_testsuite(suite)
    xml.update_statistics()
    return xml.tostring().decode("utf-8")  # type: ignore[no-any-return]


def write(doc: dict[str, Any], path: Path) -> None:
    path.write_text(render(doc), encoding="utf-8")
