"""Test helpers for those who test against the engine's health checks (no tests here).

The engine, enactor and api tests share them: a pinger that never leaves this
machine, and a health-check URL that holds a node (and whatever waits for it)
until the test lets it go.
"""
from __future__ import annotations

import ipaddress
import threading
import time
import unittest
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ..health import Pinger
from ..health.report import CheckResult


DEADLINE = 30.0     # a safety net against hanging, never a timing assertion


def wait_until(condition: Callable[[], Any], what: str, deadline: float = DEADLINE) -> Any:
    """`condition()`'s first true value, polled; a failed test after `deadline` seconds."""
    end = time.monotonic() + deadline
    while not (value := condition()):
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {deadline:g} s waiting until {what}")
        time.sleep(0.02)
    return value


class LoopbackPinger(Pinger):
    """TCP "pings", and only of this machine: an address beyond 127.0.0.0/8 fails the test."""

    def __init__(self) -> None:
        super().__init__(icmp=False)

    def ping(self, address: str, ports: Any = (), timeout: float = 1.0) -> CheckResult:
        if not ipaddress.ip_address(address).is_loopback:
            raise AssertionError(f"a test tried to reach {address}, outside 127.0.0.0/8")
        return super().ping(address, ports, timeout)


class Gate:
    """http://127.0.0.1:PORT/ answers 503 until `open()`, then 200; stopped with the test."""

    def __init__(self, case: unittest.TestCase) -> None:
        self.opened = threading.Event()
        gate = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200 if gate.opened.is_set() else 503)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                """Quiet."""
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        case.addCleanup(self.server.server_close)
        case.addCleanup(self.server.shutdown)

    def open(self) -> None:
        self.opened.set()

    def health_check(self) -> dict[str, Any]:
        """A node's health_check section that waits for this gate."""
        return {"ping": False, "urls": [self.url]}
