"""How long a node may fail its health check before it counts as FAILED.

A node that is not healthy is PENDING while it may still come up; once it has
been failing for longer than its `health_check.timeout` (600 s by default) it
is FAILED, and the engine replaces it. A check that can never pass (a port
that is no port number once rendered, say) makes it FAILED at once. The start
of a failing streak is kept in the store, so that it survives restarts and is
shared by every Occopus command; a healthy check ends the streak.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable

from occo.infobroker.store.base import Store
from occo.util.nodes import NodeState

from .report import HealthReport

log = logging.getLogger("occo.infraprocessor.health")


class FailingPeriods:
    """Turns a node's health report into its health state.

    Use it from one thread: store connections (SQLite's) belong to the thread
    that opened them. `clock` gives epoch seconds, as the store keeps them.
    """

    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

    def health_state(self, infra_id: str, report: HealthReport, timeout: float) -> NodeState:
        """READY if healthy; else PENDING until the node has failed for over `timeout` s, then FAILED."""
        now = self.clock()
        if report.ready:
            self.store.failing_period(infra_id, report.node_id, failing=False, now=now)
            return NodeState.READY
        if report.hopeless:
            log.info("node %s fails a health check that can never pass: it counts as failed "
                     "at once (%s)", report.node_id, report)
            return NodeState.FAILED
        period = self.store.failing_period(infra_id, report.node_id, failing=True, now=now)
        if period > timeout:
            log.warning("node %s has failed its health check for %g s, longer than its timeout "
                        "of %g s: it counts as failed (%s)", report.node_id, period, timeout, report)
            return NodeState.FAILED
        log.info("node %s has failed its health check for %g s (timeout %g s): %s",
                 report.node_id, period, timeout, report)
        return NodeState.PENDING
