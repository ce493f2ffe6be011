"""One enactor pass, planned without side effects: desired state against actual state.

The plan lists the actions in the original's order: create the infrastructure
if it is new; drop instances that destroy requests named, and surplus ones; drop instances of nodes that left the
description; drop failed and shut-down instances; create the missing ones (in
dependency order, each node type with the set of node types it waits for, so
the executor need not wait on whole levels). It also carries what the pass
decided about scaling (new targets, consumed requests) for the executor to
store. `--dry-run` prints a plan and stops; execution consumes the same object.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from occo.compiler import StaticDescription
from occo.infobroker.store import PendingScaling
from occo.infraprocessor.instructions import (ConfigureNode, CreateInfrastructure, CreateNodes,
                                              DropNode, Instruction, to_json)
from occo.util.nodes import NodeState
from occo.util.redact import redact_url

from .scaling import LiveInstance, choose_drops, decide_target

GONE = (NodeState.FAILED, NodeState.SHUTDOWN)


@dataclass(frozen=True)
class InstanceView:
    """What the planner needs of a stored instance and its live state."""

    node_id: str
    state: NodeState
    addresses: tuple[str, ...] = ()
    created_at: float = 0.0




@dataclass(frozen=True)
class Plan:
    infra_id: str
    actions: tuple[Instruction, ...]
    targets: Mapping[str, int]                       # node name -> target to store
    handled_requests: Mapping[str, PendingScaling]   # node name -> requests it consumed
    messages: tuple[str, ...] = field(default=())
    stored_targets: Mapping[str, int | None] = field(default_factory=dict)  # as the plan found them

    def __post_init__(self) -> None:
        # shown as they are, in the plan, on stderr and in `--json`: URL passwords hidden
        object.__setattr__(self, "messages", tuple(map(redact_url, self.messages)))

    @property
    def target_changes(self) -> dict[str, int]:
        """The targets to store: those that differ from the stored ones."""
        return {name: target for name, target in self.targets.items()
                if self.stored_targets.get(name) != target}

    @property
    def changes_nothing(self) -> bool:
        return not self.actions

    @property
    def writes_nothing(self) -> bool:
        """Nothing to execute and nothing to store: no target changes, no request handled."""
        return not (self.actions or self.target_changes or self.handled_requests)

    def describe(self) -> list[str]:
        return [action.describe() for action in self.actions] or ["nothing to do"]

    def to_json(self) -> dict[str, Any]:
        return {"infra_id": self.infra_id,
                "actions": [to_json(action) for action in self.actions],
                "targets": dict(self.targets),
                "messages": list(self.messages)}


def plan_pass(static: StaticDescription, instances: Mapping[str, Sequence[InstanceView]],
              stored_targets: Mapping[str, int | None],
              requests: Mapping[str, PendingScaling],
              infrastructure_exists: bool, reapply: Collection[str] = frozenset()) -> Plan:
    """The actions that bring the actual state to the desired one; the ready instances of
    `reapply` (node ids) that stay are configured again."""
    surplus: list[DropNode] = []
    configures: list[ConfigureNode] = []
    creates: list[CreateNodes] = []
    targets: dict[str, int] = {}
    handled: dict[str, PendingScaling] = {}
    messages: list[str] = []
    waits_for = static.dependency_sets()
    for name in (n for level in static.levels for n in level):
        node = static.node(name)
        live = [i for i in instances.get(name, ()) if i.state not in GONE]
        decision = decide_target(name, node["scaling"]["min"], node["scaling"]["max"],
                                 stored_targets.get(name), requests.get(name, PendingScaling()),
                                 [LiveInstance(i.node_id, i.addresses, i.created_at) for i in live])
        targets[name] = decision.target
        if decision.handled:
            handled[name] = decision.handled
        messages.extend(decision.messages)
        # Instances named by destroy requests go even when none is surplus (the
        # user asked for that one); then the youngest go while there are too many.
        count = max(len(live) - decision.target, len(decision.named_drops))
        drops = choose_drops([LiveInstance(i.node_id, i.addresses, i.created_at) for i in live],
                             count, decision.named_drops)
        surplus.extend(DropNode(name, node_id,
                                "requested" if node_id in decision.named_drops else "surplus")
                       for node_id in drops)
        configures.extend(ConfigureNode(name, i.node_id) for i in live
                          if i.node_id in reapply and i.state == NodeState.READY
                          and i.node_id not in drops)
        missing = decision.target - (len(live) - len(drops))
        if missing > 0:
            creates.append(CreateNodes(name, missing, waits_for[name]))
    removed = [DropNode(name, i.node_id, "removed")
               for name, group in sorted(instances.items()) if name not in static.nodes
               for i in group]
    gone = [DropNode(name, i.node_id, str(i.state))
            for name, group in sorted(instances.items()) if name in static.nodes
            for i in group if i.state in GONE]
    start = [] if infrastructure_exists else [CreateInfrastructure(static.infra_id)]
    return Plan(static.infra_id, tuple(start + surplus + removed + gone + configures + creates),
                targets, handled, tuple(messages), dict(stored_targets))


def held_back(plan: Plan, held: Mapping[str, str]) -> Plan:
    """The plan without the creates of the nodes `held` (node name -> why), nor of the nodes
    waiting for them (which would otherwise start without them); each is said in a message."""
    creates = [action for action in plan.actions if isinstance(action, CreateNodes)]
    holding = {name for name in held if any(a.node_name == name for a in creates)}
    grew = True
    while grew:            # and the nodes waiting for those, down the chain
        waiting = {a.node_name for a in creates if a.waits_for & holding} - holding
        holding |= waiting
        grew = bool(waiting)
    if not holding:
        return plan
    messages = [f"node '{name}': not created this pass: " + (
        held[name] if name in held else "a node it waits for is held back")
        for name in sorted(holding)]
    return dataclasses.replace(
        plan, actions=tuple(a for a in plan.actions
                            if not (isinstance(a, CreateNodes) and a.node_name in holding)),
        messages=plan.messages + tuple(messages))
