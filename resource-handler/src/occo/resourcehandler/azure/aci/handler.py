"""`AciHandler`: nodes as container groups of Azure Container Instances, through the Azure SDK.

One node per create call: a container group of one container (`launch`),
tagged with the infrastructure, node and owner as it is made. Creates are
idempotent by node id: holding a lock per node (concurrent creates of a node
in this process wait for each other), the handler makes sure of the resource
group (made in the section's location when absent, never deleted, as for
azure_vm), then reads the group of the node's name and answers it when it
carries the node's tags (infrastructure and node); else it sends the group's
PUT and answers Azure's first answer, without waiting for the group to run
(the engine polls its state). A private group joins a subnet delegated to
container groups (`network.placement`: the infrastructure's network, made
when absent, or the section's vnet_name/subnet_name); a PUT that meets that
network deleted meanwhile (its last node's drop) is transient: the retry
makes it again.

States: one list of each resource group's container groups answers the
provisioning state of every instance of a batch; Azure's list leaves out the
instance views, so a group whose provisioning is over (Succeeded or Failed)
is read once more, for its instance view: it is READY when that says
Running, and a failed one reports what Azure's events say. Addresses: the IP
first, then the DNS name of a public group (health checks and getip() must
not depend on DNS).

A drop deletes the group if it carries the node's tags (a group of that
name that is not the node's is left, with a warning), waits until Azure has
(`operations.finished`), then tries to delete the infrastructure's network
(Azure refuses while another node uses it; the last node's drop removes it).
A group already gone is a success. What Azure's events say of a failed group
is quoted on one line, the client secret hidden.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import ClassVar

from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.containerinstance import ContainerInstanceManagementClient
from azure.mgmt.containerinstance.models import ContainerGroup

from occo.util.nodes import NodeState, ResolvedNode

from ...base import (GONE, INFRA_TAG, NODE_TAG, Capabilities, Instance, PermanentError,
                     ResourceError, ResourceStatus, TransientError, each)
from ...httpanswers import RETRY_HINT, one_line
from ...locks import KeyedLocks
from .. import ids, network
from ..handler import AzureHandler
from ..operations import DELETE_WAIT, finished
from ..session import ensure_resource_group
from .launch import PRIVATE, GroupRequest, group_model, request_of
from .schema import AZURE_ACI

log = logging.getLogger("occo.resourcehandler.azure.aci")

_NODE_LOCKS = KeyedLocks()
GROUP_TYPE = "Microsoft.ContainerInstance/containerGroups"
NETWORK = "network"             # in an instance's data: the infrastructure's network it joined
SHORTEST_HIDDEN = 4             # an environment value shorter than this is not hidden
# provisioning states after which the instance view says more
SETTLED = frozenset({"Succeeded", "Failed"})
# Azure's words for a problem: event types and names in an instance view
PROBLEM_EVENTS = frozenset({"warning", "failed", "error", "backoff", "failedmount"})


class AciHandler(AzureHandler):
    """Container groups of one subscription, reached through one Resource Manager endpoint
    with one service principal."""

    type_name = "azure_aci"
    schema = AZURE_ACI
    # what to check, by Azure's error code
    HINTS: ClassVar[Mapping[str, str]] = {
        "InaccessibleImage": "check image: it must name an image Azure can pull, e.g. nginx:alpine "
                             "from Docker Hub",
        "ResourceGroupNotFound": "resource_group must name a resource group of the subscription "
                                 "(az group create --name NAME --location LOCATION)",
        "SubnetMissingRequiredDelegation": "the subnet must be delegated to "
                                           f"{network.ACI_SERVICE}: name such a subnet in "
                                           "subnet_name, or leave vnet_name out to have "
                                           "Occopus make one",
        "LocationNotAvailableForResourceType": "check location: container groups are not offered "
                                               "there (az provider show -n "
                                               "Microsoft.ContainerInstance)",
        "NoRegisteredProviderFound": "check location, and that the subscription has "
                                     "Microsoft.ContainerInstance registered",
        "ContainerGroupQuotaReached": "the subscription's quota of container groups is used up: "
                                      "delete unused ones or ask for more",
        "InvalidOsType": "write os_type: Linux or Windows",
    }
    # states of a batch: a list per resource group, and a read per group whose provisioning
    # is over (the list has no instance views)
    capabilities = Capabilities(creates_per_call=1, states_per_call=50)
    # provisioningState, the original's (Pending/Creating -> pending, Succeeded -> ready)
    STATE_MAP: ClassVar[Mapping[str, NodeState]] = {
        "Pending": NodeState.PENDING, "Creating": NodeState.PENDING,
        "Succeeded": NodeState.READY,
        "Failed": NodeState.FAILED,
        "Deleting": NodeState.SHUTDOWN, "Stopped": NodeState.SHUTDOWN,
        "Terminated": NodeState.SHUTDOWN,
    }
    # a provisioned group's instance view: READY only while it runs
    INSTANCE_STATES: ClassVar[Mapping[str, NodeState]] = {
        "Pending": NodeState.PENDING, "Waiting": NodeState.PENDING,
        "Running": NodeState.READY,
        "Failed": NodeState.FAILED,
        "Stopped": NodeState.SHUTDOWN, "Terminated": NodeState.SHUTDOWN,
        "Succeeded": NodeState.SHUTDOWN,    # its containers ran to their end
    }

    @property
    def _containers(self) -> ContainerInstanceManagementClient:
        return self.session.client(ContainerInstanceManagementClient)

    # --- create -------------------------------------------------------------
    def create_nodes(self, nodes: Sequence[ResolvedNode]) -> list[Instance | ResourceError]:
        return each(nodes, self._create)

    def _create(self, node: ResolvedNode) -> Instance:
        where = self.where(node)
        request = request_of(node, where)       # a section that cannot make a group sends nothing
        with _NODE_LOCKS.holding(self._name_key(request.resource_group, request.name)):
            with self._cloud_errors("making sure of the resource group", node):
                ensure_resource_group(self.session, request.resource_group, request.location,
                                      where=where)
            found = self._group(request.resource_group, request.name, node)
            if found is not None:
                if not _owned_by(found.tags, node.infra_id, node.node_id):
                    raise PermanentError(
                        f"{where}: the resource group {request.resource_group} has a container "
                        f"group {request.name} that is not this node's",
                        hint=f"delete it (az container delete -g {request.resource_group} -n "
                             f"{request.name}) or use another resource group")
                log.debug("%s: found container group %s, made before", where, request.name)
                return self._instance(node.infra_id, node.node_id, found)
            return self._send(node, request)

    def _send(self, node: ResolvedNode, request: GroupRequest) -> Instance:
        where = self.where(node)
        placement: network.Placement | None = None
        if request.private:
            try:
                with self._cloud_errors("finding the container group's subnet", node):
                    placement = network.placement(
                        self._network, self.session.subscription, request.resource_group,
                        request.location, node.infra_id, vnet_name=request.vnet_name,
                        subnet_name=request.subnet_name, for_containers=True, where=where,
                        endpoint=str(self.connection.settings.get("endpoint") or ""))
            except PermanentError:      # e.g. the network's create failed: it goes
                if not request.vnet_name:
                    self._release(request.resource_group,
                                  network.infra_network_name(node.infra_id))
                raise
        made_network = placement.made_network if placement else None
        try:
            with self._cloud_errors("creating the container group", node,
                                    hide=[value for _, value in request.environment
                                          if len(value) >= SHORTEST_HIDDEN]):
                made = self._containers.container_groups.begin_create_or_update(
                    request.resource_group, request.name,
                    group_model(request, placement.subnet_id if placement else None),
                    polling=False).result()
        except PermanentError as error:
            if placement is not None and network.vanished(placement, error):
                # the infrastructure's network went with its last node meanwhile: make it again
                raise TransientError(error.message, hint=RETRY_HINT) from None
            self._release(request.resource_group, made_network)
            raise
        if not made.id:         # a retry finds the group by its name, if one was made
            raise TransientError(f"{where}: Azure answered a container group's create without "
                                 "an id", hint=RETRY_HINT)
        log.info("%s: created container group %s (%s)", where, request.name,
                 made.provisioning_state)
        return Instance(node.infra_id, node.node_id, str(made.id), {NETWORK: made_network})

    def _release(self, resource_group: str, made_network: str | None) -> None:
        """After a refused create: the infrastructure's network goes unless a node uses it."""
        if made_network is None:
            return
        try:
            with self._cloud_errors("deleting the infrastructure's network"):
                network.release(self._network, resource_group, made_network)
        except ResourceError as error:       # a later drop deletes it
            log.debug("%s", error.message)

    def _group(self, resource_group: str, name: str,
               node: ResolvedNode | None = None) -> ContainerGroup | None:
        """The container group of that name, with its instance view; None when there is
        none (nor its resource group)."""
        return self._read(lambda: self._containers.container_groups.get(resource_group, name),
                          "container group", node)

    # --- drop ---------------------------------------------------------------
    def drop_node(self, instance: Instance) -> None:
        parts = _parts(instance.instance_id)
        if parts is None:
            return
        resource_group, name = parts
        found = self._group(resource_group, name)
        if found is not None and not _owned_by(found.tags, instance.infra_id, instance.node_id):
            log.warning("[%s] node %s: the container group %s is not this node's (its tags "
                        "say otherwise); left alone", self.label, instance.node_id, name)
        elif found is not None:
            with self._cloud_errors("deleting the container group"):
                try:
                    finished(self._containers.container_groups.begin_delete(resource_group, name),
                             DELETE_WAIT, f"[{self.label}] deleting container group {name}")
                except ResourceNotFoundError:       # gone meanwhile, or its resource group
                    pass
            log.info("[%s] node %s: deleted container group %s", self.label, instance.node_id,
                     name)
        made_network = instance.data.get(NETWORK)
        if made_network:
            with self._cloud_errors("deleting the infrastructure's network"):
                network.release(self._network, resource_group, str(made_network))

    # --- states -------------------------------------------------------------
    def get_states(self, instances: Sequence[Instance]) -> list[ResourceStatus]:
        listed: dict[str, dict[str, ContainerGroup]] = {}
        seen: dict[str, ResourceStatus] = {}
        answers = []
        for instance in instances:
            key = instance.instance_id.lower()
            if key not in seen:
                seen[key] = self._state(instance, listed)
            answers.append(seen[key])
        return answers

    def _state(self, instance: Instance,
               listed: dict[str, dict[str, ContainerGroup]]) -> ResourceStatus:
        parts = _parts(instance.instance_id)
        if parts is None:
            return GONE
        resource_group, name = parts
        if resource_group.lower() not in listed:
            listed[resource_group.lower()] = self._listed(resource_group)
        group = listed[resource_group.lower()].get(instance.instance_id.lower())
        if group is not None and group.provisioning_state in SETTLED:
            group = self._group(resource_group, name)
        return GONE if group is None else self._status(group)

    def _listed(self, resource_group: str) -> dict[str, ContainerGroup]:
        """The resource group's container groups by id (lowercase); none if it is gone."""
        with self._cloud_errors("listing container groups"):
            try:
                groups = list(self._containers.container_groups
                              .list_by_resource_group(resource_group))
            except ResourceNotFoundError:
                return {}
        return {str(group.id).lower(): group for group in groups if group.id}

    def _status(self, group: ContainerGroup) -> ResourceStatus:
        """A group's state, addresses (IP first) and, when it failed, Azure's words."""
        provisioning = str(group.provisioning_state or "")
        state = self.map_state(provisioning)
        running = group.instance_view.state if group.instance_view is not None else None
        if provisioning == "Succeeded" and running:
            state = self.INSTANCE_STATES.get(str(running), NodeState.UNKNOWN)
        address = group.ip_address
        ip = address.ip if address is not None else None
        fqdn = address.fqdn if address is not None else None
        private = ip if address is not None and str(address.type) == PRIVATE else None
        detail = (one_line(_problem(group), self.session.secrets)
                  if state is NodeState.FAILED else None)
        return ResourceStatus(state, tuple(str(item) for item in (ip, fqdn) if item),
                              private, detail)

    # --- owned --------------------------------------------------------------
    def list_owned(self, infra_id: str) -> list[Instance]:
        with self._cloud_errors("listing container groups"):
            groups = list(self._containers.container_groups.list())
        owned = []
        for group in groups:
            tags = group.tags or {}
            if tags.get(INFRA_TAG) != infra_id or group.provisioning_state == "Deleting":
                continue
            if not tags.get(NODE_TAG):       # marked by hand, not made by Occopus
                log.warning("[%s] container group %s has %s=%s but no %s; left alone",
                            self.label, group.name, INFRA_TAG, infra_id, NODE_TAG)
                continue
            owned.append(self._instance(infra_id, str(tags[NODE_TAG]), group))
        return owned

    # --- helpers ------------------------------------------------------------
    @staticmethod
    def _instance(infra_id: str, node_id: str, group: ContainerGroup) -> Instance:
        """The instance of a group found on Azure: its network is the infrastructure's if one
        of its subnets is in it."""
        made_network = network.infra_network_joined(
            (str(subnet.id) for subnet in group.subnet_ids or ()), infra_id)
        return Instance(infra_id, node_id, str(group.id), {NETWORK: made_network})


def _parts(instance_id: str) -> tuple[str, str] | None:
    """(resource group, name) of a container group's ARM id; None for anything else."""
    parsed = ids.of_type(instance_id, GROUP_TYPE)
    return (parsed.group, parsed.name) if parsed is not None else None


def _owned_by(tags: Mapping[str, str] | None, infra_id: str, node_id: str) -> bool:
    """Whether a group's tags say it is the node's, of its infrastructure."""
    tags = tags or {}
    return tags.get(INFRA_TAG) == infra_id and tags.get(NODE_TAG) == node_id


def _problem(group: ContainerGroup) -> str:
    """What Azure says of a failed group: its instance views' problem events, else its
    provisioning state."""
    events = list(group.instance_view.events or ()) if group.instance_view else []
    for container in group.containers or ():
        if container.instance_view is not None:
            events += list(container.instance_view.events or ())
    said = [str(event.message).strip() for event in events if event.message and (
        str(event.type or "").lower() in PROBLEM_EVENTS
        or str(event.name or "").lower() in PROBLEM_EVENTS)]
    return "; ".join(dict.fromkeys(said)) or (
        f"the container group's provisioning state is {group.provisioning_state}")
