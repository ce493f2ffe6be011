"""The contract of a resource-handler plugin: one class per cloud type.

A plugin is registered once, in the entry-point group `occo.resource_plugins`,
as a `Declared(schema, "module:Class")`. A handler is built for one
connection (`Connection`: the keys its schema marks `connection`, such as the
endpoint and region, and the credentials selected for them) and serves every
node of that cloud, whatever their launch parameters (image, size, tags),
which it reads from each node's `resource` section. The engine calls it from
several threads at once.

The rules every plugin keeps, checked by the conformance kit
(`occo.resourcehandler.conformance`):
- `create_nodes` is idempotent for a node id: asked again for the same node,
  it answers the resource it made before instead of making a second one. It
  tags or names the resource with the infrastructure id and the node id when
  it creates it, never later, so that `list_owned` finds it after a crash.
- `drop_node` of something already gone succeeds.
- `get_states` answers a `ResourceStatus` per instance, in order: its state
  (mapped from the cloud's by `STATE_MAP`), its addresses and what the cloud
  says of a failure; SHUTDOWN for one that no longer exists.
- Failures are `TransientError` (retry later) or `PermanentError` (give up);
  an unclassified exception counts as permanent.
- What it takes in one call, and whether it tells costs, it declares as
  `capabilities`; it is never given more.
- Everything it is given is read-only: nodes share their sections.
"""
from __future__ import annotations

import abc
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar, Self

from occo.util.errors import OccoError
from occo.util.nodes import NodeState, ResolvedNode
from occo.util.schema import Schema

INFRA_TAG = "occopus-infra-id"
NODE_TAG = "occopus-node-id"
OWNER_TAG = "occopus-owner"


class ResourceError(OccoError):
    """A cloud call failed."""

    transient = False


class TransientError(ResourceError):
    """A failure that may pass: rate limits, timeouts, a cloud's 5xx. Retry later, at least
    `retry_after` seconds later where the cloud says how long (a throttled API)."""

    transient = True

    def __init__(self, message: str, *, retry_after: float | None = None,
                 **details: Any) -> None:
        super().__init__(message, **details)
        self.retry_after = retry_after


class PermanentError(ResourceError):
    """A failure that retrying will not fix: bad credentials, an unknown image, a quota."""


class NotSupported(PermanentError):
    """The plugin cannot do this (e.g. report a cost)."""


def _frozen(data: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(data or {}))


@dataclass(frozen=True)
class Connection:
    """What a handler is built for: one backend, reached with one set of credentials.

    `settings` are the `resource` keys its schema marks `connection`;
    `credentials` the auth-file entry selected for the section (secret).
    """

    type_name: str
    settings: Mapping[str, Any] = field(default_factory=dict)
    credentials: Mapping[str, Any] = field(default_factory=dict, repr=False)
    # one string per distinct connection (credentials hashed, never kept in clear)
    key: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "settings", _frozen(self.settings))
        object.__setattr__(self, "credentials", _frozen(self.credentials))
        text = json.dumps([self.type_name, dict(self.settings), dict(self.credentials)],
                          sort_keys=True, default=str)
        object.__setattr__(self, "key", hashlib.sha256(text.encode()).hexdigest())

    @classmethod
    def of(cls, schema: Schema, resource: Mapping[str, Any],
           credentials: Mapping[str, Any] | None = None) -> Connection:
        """The connection a resolved `resource` section reaches."""
        return cls(str(resource["type"]),
                   {key: resource[key] for key in schema.connection_keys if key in resource},
                   credentials or {})

    @property
    def label(self) -> str:
        """How logs name this cloud: its `name`, else its endpoint, else its type."""
        return str(self.settings.get("name") or self.settings.get("endpoint") or self.type_name)


