"""The REST service run for real: `occopus-rest-service` started in a test's HOME, called over
HTTP with its token.

    class MyTest(RestCase):
        def test_x(self):
            service = self.start_service()          # waits until it serves
            answer = service.post("/infrastructures/", content=text)
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

from .support import DEADLINE, CommandCase, Running, wait_until

SERVING = re.compile(r"serving on (http://\S+)")


class Service:
    """A running service: its base URL, its token, and an HTTP client that sends the token."""

    def __init__(self, running: Running, url: str, token: str | None) -> None:
        self.running = running
        self.url = url
        self.token = token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = httpx.Client(base_url=url, headers=headers, timeout=DEADLINE)

    def request(self, method: str, path: str, **options: Any) -> httpx.Response:
        return self.client.request(method, path, **options)

    def get(self, path: str, **options: Any) -> httpx.Response:
        return self.request("GET", path, **options)

    def post(self, path: str, **options: Any) -> httpx.Response:
        return self.request("POST", path, **options)

    def delete(self, path: str, **options: Any) -> httpx.Response:
        return self.request("DELETE", path, **options)

    def close(self) -> None:
        self.client.close()


class RestCase(CommandCase):
    """A temporary HOME and `occopus-rest-service` started in it."""

    def start_service(self, *args: Any, token: bool = True) -> Service:
        """Start the service on a free port (unless `args` give one) and wait until it serves;
        `token`: read the token it made (or was given) in HOME, and send it."""
        if "--port" not in [str(arg) for arg in args]:
            args = (*args, "--port", "0")
        running = self.start("occopus-rest-service", *args)
        wait_until(lambda: SERVING.search(running.stderr) or running.process.poll() is not None,
                   lambda: f"the service serves; stderr so far:\n{running.stderr}")
        found = SERVING.search(running.stderr)
        self.assertIsNotNone(found, f"the service ended:\n{running.stderr}")
        service = Service(running, found.group(1), self.token() if token else None)
        self.addCleanup(service.close)
        return service

    def token(self) -> str:
        """The first token of the service's token file in HOME."""
        return self.token_file().read_text().split()[0]

    def token_file(self) -> Path:
        return self.home / ".occopus" / "rest-token"
