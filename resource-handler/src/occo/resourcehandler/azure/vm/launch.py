"""What a node's virtual machine is made of, read from its `resource` section (`VmLaunch`).

Names. The VM is the section's `server_name`, else `occopus-<node id>`; what
Occopus makes for it is named after it: its network interface `<vm>-nic`,
its public IP address `<vm>-ip` and its OS disk `<vm>-osdisk`. Names are
unique in a resource group, so a create retried for a node (after a lost
answer, after a crash) finds what the first attempt made. Each of them is
tagged with the infrastructure, the node and the owner when it is made.

The OS profile: the admin user with a password, or with an SSH key written to
/home/<user>/.ssh/authorized_keys and password sign-in turned off (both: both
work). The custom data is the node's contextualisation (cloud-init), in
base64; `customdata` stands in for a node that has none.

`nic_name` attaches an existing network interface as it is: no network or
public IP is made for the VM then, and the interface outlives it.
"""
from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from azure.mgmt.compute import models as compute
from azure.mgmt.network import models as network

from occo.util.nodes import ResolvedNode

from ...base import PermanentError, owner_tags
from ...schemas import flag

REQUIRED = ("resource_group", "location", "vm_size", "publisher", "offer", "sku", "version",
            "username")
NAME_PREFIX = "occopus-"
NIC_SUFFIX = "-nic"
IP_SUFFIX = "-ip"
DISK_SUFFIX = "-osdisk"
COMPUTER_NAME_LENGTH = 64       # a Linux host name on Azure
TAG_VALUE_LENGTH = 256          # Azure's bound on a tag value
# Azure's rule for a VM name: 1-64 letters, digits, _ . -; a letter or digit first; no . or - last
VALID_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,62}[A-Za-z0-9_])?")
NAME_HINT = ('server_name must be 1-64 letters, digits, "_", "." or "-", starting with a letter '
             'or digit and not ending with "." or "-", and differ per node, e.g. '
             '"{{name}}-{{cut(node_id,0,8)}}"')


@dataclass(frozen=True)
class Image:
    """A Marketplace image."""

    publisher: str
    offer: str
    sku: str
    version: str

    @property
    def urn(self) -> str:
        """How Azure's tools write it: publisher:offer:sku:version."""
        return f"{self.publisher}:{self.offer}:{self.sku}:{self.version}"


@dataclass(frozen=True)
class VmLaunch:
    """One node's virtual machine, and what it needs around it."""

    group: str
    location: str
    vm_name: str
    computer_name: str
    size: str
    image: Image
    username: str
    password: str | None = field(repr=False)
    ssh_key: str | None
    custom_data: str | None = field(repr=False)     # base64: the node's contextualisation
    public_ip: bool
    vnet_name: str | None
    subnet_name: str | None
    nic_name: str | None               # an existing interface, attached as it is
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def own_nic(self) -> str | None:
        """The network interface Occopus makes for the VM (None: it attaches the user's)."""
        return None if self.nic_name else made_nic(self.vm_name)

    @property
    def own_ip(self) -> str | None:
        """The public IP address Occopus makes for the VM, if it wants one."""
        return made_ip(self.vm_name) if self.public_ip else None

    @property
    def disk_name(self) -> str:
        return f"{self.vm_name}{DISK_SUFFIX}"

    @property
    def secrets(self) -> set[str]:
        """What no message may show."""
        return {self.password} if self.password else set()


def made_nic(vm_name: str) -> str:
    return f"{vm_name}{NIC_SUFFIX}"


def made_ip(vm_name: str) -> str:
    return f"{vm_name}{IP_SUFFIX}"


def vm_of(part_name: str) -> str | None:
    """The VM a network interface or public IP address named by Occopus was made for."""
    for suffix in (NIC_SUFFIX, IP_SUFFIX):
        if part_name.endswith(suffix) and len(part_name) > len(suffix):
            return part_name[:-len(suffix)]
    return None


def vm_name(node: ResolvedNode) -> str:
    """`server_name`, else `occopus-<node id>` (a node id Azure would refuse in a name is made
    safe and given a digest of itself, so that two node ids never share a name)."""
    given = node.resource.get("server_name")
    if given not in (None, ""):
        return str(given).strip()
    name = f"{NAME_PREFIX}{node.node_id}"
    if VALID_NAME.fullmatch(name):
        return name
    safe = re.sub(r"[^A-Za-z0-9-]+", "-", node.node_id)[:30].strip("-")
    return f"{NAME_PREFIX}{safe}-{hashlib.sha256(node.node_id.encode()).hexdigest()[:16]}"


def computer_name(name: str) -> str:
    """The VM's host name: its name, without what a Linux host name on Azure may not hold."""
    return re.sub(r"[^A-Za-z0-9-]+", "-", name)[:COMPUTER_NAME_LENGTH].strip("-") or "occopus"


