"""A test fault injector: an HTTP proxy on 127.0.0.1 between an EC2 client and moto.

moto answers what a healthy cloud answers; it never throttles, runs out of
capacity or quota, or loses an answer. The injector forwards every request to
the server behind it unless a fault is armed for the request's action
(`RunInstances`, ...; None: any action), and then, once:

- `fail_next`: answers with an EC2 error document (code, message, status),
  sending nothing on;
- `lose_answer_next`: sends the request on, then closes the connection
  without answering, as a network failure after the cloud acted does;
- `stall_next`: holds the request unanswered until the client gives up.

It counts the requests it saw per action, so tests can tell how many calls
a client made.
"""
from __future__ import annotations

import collections
import http.client
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

HOST = "127.0.0.1"
STALL_LIMIT = 30.0          # the longest a stalled request is held, should no client give up
# headers about one hop of the connection, not to pass on
HOP_HEADERS = frozenset({"connection", "keep-alive", "transfer-encoding", "proxy-connection",
                         "te", "trailer", "upgrade", "content-length"})
# headers every answer of the injector gets anew
OWN_HEADERS = frozenset({"server", "date"})


@dataclass(frozen=True)
class Fault:
    kind: str                       # "fail", "lose_answer" or "stall"
    action: str | None
    status: int = 0
    code: str = ""
    message: str = ""
    body: bytes | None = None       # answered as is instead of an error document


class EC2FaultInjector:
    """A proxy to `upstream` (e.g. a moto server's URL) that injects armed faults."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or HOST, parts.port or 80)
        self.seen: collections.Counter[str] = collections.Counter()
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._server = ThreadingHTTPServer((HOST, 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="ec2-fault-injector")
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self._server.server_address[1]}"

    def fail_next(self, code: str, message: str, status: int = 400, *,
                  action: str | None = None, body: bytes | None = None) -> None:
        """Answer the next request (of `action`) with this error, or with `body` as is."""
        self._arm(Fault("fail", action, status, code, message, body))

    def lose_answer_next(self, action: str | None = None) -> None:
        """Send the next request (of `action`) on, then drop the connection unanswered."""
        self._arm(Fault("lose_answer", action))

    def stall_next(self, action: str | None = None) -> None:
        """Hold the next request (of `action`) unanswered until the client gives up."""
        self._arm(Fault("stall", action))

    def clear(self) -> None:
        """Disarm every fault and forget the counts."""
        with self._lock:
            self._faults.clear()
            self.seen.clear()

    def close(self) -> None:
        self._released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _arm(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def _take(self, action: str) -> Fault | None:
        """Count a request of `action`; the first fault armed for it, disarmed."""
        with self._lock:
            self.seen[action] += 1
            for index, fault in enumerate(self._faults):
                if fault.action in (None, action):
                    return self._faults.pop(index)
            return None

    def _forward(self, method: str, path: str, headers: dict[str, str],
                 body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        connection = http.client.HTTPConnection(*self.upstream, timeout=STALL_LIMIT)
        try:
            connection.request(method, path, body, headers)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()


def error_document(code: str, message: str) -> bytes:
    """An error answer as EC2 writes it."""
    return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error>"
            f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
            "</Error></Errors><RequestID>occopus-fault-injector</RequestID></Response>"
            ).encode()


def _action(body: bytes) -> str:
    values = parse_qs(body.decode(errors="replace")).get("Action", [""])
    return values[0]


def _handler_for(injector: EC2FaultInjector) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self._proxy()

        def do_GET(self) -> None:
            self._proxy()

        def _proxy(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            fault = injector._take(_action(body))
            if fault is not None and fault.kind == "fail":
                self._answer(fault.status, [("Content-Type", "text/xml")],
                             fault.body if fault.body is not None
                             else error_document(fault.code, fault.message))
                return
            if fault is not None and fault.kind == "stall":
                injector._released.wait(STALL_LIMIT)
                self.close_connection = True
                return
            headers = {name: value for name, value in self.headers.items()
                       if name.lower() not in HOP_HEADERS}
            status, answer_headers, answer = injector._forward(self.command, self.path,
                                                               headers, body)
            if fault is not None:       # lose_answer: the cloud acted, the client never hears
                self.close_connection = True
                return
            self._answer(status, [(name, value) for name, value in answer_headers
                                  if name.lower() not in HOP_HEADERS | OWN_HEADERS], answer)

        def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass                        # quiet: tests read `seen`

    return Handler
