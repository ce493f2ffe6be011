"""HTTP/1.1 connections to one simcloud endpoint, kept open and lent to one call at a time.

The standard library's `http.client`, not httpx: simcloud stands in for a
cloud in benchmarks of the engine, whose process makes thousands of these
calls while its own thread keeps the store. An httpx call costs about three
times the CPU of an `http.client` one (1.0 against 0.3 ms on a small
machine, as measured), and with hundreds of calls at once that CPU, held
under the GIL, slowed the engine's own thread to a crawl: the simulator,
not the engine, was being measured.

A connection per call in flight, reused across calls and threads (one
shared connection would serialise the threads); their number never exceeds
the calls made at once. A kept connection the server has closed since (it
restarted, say) fails on its next use before any answer comes: the call is
then made once more on a new connection. Every call of the API may be
repeated (a create is idempotent through its client token).
"""
from __future__ import annotations

import http.client
import json as jsonlib
import ssl
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 10.0
# what a kept connection that the server closed meanwhile fails with
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
          ConnectionAbortedError)


class TransportError(Exception):
    """No answer came: the server cannot be reached, the connection broke, or it timed out."""


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")

    def json(self) -> Any:
        """The body as JSON; ValueError if it is not."""
        return jsonlib.loads(self.body)


class Connections:
    """The kept connections of one endpoint (`http://host:port`, or https); thread-safe."""

    def __init__(self, base_url: str) -> None:
        url = urlsplit(base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.base_url = base_url
        self._host = url.hostname
        self._port = url.port
        self._prefix = url.path.rstrip("/")
        # built once: it costs more than a connection
        self._tls = ssl.create_default_context() if url.scheme == "https" else None
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._closed = False

    def request(self, method: str, path: str, *, json: Any = None, content: bytes | None = None,
                params: dict[str, str] | None = None) -> Response:
        """One call: its status and body; `TransportError` when no answer came. The body is
        `json` encoded, or `content`, JSON encoded already."""
        target = self._prefix + path + (f"?{urlencode(params)}" if params else "")
        body = content if json is None else jsonlib.dumps(json).encode()
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        connection, kept = self._take()
        while True:
            try:
                connection.request(method, target, body=body, headers=headers)
                answer = connection.getresponse()
                response = Response(answer.status, answer.read())
            except _STALE as error:
                connection.close()
                if kept:            # closed while idle: once more, on a new connection
                    connection, kept = self._new(), False
                    continue
                raise TransportError(f"{type(error).__name__}: {error}") from None
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                raise TransportError(f"{type(error).__name__}: {error}") from None
            if answer.will_close:
                connection.close()
            else:
                self._give_back(connection)
            return response

    def close(self) -> None:
        with self._lock:
            idle, self._idle, self._closed = self._idle, [], True
        for connection in idle:
            connection.close()

    def _take(self) -> tuple[http.client.HTTPConnection, bool]:
        """A kept connection (True), or a new one (False)."""
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        return self._new(), False

    def _new(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection
        if self._tls is not None:
            connection = http.client.HTTPSConnection(self._host, self._port,
                                                     timeout=CONNECT_TIMEOUT, context=self._tls)
        else:
            connection = http.client.HTTPConnection(self._host, self._port,
                                                    timeout=CONNECT_TIMEOUT)
        try:
            connection.connect()
        except OSError as error:
            connection.close()
            raise TransportError(f"{type(error).__name__}: {error}") from None
        assert connection.sock is not None
        connection.sock.settimeout(READ_TIMEOUT)
        return connection

    def _give_back(self, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            if not self._closed:
                self._idle.append(connection)
                return
        connection.close()
