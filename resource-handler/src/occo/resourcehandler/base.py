"""The contract of a resource-handler plugin: one class per cloud type.

A plugin is registered in the entry-point group `occo.resource_handlers`
(type name -> class) and built for one node's `resource` section and the
credentials selected for it. The engine calls it from several threads at once.

The rules every plugin keeps, checked by the conformance kit:
- `create_node` is idempotent for a node id: asked again for the same node, it
  returns the resource it made before instead of making a second one. It tags
  or names the resource with the infrastructure id and the node id when it
  creates it, never later, so that `list_owned` finds it after a crash.
- `drop_node` of something already gone succeeds.
- States are `NodeState` values; cloud states are mapped by a table.
- Failures are `TransientError` (retry later) or `PermanentError` (give up);
  an unclassified exception counts as permanent.
- `get_states` tells what `get_state` tells of each instance, in order, and
  `create_nodes` does what `create_node` does for each node (its answer or
  its error), in order.
"""
from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from occo.util.errors import OccoError
from occo.util.nodes import NodeState, ResolvedNode
from occo.util.schema import Schema

INFRA_TAG = "occopus-infra-id"
NODE_TAG = "occopus-node-id"


class ResourceError(OccoError):
    """A cloud call failed."""

    transient = False


class TransientError(ResourceError):
    """A failure that may pass: rate limits, timeouts, a cloud's 5xx. Retry later."""

    transient = True


class PermanentError(ResourceError):
    """A failure that retrying will not fix: bad credentials, an unknown image, a quota."""


class NotSupported(PermanentError):
    """The plugin cannot do this (e.g. report a cost)."""


@dataclass(frozen=True)
class Instance:
    """A cloud resource made for a node: what the engine stores and passes back."""

    infra_id: str
    node_id: str
    instance_id: str
    data: dict[str, Any] = field(default_factory=dict)   # plugin-specific, JSON-able

    def to_dict(self) -> dict[str, Any]:
        return {"infra_id": self.infra_id, "node_id": self.node_id,
                "instance_id": self.instance_id, "data": self.data}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Instance":
        return cls(data["infra_id"], data["node_id"], data["instance_id"], dict(data.get("data", {})))


class ResourceHandler(abc.ABC):
    """One cloud backend, built for a `resource` section and its credentials."""

    type_name: ClassVar[str]
    schema: ClassVar[Schema]
    # cloud state -> Occopus state; a state missing here is reported as UNKNOWN
    STATE_MAP: ClassVar[Mapping[str, NodeState]] = {}
    # how many instances one `get_states` call may ask about; 1: the cloud tells one at a time
    states_per_call: ClassVar[int] = 1
    # how many nodes one `create_nodes` call may make; 1: the cloud makes one at a time
    creates_per_call: ClassVar[int] = 1

    def __init__(self, resource: Mapping[str, Any], auth_data: Mapping[str, Any] | None = None) -> None:
        self.resource = dict(resource)
        self.auth_data = dict(auth_data or {})

    @property
    def backend_key(self) -> str:
        """What limits are shared by: the type and the endpoint."""
        return f"{self.type_name}:{self.resource.get('endpoint', '')}"

    @property
    def label(self) -> str:
        """How logs name this cloud: its `name`, else its endpoint."""
        return str(self.resource.get("name") or self.resource.get("endpoint") or self.type_name)

    def map_state(self, cloud_state: str) -> NodeState:
        return self.STATE_MAP.get(cloud_state, NodeState.UNKNOWN)

    @abc.abstractmethod
    def create_node(self, node: ResolvedNode) -> Instance:
        """Create the node's resource, or return the one already made for its node id."""

    def create_nodes(self, nodes: Sequence[ResolvedNode]) -> list[Instance | ResourceError]:
        """What `create_node` gives for each of up to `creates_per_call` nodes, in order.

        A cloud that makes many in one call overrides this and
        `creates_per_call`: the guard then merges the creates sent at once (a
        level of an infrastructure) into few calls, and calls this instead of
        `create_node`. A node that cannot be made gets its error in its place,
        the others their instances; a failure of the whole call is raised.
        Each node keeps its own idempotent node id, so a node whose answer was
        lost is found again by asking again.
        """
        made: list[Instance | ResourceError] = []
        for node in nodes:
            try:
                made.append(self.create_node(node))
            except ResourceError as error:
                made.append(error)
        return made

    @abc.abstractmethod
    def drop_node(self, instance: Instance) -> None:
        """Delete the resource; success if it is already gone."""

    @abc.abstractmethod
    def get_state(self, instance: Instance) -> NodeState:
        """The resource's state (SHUTDOWN when it no longer exists)."""

    def get_states(self, instances: Sequence[Instance]) -> list[NodeState]:
        """The states of up to `states_per_call` instances, in their order.

        A cloud that tells many in one call (EC2's DescribeInstances does)
        overrides this and `states_per_call`: the guard then merges the polls of
        instances booting at once into few calls, which matters most under an
        API rate limit, and calls this instead of `get_state`. It must do for
        each instance what `get_state` does (notes in `instance.data`
        included); a subclass that changes one changes both, or sets
        `states_per_call` to 1.
        """
        return [self.get_state(instance) for instance in instances]

    @abc.abstractmethod
    def get_address(self, instance: Instance) -> list[str]:
        """The addresses others reach the node at, the preferred first."""

    @abc.abstractmethod
    def get_ip_address(self, instance: Instance) -> str | None:
        """The node's private IP address, if it has one."""

    @abc.abstractmethod
    def list_owned(self, infra_id: str) -> list[Instance]:
        """Every live resource of this backend tagged with the infrastructure id."""

    def close(self) -> None:
        """Release connections the handler keeps; the default keeps none."""

    def get_cost(self, instance: Instance) -> float:
        """What the resource has cost so far, where the cloud says."""
        raise NotSupported(f"the {self.type_name} plugin cannot report costs")
