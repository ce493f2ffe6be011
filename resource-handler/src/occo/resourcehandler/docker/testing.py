"""A real Docker engine for tests, and the tutorials' images for it, served over HTTP.

Shipped with the plugin so that any suite can use it (the resource handler's
tests, and the api's end-to-end runs of the docker-helloworld and docker-ping
tutorials):

    from occo.resourcehandler.docker.testing import endpoint, tutorial_image_url
    endpoint()                         # unix:///.../env/docker/docker.sock (or "tcp")
    tutorial_image_url("busybox_ping") # http://127.0.0.1:PORT/busybox_ping.tar

The engine is the checkout's own, started (or found running) by
`./occo-dev docker start --tcp --json` once per test process and left running for
the next one; the checkout is the one this module is installed from
(editable). Where no engine can be had the tests fail with the reason;
outside CI (`CI=true`) they are skipped instead when this machine cannot have
docker.io at all (occo-dev's exit code 3). The images are the base busybox
root filesystem (`occopus/busybox:latest`, its tarball made by occo-dev)
plus a `/root/start.sh` each, written with tarfile into the engine's
`images/` folder once a process.
"""
from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
import threading
import unittest
import uuid
from collections import Counter
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import docker

from occo.util.checkout import checkout


REPO = checkout()
UNAVAILABLE = 3             # occo-dev's exit code: no dockerd, and no way to install it here
START_TIMEOUT = 900.0       # a first start may install docker.io (about a minute)

# the tutorials' start scripts: each says what it does in the container's output
# (`docker logs`), and stays up, as a node does
HELLOWORLD_SH = """#!/bin/sh
# docker-helloworld: say the message, keep it in a file, and stay up
echo "$message" > /root/message.txt
echo "$message"
exec sleep inf
"""
PING_SH = """#!/bin/sh
# docker-ping: ping the receiver for as long as the node lives
echo "pinging $target_ip"
exec ping "$target_ip"
"""
TUTORIAL_IMAGES: dict[str, dict[str, str]] = {
    "busybox_helloworld": {"root/start.sh": HELLOWORLD_SH},
    "busybox_ping": {"root/start.sh": PING_SH},
}


class EngineUnavailable(RuntimeError):
    """No engine could be had for the tests, and they must not be skipped."""


@dataclass(frozen=True)
class Engine:
    """The engine occo-dev started: its endpoints and where its image tarballs are."""

    endpoints: dict[str, str]
    base_image: str
    base_tarball: Path

    @property
    def images(self) -> Path:
        return self.base_tarball.parent


_lock = threading.RLock()
_engine: Engine | None = None
_server: ImageServer | None = None
_made: dict[str, dict[str, str]] = {}        # the tarballs this process made, and their files


def engine() -> Engine:
    """The checkout's engine, started on first use; a SkipTest or EngineUnavailable if none."""
    global _engine
    with _lock:
        if _engine is None:
            _engine = _start()
        return _engine


def endpoint(kind: str = "unix") -> str:
    """The engine's endpoint: `unix` (its socket) or `tcp` (127.0.0.1 and a port)."""
    return engine().endpoints[kind]


def client(kind: str = "unix") -> docker.APIClient:
    """A Docker SDK client of the test's own, to look at what a handler made."""
    return docker.APIClient(base_url=endpoint(kind), version="1.41", timeout=60)


class EngineTestCase(unittest.TestCase):
    """The checkout's engine for the test class (`engine`), and a client of each test's own
    to look at what a handler made (`docker`, closed after the test)."""

    engine: ClassVar[Engine]

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.engine = engine()

    def setUp(self) -> None:
        super().setUp()
        self.docker = client()
        self.addCleanup(self.docker.close)


def _start() -> Engine:
    if REPO is None:
        raise EngineUnavailable("no Docker engine for the tests: the engine is the one "
                                "./occo-dev starts, and this module is not installed from an "
                                "Occopus checkout (./occo-dev reset-env makes one that is)")
    # the tests use both endpoints: the engine listens on a loopback port too while they run
    command = [str(REPO / "occo-dev"), "docker", "start", "--tcp", "--json"]
    try:
        result = subprocess.run(command, cwd=REPO, text=True, capture_output=True,
                                stdin=subprocess.DEVNULL, timeout=START_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise EngineUnavailable(f"cannot run {' '.join(command)}: {error}") from None
    if result.returncode != 0:
        said = (result.stderr.strip().splitlines() or ["no output"])[-1]
        reason = f"no Docker engine for the tests: {said}"
        if result.returncode == UNAVAILABLE and os.environ.get("CI") != "true":
            raise unittest.SkipTest(reason)
        raise EngineUnavailable(reason)
    state = json.loads(result.stdout)
    return Engine(dict(state["endpoints"]), state["base_image"], Path(state["base_tarball"]))


def image_tarball(name: str, files: dict[str, str] | None = None) -> Path:
    """`<name>.tar` in the engine's images folder: the base root filesystem plus `files` (by
    default the tutorial image's). Made once a process, so that it never lags its files; it
    replaces the one before whole, whoever is reading that."""
    files = TUTORIAL_IMAGES[name] if files is None else files
    target = engine().images / f"{name}.tar"
    with _lock:
        if _made.get(name) == files:
            return target
        partial_path = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
        with tarfile.open(engine().base_tarball) as base, \
                tarfile.open(partial_path, "w", format=tarfile.GNU_FORMAT) as tar:
            for member in base.getmembers():
                tar.addfile(member, base.extractfile(member) if member.isfile() else None)
            for path, text in sorted(files.items()):
                data = text.encode()
                info = tarfile.TarInfo(path)
                info.size, info.mode, info.uname, info.gname = len(data), 0o755, "root", "root"
                tar.addfile(info, io.BytesIO(data))
        partial_path.replace(target)
        _made[name] = dict(files)
    return target


def tutorial_image_url(name: str) -> str:
    """An http://127.0.0.1:PORT/<name>.tar URL the engine can import the tutorial image from."""
    return image_server().url(image_tarball(name).name)


class _QuietFiles(SimpleHTTPRequestHandler):
    """Serves a folder, counting the requests per path instead of logging them."""

    def __init__(self, *args: Any, requests: Counter[str], **kwargs: Any) -> None:
        self._requests = requests
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:
        self._requests[self.path] += 1
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class ImageServer:
    """An HTTP server on 127.0.0.1 serving the engine's images folder, for the process."""

    def __init__(self, folder: Path) -> None:
        self.requests: Counter[str] = Counter()
        handler = partial(_QuietFiles, directory=str(folder), requests=self.requests)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, name="image-server",
                         daemon=True).start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"


def image_server() -> ImageServer:
    global _server
    with _lock:
        if _server is None:
            _server = ImageServer(engine().images)
        return _server
