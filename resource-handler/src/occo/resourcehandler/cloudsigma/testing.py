"""`FakeCloudSigma`: a FAKE of CloudSigma's API 2.0, for tests. It is not CloudSigma.

A real HTTP server (plain HTTP) on a free loopback port, run in a thread of the
test process, that implements only the calls the cloudsigma plugin makes,
with the paths, request and answer shapes of CloudSigma's published API 2.0
reference: lists as `{"meta": {limit, offset, total_count}, "objects": [...]}`,
objects named by uuid, statuses, and errors as a JSON list of
`{error_point, error_type, error_message}`. It checks basic authentication
against one account (`EMAIL`, `PASSWORD`) holding one library drive, one
public key and one firewall policy (`Account`), and refuses a server whose
pubkeys or firewall policies the account does not have.

What it does slowly, as the cloud does: a clone stays `cloning_dst` for
`clone_time` seconds before it is `unmounted`; a started server stays
`starting` for `boot_time` seconds before it runs; a stopped one `stopping`
for `stop_time` seconds. A started server may first stay `stopped` for
`start_lag` seconds, as the cloud's asynchronous start allows, and the next
`ignore_starts` starts are accepted but do nothing. A running server's NIC has an address on
127.88.0.0/16, one of this machine's loopback addresses, so that Occopus may
ping it (Linux answers all of 127.0.0.0/8 locally) and nothing else is ever
contacted.

Faults: `fail_next(status, ...)` answers the next matching call(s) with an
error of the API's shape (401, 403, 404, 409, 429 with Retry-After, 5xx, ...).

    with FakeCloudSigma() as cloud:
        values = cloud.tutorial_values()        # what the tutorials' placeholders take
        text = fill_tutorial(node_definitions_text, values)
"""
from __future__ import annotations

import base64
import copy
import ipaddress
import json
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import Message
from typing import Any
from urllib.parse import parse_qs, urlsplit

from occo.util.fakeserver import FakeServer, Fault, due_fault, fill_placeholders

PREFIX = "/api/2.0"
EMAIL = "tester@example.org"
PASSWORD = "fake-cloudsigma-password-0123456789"
CREDENTIALS: Mapping[str, str] = {"email": EMAIL, "password": PASSWORD}
ADDRESSES = ipaddress.ip_network("127.88.0.0/16")
REQUIRED = ("name", "cpu", "mem", "vnc_password")

# the tutorials' placeholders, and the key of `tutorial_values` each one takes
PLACEHOLDERS: Mapping[str, str] = {
    "replace_with_endpoint_of_cloudsigma_interface_of_your_cloud": "endpoint",
    "replace_with_id_of_your_library_drive_on_your_target_cloud": "libdrive_id",
    "replace_with_id_of_your_pubkey_on_your_target_cloud": "pubkey_id",
    "replace_with_id_of_your_network_policy_on_your_target_cloud": "firewall_policy_id",
}


def fill_tutorial(text: str, values: Mapping[str, str]) -> str:
    """A tutorial file's text with every placeholder replaced by its value from `values`."""
    return fill_placeholders(text, PLACEHOLDERS, values)


@dataclass(frozen=True)
class Account:
    """What the account holds before a user follows the tutorials."""

    libdrive_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    pubkey_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    firewall_policy_id: str = field(default_factory=lambda: str(uuid.uuid4()))


