"""Fixtures the project's own tests share."""
from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium")
DRIVER = shutil.which("chromedriver")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    """Debian's Chromium, headless, driven by its chromedriver; n/a where they are not installed."""
    if not (CHROMIUM and DRIVER):
        pytest.skip("n/a: Debian's chromium and chromium-driver are not installed "
                    "(apt-get install chromium chromium-driver; .ci/run does)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM  # type: ignore[assignment]
    # Without the background-networking flags Chromium keeps reaching for hosts this machine cannot reach.
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1400,900",
                 f"--user-data-dir={tmp_path / 'profile'}"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    yield driver
    driver.quit()


def keel(*args: str, cwd: Path | None = None, timeout: float = 600, **kw: Any) -> Any:
    """`keel-conformance ARGS` as a user runs it: its own process, no stdin."""
    import subprocess
    import sys

    from keel_conformance.paths import PROJECT_ROOT

    return subprocess.run([sys.executable, "-m", "keel_conformance.cli", *args], cwd=cwd or PROJECT_ROOT,
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, **kw)


@pytest.fixture(scope="session")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real, complete run directory (kv on wasmtime, every kv guest, two scenarios). Tests copy it; never change it."""
    out = tmp_path_factory.mktemp("real") / "run"
    proc = keel("run", "--runtime", "wasmtime", "--interface", "kv", "-k", "missing_key or exists_follows",
                "--no-progress", "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


BROWSER_BINARIES = {"chromium", "firefox-esr", "MiniBrowser", "Xvfb", "WebKitWebProcess", "WebKitNetworkProcess"}


@pytest.fixture
def own_browser_processes(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., list[str]]]:
    """The browser and virtual screen processes this test started and that are still alive.

    A developer's own Firefox, or a matrix run beside the tests, must not fail a test, so the machine's
    process list is not enough. Every browser the suite or a finding's launcher starts gets a fresh
    profile under the temporary directory, and Xvfb inherits the environment. While this test runs that
    directory is one only it uses, so its path is in each such process's arguments or environment.
    """
    mark = tempfile.mkdtemp(prefix="keel-own-")
    monkeypatch.setenv("TMPDIR", mark)
    monkeypatch.setattr(tempfile, "tempdir", mark)

    def alive(settle_s: float = 0.0) -> list[str]:
        """`settle_s`: how long a process already told to end may take to go (xvfb-run signals its Xvfb
        and returns without waiting for it); one that is still there after that was left behind."""
        deadline = time.monotonic() + settle_s
        while (found := _processes_marked(mark.encode())) and time.monotonic() < deadline:
            time.sleep(0.1)
        return found

    yield alive
    shutil.rmtree(mark, ignore_errors=True)


def _processes_marked(mark: bytes) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args, env = (proc / "cmdline").read_bytes(), (proc / "environ").read_bytes()
        except OSError:  # it ended while we looked
            continue
        # Chromium's helpers rewrite their arguments as one space-separated string.
        name = args.split(b"\0")[0].split(b" ")[0].rsplit(b"/", 1)[-1].decode(errors="replace")
        if name in BROWSER_BINARIES and (mark in args or mark in env):
            found.append(args.replace(b"\0", b" ").decode(errors="replace").strip())
    return found
