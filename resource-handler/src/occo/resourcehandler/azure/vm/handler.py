"""`AzureVmHandler`: nodes as Azure virtual machines, through the Azure SDK.

One node per create call. Holding a lock per VM name (concurrent creates of
a node in this process wait for each other, and so do two nodes given one
`server_name`), the handler makes sure of the resource group (made in the
section's location when absent, never deleted), then reads the VM of the
node's name: one tagged for the node was made before and is answered (Azure
refuses a second PUT that changes its OS profile); one tagged for another
node, or not by Occopus, is a `PermanentError`. Else it places the node in a
subnet (`network.placement`), makes its public IP address if it wants one
and its network interface, waiting for each, and sends the VM's PUT without
waiting for it: a VM takes minutes to boot, and the engine polls its state.
Each part is read before it is made, so a retry after a lost answer or a
crash takes what the first attempt made; a part that is another node's is
refused like the VM. When Azure refuses the VM or one of its parts for good
(an unknown image, size or password; no permission for a public IP), the
parts made for it, and the infrastructure's network unless another node uses
it, are deleted at once. Every operation waited for is waited for within a
bound (`operations.finished`): one still running then is transient.

States: each VM is read with its instance view (a GET with
`$expand=instanceView`: Azure takes that expand on a list only with a
`$filter`), and a list of each resource group's network interfaces and public
IP addresses answers their addresses, public first. A VM's state is the least
ready of its provisioning state and its power state (`STATE_MAP`): a VM whose
provisioning failed is FAILED with Azure's words (secrets hidden).

A drop deletes the VM and waits, then its OS disk if still there, its
network interface (unless it is the user's `nic_name`) and public IP address,
each only when tagged for the node, then tries to delete the
infrastructure's network (Azure refuses while another node uses it).
Something already gone is a success. `list_owned` finds a node by any of
its VM, network interface or public IP address, so a crash between the
interface and the VM leaves no orphan.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from azure.core.exceptions import ResourceNotFoundError
from azure.core.polling import LROPoller
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute.models import VirtualMachine
from azure.mgmt.network.models import NetworkInterface, PublicIPAddress

from occo.util.nodes import NodeState, ResolvedNode

from ...base import (GONE, INFRA_TAG, NODE_TAG, Capabilities, Instance, PermanentError,
                     ResourceError, ResourceStatus, TransientError, each)
from ...httpanswers import RETRY_HINT, one_line
from ...locks import KeyedLocks
from .. import ids, network
from ..handler import AzureHandler
from ..operations import CREATE_WAIT, DELETE_WAIT, finished
from ..session import ensure_resource_group
from .launch import (VmLaunch, launch_of, made_ip, made_nic, nic_request, public_ip_request,
                     vm_of, vm_request)
from .schema import AZURE_VM

log = logging.getLogger("occo.resourcehandler.azure.vm")

_VM_LOCKS = KeyedLocks()
VM_TYPE = "Microsoft.Compute/virtualMachines"
# in an instance's data: what was made for the node (None: nothing of that kind)
GROUP, VM, NIC, IP, NETWORK = "resource_group", "vm", "nic", "public_ip", "network"
IMAGE_HINT = ("check publisher, offer, sku and version: they must name an image of the location "
              "(az vm image list --location LOCATION --publisher P --offer O --sku S --all)")
# an ordering of states: a VM is as ready as the less ready of its provisioning and power states
_LEAST_READY_FIRST = (NodeState.FAILED, NodeState.SHUTDOWN, NodeState.TEMP_FAILED,
                      NodeState.UNKNOWN, NodeState.PENDING, NodeState.READY)


@dataclass(frozen=True)
class _Place:
    """Where an instance's VM is, and what was made for it."""

    group: str
    vm: str
    data: Mapping[str, Any] = field(default_factory=dict)

    def part(self, key: str, default: str) -> str | None:
        """The name of a part the instance records, else the one Occopus gives it."""
        return self.data[key] if key in self.data else default


@dataclass(frozen=True)
class _Addresses:
    """A resource group's network interfaces and public IP addresses, by id (lower case)."""

    nics: Mapping[str, NetworkInterface]
    ips: Mapping[str, PublicIPAddress]


