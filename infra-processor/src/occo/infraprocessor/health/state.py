"""One state for a node from its resource, its config manager and its health check.

As in the original, each source is asked only when the one before says READY
(a node whose VM is not up has no configuration to ask about, and no service
to check); a source not asked counts as UNKNOWN. The three combine as:

    all READY                 -> READY
    else any FAILED           -> FAILED
    else any SHUTDOWN         -> SHUTDOWN
    else any TEMP_FAILED      -> TEMP_FAILED
    else (PENDING or UNKNOWN) -> PENDING
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from occo.util.nodes import NodeState

from .checker import HealthChecker, HealthTarget, run_bounded
from .failing import FailingPeriods
from .report import HealthReport

log = logging.getLogger("occo.infraprocessor.health")

_PRECEDENCE = (NodeState.FAILED, NodeState.SHUTDOWN, NodeState.TEMP_FAILED)


def combine(resource: NodeState, service: NodeState, health: NodeState) -> NodeState:
    """The node's state from the three partial ones (the table above)."""
    if resource == service == health == NodeState.READY:
        return NodeState.READY
    for state in _PRECEDENCE:
        if state in (resource, service, health):
            return state
    return NodeState.PENDING


@dataclass(frozen=True)
class NodeProbe:
    """How to ask about one node instance.

    The callables answer with the resource handler's and the config manager's
    state of the node; `node_states` calls them from worker threads.
    """

    target: HealthTarget
    resource_state: Callable[[], NodeState]
    service_state: Callable[[], NodeState]


@dataclass(frozen=True)
class _Observed:
    resource: NodeState
    service: NodeState
    report: HealthReport | None      # None: not checked, because the service is not READY


def node_state(infra_id: str, probe: NodeProbe, checker: HealthChecker,
               failing: FailingPeriods) -> NodeState:
    """The combined state of one node instance."""
    return _decide(infra_id, probe, _observe(checker, probe), failing)


def node_states(infra_id: str, probes: Sequence[NodeProbe], checker: HealthChecker,
                failing: FailingPeriods) -> dict[str, NodeState]:
    """{node id: combined state} of many instances.

    The nodes are asked and checked concurrently (at most `checker.max_workers`
    at a time); the failing periods are then kept in the calling thread, which
    owns the store's connection. An error of a state callable propagates.
    """
    observed = run_bounded(partial(_observe, checker), probes, checker.max_workers)
    return {probe.target.node_id: _decide(infra_id, probe, seen, failing)
            for probe, seen in zip(probes, observed)}


def _observe(checker: HealthChecker, probe: NodeProbe) -> _Observed:
    resource = probe.resource_state()
    service = probe.service_state() if resource == NodeState.READY else NodeState.UNKNOWN
    report = checker.check(probe.target) if service == NodeState.READY else None
    return _Observed(resource, service, report)


def _decide(infra_id: str, probe: NodeProbe, seen: _Observed, failing: FailingPeriods) -> NodeState:
    health = (NodeState.UNKNOWN if seen.report is None
              else failing.health_state(infra_id, seen.report, probe.target.timeout))
    state = combine(seen.resource, seen.service, health)
    log.debug("node %s is %s (resource %s, service %s, health %s)", probe.target.node_id, state,
              seen.resource, seen.service, health)
    return state
