"""`FakeOpenStack`: a FAKE OpenStack cloud for tests, not OpenStack.

A real HTTP server (the standard library's, in a thread) on a free loopback
port, implementing only the calls the nova plugin makes, with the request and
answer shapes of the published API references:

- Keystone v3 (`/identity/v3/auth/tokens`): password and application-credential
  methods, the token in `X-Subject-Token`, a catalog whose compute and network
  endpoints point at this server;
- Nova compute v2.1 (`/compute/v2.1`): version document (microversions up to
  `MAX_MICROVERSION`, as a modern cloud), flavors, servers
  (create, list with details and a name filter, show, delete), with
  metadata, user data, key pairs, security groups, networks and boot volumes
  (`block_device_mapping_v2`); from microversion 2.37 a create must say
  `networks` ("auto", "none" or a list), as Nova requires;
- Neutron v2.0 (`/network/v2.0`): networks, ports, floating IPs.

A server is BUILD for `boot_seconds`, then ACTIVE with a fixed address on the
loopback network 127.78.0.0/16; floating IPs come from 127.79.0.0/16. Every
address is one this machine answers itself (Linux routes 127.0.0.0/8 to
loopback), so a run that pings its nodes reaches nothing else. Faults with the
services' own error bodies (401, 403, 404, 409, 429 with Retry-After, 5xx) are
injected with `fail_next`; `ignore_ip_description_filter` answers a floating IP
list unfiltered by description, as Neutron does with filter validation off.
Shipped with the plugin so that any suite can use it:

    with FakeOpenStack() as cloud:
        resource = {"type": "nova", **cloud.tutorial_values()}
"""
from __future__ import annotations

import base64
import ipaddress
import itertools
import json
import re
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import Message
from typing import Any
from urllib.parse import parse_qs, urlsplit

from occo.util.fakeserver import FakeServer, fill_placeholders

REGION = "RegionOne"
PROJECT_ID = "0b7f1c1a5e7d4c4f9e7a3b2c1d0e9f8a"
PROJECT_NAME = "occopus"            # in the domain "default" (name "Default")
USER = {"username": "occopus-tester", "password": "fake-openstack-password-0123"}
APP_CREDENTIAL = {"type": "application_credential", "id": "3c4b0d2f6e5a4b1c9d8e7f6a5b4c3d2e",
                  "secret": "fake-openstack-app-secret-4567"}
IMAGE_ID = "5d1f0c3e-2b7a-4e8f-9c6d-1a2b3c4d5e6f"
# id: (name, vcpus, ram MB, disk GB); a flavor without a disk is for booting from volumes
FLAVORS = {"1": ("m1.tiny", 1, 512, 1), "2": ("m1.small", 1, 2048, 20),
           "3": ("v1.small", 1, 2048, 0)}
KEY_NAME = "occopus-key"
SECURITY_GROUPS = ("default", "occopus-ping")
NETWORK_ID = "a1b2c3d4-0000-4000-8000-000000000001"
NETWORK_NAME = "private"
POOL_ID = "a1b2c3d4-0000-4000-8000-0000000000ff"
POOL_NAME = "public"
MAX_MICROVERSION = "2.96"          # the compute API's newest microversion here
NETWORKS_REQUIRED = (2, 37)       # from this microversion a server create must say `networks`
FIXED = ipaddress.ip_network("127.78.0.0/16")
FLOATING = ipaddress.ip_network("127.79.0.0/16")

# the tutorials' placeholders and the key of `tutorial_values` each one takes
PLACEHOLDERS: Mapping[str, str] = {
    "replace_with_endpoint_of_nova_interface_of_your_cloud": "endpoint",
    "replace_with_projectid_to_use": "project_id",
    "replace_with_id_of_your_image_on_your_target_cloud": "image_id",
    "replace_with_id_of_network_on_your_target_cloud": "network_id",
    "replace_with_id_of_the_flavor_on_your_target_cloud": "flavor_name",
    "replace_with_name_of_keypair_or_remove": "key_name",
    "replace_with_security_group_to_add_or_remove_section": "security_group",
    "add_yes_if_you_need_floating_ip_or_remove": "floating_ip",
    "replace_with_name_of_floating_ip_pool_or_remove": "floating_ip_pool",
}

# each service's error body, as its API reference shows it
_NOVA_FAULTS = {400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound",
                409: "conflictingRequest", 413: "overLimit", 429: "overLimit",
                500: "computeFault", 503: "serviceUnavailable"}
