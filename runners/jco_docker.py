"""jco in Docker: the same engine builds as runners/jco.py, inside a container.

This is the path a nightly CI on a stock runner would use. No image registry
is reachable, so each engine's image is made offline by `docker import` of a
root filesystem holding only the engine binary and the shared libraries `ldd`
lists. One container per column and worker runs runners/js/launcher.mjs, which
starts each engine process (a guest's host.mjs, or a p1 module) inside it on
request. The host scripts, the preview2 shim and the guests (transpiled, or p1
modules, in the cache) are mounted read-only; each process's channel to the
suite is two FIFOs in a mounted directory. The container gets no network, a
read-only root, and memory and pid limits. If no Docker engine can start,
every cell is `n/a` saying why.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import select
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

from keel_conformance.outcomes import NotApplicable, RuntimeCrash
from keel_conformance.paths import PROJECT_ROOT, cache_dir

from ._process import Launched, close_fds, describe_exit
from .jco import CAPABILITIES, ENGINES, HOST_NOTES, Channel, Engine, JcoRunner, jco_version
from .protocol import Probe

MOUNT = "/keel"
MEMORY = "2g"  # one container per column and worker: its engines (at most jco.LIVE_ENGINES) and a p1 module
PIDS = 512
LABEL = "keel-conformance.run"
START_TIMEOUT_S = 60.0


def _client() -> Any:
    import docker

    return docker.from_env(timeout=30)


def ensure_daemon() -> tuple[Any | None, str | None]:
    """A Docker client that answers, starting an installed `dockerd` if none runs; or the reason why not."""
    try:
        import docker  # noqa: F401
    except ImportError:
        return None, "the Python docker SDK is not installed"
    try:
        client = _client()
        client.ping()
        return client, None
    except Exception as first:  # the SDK raises several kinds; all mean "no engine answers"
        dockerd = shutil.which("dockerd")
        if dockerd is None or os.geteuid() != 0:
            return None, f"no Docker engine answers ({type(first).__name__}) and dockerd cannot be started here"
        log = cache_dir("docker") / "dockerd.log"
        with log.open("ab") as f:
            subprocess.Popen([dockerd], stdout=f, stderr=f, stdin=subprocess.DEVNULL, start_new_session=True)
        for _ in range(60):
            time.sleep(0.5)
            try:
                client = _client()
                client.ping()
                return client, None
            except Exception:
                continue
        return None, f"dockerd was started but never answered (log: {log})"


def _libraries(binary: str) -> list[str]:
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, timeout=30).stdout
    return [m.group(1) for m in re.finditer(r"(/\S+) \(0x", out)]


def _rootfs(binary: str, name: str) -> tuple[bytes, str]:
    """A tar of the engine and its libraries, and a key that changes when any of them does."""
    files = [(binary, f"/engine/bin/{name}")] + [(lib, lib) for lib in _libraries(binary)]
    key = hashlib.sha256()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for d in ("tmp", "keel"):
            info = tarfile.TarInfo(d)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777
            tar.addfile(info)
        for src, dest in files:
            data = Path(src).read_bytes()
            key.update(dest.encode() + hashlib.sha256(data).digest())
            info = tarfile.TarInfo(dest.lstrip("/"))
            info.size, info.mode = len(data), 0o755
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue(), key.hexdigest()[:16]


def image_for(client: Any, engine: Engine) -> tuple[str, str]:
    """The engine's image tag (imported on first use) and the binary's path inside it."""
    binary = engine.binary()
    if binary is None:
        raise NotApplicable(f"engine build not installed ({engine.install_hint})")
    name = Path(binary).name
    data, key = _rootfs(binary, name)
    tag = f"keel-conformance/{engine.name}:{key}"
    try:
        client.images.get(tag)
    except Exception:
        with tempfile.NamedTemporaryFile(suffix=".tar") as f:
            f.write(data)
            f.flush()
            repo, _, version = tag.partition(":")
            client.api.import_image_from_file(f.name, repository=repo, tag=version)
    return tag, f"/engine/bin/{name}"


class ColumnContainer:
    """One container per column (and worker): runners/js/launcher.mjs as its main process starts each
    engine process in it on request, so a guest's engine or a p1 module costs a process start, not a
    container start. The launcher's channel is two FIFOs in a mounted directory; so is each process's."""

    def __init__(self, client: Any, image: str, binary: str, guests_root: Path) -> None:
        self.rpc = Path(tempfile.mkdtemp(prefix="keel-rpc-"))
        os.mkfifo(self.rpc / "ctl-in")
        os.mkfifo(self.rpc / "ctl-out")
        self.ctl_w = os.open(self.rpc / "ctl-in", os.O_RDWR)  # never waits for the launcher
        # Read-only, so the launcher's exit (the container's end) reads as end of file.
        self.ctl_r = os.open(self.rpc / "ctl-out", os.O_RDONLY | os.O_NONBLOCK)
        self.ctl = Channel(self.ctl_r, self.ctl_w, lambda: not self.gone)  # requests; pump() reads the events
        self.guests_root, self.seq, self.gone = guests_root, 0, ""
        self.exits: dict[int, dict[str, Any]] = {}
        self.buf = b""
        mounts = {
            str(PROJECT_ROOT / "runners" / "js"): {"bind": f"{MOUNT}/runners/js", "mode": "ro"},
            str(PROJECT_ROOT / "node_modules"): {"bind": f"{MOUNT}/node_modules", "mode": "ro"},
            str(guests_root): {"bind": f"{MOUNT}/guests", "mode": "ro"},
            str(self.rpc): {"bind": f"{MOUNT}/rpc", "mode": "rw"},
        }
        self.container = client.containers.run(
            image, [binary, f"{MOUNT}/runners/js/launcher.mjs"], detach=True, auto_remove=True,
            network_mode="none", read_only=True, mem_limit=MEMORY, pids_limit=PIDS, tmpfs={"/tmp": "size=64m"},
            volumes=mounts, working_dir=MOUNT, labels={LABEL: str(os.getpid())},
            environment={"KEEL_CTL_IN": f"{MOUNT}/rpc/ctl-in", "KEEL_CTL_OUT": f"{MOUNT}/rpc/ctl-out", "HOME": "/tmp"},
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.pump(deadline - time.monotonic(), ready=True):
            if time.monotonic() > deadline or self.gone:
                self.close()
                raise RuntimeCrash(f"the column's container did not start its launcher: {self.gone or 'no answer'}")

    def seen_as(self, path: Path) -> Path | None:
        """Where the engines see `path`, or None when it is not under this container's guests root."""
        try:
            return Path(MOUNT, "guests", path.resolve().relative_to(self.guests_root))
        except ValueError:
            return None

    def pump(self, timeout_s: float, ready: bool = False) -> bool:
        """Reads what the launcher has said, waiting up to `timeout_s` for something; with `ready`, until
        its `ready` (True) or the deadline."""
        deadline = time.monotonic() + max(timeout_s, 0)
        while not self.gone:
            if not select.select([self.ctl_r], [], [], max(deadline - time.monotonic(), 0))[0]:
                return False
            try:
                chunk = os.read(self.ctl_r, 1 << 16)
            except BlockingIOError:
                chunk = None
            if chunk == b"":
                if ready:  # no writer yet: the launcher has not opened its end
                    time.sleep(0.02)
                    if time.monotonic() > deadline:
                        return False
                    continue
                self.gone = f"the container is gone: {self._container_death()}"
                return False
            self.buf += chunk or b""
            while len(self.buf) >= 4 and len(self.buf) >= 4 + int.from_bytes(self.buf[:4], "big"):
                n = int.from_bytes(self.buf[:4], "big")
                msg = json.loads(self.buf[4:4 + n])
                self.buf = self.buf[4 + n:]
                if msg["op"] == "ready":
                    return True
                if msg["op"] == "exit":
                    self.exits[int(msg["id"])] = msg
            if not ready:
                return False
        return False

    def _container_death(self) -> str:
        try:
            self.container.reload()
            state = self.container.attrs["State"]
            return f"exit {state.get('ExitCode')}" + (" (out of memory)" if state.get("OOMKilled") else "")
        except Exception as e:
            return f"removed ({type(e).__name__})"

    def request(self, msg: dict[str, Any]) -> None:
        try:
            self.ctl.send(msg)
        except OSError as e:
            self.gone = self.gone or f"the container is gone: {e}"

    def spawn(self, argv: list[str]) -> InContainer:
        self.seq += 1
        return InContainer(self, self.seq, argv)

    def close(self) -> None:
        close_fds(self.ctl_w, self.ctl_r)  # the launcher reads the end of its requests and exits
        self.ctl_w = self.ctl_r = -1
        for step in (lambda: self.container.remove(force=True),  # fails while its own auto-removal runs
                     lambda: self.container.wait(condition="removed", timeout=30)):  # gone when close returns
            try:
                step()
            except Exception:
                pass
        shutil.rmtree(self.rpc, ignore_errors=True)