@dataclass(frozen=True)
class Instance:
    """A cloud resource made for a node: what the engine stores and passes back.

    `data` is the plugin's own (JSON-able, read-only): what it needs to find the
    resource again besides its id, such as the region it was made in.
    """

    infra_id: str
    node_id: str
    instance_id: str
    data: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", _frozen(self.data))

    def to_dict(self) -> dict[str, Any]:
        return {"infra_id": self.infra_id, "node_id": self.node_id,
                "instance_id": self.instance_id, "data": dict(self.data)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Instance:
        return cls(data["infra_id"], data["node_id"], data["instance_id"], data.get("data", {}))


@dataclass(frozen=True)
class ResourceStatus:
    """One look at a resource: its state, where it is reached, and why it failed.

    `addresses` come preferred first (a public name or address before a private
    one); `private_ip` is its address inside its network, if it has one.
    """

    state: NodeState
    addresses: tuple[str, ...] = ()
    private_ip: str | None = None
    detail: str | None = None           # what the cloud says of a failure, if anything


GONE = ResourceStatus(NodeState.SHUTDOWN)


@dataclass(frozen=True)
class Capabilities:
    """What a plugin can do beyond the contract's minimum, declared as data.

    `creates_per_call` and `states_per_call`: the most nodes one `create_nodes`
    call makes and the most instances one `get_states` call asks about (EC2's
    DescribeInstances takes hundreds); the engine groups its calls by them.
    `costs`: `get_cost` tells what a resource has cost. `up_when_made`: a
    resource runs as soon as its create returns (a container, started by the
    create): the engine asks its state at once, not after a first poll delay
    meant for machines that boot.
    """

    creates_per_call: int = 1
    states_per_call: int = 1
    costs: bool = False
    up_when_made: bool = False

    def __post_init__(self) -> None:
        if self.creates_per_call < 1 or self.states_per_call < 1:
            raise ValueError(f"a call carries at least one item: {self}")


class ResourceHandler(abc.ABC):
    """One cloud backend, reached through one `Connection`."""

    type_name: ClassVar[str]
    schema: ClassVar[Schema]
    capabilities: ClassVar[Capabilities] = Capabilities()
    # cloud state -> Occopus state; a state missing here is reported as UNKNOWN
    STATE_MAP: ClassVar[Mapping[str, NodeState]] = {}

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    @classmethod
    def for_section(cls, resource: Mapping[str, Any],
                    credentials: Mapping[str, Any] | None = None) -> Self:
        """A handler of the connection a `resource` section reaches (for tests and tools; the
        engine keeps one per connection through `guard.ResourceHandlers`)."""
        return cls(Connection.of(cls.schema, resource, credentials))

    @property
    def label(self) -> str:
        return self.connection.label

    @classmethod
    def ssh_port(cls, instance: Instance) -> int:
        """The port the instance's sshd listens on, for config managers and `occopus-run`:
        22, but where the type knows better (a machine of a `hosts` pool). Asked of the
        class: no connection is needed to answer."""
        return 22

    def where(self, node: ResolvedNode | None = None) -> str:
        """How every message starts: the cloud's label, and the node when there is one."""
        return f"[{self.label}]" + (f" node {node.node_id}" if node is not None else "")

    @property
    def backend_key(self) -> str:
        """What limits are shared by: the type and the endpoint."""
        return f"{self.type_name}:{self.connection.settings.get('endpoint', '')}"

    def map_state(self, cloud_state: str) -> NodeState:
        return self.STATE_MAP.get(cloud_state, NodeState.UNKNOWN)

    @abc.abstractmethod
    def create_nodes(self, nodes: Sequence[ResolvedNode]) -> list[Instance | ResourceError]:
        """Make up to `creates_per_call` nodes: each one's instance, or the error that stopped
        it, in order; a failure of the whole call is raised. A node made before (same node id)
        is answered with the instance made then."""

    @abc.abstractmethod
    def drop_node(self, instance: Instance) -> None:
        """Delete the resource; success if it is already gone."""

    @abc.abstractmethod
    def get_states(self, instances: Sequence[Instance]) -> list[ResourceStatus]:
        """The status of up to `states_per_call` instances, in their order (`GONE` for one
        that no longer exists)."""

    @abc.abstractmethod
    def list_owned(self, infra_id: str) -> list[Instance]:
        """Every live resource of this backend tagged with the infrastructure id."""

    def get_cost(self, instance: Instance) -> float:
        """What the resource has cost so far; only where `capabilities.costs` says so."""
        raise NotSupported(f"the {self.type_name} plugin cannot report costs")

    def close(self) -> None:
        """Release connections the handler keeps; the default keeps none."""


def each(items: Iterable[Any], make: Callable[[Any], Instance]) -> list[Instance | ResourceError]:
    """`make(item)` for each item, an item's `ResourceError` in its place: `create_nodes` of a
    cloud that makes one node a call."""
    answers: list[Instance | ResourceError] = []
    for item in items:
        try:
            answers.append(make(item))
        except ResourceError as error:
            answers.append(error)
    return answers


def owner_tags(node: ResolvedNode, *, longest: int | None = None) -> dict[str, str]:
    """The tags a plugin sets on what it makes for `node` as it makes it (infrastructure,
    node, owner), so that `list_owned` finds it after a crash; `longest`: the cloud's bound on
    a tag's value."""
    tags = {INFRA_TAG: node.infra_id, NODE_TAG: node.node_id, OWNER_TAG: node.user_id}
    return {key: str(value)[:longest] for key, value in tags.items()}


@contextmanager
def raised_as_contract(classify: Callable[[Exception], ResourceError | None]) -> Iterator[None]:
    """Raise what a cloud's library raises in the block as `classify` reads it (a
    `TransientError` or `PermanentError`), the traceback of the library left out; a
    `ResourceError` passes as it is, and so does what `classify` does not know (a bug)."""
    try:
        yield
    except ResourceError:
        raise
    except Exception as error:
        classified = classify(error)
        if classified is None:
            raise
        raise classified from None
