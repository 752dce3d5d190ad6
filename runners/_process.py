"""A runtime in a child process of its own, talking to the suite over two pipes.

The JavaScript engines and the wasmer worker run this way, so a runtime that
hangs, crashes or cannot stop a guest costs one process, never the suite's.
"""
from __future__ import annotations

import os
import select
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from typing import Protocol

from keel_conformance.paths import PROJECT_ROOT


class Launched(Protocol):
    """A started engine: the suite's ends of the channel, and how to watch and stop it."""

    rfd: int
    wfd: int

    def alive(self) -> bool: ...

    def death(self) -> str: ...

    def kill(self) -> None: ...

    def sigkill(self) -> None:
        """Kills the engine the way the OOM killer would: no cleanup, ends stay open."""
        ...


class LocalProcess:
    """An engine as a child process; the channel is two inherited pipes."""

    def __init__(self, argv: list[str], on_stdio: bool = False) -> None:
        """`on_stdio` makes the channel the process's own fd 0 and 1 (for engines whose node:wasi
        ignores the stdin/stdout options), instead of two extra descriptors."""
        to_child_r, self.wfd = os.pipe()
        self.rfd, from_child_w = os.pipe()
        self.stderr = tempfile.TemporaryFile()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"),
               "KEEL_RPC_IN": "0" if on_stdio else str(to_child_r),
               "KEEL_RPC_OUT": "1" if on_stdio else str(from_child_w), "NO_COLOR": "1", "DENO_NO_UPDATE_CHECK": "1"}
        stdio = (to_child_r, from_child_w) if on_stdio else (subprocess.DEVNULL, subprocess.DEVNULL)
        self.proc = subprocess.Popen(argv, cwd=PROJECT_ROOT, env=env, stdin=stdio[0], stdout=stdio[1],
                                     stderr=self.stderr, pass_fds=() if on_stdio else (to_child_r, from_child_w),
                                     start_new_session=True)
        os.close(to_child_r)
        os.close(from_child_w)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def death(self) -> str:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        self.stderr.seek(0)
        return describe_exit(code, self.stderr.read())

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        close_fds(self.rfd, self.wfd)
        self.rfd = self.wfd = -1  # closed once: a second kill must not close a number reused since

    def sigkill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)


def describe_exit(code: int | None, stderr: bytes) -> str:
    how = ("still running" if code is None else f"killed by {signal.Signals(-code).name}" if code < 0
           else f"killed by {signal.Signals(code - 128).name}" if 128 < code < 160 else f"exit {code}")
    tail = stderr[-600:].decode("utf-8", "replace").strip().splitlines()
    return how + (f"; stderr: {tail[-1]}" if tail else "")


def close_fds(*fds: int) -> None:
    """Closes each descriptor that is open; -1 stands for one already closed."""
    for fd in fds:
        if fd < 0:
            continue
        try:
            os.close(fd)
        except OSError:
            pass


def write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data):]


def read_some(fd: int, alive: Callable[[], bool], deadline: float, n: int = 1 << 16) -> bytes:
    """Up to `n` bytes from `fd`; b"" once the peer is gone — at end of file, or when `alive` says so,
    since a FIFO the suite also holds open (engines in containers) never reports the end itself."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        if select.select([fd], [], [], min(left, 0.25))[0]:
            return os.read(fd, n)
        if not alive():
            return b""
