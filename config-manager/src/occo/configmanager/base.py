"""The contract of a config-manager plugin: one class per manager type.

A plugin is registered once, in the entry-point group
`occo.config_management_plugins`, as a `Declared(schema, "module:Class")`,
and built for one node's `config_management` section and the credentials
selected for it (`occo.configmanager.managers.Managers` builds them all).

The engine calls a manager at these moments of a node's life:

1. `create_infrastructure`, once, before the first node of an infrastructure
   it configures (a Chef environment);
2. `register_node`, before the node's resource is created: the node has no
   address yet (a Chef node and role, which the machine's own chef-client
   run will read);
3. `configure`, once the resource is up, if the manager `configures` nodes
   itself (puppet over SSH, ansible): in a worker of its own, like a create,
   with the node's addresses and the SSH access to it. It may take minutes;
   it holds up no other node;
4. `get_node_state`, at each poll of the node (and each survey of it), with
   what is known of the instance: answer without blocking on the network for
   long, from what the manager keeps or from `target.configured`;
5. `drop_node`, and `drop_infrastructure` after the last node.

Calls on something already gone succeed. A manager is shared by the worker
threads of an engine: it must be thread-safe.
"""
from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from occo.util.errors import OccoError
from occo.util.nodes import NodeState, ResolvedNode
from occo.util.schema import Schema

if TYPE_CHECKING:       # the SSH sessions load asyncssh: only managers that use them pay
    from occo.util.ssh import SshAccess


class NotReachableYet(OccoError):
    """The node cannot be reached yet (its sshd is not up): the engine tries the configure
    step again at the node's next poll, until its `create_timeout`."""


@dataclass(frozen=True)
class Configured:
    """What a `configure` step did: whether the node is now as its manifests or playbook
    say (`ok`; if not, it is replaced), what failed (the failing resource or task, said so
    that a user can act on it), and the facts learned of the node (`ansible_*`)."""

    ok: bool
    detail: str | None = None
    facts: Mapping[str, Any] = field(default_factory=dict)
    at: float | None = None         # when the step ended (epoch seconds; the engine sets it)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "detail": self.detail, "facts": dict(self.facts), "at": self.at}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Configured:
        if not isinstance(data["ok"], bool):
            raise ValueError(f"ok must be true or false, not {data['ok']!r}")
        at = data.get("at")
        return cls(data["ok"], data.get("detail"), dict(data.get("facts") or {}),
                   None if at is None else float(at))


@dataclass(frozen=True)
class ConfigTarget:
    """A node instance whose resource is up, as a manager sees it.

    `access` is how to reach it over SSH (None: no `ssh` entry of the auth
    file fits its resource, or the manager does not configure nodes);
    `configured` is the last `configure` step's result, if it has run;
    `peers`, given to the configure step, the addresses of the instances of
    every node of the infrastructure by node name (its dependencies among
    them), as the engine knew them when the step began.
    """

    node: ResolvedNode
    instance_id: str
    addresses: tuple[str, ...]
    private_ip: str | None = None
    variables: Mapping[str, Any] = field(default_factory=dict)
    access: SshAccess | None = None
    configured: Configured | None = None
    peers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def infra_id(self) -> str:
        return self.node.infra_id

    @property
    def node_id(self) -> str:
        return self.node.node_id


class ConfigManager(abc.ABC):
    """One configuration manager, built for a `config_management` section."""

    type_name: ClassVar[str]
    schema: ClassVar[Schema]
    configures: ClassVar[bool] = False      # True: the engine runs `configure` for each node

    def __init__(self, section: Mapping[str, Any],
                 auth_data: Mapping[str, Any] | None = None) -> None:
        self.section = dict(section)
        self.auth_data = dict(auth_data or {})

    @abc.abstractmethod
    def create_infrastructure(self, infra_id: str) -> None:
        """Prepare what the manager keeps for an infrastructure (idempotent)."""

    @abc.abstractmethod
    def drop_infrastructure(self, infra_id: str) -> None:
        """Forget the infrastructure (success if already gone)."""

    @abc.abstractmethod
    def infrastructure_exists(self, infra_id: str) -> bool:
        """Whether `create_infrastructure` has been done for it."""

    @abc.abstractmethod
    def register_node(self, node: ResolvedNode) -> None:
        """Tell the manager about a node before its resource is created."""

    def configure(self, target: ConfigTarget) -> Configured:
        """Configure the node now that its resource is up; called only when `configures`.

        Blocking is expected (an SSH session, a puppet run). A node that
        cannot be reached yet is `NotReachableYet`, tried again later; any
        other failure is a FAILED result (an `OccoError` raised counts as one,
        its message the detail)."""
        return Configured(True)

    @abc.abstractmethod
    def drop_node(self, infra_id: str, node_id: str) -> None:
        """Forget a node (success if already gone)."""

    @abc.abstractmethod
    def get_node_state(self, target: ConfigTarget) -> NodeState:
        """READY once the node is configured.

        The engine asks it for the nodes of a readiness poll one after the
        other, hundreds at a time: answer from what the manager keeps or from
        `target.configured` (a manager whose server is slow keeps what it
        last heard)."""

    def reapply_after(self) -> float | None:
        """Seconds after which a maintain pass has the node configured again (the step is
        idempotent: a node that drifted is put back); None: never. Only for managers that
        `configure`."""
        return None

    def get_node_attribute(self, target: ConfigTarget, attribute: str) -> Any:
        """An attribute the manager knows of the node (None if it has none): by default, a
        fact its configure step learned."""
        return target.configured.facts.get(attribute) if target.configured else None

    def resolve_attributes(self, node: ResolvedNode) -> dict[str, Any]:
        """Extra template data for the node's contextualisation; none by default."""
        return {}


class KeepsNothing(ConfigManager):
    """A manager with nothing of its own to keep per infrastructure or node (the node holds
    its configuration, and the record what came of it)."""

    def create_infrastructure(self, infra_id: str) -> None:
        """Nothing to prepare."""

    def drop_infrastructure(self, infra_id: str) -> None:
        """Nothing to forget."""

    def infrastructure_exists(self, infra_id: str) -> bool:
        return True

    def register_node(self, node: ResolvedNode) -> None:
        """Nothing to register before the machine exists."""

    def drop_node(self, infra_id: str, node_id: str) -> None:
        """Nothing kept of a node."""
