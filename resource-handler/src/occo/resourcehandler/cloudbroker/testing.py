"""`FakeCloudBroker`: a FAKE of the CloudBroker platform's REST/XML API, for tests. It is not
CloudBroker.

A real HTTP server (plain HTTP) on a free loopback port, run in a thread of the
test process, that implements only the calls the cloudbroker plugin makes,
with the paths and XML shapes of CloudBroker's REST API: `GET instances.xml`
answers `<instances type="array"><instance>...</instance></instances>`,
`POST instances.xml` takes an `<instance>` and answers it (201),
`GET instances/<id>.xml` one instance, `PUT instances/<id>/stop.xml` stops
it; errors are `<errors><error>...</error></errors>`. It checks basic
authentication against one account (`EMAIL`, `PASSWORD`) holding one
deployment, one instance type and one key pair (`Account`), and refuses an
instance naming others (422).

What it does slowly, as the platform does: a new instance is `starting` for
`boot_time` seconds, then `running`; a stopped one `stopping` for
`stop_time` seconds, then `halted` (still listed). A running instance's
external address is on 127.89.0.0/16, one of this machine's loopback
addresses, so that Occopus may ping it (Linux answers all of 127.0.0.0/8
locally) and nothing else is ever contacted.

Faults: `fail_next(status, ...)` answers the next matching call(s) with an
error of the API's shape (401, 403, 404, 409, 429 with Retry-After, 5xx, ...).

    with FakeCloudBroker() as cloud:
        values = cloud.tutorial_values()        # what the tutorials' placeholders take
        text = fill_tutorial(node_definitions_text, values)
"""
from __future__ import annotations

import base64
import ipaddress
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import Message
from urllib.parse import urlsplit
from xml.etree import ElementTree

from defusedxml import ElementTree as SafeTree

from occo.util.fakeserver import FakeServer, Fault, due_fault, fill_placeholders

EMAIL = "tester@example.org"
PASSWORD = "fake-cloudbroker-password-0123456789"
CREDENTIALS: Mapping[str, str] = {"email": EMAIL, "password": PASSWORD}
ADDRESSES = ipaddress.ip_network("127.89.0.0/16")
PRIVATE_ADDRESSES = ipaddress.ip_network("10.89.0.0/16")
OPENED_PORTS = "22,80"

# the tutorials' placeholders, and the key of `tutorial_values` each one takes
PLACEHOLDERS: Mapping[str, str] = {
    "replace_with_endpoint_of_cloudbroker_interface": "endpoint",
    "replace_with_deployment_id": "deployment_id",
    "replace_with_instance_type_id": "instance_type_id",
    "replace_with_keypair_id": "key_pair_id",
    "replace_with_list_of_ports_separated_with_comma": "opened_port",
}


def fill_tutorial(text: str, values: Mapping[str, str]) -> str:
    """A tutorial file's text with every placeholder replaced by its value from `values`."""
    return fill_placeholders(text, PLACEHOLDERS, values)


@dataclass(frozen=True)
class Account:
    """What the account holds before a user follows the tutorials."""

    deployment_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    instance_type_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    key_pair_id: str = field(default_factory=lambda: str(uuid.uuid4()))


