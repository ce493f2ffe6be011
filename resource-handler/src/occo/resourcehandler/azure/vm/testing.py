"""The azure_vm resources of `FakeAzure` (a FAKE of Azure, for tests): virtual machines, their
OS disks, network interfaces and public IP addresses, in the shapes of Azure's REST
reference (Compute 2024+ and Network 2024+ API versions).

- A virtual machine (`VirtualMachines`) takes `boot_seconds` to provision:
  its `provisioningState` is Creating, then Succeeded; its instance view
  (`$expand=instanceView` on a GET; on a list only with a `$filter`, else 400
  InvalidParameter, as Azure answers) says `ProvisioningState/creating`
  then `/succeeded`, and `PowerState/starting` for the first half of the boot,
  `PowerState/running` after. `failure` (code, message) makes the VMs made from
  then on fail their provisioning (`ProvisioningState/failed/<code>`).
  A create is refused as Azure refuses it: an unknown size (400
  InvalidParameter), an image the location does not have (404
  PlatformImageNotFound), a password short of Azure's complexity rule or an
  admin name Azure reserves (400 InvalidParameter), a host name a Linux VM
  cannot have, custom data not in base64, a network interface that does not
  exist (404 NotFound) or that another VM uses (400 NicInUse). Changing the OS
  profile of a VM there already is refused (409 PropertyChangeNotAllowed).
  Azure never answers the admin password nor the custom data: the fake keeps
  them in the stored body (`FakeAzure.resource(id).body`) for tests only.
  Making a VM makes its OS disk; deleting it deletes the disk and the
  network interfaces whose `deleteOption` is Delete.
- A network interface gets a private address from 127.91.0.0/16 and uses its
  subnet and public IP address (400 InvalidResourceReference when one is
  missing); a public IP address gets an address from 127.92.0.0/16. Both
  ranges are this machine's loopback: pinging them reaches nothing else.

`fake_azure(boot_seconds=...)` makes the fake with these kinds and the virtual
networks; `tutorial_values` and `fill_tutorial` fill the azure-helloworld and
azure-ping tutorials as a user would.
"""
from __future__ import annotations

import base64
import binascii
import copy
import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from ..fakenetwork import network_kinds
from ..testing import PLACEHOLDERS, FakeAzure, Kind, Resource, fill_tutorial as fill_azure
from ..testing import refusal

VM_TYPE = "Microsoft.Compute/virtualMachines"
DISK_TYPE = "Microsoft.Compute/disks"
NIC_TYPE = "Microsoft.Network/networkInterfaces"
IP_TYPE = "Microsoft.Network/publicIPAddresses"
PRIVATE_RANGE = "127.91.0.0/16"
PUBLIC_RANGE = "127.92.0.0/16"
SIZES = ("Standard_B1s", "Standard_B2s", "Standard_D2s_v3")
IMAGES = frozenset({("Canonical", "0001-com-ubuntu-server-jammy", "22_04-lts-gen2"),
                    ("Canonical", "ubuntu-24_04-lts", "server"),
                    ("Debian", "debian-12", "12")})
IMAGE_VERSION = re.compile(r"latest|\d+\.\d+\.\d+")
RESERVED_USERS = frozenset({"admin", "administrator", "root", "guest", "user", "test",
                            "azureadmin"})
