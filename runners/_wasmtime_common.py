"""What both wasmtime paths (components, and p1 bridge modules) share."""
from __future__ import annotations

import wasmtime


def epoch_engine() -> wasmtime.Engine:
    """An engine whose stores can be interrupted by advancing its epoch."""
    cfg = wasmtime.Config()
    cfg.epoch_interruption = True
    return wasmtime.Engine(cfg)


def trap_message(e: BaseException) -> str:
    """What trapped, in wasmtime's words: the `wasm trap:` cause, not the backtrace header."""
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    causes = [ln for ln in lines if ln.startswith("wasm trap:")]
    return causes[-1] if causes else (lines[0] if lines else type(e).__name__)


def first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