_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           409: "Conflict", 429: "Too Many Requests", 500: "Internal Server Error",
           503: "Service Unavailable"}


@dataclass
class Fault:
    """An error answer the next matching request gets."""

    status: int
    message: str
    method: str | None = None
    path: str | None = None          # matched against the end of the request's path
    retry_after: int | None = None
    after: bool = False              # carry the request out, then answer the error (a lost answer)

    def matches(self, method: str, path: str) -> bool:
        return ((self.method is None or self.method == method)
                and (self.path is None or path.rstrip("/").endswith(self.path)))


@dataclass
class Server:
    id: str
    body: dict[str, Any]
    created: float
    fixed_ip: str
    port_id: str
    image_id: str = ""
    status: str = "BUILD"
    fault: str | None = None
    volumes: list[dict[str, Any]] = field(default_factory=list)


class FakeOpenStack(FakeServer):
    """The fake cloud, until `stop()`. Thread-safe; inspect `servers`, `floating_ips`,
    `volumes` and `requests` (method, path) to see what the plugin did."""

    thread_name = "fake-openstack"

    def __init__(self, *, boot_seconds: float = 0.3) -> None:
        super().__init__()
        self.boot_seconds = boot_seconds
        self.servers: dict[str, Server] = {}
        self.floating_ips: dict[str, dict[str, Any]] = {}
        self.volumes: dict[str, dict[str, Any]] = {}     # kept boot volumes (volume_persist)
        self.requests: list[tuple[str, str]] = []
        self.tokens: dict[str, str] = {}                 # token -> the method it came by
        self.server_error: str | None = None             # servers go ERROR with this fault
        self.ignore_ip_description_filter = False        # list every floating IP of the project
        self._faults: list[Fault] = []
        self._lock = threading.RLock()
        self._fixed = itertools.islice(FIXED.hosts(), 256, None)
        self._floating = itertools.islice(FLOATING.hosts(), 256, None)

    # --- lifecycle -------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.origin

    @property
    def auth_url(self) -> str:
        """Keystone's URL without a version, as users write it (the plugin adds /v3)."""
        return f"{self.url}/identity"

    def reply(self, method: str, target: str, headers: Message,
              body: bytes) -> tuple[int, bytes, Mapping[str, str]]:
        parts = urlsplit(target)
        try:
            request = json.loads(body) if body else None
        except ValueError:
            status, answer, extra = _error(parts.path, 400, "Malformed request body")
        else:
            status, answer, extra = self.answer(method, parts.path, parse_qs(parts.query),
                                                request, headers)
        if answer is None:
            return status, b"", extra
        return status, json.dumps(answer).encode(), {**extra, "Content-Type": "application/json"}

    # --- for tests ---------------------------------------------------------------
    def fail_next(self, status: int, message: str, *, method: str | None = None,
                  path: str | None = None, retry_after: int | None = None,
                  after: bool = False) -> None:
        """Answer the next request matching `method` and the end of `path` with `status`;
        `after`: do what it asks first, as a cloud whose answer is lost on the way."""
        with self._lock:
            self._faults.append(Fault(status, message, method, path, retry_after, after))

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self.server_error = None
            self.ignore_ip_description_filter = False

    def tutorial_values(self) -> dict[str, Any]:
        """What the nova tutorials' placeholders take in this cloud (as a user's project has)."""
        return {"endpoint": self.auth_url, "project_id": PROJECT_ID, "image_id": IMAGE_ID,
                "network_id": NETWORK_ID, "flavor_name": FLAVORS["1"][0], "key_name": KEY_NAME,
                "security_group": SECURITY_GROUPS[1], "floating_ip": "yes",
                "floating_ip_pool": POOL_NAME}

    def add_floating_ip(self, description: str) -> dict[str, Any]:
        """A floating IP of the project that no node made (someone else's)."""
        with self._lock:
            ip = {"id": str(uuid.uuid4()), "floating_network_id": POOL_ID,
                  "floating_ip_address": str(next(self._floating)), "port_id": None,
                  "description": description, "fixed_ip_address": None, "status": "DOWN",
                  "project_id": PROJECT_ID, "tenant_id": PROJECT_ID, "router_id": None,
                  "tags": []}
            self.floating_ips[ip["id"]] = ip
            return ip

    def live_servers(self) -> list[dict[str, Any]]:
        with self._lock:
            return [self._server_view(server) for server in self.servers.values()]

    def count(self, method: str, path_end: str) -> int:
        """How many requests of `method` ended their path with `path_end`."""
        with self._lock:
            return sum(1 for seen, path in self.requests
                       if seen == method and path.rstrip("/").endswith(path_end))

    # --- the services ------------------------------------------------------------
    def answer(self, method: str, path: str, query: dict[str, list[str]], body: Any,
               headers: Mapping[str, str]) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            self.requests.append((method, path))
            fault = next((f for f in self._faults if f.matches(method, path)), None)
            if fault is not None:
                self._faults.remove(fault)
                if fault.after:
                    self._serve(method, path, query, body, headers)
                return _error(path, fault.status, fault.message, fault.retry_after)
            return self._serve(method, path, query, body, headers)

    def _serve(self, method: str, path: str, query: dict[str, list[str]], body: Any,
               headers: Mapping[str, str]) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            if path.startswith("/identity"):
                return self._identity(method, path, body)
            if headers.get("X-Auth-Token") not in self.tokens:
                return _error(path, 401, "The request you have made requires authentication.")
            if path.startswith("/compute"):
                return self._compute(method, path[len("/compute"):], query, body,
                                     _microversion(headers))
            if path.startswith("/network"):
                return self._network(method, path[len("/network"):], query, body)
            return _error(path, 404, "The resource could not be found.")

    def _identity(self, method: str, path: str, body: Any) -> tuple[int, Any, dict[str, str]]:
        if method != "POST" or path.rstrip("/") != "/identity/v3/auth/tokens":
            return _error(path, 404, "The resource could not be found.")
        identity = (body or {}).get("auth", {}).get("identity", {})
        methods = identity.get("methods") or []
        project = {"id": PROJECT_ID, "name": PROJECT_NAME, "domain": {"id": "default",
                                                                   "name": "Default"}}
        if methods == ["password"]:
            user = identity.get("password", {}).get("user", {})
            scope = (body["auth"].get("scope") or {}).get("project", {})
            if (user.get("name"), user.get("password")) != (USER["username"], USER["password"]) \
                    or user.get("domain", {}).get("name") != "Default":
                return _error(path, 401, "The request you have made requires authentication.")
            if scope.get("id") != PROJECT_ID and not _names_project(scope):
                return _error(path, 401, f"User {user.get('name')} has no access to project "
                                         f"{scope.get('id')}")
        elif methods == ["application_credential"]:
            credential = identity.get("application_credential", {})
            if (credential.get("id"), credential.get("secret")) != (APP_CREDENTIAL["id"],
                                                                    APP_CREDENTIAL["secret"]):
                return _error(path, 401, "The request you have made requires authentication.")
        else:
            return _error(path, 400, f"Unsupported authentication methods: {methods}")
        token = uuid.uuid4().hex
        self.tokens[token] = methods[0]
        now = time.time()
        catalog = [{"type": kind, "name": name, "id": uuid.uuid4().hex, "endpoints": [
            {"id": uuid.uuid4().hex, "interface": interface, "region": REGION,
             "region_id": REGION, "url": f"{self.url}{suffix}"}
            for interface in ("public", "internal")]}
            for kind, name, suffix in (("compute", "nova", "/compute/v2.1"),
                                       ("network", "neutron", "/network"),
                                       ("identity", "keystone", "/identity/v3"))]
        return 201, {"token": {
            "methods": methods, "audit_ids": [uuid.uuid4().hex[:22]],
            "issued_at": _iso(now), "expires_at": _iso(now + 3600),
            "user": {"id": "u1", "name": USER["username"],
                     "domain": {"id": "default", "name": "Default"}},
            "project": project, "roles": [{"id": "r1", "name": "member"}],
            "catalog": catalog}}, {"X-Subject-Token": token}

    # nova
    def _compute(self, method: str, path: str, query: dict[str, list[str]], body: Any,
                 microversion: tuple[int, int]) -> tuple[int, Any, dict[str, str]]:
        path = path.rstrip("/")
        if path in ("", "/v2.1"):
            version = {"id": "v2.1", "status": "CURRENT", "version": MAX_MICROVERSION,
                       "min_version": "2.1",
                       "updated": "2013-07-23T11:33:21Z",
                       "links": [{"rel": "self", "href": f"{self.url}/compute/v2.1/"}]}
            return 200, ({"version": version} if path else {"versions": [version]}), {}
        parts = path.split("/")[2:]          # after /v2.1
        if parts[:1] == ["flavors"]:
            return self._flavors(parts[1:])
        if parts[:1] != ["servers"]:
            return _error("/compute", 404, "The resource could not be found.")
        if len(parts) == 1 and method == "POST":
            return self._create_server(body.get("server", {}) if body else {}, microversion)
        if len(parts) == 2 and parts[1] == "detail" and method == "GET":
            wanted = (query.get("name") or [None])[0]
            found = [self._server_view(server) for server in self.servers.values()
                     if wanted is None or re.search(wanted, server.body["name"])]
            return 200, {"servers": found}, {}
        if len(parts) == 2:
            server = self.servers.get(parts[1])
            if server is None:
                return _error("/compute", 404, f"Instance {parts[1]} could not be found.")
            if method == "GET":
                return 200, {"server": self._server_view(server)}, {}
            if method == "DELETE":
                self._delete_server(server)
                return 204, None, {}
        return _error("/compute", 404, "The resource could not be found.")

    def _flavors(self, parts: list[str]) -> tuple[int, Any, dict[str, str]]:
        def view(flavor_id: str) -> dict[str, Any]:
            name, vcpus, ram, disk = FLAVORS[flavor_id]
            return {"id": flavor_id, "name": name, "vcpus": vcpus, "ram": ram, "disk": disk,
                    "swap": "", "OS-FLV-EXT-DATA:ephemeral": 0, "rxtx_factor": 1.0,
                    "OS-FLV-DISABLED:disabled": False, "links": [],
                    "os-flavor-access:is_public": True}
        if not parts or parts == ["detail"]:
            return 200, {"flavors": [view(flavor_id) for flavor_id in FLAVORS]}, {}
        if parts[0] in FLAVORS:
            return 200, {"flavor": view(parts[0])}, {}
        return _error("/compute", 404, f"Flavor {parts[0]} could not be found.")

    def _create_server(self, asked: dict[str, Any],
                       microversion: tuple[int, int]) -> tuple[int, Any, dict[str, str]]:
        name = asked.get("name")
        if not isinstance(name, str) or not name.strip():
            return _error("/compute", 400, "Invalid input for field/attribute name.")
        networks = asked.get("networks")
        if microversion >= NETWORKS_REQUIRED and networks is None:
            return _error("/compute", 400, "Invalid input for field/attribute server. "
                                           "'networks' is a required property")
        if networks is not None and networks not in ("auto", "none") \
                and not isinstance(networks, list):
            return _error("/compute", 400, "Invalid input for field/attribute networks. "
                                           f"Value: {networks}.")
        mappings = asked.get("block_device_mapping_v2") or []
        image = asked.get("imageRef") or next(
            (m.get("uuid") for m in mappings if m.get("source_type") == "image"), None)
        if image != IMAGE_ID:
            return _error("/compute", 400, "Invalid imageRef provided.")
        if asked.get("flavorRef") not in FLAVORS:
            return _error("/compute", 400, f"Flavor {asked.get('flavorRef')} could not be found.")
        if asked.get("key_name") not in (None, KEY_NAME):
            return _error("/compute", 400, "Invalid key_name provided.")
        for group in asked.get("security_groups") or []:
            if group.get("name") not in SECURITY_GROUPS:
                return _error("/compute", 400, "Unable to find security_group with name or id "
                                               f"'{group.get('name')}'")
        for network in networks if isinstance(networks, list) else []:
            if network.get("uuid") != NETWORK_ID:
                return _error("/compute", 400, f"Network {network.get('uuid')} could not be "
                                               "found.")
        metadata = asked.get("metadata") or {}
        if any(len(str(k)) > 255 or len(str(v)) > 255 for k, v in metadata.items()):
            return _error("/compute", 400, "Invalid input for field/attribute metadata.")
        if asked.get("user_data") is not None:
            base64.b64decode(asked["user_data"], validate=True)
        server_id = str(uuid.uuid4())
        volumes = [{"id": str(uuid.uuid4()), "size": int(m.get("volume_size") or 0),
                    "delete_on_termination": bool(m.get("delete_on_termination"))}
                   for m in mappings if m.get("destination_type") == "volume"]
        if any(volume["size"] < 1 for volume in volumes):
            return _error("/compute", 400, "Invalid input for field/attribute volume_size.")
        self.servers[server_id] = Server(server_id, dict(asked), time.time(),
                                         str(next(self._fixed)), str(uuid.uuid4()),
                                         image_id=image, volumes=volumes)
        return 202, {"server": {"id": server_id, "OS-DCF:diskConfig": "MANUAL",
                                "adminPass": uuid.uuid4().hex[:12],
                                "security_groups": asked.get("security_groups") or
                                [{"name": "default"}],
                                "links": [{"rel": "self",
                                           "href": f"{self.url}/compute/v2.1/servers/"
                                                   f"{server_id}"}]}}, {}

    def _delete_server(self, server: Server) -> None:
        del self.servers[server.id]
        for volume in server.volumes:
            if not volume["delete_on_termination"]:
                self.volumes[volume["id"]] = volume
        for ip in self.floating_ips.values():
            if ip["port_id"] == server.port_id:       # disassociated, still allocated
                ip.update(port_id=None, fixed_ip_address=None, status="DOWN")

    def _settle(self, server: Server) -> None:
        if server.status == "BUILD" and time.time() - server.created >= self.boot_seconds:
            if self.server_error:
                server.status, server.fault = "ERROR", self.server_error
            else:
                server.status = "ACTIVE"

    def _server_view(self, server: Server) -> dict[str, Any]:
        self._settle(server)
        addresses: list[dict[str, Any]] = []
        if server.status == "ACTIVE":
            addresses.append({"version": 4, "addr": server.fixed_ip,
                              "OS-EXT-IPS:type": "fixed"})
            addresses += [{"version": 4, "addr": ip["floating_ip_address"],
                           "OS-EXT-IPS:type": "floating"} for ip in self.floating_ips.values()
                          if ip["port_id"] == server.port_id]
        view = {"id": server.id, "name": server.body["name"], "status": server.status,
                "tenant_id": PROJECT_ID, "user_id": "u1",
                "metadata": dict(server.body.get("metadata") or {}),
                "image": "" if server.volumes else {"id": server.image_id},
                "flavor": {"id": server.body["flavorRef"]},
                "key_name": server.body.get("key_name"),
                "security_groups": server.body.get("security_groups") or [{"name": "default"}],
                "addresses": {NETWORK_NAME: addresses} if addresses else {},
                "created": _iso(server.created), "updated": _iso(time.time()),
                "hostId": "" if server.status == "BUILD" else uuid.uuid5(
                    uuid.NAMESPACE_URL, PROJECT_ID + server.id).hex,
                "os-extended-volumes:volumes_attached": [{"id": v["id"]} for v in server.volumes],
                "links": [{"rel": "self",
                           "href": f"{self.url}/compute/v2.1/servers/{server.id}"}]}
        if server.fault:
            view["fault"] = {"code": 500, "message": server.fault, "created": _iso(time.time())}
        return view

    # neutron
    def _network(self, method: str, path: str, query: dict[str, list[str]],
                 body: Any) -> tuple[int, Any, dict[str, str]]:
        path = path.rstrip("/")
        if path == "":
            return 200, {"versions": [{"id": "v2.0", "status": "CURRENT", "links": [
                {"rel": "self", "href": f"{self.url}/network/v2.0/"}]}]}, {}
        parts = path.split("/")[2:]          # after /v2.0
        if parts[:1] == ["networks"]:
            networks = [_network_view(NETWORK_ID, NETWORK_NAME, False),
                        _network_view(POOL_ID, POOL_NAME, True)]
            if len(parts) == 2:
                found = [n for n in networks if n["id"] == parts[1]]
                return (200, {"network": found[0]}, {}) if found else _error(
                    "/network", 404, f"Network {parts[1]} could not be found.")
            return 200, {"networks": _filtered(networks, query)}, {}
        if parts == ["ports"] and method == "GET":
            ports = [{"id": s.port_id, "device_id": s.id, "network_id": NETWORK_ID,
                      "status": "ACTIVE", "device_owner": "compute:nova",
                      "fixed_ips": [{"ip_address": s.fixed_ip, "subnet_id": "s1"}]}
                     for s in self.servers.values() if s.status == "ACTIVE"]
            return 200, {"ports": _filtered(ports, query)}, {}
        if parts[:1] == ["floatingips"]:
            return self._floating_ips(method, parts[1:], query, body)
        return _error("/network", 404, "The resource could not be found.")

    def _floating_ips(self, method: str, parts: list[str], query: dict[str, list[str]],
                      body: Any) -> tuple[int, Any, dict[str, str]]:
        if not parts and method == "GET":
            if self.ignore_ip_description_filter:
                query = {key: values for key, values in query.items() if key != "description"}
            return 200, {"floatingips": _filtered(list(self.floating_ips.values()), query)}, {}
        if not parts and method == "POST":
            asked = (body or {}).get("floatingip", {})
            if asked.get("floating_network_id") != POOL_ID:
                return _error("/network", 404, f"Network {asked.get('floating_network_id')} "
                                               "could not be found.")
            port = next((s for s in self.servers.values() if s.port_id == asked.get("port_id")),
                        None)
            if asked.get("port_id") and port is None:
                return _error("/network", 404, f"Port {asked['port_id']} could not be found.")
            ip = {"id": str(uuid.uuid4()), "floating_network_id": POOL_ID,
                  "floating_ip_address": str(next(self._floating)),
                  "port_id": asked.get("port_id"), "description": asked.get("description", ""),
                  "fixed_ip_address": port.fixed_ip if port else None,
                  "status": "ACTIVE" if port else "DOWN", "project_id": PROJECT_ID,
                  "tenant_id": PROJECT_ID, "router_id": None, "tags": []}
            self.floating_ips[ip["id"]] = ip
            return 201, {"floatingip": ip}, {}
        if len(parts) == 1 and method == "DELETE":
            if self.floating_ips.pop(parts[0], None) is None:
                return _error("/network", 404, f"Floating IP {parts[0]} could not be found.")
            return 204, None, {}
        return _error("/network", 404, "The resource could not be found.")


