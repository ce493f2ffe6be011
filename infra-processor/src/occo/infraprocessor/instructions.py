"""The instructions the infra-processor executes, as the enactor plans them.

They are plain data: a plan can be printed (`--dry-run`), stored or sent as
JSON, and executing it consumes the very same objects.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CreateInfrastructure:
    infra_id: str

    def describe(self) -> str:
        return f"create infrastructure {self.infra_id}"


@dataclass(frozen=True)
class DropInfrastructure:
    infra_id: str

    def describe(self) -> str:
        return f"drop infrastructure {self.infra_id}"


@dataclass(frozen=True)
class DropNode:
    node_name: str
    node_id: str
    reason: str            # requested | surplus | removed | failed | shutdown | destroy

    def describe(self) -> str:
        return f"drop {self.node_name} {self.node_id} ({self.reason})"


@dataclass(frozen=True)
class CreateNodes:
    """`count` new instances of a node, started once every node type it waits for is ready."""

    node_name: str
    count: int
    waits_for: frozenset[str]

    def describe(self) -> str:
        after = f" after {', '.join(sorted(self.waits_for))}" if self.waits_for else ""
        return f"create {self.count} x {self.node_name}{after}"


@dataclass(frozen=True)
class ConfigureNode:
    """A ready instance configured again by its config manager (`reapply` is due)."""

    node_name: str
    node_id: str

    def describe(self) -> str:
        return f"configure {self.node_name} {self.node_id} again"


Instruction = CreateInfrastructure | DropInfrastructure | DropNode | CreateNodes | ConfigureNode


def to_json(instruction: Instruction) -> dict:
    data = {"action": type(instruction).__name__, **vars(instruction)}
    if "waits_for" in data:
        data["waits_for"] = sorted(data["waits_for"])
    return data
