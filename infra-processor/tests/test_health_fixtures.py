"""Real servers on 127.0.0.1 for the health-check tests (this module holds no tests).

- `HttpServer`: answers /ok 200, /moved 302 -> /ok, /broken 500, /moved-broken
  302 -> /broken, and /together 200 once `together` requests are in at once.
- `open_port`, `refusing_port`, `silent_port`: a TCP port that accepts, one that
  refuses (bound, not listening), and one that never answers (a full backlog).
- `icmp_pinger`: a `Pinger` that sends ICMP (the test is skipped where none can).
- `mysql_account`: a throwaway database and user on the test process's own MariaDB.
- `temporary_store`: a real SQLite store holding infrastructure i1; `Clock`: a settable clock.
"""
from __future__ import annotations

import contextlib
import os
import socket
import tempfile
import threading
import unittest
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from occo.infobroker.store.sqlite import SqliteStore
from occo.infraprocessor.health import Pinger, PingMethod
from occo.infraprocessor.testing.mariadb import shared_server

WAIT = 10.0      # a safety net against hanging, never a timing assertion


class HttpServer:
    """A threaded HTTP server on a free port, recording the paths it was asked for."""

    def __init__(self, together: int = 1, host: str = "127.0.0.1") -> None:
        self.paths: list[str] = []
        self.lock = threading.Lock()
        self.barrier = threading.Barrier(together, timeout=WAIT)
        self.server = ThreadingHTTPServer((host, 0), _handler(self))
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://{self.server.server_address[0]}:{self.port}{path}"

    def __enter__(self) -> "HttpServer":
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(WAIT)


def _handler(owner: HttpServer) -> type[BaseHTTPRequestHandler]:
    routes = {"/ok": (200, None), "/moved": (302, "/ok"), "/broken": (500, None),
              "/moved-broken": (302, "/broken")}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with owner.lock:
                owner.paths.append(self.path)
            status, location = (self._together() if self.path == "/together"
                                else routes.get(self.path, (404, None)))
            self.send_response(status)
            if location:
                self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _together(self) -> tuple[int, None]:
            try:
                owner.barrier.wait()
            except threading.BrokenBarrierError:
                return 503, None
            return 200, None

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@contextlib.contextmanager
def open_port(host: str = "127.0.0.1") -> Iterator[int]:
    """A port whose connections are accepted (and closed)."""
    listener = socket.create_server((host, 0))
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            connection.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        thread.join(WAIT)


@contextlib.contextmanager
def refusing_port() -> Iterator[int]:
    """A port held by a socket that does not listen: connections are refused."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        yield holder.getsockname()[1]


@contextlib.contextmanager
def silent_port() -> Iterator[int]:
    """A port that never answers: a listener whose backlog is full drops new SYNs."""
    with socket.socket() as listener, contextlib.ExitStack() as held:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        for _ in range(8):
            client = held.enter_context(socket.socket())
            client.settimeout(0.2)
            try:
                client.connect(("127.0.0.1", port))
            except TimeoutError:
                break
        else:
            raise unittest.SkipTest("cannot fill a listen backlog on this host")
        yield port


def icmp_pinger() -> Pinger:
    """A pinger that sends ICMP, or a skipped test on a host that cannot."""
    pinger = Pinger()
    if pinger.method is PingMethod.TCP:
        raise unittest.SkipTest("this host can send no ICMP (no working ping binary, "
                                "no ICMP socket)")
    return pinger


@contextlib.contextmanager
def mysql_account() -> Iterator[tuple[str, str, str, str]]:
    """(host, database, user, password) of a throwaway database and user on the test
    process's own MariaDB, which listens at port 3306 of `host`, dropped afterwards."""
    server = shared_server()
    with server.account() as (database, user, password):
        yield server.host, database, user, password


class Clock:
    """A clock the test sets."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def temporary_store(test: unittest.TestCase) -> SqliteStore:
    """A real SQLite store in a temporary folder, with infrastructure i1, closed after the test."""
    folder = tempfile.TemporaryDirectory()
    test.addCleanup(folder.cleanup)
    store = SqliteStore(os.path.join(folder.name, "state.sqlite"), user="tester")
    test.addCleanup(store.close)
    store.add_infrastructure("i1", {"name": "web"})
    return store
