"""The network a node of an infrastructure joins, shared by the azure_vm and azure_aci types.

A section naming `vnet_name` (and `subnet_name`) uses that network as it is:
it must exist. Without them, every node of an infrastructure in a resource
group joins one virtual network made for the infrastructure,
`occopus-<infra id>` (10.0.0.0/16, tagged with the infrastructure id): VMs in
its subnet `default`, private container groups in its subnet `aci`, delegated
to Azure Container Instances. So the nodes of one infrastructure reach each
other on their private addresses (the original made a network per VM, which
they could not). The network goes with the infrastructure's last node: each
drop tries to delete it once its own pieces are gone, and Azure refuses while
another node still uses it. A create that meets the network gone meanwhile
(`vanished`) is tried again: the retry makes it anew.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.network.models import AddressSpace, Delegation, Subnet, VirtualNetwork

from ..base import INFRA_TAG, PermanentError, ResourceError
from ..locks import KeyedLocks
from . import ids
from .errors import error_code
from .operations import CREATE_WAIT, DELETE_WAIT, finished

ADDRESS_SPACE = "10.0.0.0/16"
VM_SUBNET = "default"
ACI_SUBNET = "aci"
ACI_SERVICE = "Microsoft.ContainerInstance/containerGroups"
NETWORK_TYPE = "Microsoft.Network/virtualNetworks"
SUBNET_TYPE = "Microsoft.Network/virtualNetworks/subnets"
# Azure's error codes for a create naming a subnet or network that is gone or going
VANISHED_CODES = ("InvalidResourceReference", "SubnetNotFound", "ReferencedResourceNotProvisioned")
_SUBNETS = {VM_SUBNET: "10.0.0.0/24", ACI_SUBNET: "10.0.1.0/24"}
_MADE = KeyedLocks()
NETWORK_HINT = ("vnet_name (and subnet_name) must name an existing virtual network (and subnet) "
                "of the resource group; leave them out to have Occopus make one")


@dataclass(frozen=True)
class Placement:
    """Where a node's network interface or container group goes."""

    subnet_id: str
    made_network: str | None        # the infrastructure's network, when the node is in it


def infra_network_name(infra_id: str) -> str:
    return f"occopus-{infra_id}"


def network_of_subnet(subnet_id: str) -> str | None:
    """The name of the virtual network of a subnet's id (ids in any case); None for an id of
    anything else."""
    parsed = ids.of_type(subnet_id, SUBNET_TYPE)
    return parsed.names[0] if parsed is not None else None


def infra_network_joined(subnet_ids: Iterable[str], infra_id: str) -> str | None:
    """The infrastructure's network, if one of the subnets is in it (as a drop must know)."""
    mine = infra_network_name(infra_id)
    for subnet_id in subnet_ids:
        name = network_of_subnet(subnet_id)
        if name is not None and name.lower() == mine.lower():
            return mine
    return None


def vanished(placement: Placement, error: ResourceError) -> bool:
    """Whether a create refused with `error` met the infrastructure's network gone (its last
    node dropped meanwhile): a retry makes the network again, so the error is transient."""
    return placement.made_network is not None and any(
        f" {code}:" in error.message for code in VANISHED_CODES)


def lock_key(endpoint: str, subscription: str, group: str, name: str) -> str:
    """A network's key for a lock of this process: Azure's names ignore case."""
    return f"{endpoint}|{subscription}|{group.lower()}|{name.lower()}"


def placement(client: NetworkManagementClient, subscription: str, group: str, location: str,
              infra_id: str, *, vnet_name: str | None, subnet_name: str | None,
              for_containers: bool, where: str, endpoint: str = "") -> Placement:
    """The subnet a node joins: the one the section names, else its infrastructure's (made
    now unless it was before). `endpoint`: the Resource Manager's, for the lock."""
    if vnet_name:
        return Placement(_named_subnet(client, group, vnet_name, subnet_name,
                                       for_containers=for_containers, where=where), None)
    name = infra_network_name(infra_id)
    subnet = ACI_SUBNET if for_containers else VM_SUBNET
    with _MADE.holding(lock_key(endpoint, subscription, group, name)):  # one create at a time
        _ensure_network(client, group, location, infra_id, name)
    subnet_id = (f"/subscriptions/{subscription}/resourceGroups/{group}"
                 f"/providers/Microsoft.Network/virtualNetworks/{name}/subnets/{subnet}")
    return Placement(subnet_id, name)


def _ensure_network(client: NetworkManagementClient, group: str, location: str,
                    infra_id: str, name: str) -> None:
    try:
        found = client.virtual_networks.get(group, name)
    except ResourceNotFoundError:
        found = None
    if found is not None and found.provisioning_state != "Failed" \
            and {subnet.name for subnet in found.subnets or ()} >= set(_SUBNETS):
        return
    network = VirtualNetwork(
        location=location, tags={INFRA_TAG: infra_id},
        address_space=AddressSpace(address_prefixes=[ADDRESS_SPACE]),
        subnets=[Subnet(name=subnet, address_prefix=prefix,
                        delegations=[Delegation(name="aci", service_name=ACI_SERVICE)]
                        if subnet == ACI_SUBNET else None)
                 for subnet, prefix in _SUBNETS.items()])
    finished(client.virtual_networks.begin_create_or_update(group, name, network), CREATE_WAIT,
             f"making the virtual network {name}")


def _named_subnet(client: NetworkManagementClient, group: str, vnet_name: str,
                  subnet_name: str | None, *, for_containers: bool, where: str) -> str:
    try:
        network = client.virtual_networks.get(group, vnet_name)
    except ResourceNotFoundError:
        raise PermanentError(f"{where}: the resource group {group} has no virtual network "
                             f"{vnet_name!r}", hint=NETWORK_HINT) from None
    subnets = list(network.subnets or ())
    if subnet_name:
        subnets = [subnet for subnet in subnets if subnet.name == subnet_name]
    else:       # the first subnet fit for the node: delegated to containers, or not
        subnets = [subnet for subnet in subnets
                   if any(d.service_name == ACI_SERVICE for d in subnet.delegations or ())
                   == for_containers]
    if not subnets:
        raise PermanentError(f"{where}: the virtual network {vnet_name!r} has no subnet "
                             + (repr(subnet_name) if subnet_name else
                                "delegated to container groups" if for_containers else
                                "free of delegations"), hint=NETWORK_HINT)
    return str(subnets[0].id)


def release(client: NetworkManagementClient, group: str, made_network: str | None) -> None:
    """Delete the infrastructure's network if no node uses it any more (Azure refuses while
    one does: then a later drop deletes it)."""
    if not made_network:
        return
    try:
        finished(client.virtual_networks.begin_delete(group, made_network), DELETE_WAIT,
                 f"deleting the virtual network {made_network}")
    except ResourceNotFoundError:
        pass
    except HttpResponseError as error:     # refused at once (400), or by its operation (200)
        if "InUse" not in error_code(error):
            raise