ADMIN_USERNAME = "azureuser"
ADMIN_PASSWORD = "Occ0pus-Fake-Adm1n!"     # meets Azure's rule; a fake's, used nowhere else
# the tutorials' azure_vm values, as a user fills them in for this fake
VM_VALUES: Mapping[str, str] = {
    "vm_size": "Standard_B1s", "publisher": "Canonical",
    "offer": "0001-com-ubuntu-server-jammy", "sku": "22_04-lts-gen2", "version": "latest",
    "username": ADMIN_USERNAME, "password": ADMIN_PASSWORD,
    # in the tutorials' comments only
    "vnet_name": "my-vnet", "nic_name": "my-nic", "subnet_name": "default",
}
VM_PLACEHOLDERS: Mapping[str, str] = {
    **PLACEHOLDERS,
    "replace_with_vm_size": "vm_size", "replace_with_publisher_name": "publisher",
    "replace_with_offer": "offer", "replace_with_sku": "sku", "replace_with_version": "version",
    "replace_with_admin_username": "username", "replace_with_admin_password": "password",
    "replace_with_virtual_network_name": "vnet_name", "replace_with_nic_name": "nic_name",
    "replace_with_subnet_name": "subnet_name",
}
_PASSWORD_RULE = ("The supplied password must be between 6-72 characters long and must satisfy "
                  "at least 3 of password complexity requirements from the following:\r\n"
                  "1) Contains an uppercase character\r\n2) Contains a lowercase character\r\n"
                  "3) Contains a numeric digit\r\n4) Contains a special character\r\n"
                  "5) Control characters are not allowed")
_HOST_NAME = re.compile(r"[A-Za-z0-9-]{1,64}")


def tutorial_values(cloud: FakeAzure) -> dict[str, Any]:
    """What a user fills the azure_vm tutorials' placeholders with for this fake."""
    return {**cloud.tutorial_values(), **VM_VALUES}


def fill_tutorial(text: str, values: Mapping[str, Any]) -> str:
    """An azure_vm tutorial file's text, every placeholder filled in from `values`."""
    return fill_azure(text, values, VM_PLACEHOLDERS)


def fake_azure(*, boot_seconds: float = 0.0, delete_seconds: float = 0.0) -> FakeAzure:
    """A fake whose VMs take `boot_seconds` to provision and `delete_seconds` to delete."""
    return FakeAzure(kinds=[*network_kinds(),
                            *vm_kinds(boot_seconds=boot_seconds, delete_seconds=delete_seconds)])


def vm_kind(cloud: FakeAzure) -> VirtualMachines:
    """The fake's virtual machines (to set a `failure`)."""
    kind = cloud.kinds[VM_TYPE.lower()]
    assert isinstance(kind, VirtualMachines)
    return kind


def _live(fake: FakeAzure, resource_id: str | None) -> Resource | None:
    resource = fake.resource(resource_id) if resource_id else None
    return resource if resource is not None and resource.deleting_at is None else None


def _users(fake: FakeAzure, resource_id: str, type_name: str) -> list[Resource]:
    """The live resources of `type_name` using `resource_id`."""
    return [other for other in fake.resources(type_name)
            if any(used.lower() == resource_id.lower() for used in other.kind.uses(other))]