class Answer(Exception):
    """An answer, raised from anywhere in a call."""

    def __init__(self, status: int, body: Any = None, headers: Mapping[str, str] | None = None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


def refusal(status: int, error_type: str, message: str, point: str | None = None,
            **headers: str) -> Answer:
    """An error answer in the API's shape."""
    return Answer(status, [{"error_point": point, "error_type": error_type,
                            "error_message": message}], headers)


class FakeCloudSigma(FakeServer):
    """The fake cloud: its state, its faults and its HTTP server (`start`, `stop`)."""

    thread_name = "fake-cloudsigma"

    def __init__(self, *, account: Account | None = None, boot_time: float = 0.0,
                 clone_time: float = 0.0, stop_time: float = 0.0,
                 start_lag: float = 0.0) -> None:
        super().__init__()
        self.account = account or Account()
        self.boot_time, self.clone_time, self.stop_time = boot_time, clone_time, stop_time
        self.start_lag = start_lag
        self.ignore_starts = 0      # starts still to accept and ignore
        self.calls: list[tuple[str, str]] = []          # (method, path) of every API call
        self._lock = threading.Lock()
        self._drives: dict[str, dict[str, Any]] = {}
        self._servers: dict[str, dict[str, Any]] = {}
        self._changes: dict[str, tuple[float, str]] = {}   # uuid -> (when, next status)
        self._faults: list[Fault] = []
        self._next_address = 1

    # --- running ----------------------------------------------------------------
    @property
    def url(self) -> str:
        """The endpoint, as a resource section's `endpoint` takes it."""
        return self.origin + PREFIX

    def reply(self, method: str, target: str, headers: Message,
              body: bytes) -> tuple[int, bytes, Mapping[str, str]]:
        answer = self.answer(method, target, headers, body)
        if answer.body is None:
            return answer.status, b"", answer.headers
        return (answer.status, json.dumps(answer.body).encode(),
                {**answer.headers, "Content-Type": "application/json; charset=utf-8"})

    # --- for tests --------------------------------------------------------------
    def tutorial_values(self) -> dict[str, str]:
        """The values the cloudsigma tutorials' placeholders take (see `PLACEHOLDERS`)."""
        return {"endpoint": self.url, "libdrive_id": self.account.libdrive_id,
                "pubkey_id": self.account.pubkey_id,
                "firewall_policy_id": self.account.firewall_policy_id}

    def fail_next(self, status: int, *, count: int = 1, method: str | None = None,
                  path: str | None = None, retry_after: float | None = None,
                  error_type: str | None = None, message: str | None = None) -> None:
        """Answer the next `count` calls (of `method`, and of `path` under the API's prefix, a
        shell pattern such as "/servers/*/action/", if given) with `status`, in the API's error
        shape; a 429 says Retry-After (1 s unless told)."""
        kinds = {401: "permission", 402: "billing", 403: "permission", 404: "notexist",
                 409: "concurrency", 429: "permission"}
        kind = error_type or kinds.get(status, "backend" if status >= 500 else "validation")
        with self._lock:
            self._faults.append(Fault.injected(status, count=count, method=method, path=path,
                                               retry_after=retry_after, message=message,
                                               kind=kind))

    def add_drive(self, name: str) -> str:
        """A drive of the account's, unmounted; its uuid."""
        with self._lock:
            drive = self._new_drive(name, "unmounted")
        return str(drive["uuid"])

    def set_drive_status(self, drive_id: str, status: str) -> None:
        """Put a drive in `status` (e.g. `failed`, as a clone gone wrong is)."""
        with self._lock:
            self._drives[drive_id]["status"] = status
            self._changes.pop(drive_id, None)

    def servers(self) -> list[dict[str, Any]]:
        """Every server, as the API shows it."""
        with self._lock:
            self._settle()
            return [self._shown_server(server) for server in self._servers.values()]

    def drives(self) -> list[dict[str, Any]]:
        with self._lock:
            self._settle()
            return [copy.deepcopy(drive) for drive in self._drives.values()]

    def user_data(self, server: Mapping[str, Any]) -> str | None:
        """A server's cloud-init text, decoded from its meta as CloudSigma's data source does."""
        meta = server.get("meta") or {}
        value = meta.get("cloudinit-user-data")
        if value is None:
            return None
        fields = [name.strip() for name in str(meta.get("base64_fields", "")).split(",")]
        return base64.b64decode(value).decode() if "cloudinit-user-data" in fields else value

    # --- the API ----------------------------------------------------------------
    def answer(self, method: str, target: str, headers: Mapping[str, str],
               body: bytes) -> Answer:
        """One call's answer."""
        parts = urlsplit(target)
        path = parts.path
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        try:
            if not path.startswith(PREFIX + "/"):
                raise refusal(404, "notexist", f"no such resource: {path}")
            path = path[len(PREFIX):]
            with self._lock:
                self.calls.append((method, path))
                self._check_auth(headers.get("Authorization", ""))
                self._inject(method, path)
                self._settle()
                return self._route(method, path, query, body)
        except Answer as answer:
            return answer

    def _check_auth(self, header: str) -> None:
        expected = "Basic " + base64.b64encode(f"{EMAIL}:{PASSWORD}".encode()).decode()
        if header != expected:
            raise refusal(401, "permission", "Authentication failed: wrong email or password",
                          **{"WWW-Authenticate": 'Basic realm="CloudSigma"'})

    def _inject(self, method: str, path: str) -> None:
        if (fault := due_fault(self._faults, method, path)) is not None:
            raise refusal(fault.status, fault.kind, fault.message, **fault.headers)

    def _route(self, method: str, path: str, query: Mapping[str, str], body: bytes) -> Answer:
        parts = [part for part in path.split("/") if part]
        if not path.endswith("/"):
            raise refusal(404, "notexist", f"no such resource: {path} (paths end in '/')")
        if method == "GET" and parts in (["servers", "detail"], ["drives", "detail"]):
            objects = self._servers if parts[0] == "servers" else self._drives
            shown = (self._shown_server if parts[0] == "servers" else copy.deepcopy)
            return Answer(200, _page([shown(item) for item in objects.values()], query))
        if len(parts) == 3 and parts[0] == "libdrives" and parts[2] == "action" \
                and method == "POST" and query.get("do") == "clone":
            return self._clone(parts[1], _json(body, allow_empty=True))
        if parts == ["servers"] and method == "POST":
            return self._create(_json(body))
        if len(parts) == 2 and parts[0] == "drives" and method == "GET":
            return Answer(200, copy.deepcopy(self._found(self._drives, parts[1])))
        if len(parts) == 2 and parts[0] == "drives" and method == "DELETE":
            return self._delete_drive(parts[1])
        if len(parts) == 2 and parts[0] == "servers" and method == "GET":
            return Answer(200, self._shown_server(self._found(self._servers, parts[1])))
        if len(parts) == 2 and parts[0] == "servers" and method == "DELETE":
            return self._delete(parts[1], query.get("recurse"))
        if len(parts) == 3 and parts[0] == "servers" and parts[2] == "action" \
                and method == "POST":
            return self._action(parts[1], query.get("do", ""))
        raise refusal(404 if method == "GET" else 405, "notexist",
                      f"the fake implements no {method} {path}")

    @staticmethod
    def _found(objects: Mapping[str, dict[str, Any]], object_id: str) -> dict[str, Any]:
        if object_id not in objects:
            raise refusal(404, "notexist", f"Object with uuid {object_id} does not exist")
        return objects[object_id]

    def _clone(self, libdrive_id: str, request: Mapping[str, Any]) -> Answer:
        if libdrive_id != self.account.libdrive_id:
            raise refusal(404, "notexist", f"Object with uuid {libdrive_id} does not exist")
        drive = self._new_drive(str(request.get("name") or f"clone of {libdrive_id}"),
                                "cloning_dst" if self.clone_time > 0 else "unmounted")
        if self.clone_time > 0:
            self._changes[drive["uuid"]] = (time.monotonic() + self.clone_time, "unmounted")
        return Answer(202, {"objects": [copy.deepcopy(drive)]})

    def _new_drive(self, name: str, status: str) -> dict[str, Any]:
        drive_id = str(uuid.uuid4())
        drive = {"uuid": drive_id, "name": name, "media": "disk", "size": 10 * 1024 ** 3,
                 "status": status, "meta": {}, "mounted_on": [],
                 "resource_uri": f"{PREFIX}/drives/{drive_id}/"}
        self._drives[drive_id] = drive
        return drive

    def _create(self, request: Mapping[str, Any]) -> Answer:
        objects = request.get("objects")
        if not (isinstance(objects, list) and len(objects) == 1 and isinstance(objects[0], dict)):
            raise refusal(400, "validation", "expected objects: a list of one server",
                          "objects")
        given = objects[0]
        for key in REQUIRED:
            if given.get(key) in (None, ""):
                raise refusal(400, "validation", "This field is required.", key)
        for key in ("cpu", "mem"):
            if isinstance(given[key], bool) or not isinstance(given[key], int) or given[key] <= 0:
                raise refusal(400, "validation", "Enter a whole number.", key)
        for pubkey in given.get("pubkeys") or []:
            if pubkey != self.account.pubkey_id:
                raise refusal(400, "validation", f"Object with uuid {pubkey} does not exist",
                              "pubkeys")
        for nic in given.get("nics") or []:
            policy = nic.get("firewall_policy") if isinstance(nic, dict) else None
            if policy is not None and policy != self.account.firewall_policy_id:
                raise refusal(400, "validation", f"Object with uuid {policy} does not exist",
                              "nics")
        meta = given.get("meta") or {}
        if not (isinstance(meta, dict) and all(isinstance(v, str) for v in meta.values())):
            raise refusal(400, "validation", "meta must map names to strings", "meta")
        for attached in given.get("drives") or []:
            drive = self._drives.get(str(attached.get("drive")))
            if drive is None:
                raise refusal(400, "validation", f"Object with uuid {attached.get('drive')} "
                              "does not exist", "drives")
            if drive["status"] != "unmounted" or drive["mounted_on"]:
                raise refusal(409, "concurrency", f"Drive {drive['uuid']} is "
                              f"{drive['status']} and cannot be attached", "drives")
        server_id = str(uuid.uuid4())
        server = {**copy.deepcopy(given), "uuid": server_id, "status": "stopped",
                  "runtime": None, "resource_uri": f"{PREFIX}/servers/{server_id}/",
                  "_address": self._address()}
        for attached in server.get("drives") or []:
            self._drives[attached["drive"]]["mounted_on"] = [{"uuid": server_id}]
        self._servers[server_id] = server
        return Answer(201, {"objects": [self._shown_server(server)]})

    def _address(self) -> str:
        address = str(ADDRESSES.network_address + self._next_address)
        self._next_address += 1
        return address

    def _action(self, server_id: str, action: str) -> Answer:
        server = self._found(self._servers, server_id)
        status = server["status"]
        if action == "start" and status == "stopped" and self.ignore_starts > 0:
            self.ignore_starts -= 1
        elif action == "start" and status == "stopped" and self.start_lag > 0:
            server["_boot_time"] = self.boot_time
            self._changes[server_id] = (time.monotonic() + self.start_lag, "starting")
        elif action == "start" and status == "stopped":
            self._set(server, "starting", self.boot_time, "running")
        elif action == "stop" and status in ("running", "starting", "paused"):
            self._set(server, "stopping", self.stop_time, "stopped")
        elif action in ("start", "stop"):
            raise refusal(403, "permission", f"Cannot {action} guest in state {status}")
        else:
            raise refusal(400, "validation", f"Unknown action {action!r}", "do")
        return Answer(202, {"action": action, "result": "success", "uuid": server_id})

    def _delete(self, server_id: str, recurse: str | None) -> Answer:
        server = self._found(self._servers, server_id)
        if server["status"] != "stopped":
            raise refusal(403, "permission",
                          f"Cannot delete guest in state {server['status']}: stop it first")
        del self._servers[server_id]
        self._changes.pop(server_id, None)
        for attached in server.get("drives") or []:
            drive = self._drives.get(attached["drive"])
            if drive is None:
                continue
            if recurse in ("all_drives", "disks"):
                del self._drives[drive["uuid"]]
            else:
                drive["mounted_on"] = []
        return Answer(204)

    def _delete_drive(self, drive_id: str) -> Answer:
        drive = self._found(self._drives, drive_id)
        if drive["mounted_on"] or drive["status"] not in ("unmounted", "failed", "unavailable"):
            raise refusal(403, "permission", f"Cannot delete drive in state {drive['status']} "
                          "or attached to a server")
        del self._drives[drive_id]
        return Answer(204)

    def _set(self, server: dict[str, Any], status: str, lasting: float, then: str) -> None:
        """`status` now, `then` once `lasting` seconds have passed (at once if none)."""
        if lasting > 0:
            server["status"] = status
            self._changes[server["uuid"]] = (time.monotonic() + lasting, then)
        else:
            server["status"] = then
            self._changes.pop(server["uuid"], None)
        self._runtime(server)

    def _settle(self) -> None:
        """Every change of status that is due."""
        now = time.monotonic()
        for object_id, (when, status) in list(self._changes.items()):
            if when > now:
                continue
            del self._changes[object_id]
            if object_id in self._drives:
                self._drives[object_id]["status"] = status
            elif object_id in self._servers and status == "starting":   # its start lagged
                server = self._servers[object_id]
                self._set(server, "starting", server.pop("_boot_time", 0.0), "running")
            elif object_id in self._servers:
                self._servers[object_id]["status"] = status
                self._runtime(self._servers[object_id])

    @staticmethod
    def _runtime(server: dict[str, Any]) -> None:
        if server["status"] in ("running", "stopping"):
            server["runtime"] = {"status": server["status"], "nics": [{
                "interface_type": "public", "mac": "22:a7:00:00:00:01",
                "ip_v4": {"uuid": server["_address"],
                          "resource_uri": f"{PREFIX}/ips/{server['_address']}/"}}]}
        else:
            server["runtime"] = None

    @staticmethod
    def _shown_server(server: Mapping[str, Any]) -> dict[str, Any]:
        return {key: copy.deepcopy(value) for key, value in server.items()
                if not key.startswith("_")}


def _page(objects: list[dict[str, Any]], query: Mapping[str, str]) -> dict[str, Any]:
    """A list answer: `limit` objects from `offset` (limit 0: all), with the total."""
    try:
        limit, offset = int(query.get("limit", 20)), int(query.get("offset", 0))
    except ValueError:
        raise refusal(400, "validation", "limit and offset must be whole numbers") from None
    chosen = objects[offset:] if limit == 0 else objects[offset:offset + limit]
    return {"meta": {"limit": limit, "offset": offset, "total_count": len(objects)},
            "objects": chosen}


def _json(body: bytes, allow_empty: bool = False) -> dict[str, Any]:
    if allow_empty and not body.strip():
        return {}
    try:
        value = json.loads(body)
    except ValueError:
        raise refusal(400, "validation", "the body is not JSON") from None
    if not isinstance(value, dict):
        raise refusal(400, "validation", "the body must be a JSON object")
    return value
