"""Browsers: jco-transpiled guests in a browser's dedicated worker, one column per engine.

The same transpiled guest and the same conversation as the jco columns
(`js/host-core.mjs`), with a worker for an engine process (`_browser_session.py`
holds the server, the browser and the workers), so everything above the
channel — framing, deadlines, the p1 bridge — is jco.py's and `_p1_process.py`'s.
This module is the columns: which browsers, their flags and profiles, the probe.

One browser per column and pytest worker, reused across cells and restarted
if it dies; every guest instance is fresh.
"""
from __future__ import annotations

import glob
import json
import os
import shlex
import shutil
import subprocess
from pathlib import Path

from keel_conformance import repro_js
from keel_conformance.outcomes import NotApplicable
from keel_conformance.paths import npm_version

from ._browser_session import P1_SHIM, P2_SHIM, Browser, BrowserSession, Worker
from .jco import CAPABILITIES, HOST_NOTES, JCO_BIN, Engine, JcoRunner, jco_version
from .protocol import Probe, Reproduction

__all__ = ["BROWSERS", "Browser", "BrowserRunner", "BrowserSession", "RUNTIMES"]

# Debian puts it under the multiarch directory (x86_64-linux-gnu, aarch64-linux-gnu, ...).
MINIBROWSER = next(iter(sorted(glob.glob("/usr/lib/*/webkit2gtk-4.1/MiniBrowser"))),
                   "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser")
DRIVER = "none: the browser opens the suite's page itself; page and workers talk to a loopback server"


# As root Chromium needs --no-sandbox; the background-networking flags keep it off a closed network.
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic")

FIREFOX_PREFS = {
    "browser.shell.checkDefaultBrowser": False, "browser.startup.homepage_override.mstone": "ignore",
    "datareporting.policy.dataSubmissionEnabled": False, "toolkit.telemetry.reportingpolicy.firstRun": False,
    "app.update.disabledForTesting": True, "network.proxy.type": 0, "browser.aboutwelcome.enabled": False,
    "dom.workers.maxPerDomain": 64,
}


def _firefox_profile(profile: Path) -> list[str]:
    (profile / "user.js").write_text("".join(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n"
                                             for k, v in FIREFOX_PREFS.items()))
    return ["--profile", str(profile)]


BROWSERS = {
    b.name: b for b in (
        # Debian's packages first; the names other distributions (and CI images) give the same engines after.
        Browser("browser-chromium", ("chromium", "chromium-browser", "google-chrome"), "chromium", CHROMIUM_FLAGS,
                lambda p: [f"--user-data-dir={p}"], repro_profile=('--user-data-dir="$(mktemp -d)"',)),
        Browser("browser-firefox", ("firefox-esr", "firefox"), "firefox-esr", ("--headless", "--no-remote"),
                _firefox_profile, repro_profile=('--profile "$(mktemp -d)"',), notes=("profile preferences: " + ", ".join(f"{k}={v}" for k, v in FIREFOX_PREFS.items()),)),
        Browser("browser-webkitgtk", (MINIBROWSER,), "libwebkit2gtk-4.1-0", ("--private",), lambda p: [],
                needs_display=True,
                notes=("WebKitGTK's MiniBrowser has no headless mode: it runs on a virtual screen (Xvfb) the suite starts",)),
    )
}


class BrowserRunner(JcoRunner):
    """A jco column whose engine processes are workers in one browser."""

    def __init__(self, browser: Browser) -> None:
        super().__init__(Engine(browser.name, lambda: shutil.which(browser.binary),
                                origin=f"Debian package {browser.package}",
                                install_hint=f"apt-get install {browser.package}; ./dev.sh matrix does as root"))
        self.browser = browser
        self.session: BrowserSession | None = None

    def reproduce(self, r: Reproduction) -> str | None:
        """The jco script for a dedicated worker, and a launcher that serves it to this column's browser."""
        (r.where / repro_js.BROWSER_WORKER).write_text(repro_js.script(r, browser=True), encoding="utf-8")
        (r.where / repro_js.BROWSER_LAUNCHER).write_text(repro_js.browser_launcher(), encoding="utf-8")
        b = self.browser
        binary = Path(b.binary).name if shutil.which(Path(b.binary).name) else b.binary  # MiniBrowser is off PATH
        line = ["node", repro_js.BROWSER_LAUNCHER, shlex.quote(binary), *map(shlex.quote, b.flags), *b.repro_profile]
        return " ".join(["xvfb-run", "-a", *line] if b.needs_display else line)

    def _session(self) -> BrowserSession:
        if self.session is None:
            self.session = BrowserSession(self.browser)
        return self.session

    def launch(self, mounted: Path, script: str = "host.mjs", p1: bool = False) -> tuple[Worker, Path]:
        session = self._session()
        key = _key(mounted.parent if p1 else mounted)
        seen_as = session.serve_guest(key, mounted.parent if p1 else mounted)
        args = {"module": str(seen_as / mounted.name)} if p1 else {}
        worker = session.spawn("browser-p1.mjs" if p1 else "browser-worker.mjs", args)
        return worker, Path(seen_as)

    def probe(self) -> Probe:
        b = self.browser
        missing = [p for p in (b.binary, *(["Xvfb"] if b.needs_display else []), "setpriv") if not shutil.which(p)]
        if missing:
            return Probe(self.name, False, reason=f"{', '.join(missing)} not installed ({self.engine.install_hint})",
                         origin=self.engine.origin)
        if not JCO_BIN.exists() or not P2_SHIM.is_dir():
            return Probe(self.name, False, reason="jco or its preview2-shim is not installed (npm ci at the project "
                         "root)", origin=self.engine.origin)
        session = self._session()
        try:
            if not session.browser_alive():
                session.start_browser()
        except NotApplicable as e:
            return Probe(self.name, False, reason=str(e), origin=self.engine.origin)
        capabilities = CAPABILITIES if P1_SHIM.is_dir() else CAPABILITIES - {"wasi-p1"}
        shims = f"preview2-shim {npm_version('@bytecodealliance/preview2-shim')}" + (
            f", browser_wasi_shim {npm_version('@bjorn3/browser_wasi_shim')}" if P1_SHIM.is_dir() else "")
        return Probe(self.name, True, version=f"{_version(b, session.display)} · {session.engine} · jco {jco_version()} · {shims}",
                     flags=b.flags, origin=f"{self.engine.origin} ({b.binary}); driver: {DRIVER}", capabilities=capabilities,
                     notes=b.notes + HOST_NOTES)

    def close(self) -> None:
        super().close()
        if self.session is not None:
            self.session.close()
            self.session = None


def _key(directory: Path) -> str:
    return directory.name if directory.name.isalnum() else str(abs(hash(str(directory))))


def _version(b: Browser, display: str) -> str:
    """The browser's own version line (MiniBrowser prints it only with a screen)."""
    env = {**os.environ, "DISPLAY": display} if b.needs_display else None
    try:
        out = subprocess.run([b.binary, "--version"], capture_output=True, text=True, timeout=60,
                             stdin=subprocess.DEVNULL, env=env)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"{b.binary} --version failed: {e}"
    lines = [ln for ln in out.stdout.splitlines() if ln.strip()]
    return lines[0].strip() if lines else f"{b.binary} --version printed nothing"


RUNTIMES = {name: (lambda b=b: BrowserRunner(b)) for name, b in BROWSERS.items()}