class VirtualMachines(Kind):
    type = VM_TYPE

    def __init__(self, boot_seconds: float = 0.0, delete_seconds: float = 0.0) -> None:
        self.create_seconds = boot_seconds
        self.delete_seconds = delete_seconds
        self.failure: tuple[str, str] | None = None

    def check(self, fake: FakeAzure, resource_id: str, body: Mapping[str, Any]) -> None:
        properties = body.get("properties") or {}
        size = (properties.get("hardwareProfile") or {}).get("vmSize")
        if size not in SIZES:
            raise _invalid("vmSize", f"The value {size} provided for the VM size is not valid. "
                           f"The valid sizes in the current region are: {', '.join(SIZES)}.")
        image = (properties.get("storageProfile") or {}).get("imageReference") or {}
        urn = ":".join(str(image.get(key)) for key in ("publisher", "offer", "sku", "version"))
        if ((image.get("publisher"), image.get("offer"), image.get("sku")) not in IMAGES
                or not IMAGE_VERSION.fullmatch(str(image.get("version")))):
            raise refusal(404, "PlatformImageNotFound",
                          f"The platform image '{urn}' is not available. Verify that all fields "
                          "in the storage profile are correct. For more details about storage "
                          "profile information, please refer to https://aka.ms/storageprofile")
        self._check_os_profile(properties.get("osProfile") or {})
        for reference in (properties.get("networkProfile") or {}).get("networkInterfaces") or ():
            nic_id = str(reference.get("id"))
            if _live(fake, nic_id) is None:
                raise refusal(404, "NotFound", f"Resource {nic_id} not found.")
            other = [vm for vm in _users(fake, nic_id, VM_TYPE)
                     if vm.id.lower() != resource_id.lower()]
            if other:
                raise refusal(400, "NicInUse",
                              f"Network Interface {nic_id} is used by existing resource "
                              f"{other[0].id}. In order to use this network interface, first "
                              "delete the existing resource.")

    @staticmethod
    def _check_os_profile(profile: Mapping[str, Any]) -> None:
        user = str(profile.get("adminUsername") or "")
        if not user or user.lower() in RESERVED_USERS:
            raise _invalid("adminUsername", "The Admin Username specified is not allowed.")
        if not _HOST_NAME.fullmatch(str(profile.get("computerName") or "")):
            raise _invalid("computerName", "Linux host name cannot exceed 64 characters in "
                           "length or contain the following characters: ` ~ ! @ # $ % ^ & * ( ) "
                           "= + _ [ ] { } \\ | ; : ' \" , < > / ?.")
        linux = profile.get("linuxConfiguration") or {}
        password = profile.get("adminPassword")
        if password is not None and not _complex(str(password)):
            raise _invalid("adminPassword", _PASSWORD_RULE)
        if password is None and not ((linux.get("ssh") or {}).get("publicKeys")):
            raise _invalid("adminPassword", "Required parameter 'adminPassword' is missing "
                           "(null).")
        if profile.get("customData") is not None:
            try:
                base64.b64decode(str(profile["customData"]), validate=True)
            except binascii.Error:
                raise _invalid("customData", "Custom data in OSProfile must be in Base64 "
                               "encoding and with a maximum length of 87380 characters.") from None

    def made(self, fake: FakeAzure, resource: Resource) -> None:
        properties = resource.properties
        properties["vmId"] = str(uuid.uuid4())
        disk = (properties.setdefault("storageProfile", {})).setdefault("osDisk", {})
        disk_name = disk.get("name") or f"{resource.name}_OsDisk_1_{uuid.uuid4().hex}"
        disk_id = resource.id.rsplit("/providers/", 1)[0] + f"/providers/{DISK_TYPE}/{disk_name}"
        disk.update(name=disk_name, osType="Linux",
                    managedDisk={"id": disk_id, "storageAccountType": "Premium_LRS"})
        fake.put_child(disk_id, {"location": resource.body.get("location"),
                                 "properties": {"osType": "Linux", "diskSizeGB": 30,
                                                "creationData": {"createOption": "FromImage"}}})
        resource.failure = self.failure

    def updated(self, fake: FakeAzure, resource: Resource, body: Mapping[str, Any]) -> None:
        asked = dict((body.get("properties") or {}).get("osProfile") or {})
        held = dict(resource.properties.get("osProfile") or {})
        if asked and asked != held:
            raise refusal(409, "PropertyChangeNotAllowed",
                          "Changing property 'osProfile' is not allowed.")
        super().updated(fake, resource, body)

    def view(self, fake: FakeAzure, resource: Resource, query: Mapping[str, str]) -> dict[str, Any]:
        body = super().view(fake, resource, query)
        profile = body["properties"].get("osProfile")
        if profile:
            profile.pop("adminPassword", None)      # Azure never answers them
            profile.pop("customData", None)
        if _expands_view(query):
            body["properties"]["instanceView"] = self._instance_view(fake, resource)
        return body

    def listed(self, fake: FakeAzure, resource: Resource,
               query: Mapping[str, str]) -> dict[str, Any]:
        # Azure's VirtualMachines_List: "$expand=instanceView ... can only be specified if a
        # valid $filter option is specified" (a group with no VM answers its empty list)
        if _expands_view(query) and not query.get("$filter"):
            raise _invalid("$expand", "The value of parameter $expand is invalid: instanceView "
                           "can only be specified with a valid $filter option.")
        return super().listed(fake, resource, query)

    def _instance_view(self, fake: FakeAzure, resource: Resource) -> dict[str, Any]:
        now = fake.now()
        state = resource.provisioning_state(now)
        if state == "Failed" and resource.failure is not None:
            code, message = resource.failure
            provisioning = {"code": f"ProvisioningState/failed/{code}", "level": "Error",
                            "displayStatus": "Provisioning failed", "message": message}
        else:
            provisioning = {"code": f"ProvisioningState/{state.lower()}", "level": "Info",
                            "displayStatus": ("Provisioning succeeded" if state == "Succeeded"
                                              else state)}
        running = now >= resource.ready_at - self.create_seconds / 2
        power = {"code": f"PowerState/{'running' if running else 'starting'}", "level": "Info",
                 "displayStatus": f"VM {'running' if running else 'starting'}"}
        return {"computerName": (resource.properties.get("osProfile") or {}).get("computerName"),
                "statuses": [provisioning, power]}

    def uses(self, resource: Resource) -> Iterable[str]:
        properties = resource.properties
        for reference in (properties.get("networkProfile") or {}).get("networkInterfaces") or ():
            yield str(reference.get("id"))
        disk = ((properties.get("storageProfile") or {}).get("osDisk") or {}).get("managedDisk")
        if disk:
            yield str(disk["id"])

    def deleted(self, fake: FakeAzure, resource: Resource) -> None:
        properties = resource.properties
        for reference in (properties.get("networkProfile") or {}).get("networkInterfaces") or ():
            if (reference.get("properties") or {}).get("deleteOption") == "Delete":
                fake.remove(str(reference.get("id")))
        disk = (properties.get("storageProfile") or {}).get("osDisk") or {}
        if disk.get("deleteOption") == "Delete" and disk.get("managedDisk"):
            fake.remove(str(disk["managedDisk"]["id"]))


