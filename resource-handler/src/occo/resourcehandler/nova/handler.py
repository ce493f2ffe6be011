"""`NovaHandler`: nodes as servers on an OpenStack cloud, through openstacksdk.

One node per create call. Creates are idempotent by node id: before creating,
the handler looks for a server of the node's name whose metadata carries the
node's ids, holding a lock per node (concurrent creates of a node in this
process wait for each other). Nova stores a server before it answers the
create, so a retry after a lost answer, or after a crash, finds what the
first attempt made.

States are read with one list call (servers with details) for a batch. A
server that wants a floating IP (see `launch`) gets one when it is first seen
ACTIVE: Neutron allocates it from the pool and binds it to the server's port
in one call, described with the node's ids so that it is found again and
released when the node is dropped. The server is READY once it has it.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import ClassVar

from openstack.compute.v2.server import Server
from openstack.network.v2.floating_ip import FloatingIP
from openstack.utils import supports_microversion

from occo.util.nodes import NodeState, ResolvedNode
from occo.util.redact import secret_values

from ..base import (GONE, INFRA_TAG, NODE_TAG, Capabilities, Connection, Instance,
                    PermanentError, ResourceError, ResourceHandler, ResourceStatus,
                    TransientError, each, raised_as_contract)
from ..locks import KeyedLocks
from . import client as nova_client
from .errors import ATTACH_FLOATING_IP, CREATE_SERVER, classify
from .launch import FLOATING_KEY, check, floating_pool, server_name, server_request
from .schema import NOVA

log = logging.getLogger("occo.resourcehandler.nova")

_NODE_LOCKS = KeyedLocks()
FLOATING = "floating_ip"        # in an instance's data: whether it wanted a floating IP
GONE_STATES = frozenset({"DELETED", "SOFT_DELETED"})
NETWORKS_REQUIRED = "2.37"      # the compute microversion from which a create says `networks`


class NovaHandler(ResourceHandler):
    """Servers of one Keystone endpoint, project and region, reached with one credential."""

    type_name = "nova"
    schema = NOVA
    capabilities = Capabilities(creates_per_call=1, states_per_call=200)
    STATE_MAP: ClassVar[Mapping[str, NodeState]] = {
        # the original's
        "BUILD": NodeState.PENDING, "REBUILD": NodeState.PENDING, "RESIZE": NodeState.PENDING,
        "VERIFY_RESIZE": NodeState.PENDING, "MIGRATING": NodeState.PENDING,
        "ACTIVE": NodeState.READY, "ERROR": NodeState.FAILED, "DELETED": NodeState.SHUTDOWN,
        # states the original did not know (it raised NotImplementedError on them)
        "REBOOT": NodeState.PENDING, "HARD_REBOOT": NodeState.PENDING,
        "PASSWORD": NodeState.PENDING, "REVERT_RESIZE": NodeState.PENDING,
        "SHUTOFF": NodeState.TEMP_FAILED, "SUSPENDED": NodeState.TEMP_FAILED,
        "PAUSED": NodeState.TEMP_FAILED, "RESCUE": NodeState.TEMP_FAILED,
        "SHELVED": NodeState.TEMP_FAILED, "SHELVED_OFFLOADED": NodeState.TEMP_FAILED,
        "SOFT_DELETED": NodeState.SHUTDOWN,
    }

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        self._secrets = secret_values(connection.credentials, masked=True)
        self._cloud = nova_client.make_connection(connection)
        self._flavors: dict[str, tuple[str, int]] = {}
        self._pools: dict[str, str] = {}
        settings = connection.settings
        self._lock_scope = (f"{settings.get('endpoint')}|{settings.get('project_id')}|"
                            f"{settings.get('region_name')}")

    def close(self) -> None:
        self._cloud.close()

    # --- create -------------------------------------------------------------
    def create_nodes(self, nodes: Sequence[ResolvedNode]) -> list[Instance | ResourceError]:
        return each(nodes, self._create)

    def _create(self, node: ResolvedNode) -> Instance:
        where = self.where(node)
        check(node, where)          # a section that cannot make a server sends nothing
        with _NODE_LOCKS.holding(f"{self._lock_scope}|{node.node_id}"):
            made = self._made_before(node)
            if made is not None:
                log.debug("%s: found server %s, made before", where, made.id)
                return self._instance(node.infra_id, node.node_id, made)
            flavor_id, disk = self._flavor(node)
            request = server_request(node, flavor_id, disk, where,
                                     networks_required=self._networks_required(node))
            with self._cloud_errors(CREATE_SERVER, node):
                server = self._cloud.compute.create_server(**request)
            if not server.id:       # a retry finds the server by its metadata, if one was made
                raise TransientError(f"{where}: the cloud answered a server create without an "
                                     "id", hint="the engine retries")
            log.info("%s: created server %s", where, server.id)
            return Instance(node.infra_id, node.node_id, str(server.id),
                            {FLOATING: floating_pool(node) is not None})

    def _networks_required(self, node: ResolvedNode) -> bool:
        """Whether the compute microversion openstacksdk negotiates (up to the Server
        resource's newest) is 2.37 or later, from which Nova requires `networks`."""
        with self._cloud_errors("reading the compute API's versions", node):
            return supports_microversion(self._cloud.compute, NETWORKS_REQUIRED)

    def _made_before(self, node: ResolvedNode) -> Server | None:
        """The server of this node's name and ids, if there is one, a live one first."""
        name = server_name(node)
        with self._cloud_errors("listing servers", node):
            found = [server for server in self._cloud.compute.servers(
                         details=True, name=f"^{_regex_escape(name)}$")
                     if _owned_by(server, node.infra_id, node.node_id)]
        found.sort(key=lambda server: server.status in GONE_STATES)
        return found[0] if found else None

    def _flavor(self, node: ResolvedNode) -> tuple[str, int]:
        """The id and disk size of the node's flavor, by name or id (looked up once)."""
        name = str(node.resource["flavor_name"])
        if name not in self._flavors:
            with self._cloud_errors("finding the flavor", node):
                flavor = self._cloud.compute.find_flavor(name, ignore_missing=True)
            if flavor is None:
                raise PermanentError(f"{self.where(node)}: the cloud has no flavor {name!r}",
                                     hint="check flavor_name: it must name a flavor of the "
                                          "cloud (openstack flavor list)")
            self._flavors[name] = (str(flavor.id), int(flavor.disk or 0))
        return self._flavors[name]

    # --- drop ---------------------------------------------------------------
    def drop_node(self, instance: Instance) -> None:
        if instance.data.get(FLOATING, True):
            with self._cloud_errors("releasing the floating IP"):
                for address in self._floating_ips(instance):
                    self._cloud.network.delete_ip(address, ignore_missing=True)
        with self._cloud_errors("deleting the server"):
            self._cloud.compute.delete_server(instance.instance_id, ignore_missing=True)

    # --- states -------------------------------------------------------------
    def get_states(self, instances: Sequence[Instance]) -> list[ResourceStatus]:
        if not instances:
            return []
        with self._cloud_errors("listing servers"):
            found = {str(server.id): server for server in self._cloud.compute.servers(
                details=True)}
        return [self._status(instance, found[instance.instance_id])
                if instance.instance_id in found else GONE for instance in instances]

    def _status(self, instance: Instance, server: Server) -> ResourceStatus:
        status = str(server.status or "").upper()
        state = self.map_state(status)
        floating, fixed = _addresses(server)
        detail = None
        if status == "ERROR":
            detail = str((server.fault or {}).get("message") or "") or None
        metadata = server.metadata or {}
        if state is NodeState.READY and not floating and FLOATING_KEY in metadata:
            try:
                floating = self._attach_floating_ip(instance, server, metadata[FLOATING_KEY])
            except PermanentError as error:
                return ResourceStatus(NodeState.FAILED, tuple(fixed), fixed[0] if fixed else None,
                                      error.message)
            except TransientError as error:     # this node waits; the batch's others are read
                return ResourceStatus(NodeState.PENDING, tuple(fixed),
                                      fixed[0] if fixed else None, error.message)
            if not floating:
                return ResourceStatus(NodeState.PENDING, tuple(fixed), fixed[0] if fixed else None,
                                      "waiting for the server's port to attach a floating IP")
        return ResourceStatus(state, tuple(dict.fromkeys([*floating, *fixed])),
                              fixed[0] if fixed else None, detail)

    def _attach_floating_ip(self, instance: Instance, server: Server, pool: str) -> list[str]:
        """The server's floating address, allocated and bound now unless one was before;
        [] while the server has no port yet."""
        with _NODE_LOCKS.holding(f"{self._lock_scope}|{instance.node_id}"), \
                self._cloud_errors(ATTACH_FLOATING_IP):
            bound = [ip.floating_ip_address for ip in self._floating_ips(instance) if ip.port_id]
            if bound:
                return bound
            ports = list(self._cloud.network.ports(device_id=server.id))
            if not ports:
                return []
            made = self._cloud.network.create_ip(floating_network_id=self._pool_id(pool),
                                                 port_id=ports[0].id,
                                                 description=_marker(instance))
            log.info("[%s] node %s: floating IP %s", self.label, instance.node_id,
                     made.floating_ip_address)
            return [str(made.floating_ip_address)]

    def _floating_ips(self, instance: Instance) -> list[FloatingIP]:
        """The node's floating IPs. Neutron is asked for them by description, and they are
        checked here too: a Neutron without filter validation ignores a filter it does not
        know and answers every floating IP of the project."""
        marker = _marker(instance)
        return [ip for ip in self._cloud.network.ips(description=marker)
                if ip.description == marker]

    def _pool_id(self, pool: str) -> str:
        """The id of the external network `pool` names ("": the first one there is)."""
        if pool not in self._pools:
            if pool:
                network = self._cloud.network.find_network(pool, ignore_missing=True)
            else:
                network = next(iter(self._cloud.network.networks(is_router_external=True)), None)
            if network is None:
                raise PermanentError(
                    f"[{self.label}] the cloud has no floating IP pool "
                    + (f"{pool!r}" if pool else "(no external network)"),
                    hint="check floating_ip_pool: it must name an external network "
                         "(openstack network list --external)")
            self._pools[pool] = str(network.id)
        return self._pools[pool]

    def list_owned(self, infra_id: str) -> list[Instance]:
        with self._cloud_errors("listing servers"):
            servers = list(self._cloud.compute.servers(details=True))
        owned = []
        for server in servers:
            metadata = server.metadata or {}
            if metadata.get(INFRA_TAG) != infra_id or server.status in GONE_STATES:
                continue
            if not metadata.get(NODE_TAG):      # marked by hand, not made by Occopus
                log.warning("[%s] server %s has %s=%s but no %s; left alone", self.label,
                            server.id, INFRA_TAG, infra_id, NODE_TAG)
                continue
            owned.append(self._instance(infra_id, str(metadata[NODE_TAG]), server))
        return owned

    # --- helpers ------------------------------------------------------------
    @staticmethod
    def _instance(infra_id: str, node_id: str, server: Server) -> Instance:
        return Instance(infra_id, node_id, str(server.id),
                        {FLOATING: FLOATING_KEY in (server.metadata or {})})

    def _cloud_errors(self, operation: str,
                      node: ResolvedNode | None = None) -> AbstractContextManager[None]:
        """Raise what the SDK raises as a `TransientError` or `PermanentError`; bugs pass."""
        return raised_as_contract(lambda error: classify(
            error, where=self.where(node), operation=operation, secrets=self._secrets))


def _owned_by(server: Server, infra_id: str, node_id: str) -> bool:
    metadata = server.metadata or {}
    return metadata.get(INFRA_TAG) == infra_id and metadata.get(NODE_TAG) == node_id


def _addresses(server: Server) -> tuple[list[str], list[str]]:
    """The server's floating and fixed addresses, each in the cloud's order."""
    floating: list[str] = []
    fixed: list[str] = []
    for entries in (server.addresses or {}).values():
        for entry in entries or ():
            address = entry.get("addr")
            if address:
                (floating if entry.get("OS-EXT-IPS:type") == "floating" else fixed).append(
                    str(address))
    return floating, fixed


def _marker(instance: Instance) -> str:
    """The description of a node's floating IP: how it is found again."""
    return f"occopus {instance.infra_id} {instance.node_id}"


def _regex_escape(text: str) -> str:
    """`text` as a regular expression matching itself (Nova's name filter is a regex)."""
    return "".join(f"\\{char}" if char in r".^$*+?{}[]\|()" else char for char in text)