class InContainer:
    """An engine process the launcher started; the channel is two FIFOs of its own."""

    def __init__(self, box: ColumnContainer, seq: int, argv: list[str]) -> None:
        self.box, self.id = box, seq
        self.dir = box.rpc / str(seq)
        self.dir.mkdir()
        os.mkfifo(self.dir / "in")
        os.mkfifo(self.dir / "out")
        # O_RDWR opens a FIFO without waiting for the other side; the engine opens its ends when it starts.
        self.wfd = os.open(self.dir / "in", os.O_RDWR)
        self.rfd = os.open(self.dir / "out", os.O_RDWR)
        env = {"KEEL_RPC_IN": f"{MOUNT}/rpc/{seq}/in", "KEEL_RPC_OUT": f"{MOUNT}/rpc/{seq}/out", "HOME": "/tmp"}
        box.request({"op": "spawn", "id": seq, "argv": argv, "env": env})

    def alive(self) -> bool:
        self.box.pump(0)
        return not self.box.gone and self.id not in self.box.exits

    def death(self) -> str:
        deadline = time.monotonic() + 5
        while self.id not in self.box.exits and not self.box.gone and time.monotonic() < deadline:
            self.box.pump(deadline - time.monotonic())
        ended = self.box.exits.get(self.id)
        if ended is None:
            return self.box.gone or "still running"
        signum = getattr(signal, str(ended.get("signal")), None)
        code = -int(signum) if signum is not None else ended.get("code")
        return describe_exit(code, str(ended.get("stderr") or "").encode())

    def sigkill(self) -> None:
        """Returns once the launcher saw the process end (bounded), as `docker kill` did: a caller that
        kills the engine under a guest must not find it still answering."""
        self.box.request({"op": "kill", "id": self.id})
        self.death()

    def kill(self) -> None:
        if self.alive():
            self.sigkill()
        close_fds(self.rfd, self.wfd)
        self.rfd = self.wfd = -1  # closed once: a second kill must not close a number reused since
        shutil.rmtree(self.dir, ignore_errors=True)


