"""The few Docker engine API calls occo-dev makes, over the engine's unix socket.

occo-dev's own environment has no Docker SDK, and it needs only four calls
(ping, version, an image's presence, importing a tarball), so they are made
with the standard library's HTTP client on an AF_UNIX socket.
"""
from __future__ import annotations

import http.client
import json
import socket
import urllib.parse
from pathlib import Path

from .errors import DevError

API_VERSION = "1.41"        # dockerd 20.10; later engines still answer it


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: Path, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = str(path)

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


class EngineAPI:
    """One engine, asked through its unix socket; each call opens its own connection."""

    def __init__(self, socket_path: Path, timeout: float = 10.0) -> None:
        self.socket_path = socket_path
        self.timeout = timeout

    def request(self, method: str, path: str, body: object = None,
                headers: dict[str, str] | None = None,
                timeout: float | None = None) -> tuple[int, bytes]:
        """The status and body of one call; OSError when the engine cannot be reached."""
        connection = _UnixConnection(self.socket_path, timeout or self.timeout)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def ping(self) -> bool:
        """Whether the engine answers `GET /_ping` now."""
        try:
            status, body = self.request("GET", "/_ping", timeout=2.0)
        except OSError:
            return False
        return status == 200 and body.strip() == b"OK"

    def version(self) -> dict:
        status, body = self.request("GET", f"/v{API_VERSION}/version")
        if status != 200:
            raise DevError(f"the engine answered {status} to GET /version: {_said(body)}")
        return json.loads(body)

    def has_image(self, reference: str) -> bool:
        status, body = self.request("GET", f"/v{API_VERSION}/images/{reference}/json")
        if status not in (200, 404):
            raise DevError(f"the engine answered {status} when asked for image {reference}: "
                           f"{_said(body)}")
        return status == 200

    def import_tarball(self, tarball: Path, reference: str, changes: list[str]) -> str:
        """`docker import`: the tarball as an image named `reference`; returns its id."""
        repository, _, tag = reference.rpartition(":")
        query = urllib.parse.urlencode(
            [("fromSrc", "-"), ("repo", repository), ("tag", tag),
             *(("changes", change) for change in changes)])
        with tarball.open("rb") as stream:
            status, body = self.request(
                "POST", f"/v{API_VERSION}/images/create?{query}", body=stream,
                headers={"Content-Type": "application/x-tar",
                         "Content-Length": str(tarball.stat().st_size)}, timeout=120.0)
        # the answer is a stream of JSON messages; a failure is an "error" in the last one
        messages = [json.loads(line) for line in body.splitlines() if line.strip()]
        last = messages[-1] if messages else {}
        if status != 200 or "error" in last:
            raise DevError(f"importing {tarball} as {reference} failed ({status}): "
                           f"{last.get('error') or _said(body)}")
        return str(last.get("status", ""))


def _said(body: bytes) -> str:
    """The engine's own message in an error answer."""
    try:
        return str(json.loads(body)["message"])
    except (ValueError, KeyError, TypeError):
        return body.decode(errors="replace").strip()[:200]
