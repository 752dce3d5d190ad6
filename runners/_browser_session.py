"""The browser columns' plumbing: a loopback server, one browser with the suite's page open, and its workers.

The page (js/browser-page.html) starts a dedicated worker per guest and terminates it on request. A worker
reaches the suite by synchronous XMLHttpRequest; the server moves its bytes to and from a pair of pipes, so a
`Worker` is, to jco.py and _p1_process.py, an engine process like any other (runners._process.Launched).
"""
from __future__ import annotations

import itertools
import json
import os
import queue
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qs, urlsplit

from keel_conformance.outcomes import NotApplicable
from keel_conformance.paths import PROJECT_ROOT

from ._process import close_fds, describe_exit, write_all
from .jco import JS

START_TIMEOUT_S = 60.0
KEEPALIVE_S = 20.0  # a worker's read or the page's control poll answered empty, then asked again
CHUNK = 1 << 16
P2_SHIM = PROJECT_ROOT / "node_modules" / "@bytecodealliance" / "preview2-shim" / "dist" / "browser"
P1_SHIM = PROJECT_ROOT / "node_modules" / "@bjorn3" / "browser_wasi_shim" / "dist"
TYPES = {".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm", ".html": "text/html"}
# The kernel kills a browser (and the virtual screen) whose suite process died, even by SIGKILL, so no
# browser outlives a killed run; the browser's own helpers end with it.
ORPHAN_GUARD = ("setpriv", "--pdeathsig", "KILL", "--")


@dataclass(frozen=True)
class Browser:
    """One column: a browser binary, its flags, how it opens a URL with a private profile, and its package."""

    name: str
    candidates: tuple[str, ...]  # the first one installed is the column's browser
    package: str
    flags: tuple[str, ...]  # as data in the probe, like an engine's
    profile_args: Callable[[Path], list[str]]  # makes the private profile and says how to pass it
    needs_display: bool = False
    notes: tuple[str, ...] = ()
    repro_profile: tuple[str, ...] = ()  # a finding's shell line: a fresh private profile, made by the shell

    @property
    def binary(self) -> str:
        found = (shutil.which(c) for c in self.candidates)
        return next((f for f in found if f), self.candidates[0])

    def command(self, profile: Path, url: str) -> list[str]:
        return [*ORPHAN_GUARD, self.binary, *self.flags, *self.profile_args(profile), url]


class Worker:
    """One dedicated worker in the browser, as jco.py sees an engine process (runners._process.Launched).

    The suite holds `rfd`/`wfd`; the server holds the other ends and moves the worker's bytes through them."""

    def __init__(self, session: BrowserSession, wid: int) -> None:
        self.session, self.id = session, wid
        self.browser = session.proc  # the browser it lives in: a restarted one does not bring it back
        self.srv_r, self.wfd = os.pipe()  # suite -> worker
        self.rfd, self.srv_w = os.pipe()  # worker -> suite
        self.lock = threading.Lock()
        self.exit: tuple[int, str] | None = None  # what the page said of its end
        self.killed = False

    def browser_alive(self) -> bool:
        return self.browser is not None and self.browser.poll() is None

    def alive(self) -> bool:
        return self.exit is None and not self.killed and self.browser_alive()

    def death(self) -> str:
        deadline = time.monotonic() + 5
        while self.exit is None and not self.killed and self.browser_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if self.exit is not None:
            return describe_exit(self.exit[0], self.exit[1].encode())
        if not self.browser_alive():
            return f"the browser ended: {self.session.browser_death(self.browser)}"
        return "the worker was terminated by the suite" if self.killed else "still running"

    def ended(self, code: int, stderr: str) -> None:
        self.exit = (code, stderr)
        self._close_server_ends()

    def kill(self) -> None:
        if not self.killed:
            self.killed = True
            self.session.control({"op": "kill", "id": self.id})
        close_fds(self.rfd, self.wfd)
        self.rfd = self.wfd = -1
        self._close_server_ends()
        self.session.workers.pop(self.id, None)

    def sigkill(self) -> None:
        """The process hosting the guest dies: for a worker, that is the whole browser."""
        self.session.kill_browser()

    def _close_server_ends(self) -> None:
        with self.lock:
            close_fds(self.srv_r, self.srv_w)
            self.srv_r = self.srv_w = -1

    def server_end(self, which: str) -> int | None:
        """A duplicate of a server-side end for one request, so a concurrent kill cannot close it under it."""
        with self.lock:
            fd = self.srv_r if which == "r" else self.srv_w
            return os.dup(fd) if fd >= 0 else None