class DockerJcoRunner(JcoRunner):
    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.name = f"docker-{engine.name}"
        self.client: Any = None
        self.image: str | None = None
        self.binary_in_image = ""
        self.containers: dict[Path, ColumnContainer] = {}

    def probe(self) -> Probe:
        client, reason = ensure_daemon()
        origin = f"{self.engine.origin}, docker import of the binary and its libraries"
        if client is None:
            return Probe(self.name, False, reason=reason, flags=self.engine.flags, origin=origin)
        try:
            self.image, self.binary_in_image = image_for(client, self.engine)
            version = client.containers.run(self.image, [self.binary_in_image, "--version"], remove=True,
                                            network_mode="none").decode().strip()
        except NotApplicable as e:
            return Probe(self.name, False, reason=str(e), flags=self.engine.flags, origin=origin)
        except Exception as e:
            return Probe(self.name, False, reason=f"the engine image does not run: {type(e).__name__}: {e}",
                         flags=self.engine.flags, origin=origin)
        self.client = client
        server = client.version().get("Version", "?")
        return Probe(self.name, True, version=f"{version} · jco {jco_version()} · docker {server}",
                     flags=(*self.engine.flags, "network=none", "read-only-root", f"memory={MEMORY}", f"pids={PIDS}"),
                     origin=f"{origin}: {self.image}",
                     capabilities=CAPABILITIES | {"container"}, notes=self.engine.notes + HOST_NOTES)

    def launch(self, mounted: Path, script: str = "host.mjs", p1: bool = False) -> tuple[Launched, Path]:
        if self.client is None or self.image is None:
            raise NotApplicable("no Docker engine (the probe did not succeed)")
        box, seen_as = self._container_for(mounted)
        argv = self.argv(self.binary_in_image, f"{MOUNT}/runners/js/{script}") + ([str(seen_as)] if p1 else [])
        return box.spawn(argv), seen_as

    def _container_for(self, path: Path) -> tuple[ColumnContainer, Path]:
        """The container whose guests root holds `path` (the cache, in practice), started on first use,
        and started again if it ended."""
        for root, box in list(self.containers.items()):
            seen_as = box.seen_as(path)
            if seen_as is None:
                continue
            if not box.gone:
                return box, seen_as
            box.close()
            del self.containers[root]
        cache = cache_dir().resolve()
        root = cache if path.resolve().is_relative_to(cache) else path.resolve().parent
        box = ColumnContainer(self.client, self.image, self.binary_in_image, root)  # type: ignore[arg-type]
        self.containers[root] = box
        return box, box.seen_as(path)  # type: ignore[return-value]

    def close(self) -> None:
        super().close()
        for box in self.containers.values():
            box.close()
        self.containers.clear()


DOCKER_ENGINES = ("jco-node22", "jco-node24", "jco-node26")
RUNTIMES = {f"docker-{name}": (lambda e=ENGINES[name]: DockerJcoRunner(e)) for name in DOCKER_ENGINES}
