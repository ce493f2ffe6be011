"""`FakeChefServer`: a FAKE of the Chef Infra Server API, for tests. It is not Chef.

There is no Chef server or client in this machine's package registries. This
is a real HTTP server on a free loopback port, in a thread of the test
process, that implements only the calls the chef manager and a node's
chef-client make, with the paths and the request and answer shapes of the
published Chef Infra Server API: one organization (`ORGANIZATION`), objects
listed as `{name: url}`, created with 201 `{"uri": ...}`, a duplicate name
409, a missing one 404, errors as `{"error": [...]}`. Every request must be
signed with protocol v1.3 by a client it knows (`add_client`): a bad or
missing signature, an unknown client, a body that does not match its hash or
a clock 15 minutes off is 401, with the reason in the body.

`run_chef_client` plays the part of chef-client on a booted machine, over the
same API: it registers the node's client with the validator's key, then
reports the machine's facts (`ohai_time` among them) on its Chef node.

    with FakeChefServer() as chef:
        key = chef.add_client("occopus")
        ...  # a chef section with endpoint chef.endpoint, credentials occopus and key
"""
from __future__ import annotations

import copy
import json
import re
import threading
import time
from collections.abc import Mapping
from email.message import Message
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from occo.util.fakeserver import FakeServer, Fault, due_fault, fill_placeholders

from .client import ChefServer, Conflict
from .signing import Refused, load_key, verify

ORGANIZATION = "occopus-tests"
KINDS = ("environments", "roles", "nodes", "clients")
NAME = re.compile(r"^[A-Za-z0-9_.:-]+$")
RUN_LIST_ITEM = re.compile(r"^(recipe|role)\[[^\]\s]+\]$")
DEFAULT_ENVIRONMENT = "_default"

# the tutorials' placeholders, and the key of `tutorial_values` each one takes
PLACEHOLDERS: Mapping[str, str] = {
    "replace_with_url_of_chef_server": "endpoint",
    "replace_with_your_chef_server_url": "endpoint",
    "replace_with_chef_validation_client_name": "validation_name",
}
KEY_PLACEHOLDER = "replace_with_chef_validation_client_key"


def new_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def fill_tutorial(text: str, values: Mapping[str, str]) -> str:
    """A chef tutorial file with its placeholders filled, the validation key (a block
    scalar) indented as the line it replaces."""
    def key_block(match: re.Match[str]) -> str:
        indent = match.group(1)
        return "".join(f"{indent}{line}\n" for line in values["validation_key"].splitlines())
    text = re.sub(rf"^([ \t]*){KEY_PLACEHOLDER}[ \t]*\n", key_block, text, flags=re.MULTILINE)
    return fill_placeholders(text, PLACEHOLDERS, values)


class _Answer(Exception):
    def __init__(self, status: int, body: Any, headers: Mapping[str, str] | None = None):
        super().__init__(status)
        self.status, self.body, self.headers = status, body, dict(headers or {})


