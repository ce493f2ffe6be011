"""The calls of CloudSigma's API 2.0 the plugin makes, over one httpx client per connection.

Basic authentication with the account's email and password (auth_data), JSON
both ways, the paths of the API reference (each ending in '/'). An error
answer raises `CloudSigmaError` with the cloud's words; nothing is retried
here: the engine retries each `TransientError` itself, under the backend's
rate and concurrency limits, and every create is idempotent by node id.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..base import Connection
from ..httpclient import CONNECT_TIMEOUT, READ_TIMEOUT, basic_auth_client
from .errors import CloudSigmaError

PAGE = 100              # objects a list call asks for at a time
ENDPOINT_HINT = ("set endpoint to the API URL of the CloudSigma location, "
                 "e.g. https://zrh.cloudsigma.com/api/2.0")


class CloudSigmaClient:
    """One account at one CloudSigma location; thread-safe."""

    def __init__(self, connection: Connection, *, connect_timeout: float = CONNECT_TIMEOUT,
                 read_timeout: float = READ_TIMEOUT) -> None:
        """`PermanentError` when the endpoint is not an http(s) URL or the credentials lack
        `email` or `password`."""
        self._http = basic_auth_client(connection, cloud="cloudsigma", accept="application/json",
                                       endpoint_hint=ENDPOINT_HINT,
                                       connect_timeout=connect_timeout,
                                       read_timeout=read_timeout)

    def close(self) -> None:
        self._http.close()

    # --- drives ---------------------------------------------------------------
    def clone_libdrive(self, libdrive_id: str, name: str) -> dict[str, Any]:
        """A new drive cloned from a library drive (the API answers at once, and clones on)."""
        return _first(self._call("POST", f"libdrives/{libdrive_id}/action/",
                                 params={"do": "clone"}, json={"name": name}))

    def drive(self, drive_id: str) -> dict[str, Any]:
        return dict(self._call("GET", f"drives/{drive_id}/"))

    def drives(self) -> Iterator[dict[str, Any]]:
        return self._listed("drives/detail/")

    def delete_drive(self, drive_id: str) -> None:
        self._call("DELETE", f"drives/{drive_id}/")

    # --- servers --------------------------------------------------------------
    def servers(self) -> Iterator[dict[str, Any]]:
        """Every server of the account, with its status, meta and runtime."""
        return self._listed("servers/detail/")

    def server(self, server_id: str) -> dict[str, Any]:
        return dict(self._call("GET", f"servers/{server_id}/"))

    def create_server(self, definition: Mapping[str, Any]) -> dict[str, Any]:
        return _first(self._call("POST", "servers/", json={"objects": [dict(definition)]}))

    def action(self, server_id: str, action: str) -> None:
        """start or stop a server (the API answers at once, and acts on)."""
        self._call("POST", f"servers/{server_id}/action/", params={"do": action})

    def delete_server(self, server_id: str, *, with_drives: bool) -> None:
        """Delete a stopped server, and with it every drive attached to it if `with_drives`."""
        self._call("DELETE", f"servers/{server_id}/",
                   params={"recurse": "all_drives"} if with_drives else None)

    # --- the wire -------------------------------------------------------------
    def _listed(self, path: str) -> Iterator[dict[str, Any]]:
        offset = 0
        while True:
            page = self._call("GET", path, params={"limit": PAGE, "offset": offset})
            objects = page.get("objects") if isinstance(page, Mapping) else None
            if not isinstance(objects, list):
                raise ValueError(f"GET {path} answered no list of objects")
            yield from (dict(item) for item in objects if isinstance(item, Mapping))
            offset += len(objects)
            total = (page.get("meta") or {}).get("total_count")
            if not objects or not isinstance(total, int) or offset >= total:
                return

    def _call(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
              json: Any = None) -> Any:
        """The answer's JSON (None for an empty one); `CloudSigmaError` for an error answer,
        httpx's errors when none came, ValueError when a success is not JSON."""
        response = self._http.request(method, path, params=params, json=json)
        if response.status_code >= 300:        # redirects are not followed: an error
            raise CloudSigmaError.of(response)
        if not response.content:
            return None
        return response.json()


def _first(answer: Any) -> dict[str, Any]:
    """The object a create answered: the first of its `objects`, or the object itself."""
    if isinstance(answer, Mapping) and isinstance(answer.get("objects"), list):
        objects = answer["objects"]
        if objects and isinstance(objects[0], Mapping):
            return dict(objects[0])
    elif isinstance(answer, Mapping) and answer.get("uuid"):
        return dict(answer)
    raise ValueError("the answer names no object made")
