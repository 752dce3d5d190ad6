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
