"""What an execution and a recovery did, node by node, for tables and JSON."""
from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from occo.util.errors import OccoError


def describe(error: OccoError) -> str:
    """An error as a result's reason: one line, with its position when it has one and what to
    do when it says (a plugin's hint: "check image_id ...")."""
    text = f"{error.location}: {error.message}" if error.location else error.message
    return f"{text} (hint: {error.hint})" if error.hint else text


class Outcome(StrEnum):
    CREATED = "created"
    DROPPED = "dropped"
    FAILED = "failed"          # rolled back; `reason` says why (and whether the rollback failed)
    SKIPPED = "skipped"        # not started: a node type it depends on failed
    CANCELLED = "cancelled"    # not started, or rolled back, because the engine was cancelled


@dataclass(frozen=True)
class NodeResult:
    node_name: str
    node_id: str | None        # None: the instance never started
    outcome: Outcome
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"node_name": self.node_name, "node_id": self.node_id,
                "outcome": self.outcome.value, "reason": self.reason}


@dataclass(frozen=True)
class ExecutionResult:
    """One result per node instance created, dropped, failed, skipped or cancelled.

    `problems` are failures that belong to no node (a config manager that would
    not drop the infrastructure, a cloud that could not be swept); `unswept` names,
    of a dropped infrastructure, each cloud and config manager that could not be
    cleaned of it (in a few words, with why): it may still hold some of it.
    """

    infra_id: str
    nodes: tuple[NodeResult, ...]
    problems: tuple[str, ...] = ()
    cancelled: bool = False
    unswept: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Everything asked for was done."""
        return not (self.cancelled or self.problems) and all(
            result.outcome in (Outcome.CREATED, Outcome.DROPPED) for result in self.nodes)

    def counts(self) -> Counter[Outcome]:
        return Counter(result.outcome for result in self.nodes)

    def of(self, node_name: str) -> list[NodeResult]:
        return [result for result in self.nodes if result.node_name == node_name]

    def to_json(self) -> dict[str, Any]:
        return {"infra_id": self.infra_id, "ok": self.ok, "cancelled": self.cancelled,
                "nodes": [result.to_json() for result in self.nodes],
                "problems": list(self.problems), "unswept": dict(self.unswept)}


@dataclass(frozen=True)
class RecoveryReport:
    """What recovery found in the clouds against the records."""

    infra_id: str
    adopted: tuple[str, ...] = ()     # node ids whose resource was found and recorded
    removed: tuple[str, ...] = ()     # node ids whose record was removed (no resource, or failed)
    orphans: tuple[str, ...] = ()     # instance ids dropped: no record owned them
    problems: tuple[str, ...] = ()    # backends that could not be listed or cleaned

    def to_json(self) -> dict[str, Any]:
        return {"infra_id": self.infra_id, "adopted": list(self.adopted),
                "removed": list(self.removed), "orphans": list(self.orphans),
                "problems": list(self.problems)}