class Disks(Kind):
    type = DISK_TYPE

    def view(self, fake: FakeAzure, resource: Resource, query: Mapping[str, str]) -> dict[str, Any]:
        body = super().view(fake, resource, query)
        users = _users(fake, resource.id, VM_TYPE)
        body["properties"]["diskState"] = "Attached" if users else "Unattached"
        if users:
            body["managedBy"] = users[0].id
        return body


class NetworkInterfaces(Kind):
    type = NIC_TYPE

    def check(self, fake: FakeAzure, resource_id: str, body: Mapping[str, Any]) -> None:
        configurations = (body.get("properties") or {}).get("ipConfigurations") or []
        if not configurations:
            raise refusal(400, "NetworkInterfaceMustHaveAtLeastOneIpConfiguration",
                          f"Network interface {resource_id} must have at least one IP "
                          "configuration.")
        for configuration in configurations:
            properties = configuration.get("properties") or {}
            for used in (properties.get("subnet"), properties.get("publicIPAddress")):
                if used and _live(fake, used.get("id")) is None:
                    raise refusal(400, "InvalidResourceReference",
                                  f"Resource {used.get('id')} referenced by resource "
                                  f"{resource_id} was not found. Please make sure that the "
                                  "referenced resource exists, and that both resources are in "
                                  "the same region.")
            address = properties.get("publicIPAddress")
            other = [nic for nic in _users(fake, address["id"], NIC_TYPE)
                     if nic.id.lower() != resource_id.lower()] if address else []
            if other:
                raise refusal(400, "PublicIPAddressInUse",
                              f"Public IP address {address['id']} is already in use by "
                              f"{other[0].id}.")

    def made(self, fake: FakeAzure, resource: Resource) -> None:
        self._address(fake, resource, {})

    def updated(self, fake: FakeAzure, resource: Resource, body: Mapping[str, Any]) -> None:
        before = {configuration.get("name"): (configuration.get("properties") or {}).get(
                      "privateIPAddress")
                  for configuration in resource.properties.get("ipConfigurations") or ()}
        super().updated(fake, resource, body)
        self._address(fake, resource, before)

    @staticmethod
    def _address(fake: FakeAzure, resource: Resource, before: Mapping[Any, Any]) -> None:
        """Give each IP configuration its id and a private address (the one it had)."""
        configurations = copy.deepcopy(resource.properties.get("ipConfigurations") or [])
        for configuration in configurations:
            properties = configuration.setdefault("properties", {})
            configuration["id"] = f"{resource.id}/ipConfigurations/{configuration.get('name')}"
            properties["privateIPAddress"] = (before.get(configuration.get("name"))
                                              or fake.next_address(PRIVATE_RANGE))
            properties.setdefault("privateIPAllocationMethod", "Dynamic")
            properties["privateIPAddressVersion"] = "IPv4"
        resource.properties["ipConfigurations"] = configurations

    def view(self, fake: FakeAzure, resource: Resource, query: Mapping[str, str]) -> dict[str, Any]:
        body = super().view(fake, resource, query)
        users = _users(fake, resource.id, VM_TYPE)
        if users:
            body["properties"]["virtualMachine"] = {"id": users[0].id}
        return body

    def uses(self, resource: Resource) -> Iterable[str]:
        for configuration in resource.properties.get("ipConfigurations") or ():
            properties = configuration.get("properties") or {}
            for used in (properties.get("subnet"), properties.get("publicIPAddress")):
                if used and used.get("id"):
                    yield str(used["id"])


