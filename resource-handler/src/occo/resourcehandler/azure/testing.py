"""`FakeAzure`: a FAKE of Azure's sign-in and Resource Manager APIs, for tests. It is not Azure.

A real HTTPS server on a free loopback port, in a thread of the test process.
HTTPS because the Azure SDK sends a bearer token over HTTPS only: its
certificate comes from a test certificate authority (trustme) that the client
is told to trust, through REQUESTS_CA_BUNDLE (`ca_file`, `trusting`). It
implements only the calls the azure_vm and azure_aci plugins make, with the
paths, request and answer shapes of Azure's published references:

- the cloud's metadata, `GET /metadata/endpoints` (as Azure's clouds and Azure
  Stack Hub publish it): where to sign in and the audience of a token;
- the Microsoft identity platform of one tenant, its OpenID configuration and
  its v2.0 token endpoint, for a client-credentials grant of one app
  registration (`TENANT_ID`, `CLIENT_ID`, `CLIENT_SECRET`), errors as
  `{error, error_description}` with AADSTS codes;
- Azure Resource Manager for one subscription (`SUBSCRIPTION_ID`): resource
  groups, and resources of the kinds it is given (`Kind`), put, read, listed
  (paged by `nextLink`) and deleted as ARM's asynchronous operations go: a
  PUT that creates answers 201 with `provisioningState` and an
  `Azure-AsyncOperation` URL to poll, a DELETE answers 202 with `Location` and
  `Azure-AsyncOperation`; errors as `{"error": {"code", "message"}}`.

A kind says what its resources do besides (addresses, states, what they
use); deleting what a live resource uses is refused, as ARM refuses it.
Addresses handed out are on this machine's loopback range (Linux answers all
of 127.0.0.0/8 locally), so that Occopus may ping them and nothing else is
ever contacted.

Faults: `fail_next(status, ...)` answers the next matching call(s) with an
error of the API's shape (401, 403, 404, 409, 429 with Retry-After, 5xx, ...);
`fail_next_operation(code, ...)` lets the next matching PUT or DELETE start,
then its asynchronous operation end Failed with an Azure error code (the poll
answers 200, the error in its body, as Azure's do).
"""
from __future__ import annotations

import contextlib
import copy
import ipaddress
import json
import os
import ssl
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from email.message import Message
from http import HTTPStatus
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from occo.util.fakeserver import FakeServer, Fault, due_fault, fill_placeholders

TENANT_ID = "72f988bf-0000-4000-8000-00000000fa6e"
CLIENT_ID = "c1e0f5a2-0000-4000-8000-0000000c11e7"
CLIENT_SECRET = "fake-azure-client-secret-0123456789"
SUBSCRIPTION_ID = "5ab5c21b-0000-4000-8000-0000000005ab"
CREDENTIALS: Mapping[str, str] = {"tenant_id": TENANT_ID, "client_id": CLIENT_ID,
                                  "client_secret": CLIENT_SECRET,
                                  "subscription_id": SUBSCRIPTION_ID}
RESOURCE_GROUP = "occopus-tests"
LOCATION = "westeurope"
PUBLIC_ENDPOINT = "https://management.azure.com"     # what the tutorials name
PAGE = 50                           # items in one page of a list
POLL_SECONDS = "1"                  # Retry-After of an operation still running (the SDK
                                    # reads whole seconds)
TOKEN_SECONDS = 3600

# the tutorials' placeholders, and the key of `tutorial_values` each one takes
PLACEHOLDERS: Mapping[str, str] = {
    PUBLIC_ENDPOINT: "endpoint",
    "replace_with_resource_group_name": "resource_group",
    "replace_with_location": "location",
}


def fill_tutorial(text: str, values: Mapping[str, Any],
                  placeholders: Mapping[str, str] = PLACEHOLDERS) -> str:
    """A tutorial file's text with every placeholder replaced by its value from `values`,
    and Azure's endpoint by the fake's (the one thing a user of Azure never changes)."""
    return fill_placeholders(text, placeholders, values)


