"""`FakeServer`: the skeleton of the fakes of services that cannot run here, for tests.

A fake (a cloud's: `nova.testing`, `cloudsigma.testing`, `cloudbroker.testing`;
the Chef server's: `occo.configmanager.chef.testing`) is a real HTTP server of
the standard library, in a thread of the test process, on a free loopback
port, so that a plugin talks to it over the wire as to the service. This module holds what every fake does the same: starting
and stopping the server, reading each request and writing its answer, and
the errors a test injects (`Fault`). A fake says only what a request answers
(`reply`), in its service's shapes.
"""
from __future__ import annotations

import abc
import fnmatch
import ssl
import sys
import threading
from collections.abc import Mapping, MutableSequence
from dataclasses import dataclass
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, Self

HOST = "127.0.0.1"


@dataclass
class Fault:
    """The error answer the next `count` calls of `method` and of `path` (a shell pattern)
    get; None matches any. `kind` is the cloud's name of the error, where it names one."""

    status: int
    count: int
    method: str | None
    path: str | None
    retry_after: str | None
    message: str
    kind: str = ""

    @classmethod
    def injected(cls, status: int, *, count: int, method: str | None, path: str | None,
                 retry_after: float | None, message: str | None, kind: str = "") -> Fault:
        """A test's fault: a 429 says Retry-After (1 s unless told), a message not given says
        the test injected it."""
        if status == HTTPStatus.TOO_MANY_REQUESTS and retry_after is None:
            retry_after = 1
        return cls(status, count, method, path,
                   None if retry_after is None else f"{retry_after:g}",
                   message or f"injected by the test: {status} {HTTPStatus(status).phrase}",
                   kind)

    @property
    def headers(self) -> dict[str, str]:
        return {} if self.retry_after is None else {"Retry-After": self.retry_after}

    def matches(self, method: str, path: str) -> bool:
        return ((self.method is None or self.method == method)
                and (self.path is None or fnmatch.fnmatchcase(path, self.path)))


def due_fault(faults: MutableSequence[Fault], method: str, path: str) -> Fault | None:
    """The first of `faults` a call of `method` on `path` meets, counted as met."""
    for fault in faults:
        if fault.count > 0 and fault.matches(method, path):
            fault.count -= 1
            return fault
    return None


def fill_placeholders(text: str, placeholders: Mapping[str, str],
                      values: Mapping[str, Any]) -> str:
    """`text` (a tutorial file) with each placeholder replaced by the value of its key, as a
    user following the tutorial would fill it in."""
    for placeholder, key in placeholders.items():
        text = text.replace(placeholder, str(values[key]))
    return text


class FakeServer(abc.ABC):
    """A fake cloud's HTTP server on `HOST`, from `start` (or `with`) until `stop`."""

    thread_name: ClassVar[str] = "fake-cloud"

    def __init__(self, *, tls: ssl.SSLContext | None = None) -> None:
        self._tls = tls                 # HTTPS with this server context, when given
        self._http: _Server | None = None
        self._thread: threading.Thread | None = None

    @abc.abstractmethod
    def reply(self, method: str, target: str, headers: Message,
              body: bytes) -> tuple[int, bytes, Mapping[str, str]]:
        """The answer to one request (`target` is its path and query): its status, payload
        and headers (a Content-Type with a payload; Content-Length is added)."""

    @property
    def origin(self) -> str:
        """http(s)://host:port of the running server."""
        assert self._http is not None, "the fake is not started"
        return f"{'https' if self._tls else 'http'}://{HOST}:{self._http.server_address[1]}"

    def start(self) -> Self:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._http = _Server((HOST, 0), handler)
        if self._tls is not None:       # each connection's handshake in its own thread
            self._http.socket = self._tls.wrap_socket(self._http.socket, server_side=True,
                                                      do_handshake_on_connect=False)
        self._thread = threading.Thread(target=self._http.serve_forever,
                                        name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        http, self._http = self._http, None
        if http is not None:
            http.shutdown()
            http.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (a command killed mid-call) is no error of the fake."""
        if not isinstance(sys.exc_info()[1], ConnectionError | ssl.SSLError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeServer
    protocol_version = "HTTP/1.1"          # keep-alive, as the plugins' clients expect

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, payload, headers = self.fake.reply(self.command, self.path, self.headers, body)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:     # quiet in tests
        pass
