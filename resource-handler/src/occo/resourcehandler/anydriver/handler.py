"""`LibcloudHandler`: nodes through any Apache Libcloud compute driver.

One node per create call. Creates are idempotent by node id: holding a lock
per node, the handler looks for a listed node of the node's name that carries
its ids, and creates only when there is none; a driver whose create_node takes
`ex_clienttoken` (EC2) is given one made of the node's ids, so that the cloud
itself makes a retried create once. Ownership is marked by the
create itself (`launch`): the driver's metadata or tags where its create_node
takes them, else the node's name. A driver that ignores even the name (the
Dummy driver names its nodes itself) cannot be told which node is whose
after a restart: the handler remembers what it made while it lives, and
warns once per node that `list_owned` of a later process will not find it.

States are read with one `list_nodes` call for a batch, Libcloud's NodeState
mapped to Occopus's. A drop finds the node in the list (some drivers need
more of it than its id) and destroys it; a node not listed is gone. A destroy
the driver answers with False (as many do, rather than raise) is retried.

Libcloud's drivers are not made for threads (a connection keeps the request
it is sending and the answer it got), so each thread that calls a handler has
a driver of its own (`driver.ThreadDrivers`), made on its first call and closed
by `close`; calls for one node still take turns under its lock.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import ClassVar, TypeVar

from libcloud.common.exceptions import BaseHTTPError
from libcloud.compute.base import Node, NodeDriver, NodeImage, NodeLocation, NodeSize
from libcloud.compute.types import NodeState as CloudState

from occo.util.nodes import NodeState, ResolvedNode
from occo.util.redact import secret_values

from ..base import (GONE, Capabilities, Connection, Instance, PermanentError, ResourceError,
                    ResourceHandler, ResourceStatus, TransientError, each)
from ..httpanswers import RETRY_HINT
from ..locks import KeyedLocks
from .driver import ThreadDrivers
from .errors import classify
from .launch import (CLIENT_TOKEN_ARG, Abilities, client_token, create_arguments, node_name,
                     owner_of)
from .schema import LIBCLOUD

log = logging.getLogger("occo.resourcehandler.libcloud")

_NODE_LOCKS = KeyedLocks()
T = TypeVar("T")


class LibcloudHandler(ResourceHandler):
    """Nodes of one Libcloud driver, made with one set of arguments and credentials."""

    type_name = "libcloud"
    schema = LIBCLOUD
    capabilities = Capabilities(creates_per_call=1, states_per_call=500)
    STATE_MAP: ClassVar[Mapping[str, NodeState]] = {
        CloudState.PENDING.value: NodeState.PENDING, CloudState.STARTING.value: NodeState.PENDING,
        CloudState.REBOOTING.value: NodeState.PENDING,
        CloudState.RECONFIGURING.value: NodeState.PENDING,
        CloudState.MIGRATING.value: NodeState.PENDING, CloudState.UPDATING.value: NodeState.PENDING,
        CloudState.RUNNING.value: NodeState.READY, CloudState.NORMAL.value: NodeState.READY,
        CloudState.STOPPING.value: NodeState.TEMP_FAILED,
        CloudState.STOPPED.value: NodeState.TEMP_FAILED,
        CloudState.SUSPENDED.value: NodeState.TEMP_FAILED,
        CloudState.PAUSED.value: NodeState.TEMP_FAILED,
        CloudState.ERROR.value: NodeState.FAILED, CloudState.TERMINATED.value: NodeState.SHUTDOWN,
        CloudState.UNKNOWN.value: NodeState.UNKNOWN,
    }

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        self._secrets = secret_values(connection.credentials, masked=True) | secret_values(
            dict(connection.settings))
        with self._cloud_errors("connecting", None, missing_ok=False):
            self._drivers = ThreadDrivers(connection)
        self._abilities = Abilities.of(self._drivers.first)
        self._sizes: list[NodeSize] | None = None
        self._locations: list[NodeLocation] | None = None
        # instance id -> (infra id, node id) of nodes made here whose owner the cloud cannot tell
        self._made: dict[str, tuple[str, str]] = {}

    def close(self) -> None:
        self._drivers.close()

    @property
    def label(self) -> str:
        """How logs name this cloud: its `name`, else `libcloud <driver>`."""
        settings = self.connection.settings
        return str(settings.get("name") or f"libcloud {settings.get('driver')}")

    @property
    def backend_key(self) -> str:
        return f"{self.type_name}:{self.connection.key}"

    @property
    def marks_ownership(self) -> bool:
        """Whether the cloud itself tells a node's owner (by marks or by name)."""
        return self._abilities.marks is not None

    # --- create -------------------------------------------------------------
    def create_nodes(self, nodes: Sequence[ResolvedNode]) -> list[Instance | ResourceError]:
        return each(nodes, self._create)

    def _create(self, node: ResolvedNode) -> Instance:
        where = self.where(node)
        name = node_name(node, self._abilities, where)
        arguments = create_arguments(node, self._abilities, where)
        with _NODE_LOCKS.holding(f"{self.connection.key}|{node.node_id}"):
            made = self._made_before(node, name)
            if made is not None:
                log.debug("%s: found node %s, made before", where, made.id)
                return Instance(node.infra_id, node.node_id, str(made.id))
            size = self._size(node)
            place = self._location(node)
            if place is not None:
                arguments["location"] = place
            image = str(node.resource["image"])
            if CLIENT_TOKEN_ARG in self._abilities.arguments:
                arguments.setdefault(CLIENT_TOKEN_ARG, client_token(node))
            made = self._call("creating the node", node, lambda driver: driver.create_node(
                name=name, size=size, image=NodeImage(id=image, name=None, driver=driver),
                **arguments))
            if made is None or made.id in (None, ""):
                raise TransientError(f"{where}: the driver answered a create without a node",
                                     hint="the engine retries")
            instance_id = str(made.id)
            if not self.marks_ownership and made.name != name:
                self._made[instance_id] = (node.infra_id, node.node_id)
                log.warning("%s: the %s driver named node %s %r, not %r: only this process "
                            "knows it is Occopus's", where, self.connection.settings["driver"],
                            instance_id, made.name, name)
            log.info("%s: created node %s", where, instance_id)
            return Instance(node.infra_id, node.node_id, instance_id)

    def _made_before(self, node: ResolvedNode, name: str) -> Node | None:
        for found in self._listed("listing nodes", node):
            if self._owner(found, node.infra_id) == node.node_id and _alive(found) and (
                    found.name == name or str(found.id) in self._made):
                return found
        return None

    def _size(self, node: ResolvedNode) -> NodeSize:
        """The node's size, by id or name, from the driver's sizes (listed once)."""
        wanted = str(node.resource["size"])
        if self._sizes is None:
            self._sizes = self._call("listing sizes", node,
                                     lambda driver: driver.list_sizes())
        found = next((size for size in self._sizes if str(size.id) == wanted), None) or next(
            (size for size in self._sizes if size.name == wanted), None)
        if found is None:
            known = ", ".join(sorted({str(size.name or size.id) for size in self._sizes})[:20])
            raise PermanentError(f"{self.where(node)}: the cloud has no size {wanted!r}",
                                 hint=f"set size to the id or name of one of: {known}")
        return found

    def _location(self, node: ResolvedNode) -> NodeLocation | None:
        wanted = node.resource.get("location")
        if wanted in (None, ""):
            return None
        if "location" not in self._abilities.arguments and not self._abilities.any_keyword:
            raise PermanentError(f"{self.where(node)}: this Libcloud driver takes no location",
                                 hint="remove location from the resource section")
        if self._locations is None:
            self._locations = self._call("listing locations", node,
                                         lambda driver: driver.list_locations())
        found = next((place for place in self._locations if str(place.id) == str(wanted)),
                     None) or next((place for place in self._locations
                                    if place.name == str(wanted)), None)
        if found is None:
            known = ", ".join(sorted({str(p.name or p.id) for p in self._locations})[:20])
            raise PermanentError(f"{self.where(node)}: the cloud has no location {wanted!r}",
                                 hint=f"set location to the id or name of one of: {known}")
        return found

    # --- drop ---------------------------------------------------------------
    def drop_node(self, instance: Instance) -> None:
        found = next((node for node in self._listed("listing nodes")
                      if str(node.id) == instance.instance_id and _alive(node)), None)
        if found is not None:
            destroyed = self._call("deleting the node", None,
                                   lambda driver: driver.destroy_node(found), missing_ok=True)
            if destroyed is False:      # many drivers answer False rather than raise
                raise TransientError(f"[{self.label}] the driver did not delete node "
                                     f"{instance.instance_id}", hint=RETRY_HINT)
        self._made.pop(instance.instance_id, None)

    # --- states -------------------------------------------------------------
    def get_states(self, instances: Sequence[Instance]) -> list[ResourceStatus]:
        if not instances:
            return []
        listed = {str(node.id): node for node in self._listed("listing nodes")}
        return [self._status(listed[instance.instance_id])
                if instance.instance_id in listed else GONE for instance in instances]

    def _status(self, node: Node) -> ResourceStatus:
        state = self.map_state(str(getattr(node.state, "value", node.state)))
        public = [str(ip) for ip in node.public_ips or () if ip]
        private = [str(ip) for ip in node.private_ips or () if ip]
        detail = None
        if state is NodeState.FAILED:
            fault = (node.extra or {}).get("fault")
            said = fault.get("message") if isinstance(fault, Mapping) else fault
            detail = str(said or "") or None
        return ResourceStatus(state, tuple(dict.fromkeys([*public, *private])),
                              private[0] if private else None, detail)

    def list_owned(self, infra_id: str) -> list[Instance]:
        owned = []
        for node in self._listed("listing nodes"):
            node_id = self._owner(node, infra_id)
            if node_id is not None and _alive(node):
                owned.append(Instance(infra_id, node_id, str(node.id)))
        return owned

    # --- helpers ------------------------------------------------------------
    def _owner(self, node: Node, infra_id: str) -> str | None:
        remembered = self._made.get(str(node.id))
        if remembered is not None:
            return remembered[1] if remembered[0] == infra_id else None
        return owner_of(node, infra_id, by_name=not self.marks_ownership)

    def _listed(self, operation: str, node: ResolvedNode | None = None) -> list[Node]:
        return list(self._call(operation, node, lambda driver: driver.list_nodes()) or ())

    def _call(self, operation: str, node: ResolvedNode | None,
              call: Callable[[NodeDriver], T], *, missing_ok: bool = False) -> T | None:
        """`call(driver)` with this thread's driver, its errors classified; None for a 404 when
        `missing_ok`."""
        with self._cloud_errors(operation, node, missing_ok), self._drivers.using() as driver:
            return call(driver)
        return None         # a 404 of a call that was `missing_ok`

    @contextmanager
    def _cloud_errors(self, operation: str, node: ResolvedNode | None,
                      missing_ok: bool) -> Iterator[None]:
        """Raise what Libcloud raises as a `TransientError` or `PermanentError`; bugs pass."""
        try:
            yield
        except ResourceError:
            raise
        except Exception as error:
            if missing_ok and isinstance(error, BaseHTTPError) and error.code == 404:
                return
            classified = classify(error, where=self.where(node), operation=operation,
                                  secrets=self._secrets)
            if classified is None:
                raise
            raise classified from None


def _alive(node: Node) -> bool:
    return str(getattr(node.state, "value", node.state)) != CloudState.TERMINATED.value

