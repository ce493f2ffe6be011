"""What a node asks of Azure Container Instances: one container group, read from its
`resource` section and its `docker` contextualisation, checked before anything is sent.

The group is named after the node id (`occopus-<node id>`), so that a create
retried after a lost answer or a crash finds what the first attempt made; its
one container after the node's name. Both are made safe for Azure (lowercase
letters, digits and single hyphens, at most 63 characters); a node id that
does not fit is made safe and given a digest of itself, so that two node ids
never share a name.

A public group gets an address on the internet with the group's name as its
DNS label; the container is told its DNS name in `_OCCOPUS_ALLOCATED_FQDN`,
as the original did. A private group gets an address in a subnet delegated
to container groups (`subnetIds`; Azure retired the network profiles the
original made). Azure gives a group an address only for the ports it opens.
The container's environment is sent as secure values, which Azure never
answers back: a token in a node's env is not shown to whoever reads the group.
"""
from __future__ import annotations

import hashlib
import math
import re
import shlex
from dataclasses import dataclass, field, replace
from typing import Any

from azure.mgmt.containerinstance.models import (Container, ContainerGroup,
                                                 ContainerGroupSubnetId, ContainerPort,
                                                 EnvironmentVariable, GpuResource, IpAddress,
                                                 Port, ResourceRequests, ResourceRequirements)

from occo.util.nodes import ResolvedNode

from ...base import PermanentError, owner_tags
from ...containerspec import spec_of

NAME_PREFIX = "occopus-"
MOST_NAME = 63                  # characters of a container group's or container's name
DIGEST = 16                     # hex characters of a node id's digest in a name made safe
VALID_NAME = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
TAG_LENGTH = 256                # Azure's bound on a tag's value
FQDN_VARIABLE = "_OCCOPUS_ALLOCATED_FQDN"
DNS_ZONE = "azurecontainer.io"
PUBLIC, PRIVATE = "Public", "Private"
NETWORK_TYPES = {"public": PUBLIC, "private": PRIVATE}
OS_TYPES = {"linux": "Linux", "windows": "Windows"}
GPU_TYPES = ("K80", "P100", "V100")
PROTOCOLS = ("TCP", "UDP")
REQUIRED = ("resource_group", "location", "cpu_cores", "memory", "image", "os_type",
            "network_type")
SECTION_HINT = "add them to the node definition's azure_aci resource section"


@dataclass(frozen=True)
class Gpu:
    sku: str
    count: int


@dataclass(frozen=True)
class GroupPort:
    """A port the group opens, on its address and in its container."""

    number: int
    protocol: str = "TCP"


@dataclass(frozen=True)
class GroupRequest:
    """One container group to make for a node."""

    name: str
    resource_group: str
    location: str
    network: str                    # PUBLIC or PRIVATE
    os_type: str
    image: str
    container_name: str
    cpu: float
    memory: float                   # GB
    gpu: Gpu | None = None
    ports: tuple[GroupPort, ...] = ()
    environment: tuple[tuple[str, str], ...] = field(default=(), repr=False)     # may hold secrets
    command: tuple[str, ...] | None = None      # None: the image's own
    tags: dict[str, str] = field(default_factory=dict)
    vnet_name: str | None = None
    subnet_name: str | None = None

    @property
    def private(self) -> bool:
        return self.network == PRIVATE

    @property
    def fqdn(self) -> str | None:
        """The DNS name Azure gives a public group: its label (the group's name), its
        location (as Azure writes a location's name) and Azure's zone."""
        if self.private:
            return None
        return f"{self.name}.{self.location.replace(' ', '').lower()}.{DNS_ZONE}"


def safe_name(text: str, *, digest_of: str | None = None) -> str:
    """`text` as a name Azure takes; `digest_of`: when `text` must be changed to fit, end it
    with a digest of this, so that different originals never share a name."""
    if VALID_NAME.fullmatch(text) and len(text) <= MOST_NAME:
        return text
    safe = "-".join(re.findall(r"[a-z0-9]+", text.lower()))
    if digest_of is None:
        return safe[:MOST_NAME].strip("-") or "container"
    digest = hashlib.sha256(digest_of.encode()).hexdigest()[:DIGEST]
    return "-".join(part for part in (safe[:MOST_NAME - DIGEST - 1].strip("-"), digest) if part)


def group_name(node_id: str) -> str:
    """`occopus-<node id>`, made safe (see the module's docstring)."""
    return safe_name(f"{NAME_PREFIX}{node_id}", digest_of=node_id)


