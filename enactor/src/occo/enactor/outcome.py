"""What a pass did, one row per node instance, for the commands' table and `--json`."""
from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from occo.infraprocessor.engine import ExecutionResult, InstanceStatus, RecoveryReport
from occo.infraprocessor.engine.backends import describe_section
from occo.util.nodes import NodeState

from .plan import Plan

UNCHANGED = "unchanged"
FORGOTTEN = "forgotten"


@dataclass(frozen=True)
class NodeRow:
    """One node instance after the pass.

    `outcome` is the engine's (created, dropped, failed, skipped, cancelled),
    `unchanged` for an instance the pass left alone, or `forgotten` for one a
    destroy could not drop and was told to forget; `state` is its live
    state as the pass saw it (empty for instances that are gone or never began).
    """

    node_name: str
    node_id: str | None
    outcome: str
    state: str = ""
    addresses: tuple[str, ...] = ()
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"node_name": self.node_name, "node_id": self.node_id, "outcome": self.outcome,
                "state": self.state, "addresses": list(self.addresses), "reason": self.reason}


@dataclass(frozen=True)
class LeftBehind:
    """An instance a destroy forgot without dropping it: it may still run, and cost, in its
    cloud, and is for the user to remove by hand."""

    node_name: str
    node_id: str
    cloud: str                  # the resource section in a few words: type and endpoint
    resource_id: str | None     # the instance's id in its cloud; None when it was never told
    reason: str                 # why it could not be dropped

    def __str__(self) -> str:
        where = f"{self.cloud}, resource {self.resource_id or 'unknown'}"
        return f"node {self.node_name} {self.node_id} in {where}: {self.reason}"

    def to_json(self) -> dict[str, Any]:
        return {"node_name": self.node_name, "node_id": self.node_id, "cloud": self.cloud,
                "resource_id": self.resource_id, "reason": self.reason}


@dataclass(frozen=True)
class PassResult:
    """A pass's plan and, unless it was a dry run, what recovery and execution did."""

    infra_id: str
    plan: Plan
    rows: tuple[NodeRow, ...]
    recovery: RecoveryReport | None = None
    execution: ExecutionResult | None = None
    problems: tuple[str, ...] = field(default=())
    # a destroy told to forget what it cannot drop did so: the infrastructure is gone from
    # the store, and `left_behind` lists what may still be in its clouds
    forgotten: bool = False
    left_behind: tuple[LeftBehind, ...] = field(default=())

    @property
    def dry_run(self) -> bool:
        return self.execution is None

    @property
    def ok(self) -> bool:
        """Everything planned was done, and nothing went wrong on the side; or a destroy
        forgot, as told, what it could not do."""
        if self.forgotten:
            return True
        return not self.problems and (self.execution is None or self.execution.ok)

    @property
    def cancelled(self) -> bool:
        return self.execution is not None and self.execution.cancelled

    def counts(self) -> Counter[str]:
        return Counter(row.outcome for row in self.rows)

    def to_json(self) -> dict[str, Any]:
        return {"infra_id": self.infra_id, "ok": self.ok, "dry_run": self.dry_run,
                "cancelled": self.cancelled, "plan": self.plan.to_json(),
                "recovery": None if self.recovery is None else self.recovery.to_json(),
                "nodes": [row.to_json() for row in self.rows],
                "problems": list(self.problems), "forgotten": self.forgotten,
                "left_behind": [item.to_json() for item in self.left_behind]}


def rows_after(execution: ExecutionResult, before: Sequence[InstanceStatus],
               after: Mapping[str, InstanceStatus]) -> tuple[NodeRow, ...]:
    """A row per instance: the engine's results, then the instances it did not touch.

    `before` is the survey the plan was made from (what the untouched
    instances are); `after` the records as they are now, by node id (for the
    state and addresses of what the engine just made).
    """
    rows = []
    for result in execution.nodes:
        now = after.get(result.node_id or "")
        rows.append(NodeRow(result.node_name, result.node_id, str(result.outcome),
                            str(now.state) if now else "",
                            now.record.addresses if now else (), result.reason))
    touched = {result.node_id for result in execution.nodes}
    rows.extend(_row(status, UNCHANGED) for status in before
                if status.record.node_id not in touched)
    return tuple(sorted(rows, key=lambda row: (row.node_name, row.node_id or "")))


def unknown(statuses: Sequence[InstanceStatus]) -> tuple[str, ...]:
    """A problem for each instance whose state could not be told: kept, not replaced."""
    return tuple(f"the state of {status.record.name} {status.record.node_id} is unknown: "
                 f"{status.detail}" for status in statuses if status.state == NodeState.UNKNOWN)


def rows_of(statuses: Sequence[InstanceStatus], outcome: str = UNCHANGED) -> tuple[NodeRow, ...]:
    return tuple(_row(status, outcome) for status in statuses)


def _row(status: InstanceStatus, outcome: str) -> NodeRow:
    return NodeRow(status.record.name, status.record.node_id, outcome, str(status.state),
                   status.record.addresses, status.detail)


def forgetting(result: PassResult, kept: Sequence[InstanceStatus]) -> PassResult:
    """A destroy's result once it forgets the instances it could not drop (`kept`: their
    records): each is a `forgotten` row and a `LeftBehind`."""
    left = {status.record.node_id: LeftBehind(
        status.record.name, status.record.node_id, describe_section(status.record.resource),
        status.record.instance.instance_id if status.record.instance else None,
        status.record.error or "it could not be dropped") for status in kept}
    rows = tuple(dataclasses.replace(row, outcome=FORGOTTEN) if row.node_id in left else row
                 for row in result.rows)
    return dataclasses.replace(result, rows=rows, forgotten=True,
                               left_behind=tuple(left.values()))