class Answer(Exception):
    """An answer, raised from anywhere in a call."""

    def __init__(self, status: int, body: Any = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


def refusal(status: int, code: str, message: str, **headers: str) -> Answer:
    """An error answer of Resource Manager's shape."""
    return Answer(status, {"error": {"code": code, "message": message}}, headers)


@dataclass
class Resource:
    """One resource the fake holds: its body as answered (id, name, type, location, tags,
    properties) and when what it is doing is done."""

    id: str
    kind: Kind
    body: dict[str, Any]
    ready_at: float
    deleting_at: float | None = None
    failure: tuple[str, str] | None = None      # (code, message) of a failed provisioning

    @property
    def name(self) -> str:
        return self.id.rsplit("/", 1)[1]

    @property
    def properties(self) -> dict[str, Any]:
        return self.body.setdefault("properties", {})

    @property
    def tags(self) -> dict[str, str]:
        return self.body.get("tags") or {}

    def provisioning_state(self, now: float) -> str:
        if self.deleting_at is not None:
            return "Deleting"
        if self.failure is not None and now >= self.ready_at:
            return "Failed"
        return "Succeeded" if now >= self.ready_at else "Creating"


class Kind:
    """What resources of one type do in the fake besides being stored: the default keeps
    the body it is given, is ready at once, and uses nothing."""

    type: ClassVar[str]                 # e.g. "Microsoft.Network/virtualNetworks"
    create_seconds: float = 0.0
    delete_seconds: float = 0.0

    def check(self, fake: FakeAzure, resource_id: str, body: Mapping[str, Any]) -> None:
        """Raise an `Answer` refusing a PUT of `body`."""

    def made(self, fake: FakeAzure, resource: Resource) -> None:
        """Fill what the cloud adds to a resource it makes (addresses, ids)."""

    def updated(self, fake: FakeAzure, resource: Resource, body: Mapping[str, Any]) -> None:
        """A PUT of a resource there already: the default takes its tags and properties."""
        resource.body["tags"] = dict(body.get("tags") or resource.tags)
        resource.properties.update(copy.deepcopy(dict(body.get("properties") or {})))

    def view(self, fake: FakeAzure, resource: Resource, query: Mapping[str, str]) -> dict[str, Any]:
        """The resource as a GET answers it."""
        body = copy.deepcopy(resource.body)
        body.setdefault("properties", {})["provisioningState"] = resource.provisioning_state(
            fake.now())
        return body

    def listed(self, fake: FakeAzure, resource: Resource,
               query: Mapping[str, str]) -> dict[str, Any]:
        """The resource as a list answers it: the default is the GET's view."""
        return self.view(fake, resource, query)

    def uses(self, resource: Resource) -> Iterable[str]:
        """The ids of the resources this one uses (that cannot be deleted while it lives)."""
        return ()

    def deleted(self, fake: FakeAzure, resource: Resource) -> None:
        """What goes with the resource (e.g. children, disks deleted with their VM)."""

    def forget(self, fake: FakeAzure) -> None:
        """Every resource is forgotten (`clear`, `stop`): release what the kind holds for them
        (e.g. listening sockets)."""


@dataclass
class Operation:
    """An asynchronous operation: done at `done_at`, failed with `error` if set."""

    done_at: float
    error: tuple[str, str] | None = None
    deletes: str | None = None          # the key of the resource it deletes


@dataclass
class Account:
    """The subscription's groups before a test starts: `groups` exist, names as given."""

    groups: dict[str, str] = field(default_factory=lambda: {RESOURCE_GROUP: LOCATION})


class FakeAzure(FakeServer):
    """The fake cloud: its state, its faults and its HTTPS server (`start`, `stop`)."""

    thread_name = "fake-azure"

    def __init__(self, *, kinds: Iterable[Kind] | None = None,
                 account: Account | None = None) -> None:
        self._authority = _TestAuthority()
        super().__init__(tls=self._authority.server_context())
        self.kinds = {kind.type.lower(): kind
                      for kind in (default_kinds() if kinds is None else kinds)}
        self.account = account or Account()
        self.calls: list[tuple[str, str]] = []      # (method, path) of every call
        self.tokens_issued = 0
        self._lock = threading.RLock()
        self._tokens: set[str] = set()
        self._groups: dict[str, dict[str, Any]] = {}
        self._resources: dict[str, Resource] = {}
        self._operations: dict[str, Operation] = {}
        self._faults: list[Fault] = []
        self._operation_faults: list[Fault] = []
        self._failed_puts: set[str] = set()     # resources failed by `fail_next_operation`
        self._next_address: dict[str, int] = {}
        self._advanced = 0.0
        self.clear()

    # --- what tests use ---------------------------------------------------------
    @property
    def endpoint(self) -> str:
        """The management endpoint, as a resource section's `endpoint` takes it."""
        return self.origin

    @property
    def ca_file(self) -> str:
        """A PEM file of the certificate authority the fake's certificate comes from."""
        return self._authority.ca_file

    @contextlib.contextmanager
    def trusting(self) -> Iterator[None]:
        """REQUESTS_CA_BUNDLE set to the fake's authority while in the block, as a user
        behind a TLS-inspecting proxy sets it for the Azure SDK."""
        before = os.environ.get("REQUESTS_CA_BUNDLE")
        os.environ["REQUESTS_CA_BUNDLE"] = self.ca_file
        try:
            yield
        finally:
            if before is None:
                os.environ.pop("REQUESTS_CA_BUNDLE", None)
            else:
                os.environ["REQUESTS_CA_BUNDLE"] = before

    def tutorial_values(self) -> dict[str, Any]:
        """What a user fills the tutorials' placeholders with for this fake."""
        group, location = next(iter(self.account.groups.items()))
        return {"endpoint": self.endpoint, "resource_group": group, "location": location}

    def clear(self) -> None:
        """Forget every resource, operation and fault: the account as it started."""
        with self._lock:
            self._faults.clear()
            self._operation_faults.clear()
            self._failed_puts.clear()
            self._resources.clear()
            for kind in self.kinds.values():
                kind.forget(self)
            self._operations.clear()
            self._groups = {name.lower(): {"name": name, "location": location}
                            for name, location in self.account.groups.items()}

    def fail_next(self, status: int, message: str | None = None, *, code: str = "",
                  count: int = 1, method: str | None = None, path: str | None = None,
                  retry_after: float | None = None) -> None:
        """Answer the next `count` calls matching `method` and `path` (a shell pattern over
        the path without its query; None: any) with an error of the API's shape."""
        fault = Fault.injected(status, count=count, method=method, path=path,
                               retry_after=retry_after, message=message,
                               kind=code or _default_code(status))
        with self._lock:
            self._faults.append(fault)

    def fail_next_operation(self, code: str, message: str | None = None, *, count: int = 1,
                            method: str | None = None, path: str | None = None) -> None:
        """Let the next `count` PUTs or DELETEs matching `method` and `path` (as `fail_next`'s)
        be taken, then their operation end Failed with `code` and `message`: Azure's way of
        failing what it started (an InternalServerError, a network still in use). A PUT leaves
        its resource Failed until it is put again; a DELETE leaves its resource as it was."""
        fault = Fault(200, count, method, path, None,
                      message or f"injected by the test: the operation failed with {code}", code)
        with self._lock:
            self._operation_faults.append(fault)

    def resources(self, type_name: str | None = None) -> list[Resource]:
        """The resources held (of one type, if given), not counting those being deleted."""
        with self._lock:
            return [resource for resource in self._resources.values()
                    if resource.deleting_at is None
                    and (type_name is None or resource.kind.type.lower() == type_name.lower())]

    def group_names(self) -> list[str]:
        with self._lock:
            return sorted(group["name"] for group in self._groups.values())

    def resource(self, resource_id: str) -> Resource | None:
        with self._lock:
            return self._resources.get(resource_id.lower())

    def now(self) -> float:
        """The fake's clock: the machine's, moved on by `advance`."""
        return time.monotonic() + self._advanced

    def advance(self, seconds: float) -> None:
        """Move the fake's clock on: what would be done by then is done (a test's way to
        finish a boot or a delete it made long, instead of waiting for it)."""
        with self._lock:
            self._advanced += seconds

    def next_address(self, network: str) -> str:
        """The next free address of `network` (a loopback range)."""
        with self._lock:
            count = self._next_address.get(network, 0) + 1
            self._next_address[network] = count
            return str(ipaddress.ip_network(network)[count])

    def stop(self) -> None:
        super().stop()
        with self._lock:
            for kind in self.kinds.values():
                kind.forget(self)
        self._authority.close()

    # --- serving ----------------------------------------------------------------
    def reply(self, method: str, target: str, headers: Message,
              body: bytes) -> tuple[int, bytes, Mapping[str, str]]:
        parts = urlsplit(target)
        path = parts.path.rstrip("/") or "/"
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        with self._lock:
            self.calls.append((method, path))
            fault = due_fault(self._faults, method, path)
            try:
                if fault is not None:
                    raise self._fault_answer(fault, path)
                answer = self._route(method, path, query, headers, body)
            except Answer as raised:
                answer = raised
        payload = b"" if answer.body is None else json.dumps(answer.body).encode()
        out = dict(answer.headers)
        if payload:
            out.setdefault("Content-Type", "application/json; charset=utf-8")
        out.setdefault("x-ms-request-id", str(uuid.uuid4()))
        return answer.status, payload, out

    def _fault_answer(self, fault: Fault, path: str) -> Answer:
        if "/oauth2/" in path:
            return Answer(fault.status, {"error": fault.kind, "error_description": fault.message},
                          fault.headers)
        return refusal(fault.status, fault.kind, fault.message, **fault.headers)

    def _route(self, method: str, path: str, query: Mapping[str, str], headers: Message,
               body: bytes) -> Answer:
        segments = path.strip("/").split("/")
        if path == "/metadata/endpoints" and method == "GET":
            return Answer(200, self._metadata())
        if len(segments) >= 2 and segments[0] == TENANT_ID or _is_login(segments):
            return self._login(method, segments, body)
        if not segments or segments[0].lower() != "subscriptions":
            raise refusal(404, "NotFound", f"The path {path} is not an API of this fake.")
        self._authenticate(headers)
        if "api-version" not in query:
            raise refusal(400, "MissingApiVersionParameter",
                          "The api-version query parameter (?api-version=) is required for all "
                          "requests.")
        if len(segments) < 2 or segments[1] != SUBSCRIPTION_ID:
            raise refusal(404, "SubscriptionNotFound",
                          f"The subscription '{segments[1] if len(segments) > 1 else ''}' could "
                          "not be found.")
        rest = segments[2:]
        if len(rest) == 3 and rest[0].lower() == "providers":      # a type's, in every group
            return self._list("/" + "/".join(segments), self._kind(rest[1], rest[2:]), query,
                              everywhere=True)
        if len(rest) >= 5 and rest[0].lower() == "providers" and rest[2].lower() == "locations":
            return self._operation(rest[4], rest[5] if len(rest) > 5 else "", query)
        if len(rest) < 2 or rest[0].lower() != "resourcegroups":
            raise refusal(404, "NotFound", f"The path {path} is not an API of this fake.")
        group = rest[1]
        if len(rest) == 2:
            return self._group(method, group, body)
        if group.lower() not in self._groups:
            raise refusal(404, "ResourceGroupNotFound",
                          f"Resource group '{group}' could not be found.")
        if len(rest) < 5 or rest[2].lower() != "providers":
            raise refusal(404, "NotFound", f"The path {path} is not an API of this fake.")
        namespace, names = rest[3], rest[4:]
        kind = self._kind(namespace, names[0::2])
        if len(names) % 2 == 1:
            if method != "GET":
                raise refusal(405, "MethodNotAllowed", f"{method} is not allowed on a list.")
            return self._list("/" + "/".join(segments), kind, query)
        resource_id = "/" + "/".join(segments)
        if method == "PUT":
            return self._put(resource_id, kind, _json(body), query)
        if method == "GET":
            return self._get(resource_id, query)
        if method == "DELETE":
            return self._delete(resource_id, query)
        raise refusal(405, "MethodNotAllowed", f"{method} is not allowed here.")

    # --- sign-in ----------------------------------------------------------------
    def _metadata(self) -> dict[str, Any]:
        origin = self.origin
        return {"name": "FakeAzure", "resourceManager": origin + "/",
                "authentication": {"loginEndpoint": origin + "/",
                                   "audiences": [origin + "/"], "tenant": "common",
                                   "identityProvider": "AAD"}}

    def _login(self, method: str, segments: list[str], body: bytes) -> Answer:
        tenant = segments[0]
        if tenant != TENANT_ID:
            raise Answer(400, {"error": "invalid_request",
                               "error_description": f"AADSTS90002: Tenant '{tenant}' not found. "
                                                    "Check to make sure you have the correct "
                                                    "tenant ID."})
        tail = "/".join(segments[1:])
        if method == "GET" and tail == "v2.0/.well-known/openid-configuration":
            base = f"{self.origin}/{TENANT_ID}"
            return Answer(200, {"token_endpoint": f"{base}/oauth2/v2.0/token",
                                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                                "issuer": f"{base}/v2.0", "tenant_region_scope": "EU",
                                "token_endpoint_auth_methods_supported": ["client_secret_post"]})
        if method == "POST" and tail == "oauth2/v2.0/token":
            form = {key: values[-1] for key, values in parse_qs(body.decode()).items()}
            if form.get("grant_type") != "client_credentials":
                raise Answer(400, {"error": "unsupported_grant_type",
                                   "error_description": "AADSTS70003: The app requested an "
                                                        "unsupported grant type."})
            if form.get("client_id") != CLIENT_ID:
                raise Answer(400, {"error": "unauthorized_client",
                                   "error_description": "AADSTS700016: Application with "
                                   f"identifier '{form.get('client_id')}' was not found in the "
                                   f"directory '{TENANT_ID}'."})
            if form.get("client_secret") != CLIENT_SECRET:
                raise Answer(401, {"error": "invalid_client",
                                   "error_description": "AADSTS7000215: Invalid client secret "
                                   "provided. Ensure the secret being sent in the request is "
                                   "the client secret value, not the client secret ID."})
            token = f"fake-token-{uuid.uuid4().hex}"
            self._tokens.add(token)
            self.tokens_issued += 1
            return Answer(200, {"token_type": "Bearer", "expires_in": TOKEN_SECONDS,
                                "ext_expires_in": TOKEN_SECONDS, "access_token": token})
        raise Answer(404, {"error": "invalid_request",
                           "error_description": f"AADSTS900561: {method} /{tail} is not an "
                                                "endpoint of this fake."})

    def _authenticate(self, headers: Message) -> None:
        scheme, _, token = str(headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or token not in self._tokens:
            raise refusal(401, "InvalidAuthenticationToken",
                          "The access token is invalid." if token else
                          "The request did not have a subscription or a valid tenant level "
                          "resource provider.")

    # --- Resource Manager ---------------------------------------------------------
    def _group(self, method: str, name: str, body: bytes) -> Answer:
        key = name.lower()
        group_id = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{name}"
        if method == "HEAD":
            return Answer(204 if key in self._groups else 404)
        if method == "GET":
            if key not in self._groups:
                raise refusal(404, "ResourceGroupNotFound",
                              f"Resource group '{name}' could not be found.")
            return Answer(200, self._group_view(group_id, self._groups[key]))
        if method == "PUT":
            asked = _json(body)
            if not asked.get("location"):
                raise refusal(400, "LocationRequired",
                              "The location property is required for this definition.")
            existed = key in self._groups
            group = self._groups.setdefault(key, {"name": name, "location": asked["location"]})
            return Answer(200 if existed else 201, self._group_view(group_id, group))
        raise refusal(405, "MethodNotAllowed", f"{method} is not allowed on a resource group.")

    @staticmethod
    def _group_view(group_id: str, group: Mapping[str, Any]) -> dict[str, Any]:
        return {"id": group_id, "name": group["name"], "type": "Microsoft.Resources/resourceGroups",
                "location": group["location"], "properties": {"provisioningState": "Succeeded"}}

    def _put(self, resource_id: str, kind: Kind, body: Mapping[str, Any],
             query: Mapping[str, str]) -> Answer:
        key = resource_id.lower()
        now = self.now()
        existing = self._resources.get(key)
        if existing is not None and existing.deleting_at is not None:
            raise refusal(409, "OperationNotAllowed",
                          f"The resource '{existing.name}' is being deleted; try again later.")
        kind.check(self, resource_id, body)
        self._check_parent(resource_id)
        failing = due_fault(self._operation_faults, "PUT", resource_id)
        if existing is not None:
            kind.updated(self, existing, body)
            if key in self._failed_puts:        # put again: provisioned afresh
                self._failed_puts.discard(key)
                existing.failure = None
            if failing is None:
                return Answer(200, kind.view(self, existing, query))
            existing.failure = (failing.kind, failing.message)
            self._failed_puts.add(key)
            operation = self._start(resource_id, Operation(now))
            return Answer(200, kind.view(self, existing, query),
                          {"Azure-AsyncOperation": operation, "Retry-After": POLL_SECONDS})
        stored = copy.deepcopy(dict(body))
        stored.update(id=resource_id, name=resource_id.rsplit("/", 1)[1], type=kind.type)
        if "location" in body or "location" not in stored:
            stored["location"] = body.get("location") or self._group_location(resource_id)
        resource = Resource(resource_id, kind, stored, ready_at=now + kind.create_seconds)
        kind.made(self, resource)
        if failing is not None:
            resource.failure = (failing.kind, failing.message)
            self._failed_puts.add(key)
        self._resources[key] = resource
        if kind.create_seconds <= 0 and resource.failure is None:     # done as it answers
            return Answer(201, kind.view(self, resource, query))
        operation = self._start(resource_id, Operation(resource.ready_at))
        return Answer(201, kind.view(self, resource, query),
                      {"Azure-AsyncOperation": operation, "Retry-After": POLL_SECONDS})

    def _get(self, resource_id: str, query: Mapping[str, str]) -> Answer:
        resource = self._live(resource_id)
        return Answer(200, resource.kind.view(self, resource, query))

    def _kind(self, namespace: str, types: list[str]) -> Kind:
        type_name = "/".join([namespace, *types])
        kind = self.kinds.get(type_name.lower())
        if kind is None:
            raise refusal(400, "InvalidResourceType",
                          f"The resource type '{type_name}' could not be found in the "
                          f"namespace '{namespace}'.")
        return kind

    def _list(self, list_path: str, kind: Kind, query: Mapping[str, str], *,
              everywhere: bool = False) -> Answer:
        """The resources of `kind` under `list_path`, or in every group (`everywhere`)."""
        prefix = list_path.lower() + "/"
        found = [resource for key, resource in sorted(self._resources.items())
                 if (everywhere or key.startswith(prefix) and "/" not in key[len(prefix):])
                 and resource.kind is kind and self._settle(resource) is not None]
        start = int(query.get("$skiptoken") or 0)
        page = found[start:start + PAGE]
        answer: dict[str, Any] = {"value": [kind.listed(self, item, query) for item in page]}
        if start + PAGE < len(found):
            answer["nextLink"] = (f"{self.origin}{list_path}?api-version={query['api-version']}"
                                  f"&$skiptoken={start + PAGE}")
        return Answer(200, answer)

    def _delete(self, resource_id: str, query: Mapping[str, str]) -> Answer:
        resource = self._settle(self._resources.get(resource_id.lower()))
        if resource is None:
            return Answer(204)
        if resource.deleting_at is None:
            failing = due_fault(self._operation_faults, "DELETE", resource_id)
            if failing is not None:         # started, then failed: the resource stays
                operation = self._start(resource_id, Operation(
                    self.now(), error=(failing.kind, failing.message)))
                return Answer(202, None, {"Azure-AsyncOperation": operation,
                                          "Retry-After": POLL_SECONDS})
            users = [other.id for other in self._resources.values()
                     if other.deleting_at is None and other is not resource
                     and any(_within(used, resource_id) for used in other.kind.uses(other))]
            if users:
                raise refusal(400, "InUseResourceCannotBeDeleted",
                              f"Resource {resource_id} is in use by {users[0]} and cannot be "
                              "deleted.")
            resource.deleting_at = self.now() + resource.kind.delete_seconds
            if resource.kind.delete_seconds <= 0:                      # done as it answers
                self._settle(resource)
                return Answer(200)
        operation = self._start(resource_id, Operation(resource.deleting_at,
                                                       deletes=resource_id.lower()))
        location = operation.replace("/operations/", "/operationResults/")
        return Answer(202, None, {"Azure-AsyncOperation": operation, "Location": location,
                                  "Retry-After": POLL_SECONDS})

    def _operation(self, kind_of_url: str, operation_id: str,
                   query: Mapping[str, str]) -> Answer:
        operation = self._operations.get(operation_id)
        if operation is None:
            raise refusal(404, "OperationNotFound", f"Operation '{operation_id}' was not found.")
        done = self.now() >= operation.done_at
        if done and operation.deletes is not None:
            self._settle(self._resources.get(operation.deletes))
        if kind_of_url.lower() == "operationresults":
            return Answer(204) if done else Answer(202, None, {"Retry-After": POLL_SECONDS})
        if not done:
            return Answer(200, {"status": "InProgress"}, {"Retry-After": POLL_SECONDS})
        if operation.error is not None:
            code, message = operation.error
            return Answer(200, {"status": "Failed", "error": {"code": code, "message": message}})
        return Answer(200, {"status": "Succeeded"})

    # --- helpers ------------------------------------------------------------------
    def _start(self, resource_id: str, operation: Operation) -> str:
        resource = self._resources.get(resource_id.lower())
        if resource is not None and resource.failure is not None and operation.deletes is None \
                and operation.error is None:
            operation.error = resource.failure
        operation_id = str(uuid.uuid4())
        self._operations[operation_id] = operation
        namespace = resource_id.split("/providers/", 1)[1].split("/", 1)[0]
        location = resource.body.get("location", LOCATION) if resource else LOCATION
        return (f"{self.origin}/subscriptions/{SUBSCRIPTION_ID}/providers/{namespace}/locations/"
                f"{location}/operations/{operation_id}?api-version=2024-01-01")

    def _settle(self, resource: Resource | None) -> Resource | None:
        """`resource`, or None once its delete is done (then it is gone)."""
        if resource is None:
            return None
        if resource.deleting_at is not None and self.now() >= resource.deleting_at:
            self._resources.pop(resource.id.lower(), None)
            resource.kind.deleted(self, resource)
            return None
        return resource

    def _live(self, resource_id: str) -> Resource:
        resource = self._settle(self._resources.get(resource_id.lower()))
        if resource is None:
            raise refusal(404, "ResourceNotFound",
                          f"The Resource '{_type_of(resource_id)}/{resource_id.rsplit('/', 1)[1]}'"
                          f" under resource group '{resource_id.split('/')[4]}' was not found.")
        return resource

    def remove(self, resource_id: str) -> None:
        """Forget a resource at once (a child deleted with its parent)."""
        with self._lock:
            self._resources.pop(resource_id.lower(), None)

    def children(self, parent_id: str) -> list[Resource]:
        prefix = parent_id.lower() + "/"
        with self._lock:
            return [resource for key, resource in self._resources.items()
                    if key.startswith(prefix)]

    def put_child(self, resource_id: str, body: Mapping[str, Any]) -> Resource:
        """Make a child resource given inline in its parent's body (a vnet's subnets)."""
        kind = self.kinds[_type_of(resource_id).lower()]
        existing = self._resources.get(resource_id.lower())
        if existing is not None:
            kind.updated(self, existing, body)
            return existing
        stored = copy.deepcopy(dict(body))
        stored.update(id=resource_id, name=resource_id.rsplit("/", 1)[1], type=kind.type)
        resource = Resource(resource_id, kind, stored, ready_at=self.now())
        kind.made(self, resource)
        self._resources[resource_id.lower()] = resource
        return resource

    def _check_parent(self, resource_id: str) -> None:
        after = resource_id.split("/providers/", 1)[1].split("/")
        if len(after) > 3:                  # a child: its parent must exist
            parent = resource_id.rsplit("/", 2)[0]
            self._live(parent)

    def _group_location(self, resource_id: str) -> str:
        group = self._groups.get(resource_id.split("/")[4].lower())
        return group["location"] if group else LOCATION


def default_kinds() -> list[Kind]:
    """The kinds of every Azure plugin's resources."""
    from .fakenetwork import network_kinds
    kinds: list[Kind] = network_kinds()
    with contextlib.suppress(ImportError):
        from .vm.testing import vm_kinds
        kinds += vm_kinds()
    with contextlib.suppress(ImportError):
        from .aci.testing import aci_kinds
        kinds += aci_kinds()
    return kinds


def resource_id(group: str, namespace: str, *names: str) -> str:
    """The ARM id of a resource of `group`: names alternate types and names."""
    return (f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{group}/providers/{namespace}/"
            + "/".join(names))


def _type_of(resource_id: str) -> str:
    after = resource_id.split("/providers/", 1)[1].split("/")
    return "/".join([after[0], *after[1::2]])


def _within(used: str, resource_id: str) -> bool:
    """Whether `used` is `resource_id` or one of its children."""
    used, resource_id = used.lower(), resource_id.lower()
    return used == resource_id or used.startswith(resource_id + "/")


def _is_login(segments: list[str]) -> bool:
    return len(segments) >= 2 and (segments[1] == "oauth2" or segments[1] == "v2.0")


def _json(body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    try:
        value = json.loads(body)
    except ValueError as error:
        raise refusal(400, "InvalidRequestContent",
                      f"The request content was invalid and could not be deserialized: {error}")
    if not isinstance(value, dict):
        raise refusal(400, "InvalidRequestContent", "The request content must be an object.")
    return value


def _default_code(status: int) -> str:
    return {400: "InvalidParameter", 401: "InvalidAuthenticationToken",
            403: "AuthorizationFailed", 404: "ResourceNotFound", 409: "Conflict",
            429: "TooManyRequests", 500: "InternalServerError",
            503: "ServiceUnavailable"}.get(status, HTTPStatus(status).phrase.replace(" ", ""))


class _TestAuthority:
    """A test certificate authority (trustme) and the fake's certificate for 127.0.0.1,
    its CA written to a private temporary file for clients to trust."""

    def __init__(self) -> None:
        import trustme      # a test dependency: only the fakes use it
        self._ca = trustme.CA()
        self._folder = tempfile.TemporaryDirectory(prefix="fake-azure-ca-")
        self.ca_file = str(Path(self._folder.name) / "ca.pem")
        self._ca.cert_pem.write_to_path(self.ca_file)
        self._leaf = self._ca.issue_cert("127.0.0.1", "localhost")

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._leaf.configure_cert(context)
        return context

    def close(self) -> None:
        self._folder.cleanup()