def request_of(node: ResolvedNode, where: str) -> GroupRequest:
    """The container group a node asks for; `PermanentError` for a section that cannot make
    one, saying what to write."""
    resource = node.resource
    missing = [key for key in REQUIRED
               if resource.get(key) is None or str(resource[key]).strip() == ""]
    if missing:
        raise PermanentError(f"{where}: the resource section has no {' and no '.join(missing)}",
                             hint=SECTION_HINT)
    network = _choice(resource, "network_type", NETWORK_TYPES, where,
                      "write network_type: Public or Private")
    name = group_name(node.node_id)
    request = GroupRequest(
        name=name, resource_group=str(resource["resource_group"]).strip(),
        location=str(resource["location"]).strip(), network=network,
        os_type=_choice(resource, "os_type", OS_TYPES, where, "write os_type: Linux or Windows"),
        image=str(resource["image"]).strip(), container_name=safe_name(node.name),
        cpu=_positive(resource, "cpu_cores", where, "write cpu_cores: 1 (or 0.5, 2, ...)"),
        memory=_positive(resource, "memory", where, "write memory: 1.5 (in GB)"),
        gpu=_gpu(resource, where), ports=ports_of(resource.get("ports"), where),
        tags=owner_tags(node, longest=TAG_LENGTH),
        vnet_name=_optional(resource, "vnet_name"), subnet_name=_optional(resource, "subnet_name"))
    spec = spec_of(node)
    environment = [_variable(entry, where) for entry in spec.environment]
    if request.fqdn is not None:
        environment = [item for item in environment if item[0] != FQDN_VARIABLE]
        environment.append((FQDN_VARIABLE, request.fqdn))
    return replace(request, environment=tuple(environment),
                    command=_arguments(spec.command, where))


def ports_of(value: Any, where: str) -> tuple[GroupPort, ...]:
    """The section's `ports` (80, "8080/tcp", "53/UDP"), each once, in their order."""
    if value is None or value == "":
        return ()
    items = value if isinstance(value, (list, tuple)) else [value]
    ports: dict[GroupPort, None] = {}
    for item in items:
        number, _, protocol = str(item).strip().partition("/")
        protocol = protocol.strip().upper() or "TCP"
        try:
            port = int(number)
        except ValueError:
            port = 0
        if not 1 <= port <= 65535 or protocol not in PROTOCOLS:
            raise PermanentError(f"{where}: ports has {item!r}, which is not a port",
                                 hint='write each port as a number from 1 to 65535, with '
                                      '/UDP for a UDP port: ports: [80, "53/UDP"]')
        ports[GroupPort(port, protocol)] = None
    return tuple(ports)


def group_model(request: GroupRequest, subnet_id: str | None) -> ContainerGroup:
    """The container group as the SDK sends it; `subnet_id`: where a private group goes."""
    requests = ResourceRequests(cpu=request.cpu, memory_in_gb=request.memory,
                                gpu=GpuResource(count=request.gpu.count, sku=request.gpu.sku)
                                if request.gpu else None)
    container = Container(
        name=request.container_name, image=request.image,
        resources=ResourceRequirements(requests=requests),
        ports=[ContainerPort(port=port.number, protocol=port.protocol) for port in request.ports],
        environment_variables=[EnvironmentVariable(name=name, secure_value=value)
                               for name, value in request.environment],
        command=list(request.command) if request.command is not None else None)
    address = None
    if request.ports:
        address = IpAddress(type=request.network,
                            ports=[Port(port=port.number, protocol=port.protocol)
                                   for port in request.ports],
                            dns_name_label=None if request.private else request.name)
    return ContainerGroup(
        location=request.location, tags=dict(request.tags), os_type=request.os_type,
        containers=[container], ip_address=address,
        subnet_ids=[ContainerGroupSubnetId(id=subnet_id)] if subnet_id else None)


def _optional(resource: dict[str, Any], key: str) -> str | None:
    value = str(resource.get(key) or "").strip()
    return value or None


def _choice(resource: dict[str, Any], key: str, choices: dict[str, str], where: str,
            hint: str) -> str:
    value = str(resource[key]).strip()
    if value.lower() not in choices:
        raise PermanentError(f"{where}: {key} is {value!r}, which Azure does not know",
                             hint=hint)
    return choices[value.lower()]


def _positive(resource: dict[str, Any], key: str, where: str, hint: str) -> float:
    value = resource[key]
    try:
        number = float(str(value).strip())
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number <= 0:
        raise PermanentError(f"{where}: {key} must be a number above 0, not {value!r}",
                             hint=hint)
    return number


def _gpu(resource: dict[str, Any], where: str) -> Gpu | None:
    sku = _optional(resource, "gpu_type")
    if sku is None:
        return None
    if sku.upper() not in GPU_TYPES:
        raise PermanentError(f"{where}: gpu_type is {sku!r}, which Azure does not offer",
                             hint=f"write gpu_type: {', '.join(GPU_TYPES[:-1])} or "
                                  f"{GPU_TYPES[-1]}")
    count = resource.get("gpu_count", 1)
    try:
        number = int(str(count if count not in (None, "") else 1).strip())
    except ValueError:
        number = 0
    if number < 1:
        raise PermanentError(f"{where}: gpu_count must be a whole number above 0, not "
                             f"{count!r}", hint="write gpu_count: 1 (or 2, 4)")
    return Gpu(sku.upper(), number)


def _variable(entry: str, where: str) -> tuple[str, str]:
    name, equals, value = entry.partition("=")
    if not equals or not name.strip():
        raise PermanentError(f"{where}: the docker contextualisation's env has an entry "
                             "without NAME=", hint='write each as "NAME=value"')
    return name.strip(), value


def _arguments(command: str | list[str] | None, where: str) -> tuple[str, ...] | None:
    """A command as its arguments: a string split as a shell would (without running one)."""
    if command is None:
        return None
    if isinstance(command, list):
        return tuple(command)
    try:
        return tuple(shlex.split(command))
    except ValueError as error:
        raise PermanentError(f"{where}: the docker contextualisation's command cannot be split "
                             f"into arguments: {error}",
                             hint='write it as a list: command: ["sh", "-c", "..."]') from None
