"""Container groups in `FakeAzure` (a FAKE of Azure Container Instances, for tests).

Shaped as the Container Instances REST reference (2023-05-01) shows them: a
PUT is checked as ACI checks it (an image it cannot pull is refused with 400
InaccessibleImage, a subnet not delegated to container groups with 400
SubnetMissingRequiredDelegation), then the group boots for `boot_seconds`:
provisioningState Pending, then Creating, then Succeeded; its instance view
Pending, then Running (containers Waiting, then Running). A list answers
every property but the instance views, as ACI's does. Neither answers an
environment variable's `secureValue` (ACI keeps it to itself): a test that
checks one reads what the fake holds (`Resource.body`).

A group with ports gets an address from 127.93.0.0/16 (public or private;
on this machine's loopback range, so nothing else is ever contacted), a
public one its DNS name `<label>.<location>.azurecontainer.io` too. While a
group runs, each TCP port it opens is a real listener on its address, which
accepts connections and closes them: a health check probing the port sees it
open. The address and ports are bound when the group is made, so that no
other group takes them, and listen from when the fake first shows the group
Running (any read of it) until it is deleted, stopped, or the fake forgets
it. Ports below 1024 need root, as the tests run in CI; elsewhere such a port
is left closed.

`groups(cloud)` is the kind, to make groups fail (`failure`) or stop one as
`az container stop` does (`stop`).
"""
from __future__ import annotations

import contextlib
import copy
import errno
import ipaddress
import logging
import random
import socket
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from occo.util.fakeserver import fill_placeholders
from ..fakenetwork import SUBNET_TYPE
from ..network import ACI_SERVICE
from ..testing import PLACEHOLDERS, FakeAzure, Kind, Resource, default_kinds, refusal

log = logging.getLogger("occo.resourcehandler.azure.aci.testing")

GROUP_TYPE = "Microsoft.ContainerInstance/containerGroups"
ADDRESSES = ipaddress.ip_network("127.93.0.0/16")
BOOT_SECONDS = 1.0
MEMORY = 1.5            # GB: what a user fills the tutorials' replace_with_memory with
CPU_CORES = 1
# repositories of a public registry the fake can "pull", and their tags
IMAGES: Mapping[str, frozenset[str]] = {
    "alpine": frozenset({"latest", "3.19", "3.20", "3.21"}),
    "nginx": frozenset({"latest", "alpine", "stable", "stable-alpine"}),
    "busybox": frozenset({"latest"}),
    "mcr.microsoft.com/azuredocs/aci-helloworld": frozenset({"latest"}),
}
ACI_PLACEHOLDERS: Mapping[str, str] = {**PLACEHOLDERS, "replace_with_memory": "memory",
                                       "replace_with_cpu_cores": "cpu_cores"}
BIND_TRIES = 20


def tutorial_values(cloud: FakeAzure) -> dict[str, Any]:
    """What a user fills the azure-aci tutorials' placeholders with for this fake."""
    return {**cloud.tutorial_values(), "memory": MEMORY, "cpu_cores": CPU_CORES}


def fill_tutorial(text: str, values: Mapping[str, Any]) -> str:
    """An azure-aci tutorial file's text, its placeholders filled from `values`."""
    return fill_placeholders(text, ACI_PLACEHOLDERS, values)


def image_known(image: str) -> bool:
    """Whether the fake's registry has `image` (`name`, `name:tag` or `name@digest`)."""
    reference = image.strip()
    name, _, digest = reference.partition("@")
    tag = "latest"
    if not digest and ":" in name.rsplit("/", 1)[-1]:
        name, tag = name.rsplit(":", 1)
    for prefix in ("docker.io/", "index.docker.io/", "library/"):
        name = name.removeprefix(prefix)
    tags = IMAGES.get(name)
    return tags is not None and (bool(digest) or tag in tags)


class _Port:
    """A TCP port of a group's address: bound when the group is made, accepting connections
    (and closing them at once) once `listen` is called, until `close`."""

    def __init__(self, address: str, port: int) -> None:
        self.address, self.port = address, port
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            self._socket.bind((address, port))
        except OSError:
            self._socket.close()
            raise
        self._thread: threading.Thread | None = None

    @property
    def accepting(self) -> bool:
        return self._thread is not None

    def listen(self) -> None:
        if self._thread is not None:
            return
        self._socket.listen(64)
        self._thread = threading.Thread(target=self._serve, daemon=True,
                                        name=f"fake-aci-{self.address}:{self.port}")
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:         # closed
                return
            connection.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)     # wakes the accept (Linux)
        self._socket.close()
        if self._thread is not None:
            self._thread.join(timeout=10)


