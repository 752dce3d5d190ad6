"""Where the suite keeps its files."""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def cache_dir(*parts: str) -> Path:
    """A directory under the cache root (`KEEL_CACHE_DIR`, default `.cache/` in the checkout)."""
    root = Path(os.environ.get("KEEL_CACHE_DIR") or PROJECT_ROOT / ".cache")
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def npm_version(package: str) -> str | None:
    """The version of an npm package installed in the checkout's node_modules, or None."""
    import json

    path = PROJECT_ROOT / "node_modules" / package / "package.json"
    try:
        return str(json.loads(path.read_text())["version"])
    except (OSError, ValueError, KeyError):
        return None