class BrowserSession:
    """The loopback server and one browser with the suite's page open."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.workers: dict[int, Worker] = {}
        self.ids = itertools.count(1)
        self.guest_dirs: dict[str, Path] = {}
        self.ctl: queue.Queue[dict[str, Any]] = queue.Queue()
        self.ready = threading.Event()
        self.engine = ""
        self.proc: subprocess.Popen[bytes] | None = None
        self.xvfb: subprocess.Popen[bytes] | None = None
        self.display = ""
        self.profile: Path | None = None
        self.stderr = tempfile.TemporaryFile()
        self.server = _Server(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, name=f"{browser.name}-server", daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    # -- the browser ---------------------------------------------------------
    def browser_alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def browser_death(self, proc: subprocess.Popen[bytes] | None = None) -> str:
        proc = proc or self.proc
        if proc is None:
            return "never started"
        try:
            code = proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        if proc is not self.proc:
            return describe_exit(code, b"")  # its stderr went with it when the next browser started
        self.stderr.seek(0)
        # A browser logs freely (Chromium's D-Bus complaints, say): its last line says why it ended
        # only when it ended by itself, not when a signal ended it.
        return describe_exit(code, b"" if code is not None and code < 0 else self.stderr.read())

    def start_browser(self) -> None:
        """Opens the page in a new browser and waits for it to say which engine it is."""
        self.stop_browser()
        self.ready.clear()
        self.ctl = queue.Queue()
        self.profile = Path(tempfile.mkdtemp(prefix=f"keel-{self.browser.name}-"))
        self.stderr.seek(0)
        self.stderr.truncate()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.profile), "NO_COLOR": "1",
               "XDG_RUNTIME_DIR": str(self.profile), "MOZ_CRASHREPORTER_DISABLE": "1"}
        if self.browser.needs_display:
            env["DISPLAY"] = self.screen()
        self.proc = subprocess.Popen(self.browser.command(self.profile, f"{self.url}/page.html"), env=env,
                                     stdin=subprocess.DEVNULL, stdout=self.stderr, stderr=self.stderr,
                                     start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.ready.wait(0.1):
            if not self.browser_alive():
                raise NotApplicable(f"{self.browser.binary} ended before opening the page: {self.browser_death()}")
            if time.monotonic() > deadline:
                self.stop_browser()
                raise NotApplicable(f"{self.browser.binary} did not open the page within {START_TIMEOUT_S:g} s")

    def screen(self) -> str:
        """A virtual screen for a browser without a headless mode, started once per session."""
        if self.xvfb is not None and self.xvfb.poll() is None:
            return self.display
        r, w = os.pipe()
        try:
            self.xvfb = subprocess.Popen([*ORPHAN_GUARD, "Xvfb", "-displayfd", str(w), "-nolisten", "tcp", "-screen",
                                          "0", "1280x800x24"], pass_fds=(w,), stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=self.stderr, start_new_session=True)
            os.close(w)
            w = -1
            said = b""
            while not said.endswith(b"\n") and select.select([r], [], [], START_TIMEOUT_S)[0]:
                chunk = os.read(r, 16)
                if not chunk:
                    break
                said += chunk
        except OSError as e:
            raise NotApplicable(f"Xvfb could not start: {e}") from None
        finally:
            close_fds(r, w)
        if not said.strip().isdigit():
            self.stop_screen()
            raise NotApplicable("Xvfb did not say which display it opened")
        self.display = f":{said.strip().decode()}"
        return self.display

    def stop_screen(self) -> None:
        if self.xvfb is not None and self.xvfb.poll() is None:
            self.xvfb.terminate()  # Xvfb removes its own lock file
            try:
                self.xvfb.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.xvfb.kill()
                self.xvfb.wait()
        self.xvfb = None

    def kill_browser(self) -> None:
        """SIGKILL, and back only once it has died: a browser still dying must not look alive to the next cell."""
        if self.browser_alive():
            assert self.proc is not None
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop_browser(self) -> None:
        """Ends the browser and everything it started (its process group), politely first."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            except ProcessLookupError:
                pass
        if self.proc is not None:
            try:  # helpers still in its group once the browser itself has ended
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for w in list(self.workers.values()):
            w.kill()
        if self.profile is not None:
            shutil.rmtree(self.profile, ignore_errors=True)
            self.profile = None

    def close(self) -> None:
        self.stop_browser()
        self.stop_screen()
        self.server.shutdown()
        self.server.server_close()

    # -- workers -------------------------------------------------------------
    def control(self, msg: dict[str, Any]) -> None:
        self.ctl.put(msg)

    def spawn(self, script: str, args: dict[str, Any]) -> Worker:
        if not self.browser_alive():
            self.start_browser()
        w = Worker(self, next(self.ids))
        self.workers[w.id] = w
        self.control({"op": "spawn", "id": w.id, "script": script, **args})
        return w

    def serve_guest(self, key: str, directory: Path) -> PurePosixPath:
        """Where the worker finds a transpiled guest (or a p1 module's directory) on the server."""
        self.guest_dirs[key] = directory
        return PurePosixPath("/guest") / key


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a browser that is stopped or killed drops its connections; the worker's end says what happened


