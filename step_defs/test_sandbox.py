"""Steps and scenarios for features/sandbox.feature."""
from __future__ import annotations

import socket
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then

from fixtures.backends.sql import INTERFACE as SQL
from step_defs.common import Context

INTERFACE = "sandbox"
pytestmark = pytest.mark.usefixtures("keel_cell")

scenarios("../features/sandbox.feature")


class Listener:
    """A real TCP server on loopback that counts who connects."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2)
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


@given(parsers.re(r"a TCP server listening on 127\.0\.0\.1 as \$(?P<name>\w+)"))
def _(listener: Listener, ctx: Context, name: str) -> None:
    ctx.vars[name] = listener.port


@then("nothing connected to that server")
def _(listener: Listener) -> None:
    assert listener.accepted == 0, f"{listener.accepted} connection(s) reached the host's loopback server"


@then(parsers.re(r"the host holds (?P<n>\d+) open transactions?"))
def _(backends: Any, n: str) -> None:
    assert len(backends[SQL].open_tx) == int(n), f"the host holds {len(backends[SQL].open_tx)} open transactions"


@then("a write from outside the guest finds the database locked")
def _(backends: Any) -> None:
    with sqlite3.connect(backends[SQL].path, timeout=0) as conn:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            conn.execute("CREATE TABLE outsider (x)")


