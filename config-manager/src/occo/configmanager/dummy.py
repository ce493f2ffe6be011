"""The `dummy` config manager: used when a node definition names none.

It keeps nothing and configures nothing, so every node counts as configured
as soon as it exists.
"""
from __future__ import annotations

from occo.util.nodes import NodeState

from .base import ConfigTarget, KeepsNothing
from .schemas import DUMMY


class DummyConfigManager(KeepsNothing):
    type_name = "dummy"
    schema = DUMMY

    def get_node_state(self, target: ConfigTarget) -> NodeState:
        return NodeState.READY