class PublicIPAddresses(Kind):
    type = IP_TYPE

    def made(self, fake: FakeAzure, resource: Resource) -> None:
        resource.properties["ipAddress"] = fake.next_address(PUBLIC_RANGE)
        resource.properties.setdefault("publicIPAllocationMethod", "Static")
        resource.properties["publicIPAddressVersion"] = "IPv4"

    def updated(self, fake: FakeAzure, resource: Resource, body: Mapping[str, Any]) -> None:
        address = resource.properties.get("ipAddress")
        super().updated(fake, resource, body)
        resource.properties["ipAddress"] = address

    def view(self, fake: FakeAzure, resource: Resource, query: Mapping[str, str]) -> dict[str, Any]:
        body = super().view(fake, resource, query)
        for nic in _users(fake, resource.id, NIC_TYPE):
            for configuration in nic.properties.get("ipConfigurations") or ():
                used = (configuration.get("properties") or {}).get("publicIPAddress") or {}
                if str(used.get("id", "")).lower() == resource.id.lower():
                    body["properties"]["ipConfiguration"] = {"id": configuration.get("id")}
        return body


def vm_kinds(*, boot_seconds: float = 0.0, delete_seconds: float = 0.0) -> list[Kind]:
    """The kinds of the azure_vm plugin's resources (`FakeAzure`'s defaults take them with no
    boot time)."""
    return [VirtualMachines(boot_seconds, delete_seconds), Disks(), NetworkInterfaces(),
            PublicIPAddresses()]


def _expands_view(query: Mapping[str, str]) -> bool:
    return str(query.get("$expand") or "").lower() == "instanceview"


def _invalid(target: str, message: str) -> Exception:
    answer = refusal(400, "InvalidParameter", message)
    answer.body["error"]["target"] = target
    return answer


def _complex(password: str) -> bool:
    """Azure's rule for a Linux VM's admin password."""
    if not 6 <= len(password) <= 72 or any(ord(char) < 32 for char in password):
        return False
    kinds = (any(char.isupper() for char in password), any(char.islower() for char in password),
             any(char.isdigit() for char in password),
             any(not char.isalnum() for char in password))
    return sum(kinds) >= 3
