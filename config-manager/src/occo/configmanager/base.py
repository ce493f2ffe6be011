"""The contract of a config-manager plugin: one class per manager type.

A plugin is registered once, in the entry-point group
`occo.config_management_plugins`, as a `Declared(schema, "module:Class")`, and built for one node's `config_management` section and the
credentials selected for it. A manager may keep state per infrastructure (a
Chef environment) and per node (a Chef node); the engine calls
`create_infrastructure` before the first node and `drop_infrastructure` after
the last. Calls on something already gone succeed.
"""
from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any, ClassVar

from occo.util.nodes import NodeState, ResolvedNode
from occo.util.schema import Schema


class ConfigManager(abc.ABC):
    """One configuration manager, built for a `config_management` section."""

    type_name: ClassVar[str]
    schema: ClassVar[Schema]

    def __init__(self, section: Mapping[str, Any], auth_data: Mapping[str, Any] | None = None) -> None:
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

    @abc.abstractmethod
    def drop_node(self, infra_id: str, node_id: str) -> None:
        """Forget a node (success if already gone)."""

    @abc.abstractmethod
    def get_node_state(self, infra_id: str, node_id: str) -> NodeState:
        """READY once the node is configured.

        The engine asks it for the nodes of a readiness poll one after the
        other, hundreds at a time: answer from what the manager keeps (a
        manager whose server is slow keeps what it last heard)."""

    @abc.abstractmethod
    def get_node_attribute(self, infra_id: str, node_id: str, attribute: str) -> Any:
        """An attribute the manager knows of the node (None if it has none)."""

    def resolve_attributes(self, node: ResolvedNode) -> dict[str, Any]:
        """Extra template data for the node's contextualisation; none by default."""
        return {}
