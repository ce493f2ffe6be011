"""What a pass did, one row per node instance, for the commands' table and `--json`.

Every text here that a command shows (a row's reason, a problem, what may be
left behind, the recovery report) has its URL passwords hidden when the
object is made (`occo.util.redact.redact_url`): a reason comes from a node's
error, which may quote a variable or a stored endpoint, and the commands
print, dump as JSON and compare these objects in many places.
"""
from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from occo.infraprocessor.engine import ExecutionResult, InstanceStatus, RecoveryReport
from occo.infraprocessor.engine.backends import describe_section
from occo.util.nodes import NodeState
from occo.util.redact import redact_url

from .plan import Plan

UNCHANGED = "unchanged"
FORGOTTEN = "forgotten"


def shown(text: str | None) -> str | None:
    """`text` as a command may show it: URL passwords hidden."""
    return None if text is None else redact_url(text)


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

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason", shown(self.reason))

    def to_json(self) -> dict[str, Any]:
        return {"node_name": self.node_name, "node_id": self.node_id, "outcome": self.outcome,
                "state": self.state, "addresses": list(self.addresses), "reason": self.reason}


@dataclass(frozen=True)
class LeftBehind:
    """What a destroy forgot without dropping it, for the user to check and remove by hand:
    an instance, which may still run, and cost, in its cloud; or, without a node, a cloud (or
    config manager) that could not be swept, which may still hold resources of the
    infrastructure that no record names (orphans of a crash, say)."""

    node_name: str | None       # None: the whole cloud could not be swept
    node_id: str | None
    cloud: str                  # the resource section in a few words: type and endpoint
    resource_id: str | None     # the instance's id in its cloud; None when it was never told
    reason: str                 # why it could not be dropped

    def __post_init__(self) -> None:
        object.__setattr__(self, "cloud", redact_url(self.cloud))
        object.__setattr__(self, "reason", redact_url(self.reason))

    def __str__(self) -> str:
        if self.node_id is None:
            return f"anything of the infrastructure in {self.cloud}: {self.reason}"
        where = f"{self.cloud}, resource {self.resource_id or 'unknown'}"
        return f"node {self.node_name} {self.node_id} in {where}: {self.reason}"

    def to_json(self) -> dict[str, Any]:
        return {"node_name": self.node_name, "node_id": self.node_id, "cloud": self.cloud,
                "resource_id": self.resource_id, "reason": self.reason}


@dataclass(frozen=True)
class PassResult:
    """A pass's plan and, unless it was a dry run, what recovery and execution did.

    `problems` are every failure that belongs to no node row: recovery's, the
    execution's, instances whose state is unknown.
    """

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

    def __post_init__(self) -> None:
        object.__setattr__(self, "problems", tuple(map(redact_url, self.problems)))
        if self.recovery is not None:     # its to_json is part of ours
            object.__setattr__(self, "recovery", dataclasses.replace(
                self.recovery, problems=tuple(map(redact_url, self.recovery.problems))))

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
    records), each a `forgotten` row and a `LeftBehind`, and the clouds it could not sweep,
    each a `LeftBehind` without a node."""
    left = {status.record.node_id: LeftBehind(
        status.record.name, status.record.node_id, describe_section(status.record.resource),
        status.record.instance.instance_id if status.record.instance else None,
        status.record.error or "it could not be dropped") for status in kept}
    unswept = (LeftBehind(None, None, where, None, why)
               for where, why in (result.execution.unswept if result.execution else {}).items())
    rows = tuple(dataclasses.replace(row, outcome=FORGOTTEN) if row.node_id in left else row
                 for row in result.rows)
    return dataclasses.replace(result, rows=rows, forgotten=True,
                               left_behind=(*left.values(), *unswept))