def _error(path: str, status: int, message: str,
           retry_after: int | None = None) -> tuple[int, Any, dict[str, str]]:
    """An error in the shape of the service `path` belongs to."""
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    if path.startswith("/identity"):
        body: Any = {"error": {"code": status, "title": _TITLES.get(status, "Error"),
                               "message": message}}
    elif path.startswith("/network"):
        body = {"NeutronError": {"type": _TITLES.get(status, "Error").replace(" ", ""),
                                 "message": message, "detail": ""}}
    else:
        fault: dict[str, Any] = {"code": status, "message": message}
        if retry_after is not None:
            fault["retryAfter"] = str(retry_after)
        body = {_NOVA_FAULTS.get(status, "computeFault"): fault}
    return status, body, headers


def _microversion(headers: Mapping[str, str]) -> tuple[int, int]:
    """The compute microversion a request asks for (2.1 when it names none)."""
    asked = headers.get("OpenStack-API-Version") or ""
    words = asked.split()
    if len(words) == 2 and words[0].lower() == "compute":
        asked = words[1]
    else:
        asked = headers.get("X-OpenStack-Nova-API-Version") or "2.1"
    major, _, minor = asked.partition(".")
    try:
        return int(major), int(minor)
    except ValueError:
        return 2, 1


def _names_project(scope: Mapping[str, Any]) -> bool:
    """A project scope by name, in its domain by id or name (as Libcloud sends it)."""
    domain = scope.get("domain") or {}
    return scope.get("name") == PROJECT_NAME and (domain.get("id") == "default"
                                                  or domain.get("name") == "Default")


def _network_view(network_id: str, name: str, external: bool) -> dict[str, Any]:
    return {"id": network_id, "name": name, "status": "ACTIVE", "router:external": external,
            "project_id": PROJECT_ID, "tenant_id": PROJECT_ID, "subnets": [], "shared": False,
            "admin_state_up": True}


def _filtered(items: list[dict[str, Any]], query: dict[str, list[str]]) -> list[dict[str, Any]]:
    """Neutron's filters: every asked attribute equal (booleans as 'True'/'False')."""
    def text(value: Any) -> str:
        return str(value) if not isinstance(value, bool) else ("True" if value else "False")
    return [item for item in items
            if all(key not in item or text(item[key]) in [v if v not in ("true", "false")
                                                          else v.title() for v in values]
                   for key, values in query.items() if key not in ("fields", "limit"))]


def _iso(moment: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))


def fill_tutorial(text: str, values: Mapping[str, Any]) -> str:
    """A nova tutorial file's text with every placeholder replaced by its value in `values`."""
    return fill_placeholders(text, PLACEHOLDERS, values)
