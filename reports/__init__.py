"""The results model and every format rendered from results.json."""
from __future__ import annotations

from pathlib import Path
from typing import Any

FILES = {"md": "matrix.md", "junit": "junit.xml", "cucumber": "cucumber.json", "messages": "messages.ndjson",
         "html": "report.html"}


def write_formats(doc: dict[str, Any], out: Path, formats: list[str] | None = None) -> list[Path]:
    """Writes each format (default: all) from one results document; returns the paths."""
    from . import cucumber, html, junit, markdown, messages

    writers = {
        "md": lambda p: p.write_text(markdown.document(doc), encoding="utf-8"),
        "junit": lambda p: junit.write(doc, p),
        "cucumber": lambda p: cucumber.write(doc, p),
        "messages": lambda p: messages.write(doc, p),
        "html": lambda p: html.write(doc, p),
    }
    paths = []
    for fmt in formats or list(FILES):
        path = out / FILES[fmt]
        writers[fmt](path)
        paths.append(path)
    return paths