class FakeChefServer(FakeServer):
    thread_name = "fake-chef"

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._public_keys: dict[str, rsa.RSAPublicKey] = {}
        self.objects: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in KINDS}
        self.objects["environments"][DEFAULT_ENVIRONMENT] = {"name": DEFAULT_ENVIRONMENT}
        self.calls: list[tuple[str, str, str]] = []        # (method, path, client) accepted
        self.refused: list[str] = []                        # why each refused request was
        self._faults: list[Fault] = []

    @property
    def endpoint(self) -> str:
        return f"{self.origin}/organizations/{ORGANIZATION}"

    def add_client(self, name: str) -> str:
        """A client the server knows; its private key, in PEM."""
        pem = new_key_pem()
        with self._lock:
            self._public_keys[name] = load_key(pem, name).public_key()
            self.objects["clients"][name] = {"name": name, "clientname": name}
        return pem

    def fail_next(self, status: int, *, count: int = 1, method: str | None = None,
                  path: str | None = None, message: str | None = None) -> None:
        """The next `count` matching calls (path relative to the organization, a shell
        pattern) are answered with `status` and Chef's error shape."""
        with self._lock:
            self._faults.append(Fault.injected(status, count=count, method=method, path=path,
                                               retry_after=None, message=message))

    def node(self, name: str) -> dict[str, Any] | None:
        with self._lock:
            found = self.objects["nodes"].get(name)
            return copy.deepcopy(found)

    def names(self, kind: str) -> list[str]:
        with self._lock:
            return sorted(self.objects[kind])

    def tutorial_values(self, validation_name: str, validation_key: str) -> dict[str, str]:
        return {"endpoint": self.endpoint, "validation_name": validation_name,
                "validation_key": validation_key}

    # --- the API -------------------------------------------------------------------------
    def reply(self, method: str, target: str, headers: Message,
              body: bytes) -> tuple[int, bytes, Mapping[str, str]]:
        try:
            result = self._reply(method, urlsplit(target).path, headers, body)
            status, payload, extra = 200, result, {}
            if isinstance(result, _Answer):
                status, payload, extra = result.status, result.body, result.headers
        except _Answer as answer:
            status, payload, extra = answer.status, answer.body, answer.headers
        return status, json.dumps(payload).encode(), {"Content-Type": "application/json", **extra}

    def _reply(self, method: str, path: str, headers: Message, body: bytes) -> Any:
        prefix = f"/organizations/{ORGANIZATION}/"
        if not path.startswith(prefix):
            raise _Answer(404, {"error": [f"no organization at {path}"]})
        with self._lock:
            keys = dict(self._public_keys)
        try:
            client = verify(keys, method, path, body, headers)
        except Refused as refused:
            with self._lock:
                self.refused.append(str(refused))
            raise _Answer(401, {"error": [str(refused)]},
                          {"WWW-Authenticate": 'X-Ops-Sign version="1.3"'}) from None
        relative = path[len(prefix):].strip("/")
        with self._lock:
            fault = due_fault(self._faults, method, relative)
            if fault is not None:
                raise _Answer(fault.status, {"error": [fault.message]})
            self.calls.append((method, relative, client))
            data = None
            if method in ("POST", "PUT"):
                if (headers.get("Content-Type") or "").split(";")[0] != "application/json":
                    raise _Answer(415, {"error": ["send the body as application/json"]})
                try:
                    data = json.loads(body)
                except ValueError:
                    raise _Answer(400, {"error": ["the body is not JSON"]}) from None
            return self._route(method, relative.split("/"), data)

    def _route(self, method: str, parts: list[str], data: Any) -> Any:
        kind = parts[0]
        if kind not in KINDS or len(parts) > 3:
            raise _Answer(404, {"error": [f"no route for {'/'.join(parts)}"]})
        store = self.objects[kind]
        if len(parts) == 1:
            if method == "GET":
                return {name: self._url(kind, name) for name in store}
            if method == "POST":
                return self._create(kind, data)
            raise _Answer(405, {"error": [f"{method} is not allowed on {kind}"]})
        name = parts[1]
        if name not in store:
            raise _Answer(404, {"error": [f"Cannot load {kind[:-1]} {name}"]})
        if len(parts) == 3:
            if kind == "environments" and parts[2] == "nodes" and method == "GET":
                return {node: self._url("nodes", node)
                        for node, item in self.objects["nodes"].items()
                        if item.get("chef_environment") == name}
            raise _Answer(404, {"error": [f"no route for {'/'.join(parts)}"]})
        if method == "GET":
            return copy.deepcopy(store[name])
        if method == "PUT":
            self._check(kind, data, name)
            store[name] = copy.deepcopy(data)
            return copy.deepcopy(data)
        if method == "DELETE":
            if kind == "environments" and name == DEFAULT_ENVIRONMENT:
                raise _Answer(405, {"error": ["the _default environment cannot be deleted"]})
            if kind == "clients":
                self._public_keys.pop(name, None)
            return store.pop(name)
        raise _Answer(405, {"error": [f"{method} is not allowed on {kind}/{name}"]})

    def _create(self, kind: str, data: Any) -> Any:
        self._check(kind, data)
        name = data["name"]
        if name in self.objects[kind]:
            raise _Answer(409, {"error": [f"{kind[:-1].capitalize()} already exists"]})
        created: dict[str, Any] = {"uri": self._url(kind, name)}
        if kind == "clients":
            pem = new_key_pem()
            self._public_keys[name] = load_key(pem, name).public_key()
            created["chef_key"] = {"name": "default", "private_key": pem}
            data = {"name": name, "clientname": name}
        self.objects[kind][name] = copy.deepcopy(data)
        return _Answer(201, created)

    def _check(self, kind: str, data: Any, name: str | None = None) -> None:
        """The API's validation of what the manager sends, as far as it reaches."""
        if not isinstance(data, dict) or not NAME.match(str(data.get("name", ""))):
            raise _Answer(400, {"error": [f"Field 'name' invalid for the {kind[:-1]}"]})
        if name is not None and data["name"] != name:
            raise _Answer(400, {"error": ["Field 'name' invalid: it must match the URL"]})
        for item in data.get("run_list") or ():
            if not isinstance(item, str) or not RUN_LIST_ITEM.match(item):
                raise _Answer(400, {"error": [f"Field 'run_list' is not a valid run list: "
                                              f"{item!r}"]})
        if kind == "nodes" and data.get("chef_environment") not in self.objects["environments"]:
            raise _Answer(400, {"error": [f"environment {data.get('chef_environment')!r} "
                                          "does not exist"]})

    def _url(self, kind: str, name: str) -> str:
        return f"{self.endpoint}/{kind}/{name}"


def run_chef_client(endpoint: str, validation_name: str, validation_key: str, node_name: str,
                    facts: Mapping[str, Any]) -> None:
    """What chef-client does on a booted machine, as far as the server sees it: its client
    registered with the validator's key (once), then the node's facts reported, with
    `ohai_time`, on the Chef node Occopus made for it."""
    validator = ChefServer(endpoint, validation_name, load_key(validation_key, validation_name))
    try:
        made = validator.post("clients", {"name": node_name, "create_key": True})
    except Conflict:
        raise AssertionError(f"chef-client of {node_name} already ran") from None
    finally:
        validator.close()
    pem = made["chef_key"]["private_key"]
    client = ChefServer(endpoint, node_name, load_key(pem, node_name))
    try:
        node = client.get(f"nodes/{node_name}")
        node["automatic"] = {**dict(facts), "ohai_time": time.time()}
        client.put(f"nodes/{node_name}", node)
    finally:
        client.close()
