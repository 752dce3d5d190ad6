"""jco in Docker: the same engine builds as runners/jco.py, each inside a container.

This is the path a nightly CI on a stock runner would use. No image registry
is reachable, so each engine's image is made offline by `docker import` of a
root filesystem holding only the engine binary and the shared libraries `ldd`
lists. The host script, the preview2 shim and the guest (transpiled, or a p1 module) are
mounted read-only; the channel to the suite is two FIFOs in a mounted
directory. Containers get no network, a read-only root, and memory and pid
limits. If no Docker engine can start, every cell is `n/a` saying why.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

from keel_conformance.outcomes import NotApplicable
from keel_conformance.paths import PROJECT_ROOT, cache_dir

from ._process import Launched, close_fds, describe_exit
from .jco import CAPABILITIES, ENGINES, HOST_NOTES, Engine, JcoRunner, jco_version
from .protocol import Probe

MOUNT = "/keel"
MEMORY = "1g"
PIDS = 512


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


class Container:
    """An engine in a container; the channel is two FIFOs in a mounted directory."""

    def __init__(self, client: Any, image: str, argv: list[str], guest: Path) -> None:
        self.rpc = Path(tempfile.mkdtemp(prefix="keel-rpc-"))
        os.mkfifo(self.rpc / "in")
        os.mkfifo(self.rpc / "out")
        # O_RDWR opens a FIFO without waiting for the other side; the engine opens its ends when it starts.
        self.wfd = os.open(self.rpc / "in", os.O_RDWR)
        self.rfd = os.open(self.rpc / "out", os.O_RDWR)
        mounts = {
            str(PROJECT_ROOT / "runners" / "js"): {"bind": f"{MOUNT}/runners/js", "mode": "ro"},
            str(PROJECT_ROOT / "node_modules"): {"bind": f"{MOUNT}/node_modules", "mode": "ro"},
            str(guest): {"bind": f"{MOUNT}/guest", "mode": "ro"},
            str(self.rpc): {"bind": f"{MOUNT}/rpc", "mode": "rw"},
        }
        self.container = client.containers.run(
            image, argv, detach=True, network_mode="none", read_only=True, mem_limit=MEMORY, pids_limit=PIDS,
            tmpfs={"/tmp": "size=64m"}, volumes=mounts, working_dir=MOUNT,
            environment={"KEEL_RPC_IN": f"{MOUNT}/rpc/in", "KEEL_RPC_OUT": f"{MOUNT}/rpc/out", "HOME": "/tmp"},
        )

    def alive(self) -> bool:
        try:
            self.container.reload()
        except Exception:
            return False
        return bool(self.container.status in ("created", "running"))

    def death(self) -> str:
        try:
            code = int(self.container.wait(timeout=5)["StatusCode"])
            self.container.reload()
            oom = " (out of memory)" if self.container.attrs["State"].get("OOMKilled") else ""
            return describe_exit(code, self.container.logs(stdout=False, stderr=True)) + oom
        except Exception as e:
            return f"the container is gone ({type(e).__name__})"

    def sigkill(self) -> None:
        try:
            self.container.kill()
        except Exception:
            pass

    def kill(self) -> None:
        try:
            self.container.remove(force=True)
        except Exception:
            pass
        close_fds(self.rfd, self.wfd)
        self.rfd = self.wfd = -1  # closed once: a second kill must not close a number reused since
        shutil.rmtree(self.rpc, ignore_errors=True)


class DockerJcoRunner(JcoRunner):
    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.name = f"docker-{engine.name}"
        self.client: Any = None
        self.image: str | None = None
        self.binary_in_image = ""

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
        seen_as = f"{MOUNT}/guest"
        argv = self.argv(self.binary_in_image, f"{MOUNT}/runners/js/{script}") + ([seen_as] if p1 else [])
        return Container(self.client, self.image, argv, mounted), Path(seen_as)


DOCKER_ENGINES = ("jco-node22", "jco-node24", "jco-node26")
RUNTIMES = {f"docker-{name}": (lambda e=ENGINES[name]: DockerJcoRunner(e)) for name in DOCKER_ENGINES}