class ContainerGroups(Kind):
    """Microsoft.ContainerInstance/containerGroups: see the module's docstring."""

    type = GROUP_TYPE

    def __init__(self, boot_seconds: float = BOOT_SECONDS, delete_seconds: float = 0.0) -> None:
        self.create_seconds = boot_seconds
        self.delete_seconds = delete_seconds
        # (code, message) that the groups made from now on fail with once booted
        self.failure: tuple[str, str] | None = None
        self._lock = threading.Lock()
        self._ports: dict[str, list[_Port]] = {}        # by resource id, lowercase
        self._stopped: set[str] = set()

    # --- what tests use ---------------------------------------------------------
    def stop(self, fake: FakeAzure, resource_id: str) -> None:
        """Stop a group, as `az container stop` does: its instance view says Stopped, its
        provisioning stays Succeeded, its ports close."""
        with self._lock:
            self._stopped.add(resource_id.lower())
            ports = self._ports.pop(resource_id.lower(), [])
        for port in ports:
            port.close()

    def listening(self, resource_id: str) -> list[tuple[str, int]]:
        """(address, port) of the group's listeners that accept connections."""
        with self._lock:
            return [(port.address, port.port) for port in self._ports.get(resource_id.lower(), ())
                    if port.accepting]

    # --- the kind -----------------------------------------------------------------
    def check(self, fake: FakeAzure, resource_id: str, body: Mapping[str, Any]) -> None:
        name = resource_id.rsplit("/", 1)[1]
        properties = body.get("properties") or {}
        if properties.get("osType") not in ("Linux", "Windows"):
            raise refusal(400, "InvalidOsType", f"The OS type '{properties.get('osType')}' of "
                                                f"container group '{name}' is not valid.")
        containers = properties.get("containers") or []
        if not containers:
            raise refusal(400, "InvalidContainerGroupSpec",
                          f"The container group '{name}' must have at least one container.")
        for container in containers:
            self._check_container(name, container)
        address = properties.get("ipAddress")
        if address is not None:
            if address.get("type") not in ("Public", "Private") or not address.get("ports"):
                raise refusal(400, "InvalidIpAddress", f"The IP address of container group "
                                                       f"'{name}' needs a type and ports.")
            if address["type"] == "Private" and not properties.get("subnetIds"):
                raise refusal(400, "PrivateIPAddressNotSupported",
                              f"Container group '{name}' asks for a private IP address "
                              "without subnetIds.")
        for subnet in properties.get("subnetIds") or ():
            self._check_subnet(fake, name, str(subnet.get("id") or ""))

    @staticmethod
    def _check_container(group: str, container: Mapping[str, Any]) -> None:
        properties = container.get("properties") or {}
        requests = (properties.get("resources") or {}).get("requests") or {}
        if not container.get("name") or not (requests.get("cpu") or 0) > 0 \
                or not (requests.get("memoryInGB") or 0) > 0:
            raise refusal(400, "InvalidContainerSpec", f"A container of group '{group}' needs "
                                                       "a name and resource requests.")
        if not image_known(str(properties.get("image") or "")):
            raise refusal(400, "InaccessibleImage",
                          f"The image '{properties.get('image')}' in container group "
                          f"'{group}' is not accessible. Please check the image and registry "
                          "credential.")

    @staticmethod
    def _check_subnet(fake: FakeAzure, group: str, subnet_id: str) -> None:
        subnet = fake.resource(subnet_id)
        if subnet is None or subnet.deleting_at is not None or subnet.kind.type != SUBNET_TYPE:
            raise refusal(400, "SubnetNotFound", f"The subnet '{subnet_id}' of container group "
                                                 f"'{group}' was not found.")
        delegated = [(delegation.get("properties") or {}).get("serviceName")
                     for delegation in subnet.properties.get("delegations") or ()]
        if ACI_SERVICE not in delegated:
            raise refusal(400, "SubnetMissingRequiredDelegation",
                          "Subnet missing required delegation 'Microsoft.ContainerInstance' for "
                          f"container group '{group}'.")

    def made(self, fake: FakeAzure, resource: Resource) -> None:
        resource.failure = self.failure
        address = resource.properties.get("ipAddress")
        if address is None:
            return
        tcp = sorted({int(port["port"]) for port in address.get("ports") or ()
                      if str(port.get("protocol") or "TCP").upper() == "TCP"})
        ip, ports = self._bind(tcp)
        address["ip"] = ip
        label = address.get("dnsNameLabel")
        if address.get("type") == "Public" and label:
            location = str(resource.body.get("location") or "").replace(" ", "").lower()
            address["fqdn"] = f"{label}.{location}.azurecontainer.io"
        with self._lock:
            self._ports[resource.id.lower()] = ports

    def _bind(self, tcp: list[int]) -> tuple[str, list[_Port]]:
        """A free address of `ADDRESSES`, and its `tcp` ports bound (a port this process may
        not bind, below 1024 without root, is left out)."""
        with self._lock:
            used = {port.address for ports in self._ports.values() for port in ports}
        for _ in range(BIND_TRIES):
            ip = str(ADDRESSES[random.randrange(2, ADDRESSES.num_addresses - 1)])
            if ip in used:
                continue
            ports: list[_Port] = []
            try:
                for number in tcp:
                    with contextlib.suppress(PermissionError):
                        ports.append(_Port(ip, number))
            except OSError as error:
                for port in ports:
                    port.close()
                if error.errno == errno.EADDRINUSE:
                    continue
                raise
            return ip, ports
        raise AssertionError(f"no address of {ADDRESSES} is free for ports {tcp}")

    def updated(self, fake: FakeAzure, resource: Resource, body: Mapping[str, Any]) -> None:
        """A PUT of a group there already: it keeps what it was made with and takes the tags
        (ACI would redeploy a changed group; Occopus never changes one)."""
        resource.body["tags"] = dict(body.get("tags") or resource.tags)

    def view(self, fake: FakeAzure, resource: Resource, query: Mapping[str, str]) -> dict[str, Any]:
        body = super().view(fake, resource, query)
        properties = body["properties"]
        provisioning = properties["provisioningState"]
        booted = fake.now() - (resource.ready_at - self.create_seconds)
        if provisioning == "Creating" and booted < self.create_seconds / 2:
            provisioning = properties["provisioningState"] = "Pending"
        stopped = resource.id.lower() in self._stopped
        group_state, container_state = {
            "Pending": ("Pending", "Waiting"), "Creating": ("Pending", "Waiting"),
            "Failed": ("Failed", "Waiting"), "Deleting": ("Stopped", "Terminated"),
        }.get(provisioning, ("Stopped", "Terminated") if stopped else ("Running", "Running"))
        events = []
        if resource.failure is not None and provisioning == "Failed":
            events = [{"count": 1, "name": "Failed", "type": "Warning",
                       "message": resource.failure[1]}]
        properties["instanceView"] = {"state": group_state, "events": []}
        for container in properties.get("containers") or ():
            for variable in (container.get("properties") or {}).get("environmentVariables") or ():
                variable.pop("secureValue", None)
            container.setdefault("properties", {})["instanceView"] = {
                "restartCount": 0, "events": copy.deepcopy(events),
                "currentState": {"state": container_state, "detailStatus": ""}}
        if group_state == "Running":
            self._listen(resource.id)
        return body

    def _listen(self, resource_id: str) -> None:
        with self._lock:
            ports = list(self._ports.get(resource_id.lower(), ()))
        for port in ports:
            port.listen()

    def listed(self, fake: FakeAzure, resource: Resource,
               query: Mapping[str, str]) -> dict[str, Any]:
        """As ACI lists a group: without its instance views."""
        body = self.view(fake, resource, query)
        body["properties"].pop("instanceView", None)
        for container in body["properties"].get("containers") or ():
            container.get("properties", {}).pop("instanceView", None)
        return body

    def uses(self, resource: Resource) -> Iterable[str]:
        return [str(subnet.get("id")) for subnet in resource.properties.get("subnetIds") or ()]

    def deleted(self, fake: FakeAzure, resource: Resource) -> None:
        with self._lock:
            ports = self._ports.pop(resource.id.lower(), [])
            self._stopped.discard(resource.id.lower())
        for port in ports:
            port.close()

    def forget(self, fake: FakeAzure) -> None:
        with self._lock:
            ports = [port for group in self._ports.values() for port in group]
            self._ports.clear()
            self._stopped.clear()
        for port in ports:
            port.close()


def aci_kinds(boot_seconds: float = BOOT_SECONDS, delete_seconds: float = 0.0) -> list[Kind]:
    """The kinds of the azure_aci type's resources (the network's are `fakenetwork`'s)."""
    return [ContainerGroups(boot_seconds, delete_seconds)]


def fake_azure(boot_seconds: float = BOOT_SECONDS, delete_seconds: float = 0.0) -> FakeAzure:
    """A `FakeAzure` (not started) of every kind, its container groups booting in
    `boot_seconds` and deleted in `delete_seconds`."""
    kinds = [kind for kind in default_kinds() if kind.type != GROUP_TYPE]
    return FakeAzure(kinds=[*kinds, *aci_kinds(boot_seconds, delete_seconds)])


def groups(cloud: FakeAzure) -> ContainerGroups:
    """The fake's container groups kind."""
    kind = cloud.kinds[GROUP_TYPE.lower()]
    assert isinstance(kind, ContainerGroups), kind
    return kind