class AzureVmHandler(AzureHandler):
    """Virtual machines of one subscription, reached through one Resource Manager endpoint
    with one service principal."""

    type_name = "azure_vm"
    schema = AZURE_VM
    # what to check, by Azure's error code
    HINTS: ClassVar[Mapping[str, str]] = {
        "PlatformImageNotFound": IMAGE_HINT,
        "ImageNotFound": IMAGE_HINT,
        "InvalidParameter": ("check vm_size (az vm list-sizes --location LOCATION), username, "
                             "and password: 6-72 characters with three of upper case, lower "
                             "case, digit and special character"),
        "SkuNotAvailable": "check vm_size: the location does not offer it now (az vm list-skus "
                           "--location LOCATION --size SIZE)",
        "ResourceGroupNotFound": "resource_group must name a resource group of the subscription",
        "LocationNotAvailableForResourceType": "check location (az account list-locations)",
        "InvalidResourceReference": "vnet_name, subnet_name and nic_name must name resources of "
                                    "the resource group, in its location",
        "NicInUse": "nic_name names a network interface another VM uses: give each node its own",
        "PropertyChangeNotAllowed": "a VM of this name was made with other settings: delete it, "
                                    "or give server_name another value",
    }
    # states of a batch: a read per VM, two lists per resource group
    capabilities = Capabilities(creates_per_call=1, states_per_call=25)
    # instance view status codes: provisioning (the original's creating -> pending, Succeeded
    # -> ready, Deleting -> shutdown; a failure is FAILED, not its temp_failed) and power
    # (VM starting -> pending, VM running -> ready, deallocating/deallocated/stopped -> shutdown)
    STATE_MAP: ClassVar[Mapping[str, NodeState]] = {
        "ProvisioningState/creating": NodeState.PENDING,
        "ProvisioningState/updating": NodeState.READY,
        "ProvisioningState/migrating": NodeState.PENDING,
        "ProvisioningState/succeeded": NodeState.READY,
        "ProvisioningState/failed": NodeState.FAILED,
        "ProvisioningState/canceled": NodeState.FAILED,
        "ProvisioningState/deleting": NodeState.SHUTDOWN,
        "PowerState/starting": NodeState.PENDING,
        "PowerState/running": NodeState.READY,
        "PowerState/stopping": NodeState.SHUTDOWN,
        "PowerState/stopped": NodeState.SHUTDOWN,
        "PowerState/deallocating": NodeState.SHUTDOWN,
        "PowerState/deallocated": NodeState.SHUTDOWN,
        "PowerState/unknown": NodeState.UNKNOWN,
    }

    @property
    def _compute(self) -> ComputeManagementClient:
        return self.session.client(ComputeManagementClient)

    # --- create -------------------------------------------------------------
    def create_nodes(self, nodes: Sequence[ResolvedNode]) -> list[Instance | ResourceError]:
        return each(nodes, self._create)

    def _create(self, node: ResolvedNode) -> Instance:
        launch = launch_of(node, self.where(node))  # a section that cannot make a VM sends nothing
        with _VM_LOCKS.holding(self._name_key(launch.group, launch.vm_name)):
            with self._cloud_errors("making sure of the resource group", node, hide=launch.secrets):
                ensure_resource_group(self.session, launch.group, launch.location,
                                      where=self.where(node))
            found = self._read(lambda: self._compute.virtual_machines.get(
                launch.group, launch.vm_name), "virtual machine", node, hide=launch.secrets)
            if found is not None:
                self._check_owner(found.tags, f"a virtual machine {launch.vm_name}", node,
                                  launch)
                log.debug("%s: found VM %s, made before", self.where(node), launch.vm_name)
                return self._instance(node, launch)
            try:
                nic_id = self._network_interface(node, launch)
                with self._cloud_errors("creating the virtual machine", node, hide=launch.secrets):
                    self._compute.virtual_machines.begin_create_or_update(
                        launch.group, launch.vm_name, vm_request(launch, nic_id),
                        polling=False).result()
            except PermanentError:
                # the node will not be made: nothing may stay for it (the network made for
                # the infrastructure included, which no node may list as its own)
                self._roll_back(node, launch)
                raise
            log.info("%s: created VM %s", self.where(node), launch.vm_name)
            return self._instance(node, launch)

    def _network_interface(self, node: ResolvedNode, launch: VmLaunch) -> str:
        """The id of the VM's network interface: the user's `nic_name`, or one made now (in
        the node's subnet, with its public IP address) unless it was before."""
        group, where = launch.group, self.where(node)
        if launch.nic_name:
            given = self._read(lambda: self._network.network_interfaces.get(
                group, launch.nic_name), "network interface", node, hide=launch.secrets)
            if given is None:
                raise PermanentError(f"{where}: the resource group {group} has no network "
                                     f"interface {launch.nic_name!r}",
                                     hint="nic_name must name an existing network interface of "
                                          "the resource group")
            return str(given.id)
        nic_name = made_nic(launch.vm_name)
        nic = self._read(lambda: self._network.network_interfaces.get(group, nic_name),
                         "network interface", node, hide=launch.secrets)
        if nic is not None:
            self._check_owner(nic.tags, f"a network interface {nic_name}", node, launch)
            if not _failed(nic.provisioning_state):     # a failed one is put again
                return str(nic.id)
        with self._cloud_errors("finding the VM's subnet", node, hide=launch.secrets):
            placement = network.placement(
                self._network, self.session.subscription, group, launch.location,
                node.infra_id, vnet_name=launch.vnet_name, subnet_name=launch.subnet_name,
                for_containers=False, where=where,
                endpoint=str(self.connection.settings.get("endpoint") or ""))
        ip_id = self._public_ip(node, launch) if launch.public_ip else None
        try:
            with self._cloud_errors("creating the network interface", node, hide=launch.secrets):
                nic = finished(self._network.network_interfaces.begin_create_or_update(
                    group, nic_name, nic_request(launch, placement.subnet_id, ip_id)),
                    CREATE_WAIT, f"{where}: creating network interface {nic_name}")
        except PermanentError as error:
            if network.vanished(placement, error):     # gone with its last node meanwhile
                raise TransientError(error.message, hint=RETRY_HINT) from None
            raise
        log.info("%s: created network interface %s", where, nic_name)
        return str(nic.id)

    def _public_ip(self, node: ResolvedNode, launch: VmLaunch) -> str:
        """The id of the VM's public IP address, made now unless it was before."""
        name = made_ip(launch.vm_name)
        found = self._read(lambda: self._network.public_ip_addresses.get(launch.group, name),
                           "public IP address", node, hide=launch.secrets)
        if found is not None:
            self._check_owner(found.tags, f"a public IP address {name}", node, launch)
            if not _failed(found.provisioning_state):   # a failed one is put again
                return str(found.id)
        with self._cloud_errors("creating the public IP address", node, hide=launch.secrets):
            made = finished(self._network.public_ip_addresses.begin_create_or_update(
                launch.group, name, public_ip_request(launch)),
                CREATE_WAIT, f"{self.where(node)}: creating public IP address {name}")
        log.info("%s: created public IP address %s (%s)", self.where(node), name,
                 made.ip_address)
        return str(made.id)

    def _check_owner(self, tags: Mapping[str, str] | None, what: str, node: ResolvedNode,
                     launch: VmLaunch) -> None:
        """`PermanentError` unless the resource found is tagged for the node."""
        tags = tags or {}
        if tags.get(NODE_TAG) == node.node_id and tags.get(INFRA_TAG) == node.infra_id:
            return
        whose = (f"node {tags[NODE_TAG]}'s" if tags.get(NODE_TAG) else "not made by Occopus")
        raise PermanentError(
            f"{self.where(node)}: the resource group {launch.group} has {what}, {whose}",
            hint="server_name must differ per node, e.g. \"{{name}}-{{cut(node_id,0,8)}}\"; or "
                 "delete what holds the name")

    def _roll_back(self, node: ResolvedNode, launch: VmLaunch) -> None:
        """After Azure refused the VM or a part of it for good: delete the parts made for it
        and release the infrastructure's network. A part left (a failure here) is the
        engine's to drop: `list_owned` finds it."""
        place = _Place(launch.group, launch.vm_name, self._instance(node, launch).data)
        try:
            self._drop_parts(node.infra_id, node.node_id, place)
        except ResourceError as error:
            log.info("%s: rolling back the VM's parts failed: %s", self.where(node),
                     error.message)

    def _instance(self, node: ResolvedNode, launch: VmLaunch) -> Instance:
        made_network = (None if launch.nic_name or launch.vnet_name
                        else network.infra_network_name(node.infra_id))
        return Instance(node.infra_id, node.node_id,
                        vm_id(self.session.subscription, launch.group, launch.vm_name),
                        {GROUP: launch.group, VM: launch.vm_name, NIC: launch.own_nic,
                         IP: launch.own_ip, NETWORK: made_network})

    # --- drop ---------------------------------------------------------------
    def drop_node(self, instance: Instance) -> None:
        place = _place_of(instance)
        if place is None:
            return
        found = self._read(lambda: self._compute.virtual_machines.get(place.group, place.vm),
                           "virtual machine")
        if found is not None and not _owned_by(found.tags, instance.infra_id, instance.node_id):
            log.warning("[%s] VM %s is not node %s's; left alone", self.label, place.vm,
                        instance.node_id)
        elif found is not None:
            disk = found.storage_profile.os_disk if found.storage_profile else None
            disk_id = disk.managed_disk.id if disk is not None and disk.managed_disk else None
            self._delete(f"virtual machine {place.vm}",
                         lambda: self._compute.virtual_machines.begin_delete(place.group,
                                                                             place.vm))
            log.info("[%s] node %s: deleted VM %s", self.label, instance.node_id, place.vm)
            os_disk = ids.parse(disk_id) if disk_id else None
            if os_disk is not None:
                self._delete(f"OS disk {os_disk.name}", lambda: self._compute.disks.begin_delete(
                    os_disk.group, os_disk.name))
        self._drop_parts(instance.infra_id, instance.node_id, place)

    def _drop_parts(self, infra_id: str, node_id: str, place: _Place) -> None:
        """Delete the node's network interface and public IP address (each only when tagged
        for the node), then the infrastructure's network unless a node still uses it."""
        # the operations are reached at their first use: making the client may sign in
        for what, name, operations in (
                ("network interface", place.part(NIC, made_nic(place.vm)),
                 lambda: self._network.network_interfaces),
                ("public IP address", place.part(IP, made_ip(place.vm)),
                 lambda: self._network.public_ip_addresses)):
            if not name:
                continue
            part = self._read(lambda: operations().get(place.group, name), what)
            if part is not None and _owned_by(part.tags, infra_id, node_id):
                self._delete(f"{what} {name}",
                             lambda: operations().begin_delete(place.group, name))
        made_network = place.part(NETWORK, network.infra_network_name(infra_id))
        if made_network:
            with self._cloud_errors("deleting the infrastructure's network"):
                network.release(self._network, place.group, made_network)

    def _delete(self, what: str, begin: Callable[[], LROPoller[Any]]) -> None:
        """Delete and wait (`DELETE_WAIT` at most: still running then is transient); gone
        already (or its resource group) is done. Azure refusing because something still uses
        it (being deleted itself) is transient."""
        try:
            with self._cloud_errors(f"deleting the {what}"):
                try:
                    finished(begin(), DELETE_WAIT, f"[{self.label}] deleting the {what}")
                except ResourceNotFoundError:
                    pass
        except PermanentError as error:
            if "InUse" in error.message or "CannotBeDeleted" in error.message:
                raise TransientError(error.message, hint=RETRY_HINT) from None
            raise

    # --- states -------------------------------------------------------------
    def get_states(self, instances: Sequence[Instance]) -> list[ResourceStatus]:
        addresses: dict[str, _Addresses] = {}
        answers = []
        for place in (_place_of(instance) for instance in instances):
            vm = self._read_vm(place.group, place.vm) if place is not None else None
            if place is None or vm is None:
                answers.append(GONE)
                continue
            group = place.group.lower()
            if group not in addresses:
                addresses[group] = self._addresses(place.group)
            answers.append(self.status_of(vm, addresses[group]))
        return answers

    def _read_vm(self, group: str, name: str) -> VirtualMachine | None:
        """The VM with its instance view (Azure answers that on a list only with a `$filter`);
        None when it, or its resource group, is gone."""
        return self._read(lambda: self._compute.virtual_machines.get(
            group, name, expand="instanceView"), "virtual machine")

    def _addresses(self, group: str) -> _Addresses:
        with self._cloud_errors("listing network interfaces and public IP addresses"):
            try:
                nics = list(self._network.network_interfaces.list(group))
                ips = list(self._network.public_ip_addresses.list(group))
            except ResourceNotFoundError:
                return _Addresses({}, {})
        return _Addresses({str(nic.id).lower(): nic for nic in nics if nic.id},
                          {str(ip.id).lower(): ip for ip in ips if ip.id})

    def status_of(self, vm: VirtualMachine, addresses: _Addresses) -> ResourceStatus:
        """A VM's state (the less ready of its provisioning and power states), its addresses
        (public first) and, when its provisioning failed, Azure's words."""
        statuses = list(vm.instance_view.statuses or ()) if vm.instance_view else []
        provisioning = next((str(status.code) for status in statuses
                             if str(status.code or "").startswith("ProvisioningState/")),
                            f"ProvisioningState/{str(vm.provisioning_state or '').lower()}")
        power = next((str(status.code) for status in statuses
                      if str(status.code or "").startswith("PowerState/")), None)
        detail = None
        if provisioning.lower().startswith("provisioningstate/failed"):   # .../failed/<code>
            failure = next((status for status in statuses if status.code == provisioning), None)
            detail = one_line(str(failure and (failure.message or failure.display_status)
                                  or "provisioning failed"), self.session.secrets)
            provisioning = "ProvisioningState/failed"
        states = [self.map_state(provisioning),
                  self.map_state(power) if power else NodeState.PENDING]
        state = min(states, key=_LEAST_READY_FIRST.index)
        public, private = _vm_addresses(vm, addresses)
        return ResourceStatus(state, tuple(dict.fromkeys(public + private)),
                              private[0] if private else None, detail)

    # --- owned --------------------------------------------------------------
    def list_owned(self, infra_id: str) -> list[Instance]:
        with self._cloud_errors("listing virtual machines, network interfaces and public IP "
                                "addresses"):
            vms = list(self._compute.virtual_machines.list_all())
            nics = list(self._network.network_interfaces.list_all())
            ips = list(self._network.public_ip_addresses.list_all())
        found: dict[tuple[str, str, str], dict[str, Any]] = {}     # (node, group, vm) -> data
        for kind, resources in ((VM, vms), (NIC, nics), (IP, ips)):
            for resource in resources:
                tags = resource.tags or {}
                if tags.get(INFRA_TAG) != infra_id:
                    continue
                name = str(resource.name)
                vm = name if kind == VM else vm_of(name)
                if not tags.get(NODE_TAG) or vm is None:    # marked by hand, not by Occopus
                    log.warning("[%s] %s has %s=%s but was not made by Occopus; left alone",
                                self.label, resource.id, INFRA_TAG, infra_id)
                    continue
                parsed = ids.parse(str(resource.id))
                if parsed is None:      # Azure answered no id of a resource: nothing to find
                    continue
                group = parsed.group
                # the infrastructure's network is released with the node unless its interface
                # is elsewhere (releasing one a node uses, or none, does nothing)
                data = found.setdefault((str(tags[NODE_TAG]), group.lower(), vm),
                                        {GROUP: group, VM: vm, NIC: None, IP: None,
                                         NETWORK: network.infra_network_name(infra_id)})
                if kind != VM:
                    data[kind] = name
                if kind == NIC:
                    data[NETWORK] = network.infra_network_joined(
                        (str(configuration.subnet.id) for configuration
                         in resource.ip_configurations or () if configuration.subnet), infra_id)
        subscription = self.session.subscription
        return [Instance(infra_id, node_id, vm_id(subscription, data[GROUP], vm), data)
                for (node_id, _, vm), data in found.items()]


