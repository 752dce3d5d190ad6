"""Runs one p1 bridge module under wasmer-sdk, in a process of its own (runners/_p1_process.py).

    python -m runners._wasmer_worker <module.wasm>

The suite's channel is this process's fd 0 and 1; they are relayed to and
from the module's piped stdin and stdout. A worker process because wasmer-sdk
0.5 cannot stop a running module: after kill(), terminate() or its own
timeout the call reports the process ended, but the module's thread keeps
running (a spinning guest keeps a core busy) and the host process later
crashes at exit. Killing this process is what stops it.
"""
from __future__ import annotations

import asyncio
import importlib.metadata
import os
import struct
import sys
from pathlib import Path

from keel_conformance.paths import cache_dir
from runners._process import write_all

TRAP_EXIT = 70


def _frame(fd: int, tag: bytes, text: str) -> None:
    # _bridge.frame's layout, written here: importing _bridge (wasmtime, for types) would add ~50 ms
    # to every wasmer instance's start.
    s = text.encode("utf-8")
    write_all(fd, struct.pack("<I", 1 + 4 + len(s)) + tag + struct.pack("<I", len(s)) + s)


async def _relay_in(process: object, channel_in: int) -> None:
    loop = asyncio.get_running_loop()
    while chunk := await loop.run_in_executor(None, os.read, channel_in, 1 << 16):
        await process.stdin.write(chunk)  # type: ignore[attr-defined]
    await process.stdin.close()  # type: ignore[attr-defined]


def _exit(code: int) -> None:
    # Straight out: asyncio.run would wait for the thread still blocked reading the channel, and
    # interpreter teardown is where wasmer-sdk's runtime threads can crash the process.
    sys.stderr.flush()
    os._exit(code)


async def run(module: Path, channel_in: int, channel_out: int) -> int:
    import wasmer_sdk

    who = f"wasmer-sdk {importlib.metadata.version('wasmer-sdk')}"
    try:
        client = wasmer_sdk.Wasmer(cache_root=str(cache_dir("wasmer")))
        package = await client.packages.load(module.read_bytes())  # bytes: a path would be read as WEBC
        sandbox = await client.sandboxes.create(packages=[package])
        process = await sandbox.command(package, ["guest"]).spawn(stdin="pipe", stdout="pipe", stderr="capture")
    except Exception as e:  # wasmer's refusal, in its words
        _frame(channel_out, b"N", f"{who}: {e}")
        return 0
    _frame(channel_out, b"S", who)
    feeding = asyncio.ensure_future(_relay_in(process, channel_in))
    async for chunk in process.stdout:
        write_all(channel_out, chunk)
    feeding.cancel()
    try:
        output = await process.wait()
    except Exception as e:  # wasmer-sdk reports a trap as WasmerError EXECUTION_ERROR
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        print(f"keel-p1: trap: {first.removeprefix('command execution failed: ')}", file=sys.stderr)
        return TRAP_EXIT
    sys.stderr.write(output.stderr.bytes.decode("utf-8", "replace"))
    return output.exit_code if output.reason.value == "exited" else 128 + 9


def main() -> None:
    # The channel moves off fd 0/1, and fd 1 becomes stderr, so nothing the native
    # library prints can land in the frames.
    channel_in, channel_out = os.dup(0), os.dup(1)
    os.dup2(2, 1)
    asyncio.run(_main(Path(sys.argv[1]), channel_in, channel_out))


async def _main(module: Path, channel_in: int, channel_out: int) -> None:
    _exit(await run(module, channel_in, channel_out))


if __name__ == "__main__":
    main()