class Answer(Exception):
    """An answer, raised from anywhere in a call: an XML element, or no body."""

    def __init__(self, status: int, body: ElementTree.Element | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


def refusal(status: int, *messages: str, **headers: str) -> Answer:
    """An error answer in the API's shape."""
    root = ElementTree.Element("errors")
    for message in messages:
        ElementTree.SubElement(root, "error").text = message
    return Answer(status, root, headers)


class FakeCloudBroker(FakeServer):
    """The fake platform: its state, its faults and its HTTP server (`start`, `stop`)."""

    thread_name = "fake-cloudbroker"

    def __init__(self, *, account: Account | None = None, boot_time: float = 0.0,
                 stop_time: float = 0.0) -> None:
        super().__init__()
        self.account = account or Account()
        self.boot_time, self.stop_time = boot_time, stop_time
        self.calls: list[tuple[str, str]] = []          # (method, path) of every API call
        self._lock = threading.Lock()
        self._instances: dict[str, dict[str, str]] = {}
        self._changes: dict[str, tuple[float, str]] = {}   # id -> (when, next status)
        self._faults: list[Fault] = []
        self._next_address = 1

    # --- running ----------------------------------------------------------------
    @property
    def url(self) -> str:
        """The endpoint, as a resource section's `endpoint` takes it."""
        return self.origin

    def reply(self, method: str, target: str, headers: Message,
              body: bytes) -> tuple[int, bytes, Mapping[str, str]]:
        answer = self.answer(method, target, headers, body)
        if answer.body is None:
            return answer.status, b"", answer.headers
        payload = ElementTree.tostring(answer.body, encoding="utf-8", xml_declaration=True)
        return (answer.status, payload,
                {**answer.headers, "Content-Type": "application/xml; charset=utf-8"})

    # --- for tests --------------------------------------------------------------
    def tutorial_values(self) -> dict[str, str]:
        """The values the cloudbroker tutorials' placeholders take (see `PLACEHOLDERS`)."""
        return {"endpoint": self.url, "deployment_id": self.account.deployment_id,
                "instance_type_id": self.account.instance_type_id,
                "key_pair_id": self.account.key_pair_id, "opened_port": OPENED_PORTS}

    def fail_next(self, status: int, *, count: int = 1, method: str | None = None,
                  path: str | None = None, retry_after: float | None = None,
                  message: str | None = None) -> None:
        """Answer the next `count` calls (of `method`, and of `path`, a shell pattern such as
        "/instances/*/stop.xml", if given) with `status`, in the API's error shape; a 429
        says Retry-After (1 s unless told)."""
        with self._lock:
            self._faults.append(Fault.injected(status, count=count, method=method, path=path,
                                               retry_after=retry_after, message=message))

    def instances(self) -> list[dict[str, str]]:
        """Every instance (halted ones too), as the API shows it."""
        with self._lock:
            self._settle()
            return [self._shown(instance) for instance in self._instances.values()]

    @staticmethod
    def user_data(instance: Mapping[str, str]) -> str | None:
        """An instance's cloud-init text, decoded as the platform does."""
        value = instance.get("cloud-init")
        if value is None:
            return None
        return base64.b64decode(value).decode() if instance.get("cloud-init-b64") == "true" \
            else value

    # --- the API ----------------------------------------------------------------
    def answer(self, method: str, target: str, headers: Mapping[str, str],
               body: bytes) -> Answer:
        """One call's answer."""
        path = urlsplit(target).path
        try:
            with self._lock:
                self.calls.append((method, path))
                self._check_auth(headers.get("Authorization", ""))
                self._inject(method, path)
                self._settle()
                return self._route(method, path, body)
        except Answer as answer:
            return answer

    def _check_auth(self, header: str) -> None:
        expected = "Basic " + base64.b64encode(f"{EMAIL}:{PASSWORD}".encode()).decode()
        if header != expected:
            raise refusal(401, "Invalid email or password.",
                          **{"WWW-Authenticate": 'Basic realm="CloudBroker"'})

    def _inject(self, method: str, path: str) -> None:
        if (fault := due_fault(self._faults, method, path)) is not None:
            raise refusal(fault.status, fault.message, **fault.headers)

    def _route(self, method: str, path: str, body: bytes) -> Answer:
        parts = [part for part in path.split("/") if part]
        if parts == ["instances.xml"] and method == "GET":
            root = ElementTree.Element("instances", type="array")
            for instance in self._instances.values():
                root.append(_element("instance", self._shown(instance)))
            return Answer(200, root)
        if parts == ["instances.xml"] and method == "POST":
            return self._create(body)
        if len(parts) == 2 and parts[0] == "instances" and parts[1].endswith(".xml") \
                and method == "GET":
            instance = self._found(parts[1][:-len(".xml")])
            return Answer(200, _element("instance", self._shown(instance)))
        if len(parts) == 3 and parts[0] == "instances" and parts[2] == "stop.xml" \
                and method == "PUT":
            return self._stop(parts[1])
        raise refusal(404 if method == "GET" else 405,
                      f"the fake implements no {method} {path}")

    def _found(self, instance_id: str) -> dict[str, str]:
        if instance_id not in self._instances:
            raise refusal(404, f"Couldn't find Instance with id={instance_id}")
        return self._instances[instance_id]

    def _create(self, body: bytes) -> Answer:
        try:
            root = SafeTree.fromstring(body)
        except Exception:
            raise refusal(400, "the body is not XML") from None
        if root.tag != "instance":
            raise refusal(400, "expected an <instance>")
        given = {child.tag: (child.text or "").strip() for child in root}
        problems = []
        for key, known, what in (("deployment_id", self.account.deployment_id, "Deployment"),
                                 ("instance_type_id", self.account.instance_type_id,
                                  "Instance type"),
                                 ("key_pair_id", self.account.key_pair_id, "Key pair")):
            value = given.get(key)
            if not value and key != "key_pair_id":
                problems.append(f"{what} can't be blank")
            elif value and value != known:
                problems.append(f"{what} {value} does not exist or is not yours")
        if problems:
            raise refusal(422, *problems)
        instance_id = str(uuid.uuid4())
        address = self._next_address
        self._next_address += 1
        instance = {key.replace("_", "-"): value for key, value in given.items()}
        instance.update({"id": instance_id, "status": "starting",
                         "_external": str(ADDRESSES.network_address + address),
                         "_internal": str(PRIVATE_ADDRESSES.network_address + address)})
        self._instances[instance_id] = instance
        self._set(instance, self.boot_time, "running")
        return Answer(201, _element("instance", self._shown(instance)))

    def _stop(self, instance_id: str) -> Answer:
        instance = self._found(instance_id)
        if instance["status"] in ("stopping", "halted"):
            raise refusal(409, f"Instance {instance_id} is {instance['status']} already")
        instance["status"] = "stopping"
        self._set(instance, self.stop_time, "halted")
        return Answer(200, _element("instance", self._shown(instance)))

    def _set(self, instance: dict[str, str], lasting: float, then: str) -> None:
        """`then` once `lasting` seconds have passed (at once if none)."""
        if lasting > 0:
            self._changes[instance["id"]] = (time.monotonic() + lasting, then)
        else:
            instance["status"] = then
            self._changes.pop(instance["id"], None)

    def _settle(self) -> None:
        """Every change of status that is due."""
        now = time.monotonic()
        for instance_id, (when, status) in list(self._changes.items()):
            if when <= now:
                del self._changes[instance_id]
                self._instances[instance_id]["status"] = status

    @staticmethod
    def _shown(instance: Mapping[str, str]) -> dict[str, str]:
        shown = {key: value for key, value in instance.items() if not key.startswith("_")}
        running = instance["status"] == "running"
        shown.update({"external-hostname": "", "internal-hostname": "",
                      "external-ip-address": instance["_external"] if running else "",
                      "internal-ip-address": instance["_internal"] if running else ""})
        return shown


def _element(tag: str, fields: Mapping[str, str]) -> ElementTree.Element:
    element = ElementTree.Element(tag)
    for key, value in fields.items():
        ElementTree.SubElement(element, key).text = value
    return element