def _static(session: BrowserSession, path: str) -> Path | None:
    """The file a GET names, only under the roots the page and workers need."""
    parts = path.strip("/").split("/")
    roots = {"js": JS, "p2-shim": P2_SHIM, "p1-shim": P1_SHIM}
    if parts[0] == "page.html":
        base, rest = JS, ["browser-page.html"]
    elif parts[0] == "guest" and len(parts) > 2 and parts[1] in session.guest_dirs:
        base, rest = session.guest_dirs[parts[1]], parts[2:]
    elif parts[0] in roots and len(parts) > 1:
        base, rest = roots[parts[0]], parts[1:]
    else:
        return None
    target = base.joinpath(*rest).resolve()
    return target if target.is_file() and target.is_relative_to(base.resolve()) else None


def _handler(session: BrowserSession) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body leave in two writes: no 40 ms wait on the ACK

        def log_message(self, *args: Any) -> None:
            pass  # the browser's requests are not the suite's output

        def reply(self, code: int, body: bytes = b"", ctype: str = "application/octet-stream") -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            target = _static(session, urlsplit(self.path).path)
            if target is None:
                self.reply(404)
            else:
                self.reply(200, target.read_bytes(), TYPES.get(target.suffix, "application/octet-stream"))

        def do_POST(self) -> None:  # noqa: N802
            url = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            parts = url.path.strip("/").split("/")
            if parts == ["ctl"]:
                self.control()
            elif parts == ["event"]:
                self.event(json.loads(body))
            elif len(parts) == 2 and parts[0] in ("send", "recv") and parts[1].isdigit():
                w = session.workers.get(int(parts[1]))
                if w is None:
                    self.reply(410)
                elif parts[0] == "send":
                    self.send(w, body)
                else:
                    self.recv(w, int(parse_qs(url.query).get("n", [str(CHUNK)])[0]))
            else:
                self.reply(404)

        def control(self) -> None:
            try:
                msg = session.ctl.get(timeout=KEEPALIVE_S)
            except queue.Empty:
                self.reply(204)
                return
            self.reply(200, json.dumps(msg).encode(), "application/json")

        def event(self, msg: dict[str, Any]) -> None:
            if msg.get("op") == "ready":
                session.engine = str(msg.get("engine", ""))
                session.ready.set()
            elif msg.get("op") == "exit" and (w := session.workers.get(int(msg["id"]))) is not None:
                w.ended(int(msg.get("code", 1)), str(msg.get("stderr", "")))
            self.reply(204)

        def send(self, w: Worker, body: bytes) -> None:
            fd = w.server_end("w")
            if fd is None:
                self.reply(410)
                return
            try:
                write_all(fd, body)
                self.reply(204)
            except OSError:  # the suite closed its end: the worker is being stopped
                self.reply(410)
            finally:
                os.close(fd)

        def recv(self, w: Worker, n: int) -> None:
            fd = w.server_end("r")
            if fd is None:
                self.reply(410)
                return
            try:
                if not select.select([fd], [], [], KEEPALIVE_S)[0]:
                    self.reply(204)
                    return
                data = os.read(fd, max(1, min(n, CHUNK)))
                self.reply(200 if data else 410, data)
            finally:
                os.close(fd)

    return Handler
