"""Stopping a run at a safe point: SIGINT and SIGTERM never reach guest code.

Python turns SIGINT into a KeyboardInterrupt raised wherever the main thread
happens to be. Inside a wasmtime host call that became a false `trap`, and
while another thread was in wasmtime it crashed the process. So a run takes
both signals itself: the first one asks the run to stop, the cell in flight is
left to end by its own deadline and is then *not recorded* (a terminal's Ctrl-C
also reaches the engine processes under it, so its outcome cannot be trusted),
and no further cell starts. The run then writes partial reports marked
incomplete and exits 128 + the signal number.
"""
from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)
STOP_FILE = ".stop"  # beside the journal: how a parallel run's controller tells its workers


class Terminated(KeyboardInterrupt):
    """SIGTERM in a command that has no safe point between cells (fuzz, mutate): raised where the main
    thread is, as Python raises Ctrl-C, so it ends the command the same way (its engines closed, no
    outcome recorded for the call in flight) instead of killing it without a word."""


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminated(signum: int, frame: Any) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class StopRequest:
    def __init__(self, stop_file: Path | None = None, quiet: bool = False) -> None:
        self.quiet = quiet  # a parallel run's workers: the controller speaks for the run
        self.signum: int | None = None
        self.by_file = False
        self.stop_file = stop_file
        self._cell_started_at = -1  # how many signals had arrived when the cell in flight started
        self._signals = 0
        self._previous: dict[int, Any] = {}
        self._err_fd: int | None = None
        self.on_signal: list[Any] = []  # callables(signum), e.g. telling a pytest-xdist controller

    @property
    def requested(self) -> bool:
        if self.signum is None and not self.by_file and self.stop_file is not None and self.stop_file.exists():
            self.by_file = True  # another process of the run took the signal; which one it was is its to say
        return self.signum is not None or self.by_file

    @property
    def reason(self) -> str:
        if self.signum:
            return f"stopped by {signal.Signals(self.signum).name}"
        return "stopped by a signal to one of its processes" if self.by_file else "not stopped"

    @property
    def exit_code(self) -> int:
        return 128 + (self.signum or signal.SIGINT)

    def install(self) -> StopRequest:
        try:  # pytest captures fd 2 while cells run; what the handler says must reach the user's terminal
            self._err_fd = os.dup(sys.stderr.fileno())
        except (OSError, ValueError):
            self._err_fd = None
        if threading.current_thread() is threading.main_thread():
            for sig in SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def uninstall(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()
        if self._err_fd is not None:
            os.close(self._err_fd)
            self._err_fd = None

    def _handle(self, signum: int, frame: Any) -> None:
        self._signals += 1
        if self.signum is None:
            self.signum = signum
            name = signal.Signals(signum).name
            if not self.quiet:
                _say(self._err_fd, f"keel-conformance: {name}: stopping; the cell in flight is not recorded and no "
                     "further cell starts (each call ends by its deadline)")
        if self.stop_file is not None:
            try:
                self.stop_file.touch()
            except OSError:
                pass
        for hook in self.on_signal:
            hook(signum)

    def cell_started(self) -> None:
        self._cell_started_at = self._signals

    def cell_disturbed(self) -> bool:
        """True when a signal arrived while the cell in flight ran: its outcome is not the runtime's alone."""
        return self._signals > self._cell_started_at >= 0 or (self.signum is not None and self._cell_started_at < 0)

    def cell_ended(self) -> None:
        self._cell_started_at = -1


def _say(fd: int | None, line: str) -> None:
    # A signal handler must not block on a full pipe or die on a closed one.
    try:
        os.write(sys.stderr.fileno() if fd is None else fd, (line + "\n").encode())
    except (OSError, ValueError):
        pass


_current: StopRequest | None = None


def current() -> StopRequest | None:
    return _current


def install(stop_file: Path | None = None, quiet: bool = False) -> StopRequest:
    global _current
    if _current is None:
        _current = StopRequest(stop_file, quiet).install()
    elif stop_file is not None and _current.stop_file is None:
        _current.stop_file = stop_file
    return _current


def uninstall() -> None:
    global _current
    if _current is not None:
        _current.uninstall()
        _current = None