def launch_of(node: ResolvedNode, where: str) -> VmLaunch:
    """The VM a node asks for; `PermanentError` for a section that cannot make one, before
    anything is sent."""
    resource = node.resource
    missing = [key for key in REQUIRED if _text(resource.get(key)) is None]
    if missing:
        raise PermanentError(f"{where}: the resource section has no {' and no '.join(missing)}",
                             hint="add them to the node definition's azure_vm resource section")
    password = _as_given(resource.get("password"))
    ssh_key = _text(resource.get("ssh_key_data"))
    if password is None and ssh_key is None:
        raise PermanentError(f"{where}: the resource section has neither password nor "
                             "ssh_key_data", hint="give the admin user a password or an SSH "
                                                  "public key (ssh_key_data)")
    name = vm_name(node)
    if not VALID_NAME.fullmatch(name):
        raise PermanentError(f"{where}: {name!r} cannot name an Azure VM", hint=NAME_HINT)
    nic_name = _text(resource.get("nic_name"))
    public_ip = flag(resource.get("public_ip_needed"))
    if nic_name and public_ip:
        raise PermanentError(f"{where}: public_ip_needed cannot be met with nic_name: the "
                             "network interface is attached as it is",
                             hint="give that network interface a public IP address yourself, "
                                  "or leave nic_name out")
    custom = node.context or _as_given(resource.get("customdata"))
    return VmLaunch(
        group=str(_text(resource["resource_group"])), location=str(_text(resource["location"])),
        vm_name=name, computer_name=computer_name(name), size=str(_text(resource["vm_size"])),
        image=Image(*(str(_text(resource[key])) for key in ("publisher", "offer", "sku",
                                                            "version"))),
        username=str(_text(resource["username"])), password=password, ssh_key=ssh_key,
        custom_data=base64.b64encode(custom.encode()).decode() if custom else None,
        public_ip=public_ip, vnet_name=_text(resource.get("vnet_name")),
        subnet_name=_text(resource.get("subnet_name")), nic_name=nic_name,
        tags=tags_of(node))


def public_ip_request(launch: VmLaunch) -> network.PublicIPAddress:
    """A static public IP address of the Standard SKU (Azure retires the Basic one)."""
    return network.PublicIPAddress(location=launch.location, tags=launch.tags,
                                   sku=network.PublicIPAddressSku(name="Standard"),
                                   public_ip_allocation_method="Static")


def nic_request(launch: VmLaunch, subnet_id: str,
                public_ip_id: str | None) -> network.NetworkInterface:
    """The VM's network interface in `subnet_id`, with the public IP address if any."""
    configuration = network.NetworkInterfaceIPConfiguration(
        name="ipconfig1", primary=True, subnet=network.Subnet(id=subnet_id),
        private_ip_allocation_method="Dynamic",
        public_ip_address=network.PublicIPAddress(id=public_ip_id) if public_ip_id else None)
    return network.NetworkInterface(location=launch.location, tags=launch.tags,
                                    ip_configurations=[configuration])


def vm_request(launch: VmLaunch, nic_id: str) -> compute.VirtualMachine:
    """The VM, booting the image from an OS disk deleted with it, on the network interface
    `nic_id` (deleted with it too, unless it is the user's)."""
    linux = None
    if launch.ssh_key:
        linux = compute.LinuxConfiguration(
            disable_password_authentication=launch.password is None,
            ssh=compute.SshConfiguration(public_keys=[compute.SshPublicKey(
                path=f"/home/{launch.username}/.ssh/authorized_keys", key_data=launch.ssh_key)]))
    image = launch.image
    return compute.VirtualMachine(
        location=launch.location, tags=launch.tags,
        hardware_profile=compute.HardwareProfile(vm_size=launch.size),
        storage_profile=compute.StorageProfile(
            image_reference=compute.ImageReference(publisher=image.publisher, offer=image.offer,
                                                   sku=image.sku, version=image.version),
            os_disk=compute.OSDisk(name=launch.disk_name, create_option="FromImage",
                                   delete_option="Delete")),
        os_profile=compute.OSProfile(computer_name=launch.computer_name,
                                     admin_username=launch.username,
                                     admin_password=launch.password,
                                     custom_data=launch.custom_data,
                                     linux_configuration=linux),
        network_profile=compute.NetworkProfile(network_interfaces=[
            compute.NetworkInterfaceReference(id=nic_id, primary=True,
                                              delete_option="Detach" if launch.nic_name
                                              else "Delete")]))


def tags_of(node: ResolvedNode) -> dict[str, str]:
    """Who owns what is made for the node."""
    return owner_tags(node, longest=TAG_VALUE_LENGTH)


def _as_given(value: Any) -> str | None:
    """A value as given, spaces and all (a password, a script), None when absent or empty."""
    return None if value is None or str(value) == "" else str(value)


def _text(value: Any) -> str | None:
    """A value as text, None when absent or empty."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None
