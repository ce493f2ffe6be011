"""The `dummy` config manager: used when a node definition names none.

It keeps nothing and configures nothing, so every node counts as configured
as soon as it exists.
"""
from __future__ import annotations

from occo.util.nodes import NodeState, ResolvedNode

from .base import ConfigManager, ConfigTarget
from .schemas import DUMMY


class DummyConfigManager(ConfigManager):
    type_name = "dummy"
    schema = DUMMY

    def create_infrastructure(self, infra_id: str) -> None:
        """Nothing to prepare."""

    def drop_infrastructure(self, infra_id: str) -> None:
        """Nothing to forget."""

    def infrastructure_exists(self, infra_id: str) -> bool:
        return True

    def register_node(self, node: ResolvedNode) -> None:
        """Nothing to register."""

    def drop_node(self, infra_id: str, node_id: str) -> None:
        """Nothing to forget."""

    def get_node_state(self, target: ConfigTarget) -> NodeState:
        return NodeState.READY