def vm_id(subscription: str, group: str, name: str) -> str:
    """A VM's ARM id, as the instance's id (its group in lower case: ARM ids ignore case,
    and Azure answers a group's name in either)."""
    return (f"/subscriptions/{subscription}/resourceGroups/{group.lower()}/providers/"
            f"{VM_TYPE}/{name}")


def _place_of(instance: Instance) -> _Place | None:
    """Where the instance's VM is: its data, else its id; None for an id of anything else."""
    data = instance.data
    if data.get(GROUP) and data.get(VM):
        return _Place(str(data[GROUP]), str(data[VM]), data)
    parsed = ids.of_type(instance.instance_id, VM_TYPE)
    return _Place(parsed.group, parsed.name) if parsed is not None else None


def _failed(provisioning_state: object) -> bool:
    """Whether a part's provisioning failed (a PUT of it again may succeed). The SDK answers
    the state as an enum whose str() is its Python name, or as text."""
    return str(getattr(provisioning_state, "value", provisioning_state) or "").lower() == "failed"


def _owned_by(tags: Mapping[str, str] | None, infra_id: str, node_id: str) -> bool:
    tags = tags or {}
    return tags.get(INFRA_TAG) == infra_id and tags.get(NODE_TAG) == node_id


def _vm_addresses(vm: VirtualMachine, addresses: _Addresses) -> tuple[list[str], list[str]]:
    """The VM's public and private addresses, its primary interface's first."""
    references = list(vm.network_profile.network_interfaces or ()) if vm.network_profile else []
    references.sort(key=lambda reference: not reference.primary)
    public: list[str] = []
    private: list[str] = []
    for reference in references:
        nic = addresses.nics.get(str(reference.id).lower())
        configurations = list(nic.ip_configurations or ()) if nic is not None else []
        configurations.sort(key=lambda configuration: not configuration.primary)
        for configuration in configurations:
            ip = configuration.public_ip_address
            listed = addresses.ips.get(str(ip.id).lower()) if ip is not None and ip.id else None
            if listed is not None and listed.ip_address:
                public.append(str(listed.ip_address))
            if configuration.private_ip_address:
                private.append(str(configuration.private_ip_address))
    return public, private
