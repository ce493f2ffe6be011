"""Waiting for instances to become ready: polls paced by `pacing`, sent in batches.

A booting instance is polled ([w] its cloud's state and addresses, its
config manager, its health check, combined as `health.state` does) until it
is ready, then its record becomes `ready`; `nodecreated`. Once its resource
is up, a config manager that configures nodes does so ([w] in a call of its
own, at most once: the result goes in the record; `nodeconfigured`). FAILED or SHUTDOWN,
or its `create_timeout` counted from its intent, fails it (`Teardown.fail`).
Existing instances that creates wait for, still `created` (adopted by
recovery, say), are polled the same way, and fail the same way.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from functools import partial
from typing import Any, TypeVar

from occo.resourcehandler.base import TransientError
from occo.util.errors import OccoError
from occo.util.nodes import NodeState

from ..record import InstanceRecord, Phase, decode_all, stored_documents
from .calls import STATES_PER_CALL, batches
from .operations import Launched, Observation, Told, observed_state
from .pacing import Boot, Pacing, peer_group
from .progress import Step
from .results import Outcome, describe
from .state import ExecutionState, Tracked
from .teardown import Teardown

log = logging.getLogger("occo.infraprocessor.engine")
T = TypeVar("T")

GONE = (NodeState.FAILED, NodeState.SHUTDOWN)


class Polling:
    """The readiness polls of one execution."""

    def __init__(self, state: ExecutionState, teardown: Teardown) -> None:
        self.state = state
        self.teardown = teardown
        tuning = state.parts.tuning
        self.pacing = Pacing(tuning.poll, tuning.retry, state.parts.rng)
        self.peers: dict[str, dict[str, Tracked]] = {}    # each group's booting instances
        self.due: list[Tracked] = []          # polls fallen due, sent together after each step

    # --- what the execution asks ------------------------------------------------------
    def booted(self, tracked: Tracked, launched: Launched) -> None:
        """Its cloud made it: poll it, paced from when its create was sent, among its peers;
        at once where the cloud says its resources are up when made."""
        cloud = self.state.operations.backends.cloud(tracked.record.resource)
        peers = peer_group(tracked.record.name, cloud.connection.key)
        tracked.boot = Boot(peers, launched.sent, kin=tracked.section)
        self.peers.setdefault(peers, {})[tracked.record.node_id] = tracked
        if cloud.capabilities.up_when_made and not self.state.halted:
            self._poll(tracked)
        else:
            self._next_poll(tracked)

    def watch(self, tracked: Tracked) -> None:
        """An existing instance that is not ready yet: poll it (how long it has booted is
        unknown)."""
        tracked.boot = Boot(None, tracked.started)
        self._next_poll(tracked)

    def give_up(self, tracked: Tracked) -> None:
        """Cancelled: roll back an instance made here; leave an existing one as it is."""
        if tracked.timer is not None:
            tracked.timer.cancel()
        if tracked.owned:
            self.fail(tracked, "cancelled before it was ready", Outcome.CANCELLED)
        else:
            tracked.done = True

    def fail(self, tracked: Tracked, reason: str, outcome: Outcome = Outcome.FAILED) -> None:
        self._leave_peers(tracked)
        self.teardown.fail(tracked, reason, outcome)

    def send_due(self) -> None:
        """Poll the instances fallen due, as many of one connection in a call (and a worker)
        as their cloud takes (`states_per_call`).

        Polls fall due together: a level's instances are made together, and
        their peers or kin make them due at the same age. A level of 250
        seen ready on a cloud that tells 200 states a call is two calls, not
        250 workers each waking up to hand in its answer.
        """
        due, self.due = self.due, []
        if self.state.halted:
            for tracked in due:
                tracked.busy = False
                self.give_up(tracked)
            return
        for batch in batches(self.state.operations.backends, due,
                             lambda tracked: tracked.record.resource, STATES_PER_CALL):
            self.state.dispatcher.submit(_begun(self.state.operations.observe_all),
                                         [tracked.record for tracked in batch],
                                         then=partial(self._observed_all, batch))

    # --- the polls ------------------------------------------------------------------
    def _next_poll(self, tracked: Tracked) -> None:
        assert tracked.boot is not None, "only a booting instance is polled"
        if self.state.halted:
            self.give_up(tracked)
        else:
            tracked.timer = self.state.dispatcher.after(
                self.pacing.delay(tracked.boot, time.monotonic()), partial(self._poll, tracked))

    def _hurry_peers(self, boot: Boot) -> None:
        """A peer of theirs was seen ready: poll those waiting sooner if pacing says so."""
        now = time.monotonic()
        for peer in self.peers.get(boot.peers or "", {}).values():
            timer = peer.timer
            due = (None if peer.boot is None or timer is None
                   else self.pacing.sooner(peer.boot, now))
            if timer is not None and due is not None and due < timer.due:
                timer.cancel()
                peer.timer = self.state.dispatcher.at(due, partial(self._poll, peer))

    def _poll_again(self, tracked: Tracked) -> None:
        """Not ready yet: poll again, unless its `create_timeout` (from its intent) is over."""
        timeout = tracked.record.node.create_timeout
        if timeout is not None and \
                self.state.parts.clock() > tracked.record.created_at + float(timeout):
            self.fail(tracked, f"not ready within its create_timeout of {float(timeout):g} s")
        else:
            self._next_poll(tracked)

    def _poll(self, tracked: Tracked) -> None:
        """Its poll is due: it goes with the others due now (`send_due`)."""
        tracked.timer = None
        tracked.busy = True
        self.due.append(tracked)

    def _observed_all(self, batch: Sequence[Tracked],
                      future: Future[tuple[float, list[Observation | Told | OccoError]]]
                      ) -> None:
        asked, outcomes = future.result()
        operations = self.state.operations
        peers: dict[str, tuple[str, ...]] | None = None
        for tracked, seen in zip(batch, outcomes, strict=True):
            tracked.busy = False
            if isinstance(seen, Told):      # its health check or configure step: a call of its own
                if peers is None and operations.configure_due(tracked.record):
                    peers = self.addresses_by_node()
                self.state.call(tracked, partial(operations.finish, seen, configure=True,
                                                 peers=peers),
                                tracked.record, then=partial(self._finished, asked))
            else:
                self._observed(tracked, asked, seen)

    def addresses_by_node(self) -> dict[str, tuple[str, ...]]:
        """The first address of each stored instance that has one, by node name."""
        found: dict[str, tuple[str, ...]] = {}
        for record in decode_all(stored_documents(self.state.writes.records()),
                                 lambda error: log.warning("%s", error)):
            if record.addresses:
                found[record.name] = (*found.get(record.name, ()), record.addresses[0])
        return found

    def _finished(self, asked: float, tracked: Tracked, future: Future[Observation]) -> None:
        try:
            seen: Observation | OccoError = future.result()
        except OccoError as error:
            seen = error
        self._observed(tracked, asked, seen)

    def _observed(self, tracked: Tracked, asked: float, seen: Observation | OccoError) -> None:
        assert tracked.boot is not None
        state = self.state
        if isinstance(seen, TransientError):
            log.info("node %s: state unknown for now: %s", tracked.record.node_id, seen.message)
            self.pacing.failed(tracked.boot)
            self._poll_again(tracked)
            return
        if isinstance(seen, OccoError):
            self.fail(tracked, f"cannot tell its state: {describe(seen)}")
            return
        self.pacing.answered(tracked.boot, asked)
        record = tracked.record
        if (seen.addresses, seen.private_ip) != (record.addresses, record.private_ip):
            record = record.replace(addresses=seen.addresses, private_ip=seen.private_ip)
        if seen.configured is not None:
            record = record.replace(configured=seen.configured)
            state.writes.event("nodeconfigured", node_id=record.node_id, name=record.name,
                               ok=seen.configured.ok)
        node_state = observed_state(state.infra_id, seen, state.parts.failing,
                                    none_failing=tracked.owned and not tracked.unhealthy)
        tracked.unhealthy |= seen.report is not None and not seen.report.ready
        if node_state == NodeState.READY:
            self._ready(tracked, record)
            return
        if record is not tracked.record or tracked.unsaved:
            tracked.record, tracked.unsaved = record, False
            state.writes.put(record)
        if node_state in GONE:
            self.fail(tracked, _not_ready(seen))
        else:
            self._poll_again(tracked)

    def _ready(self, tracked: Tracked, record: InstanceRecord) -> None:
        assert tracked.boot is not None
        state = self.state
        tracked.record = record.replace(phase=Phase.READY, ready_at=state.parts.clock())
        state.writes.put(tracked.record)
        state.writes.event("nodecreated", node_id=record.node_id, name=record.name)
        state.progress(record.name, record.node_id, Step.READY, tracked.started)
        tracked.done = True
        self._leave_peers(tracked)
        if self.pacing.ready(tracked.boot):
            self._hurry_peers(tracked.boot)
        state.walk.ready(record.name)
        if tracked.owned:
            state.finish(record.name, record.node_id, Outcome.CREATED, None)

    def _leave_peers(self, tracked: Tracked) -> None:
        """It no longer boots: its peers stop looking at it."""
        if tracked.boot is not None and tracked.boot.peers is not None:
            self.peers.get(tracked.boot.peers, {}).pop(tracked.record.node_id, None)


def _begun(function: Callable[[Any], T]) -> Callable[[Any], tuple[float, T]]:
    """`function`, also giving when it began, taken in the worker (the owning thread sees
    the answer later): pacing polls an instance's peers at the age this poll was made at."""
    def call(argument: Any) -> tuple[float, T]:
        began = time.monotonic()
        return began, function(argument)
    return call


def _not_ready(seen: Observation) -> str:
    """Why an instance that will not become ready failed."""
    if seen.resource in GONE:
        return f"its resource is {seen.resource}" + (f": {seen.detail}" if seen.detail else "")
    if seen.configured is not None and not seen.configured.ok:
        return f"its configuration failed: {seen.configured.detail or 'no detail given'}"
    if seen.service in GONE:
        return f"its config manager reports it {seen.service}"
    failure = seen.report.failure if seen.report is not None else None
    if failure is not None and failure.permanent:
        return f"its health check can never pass: {failure}"
    return (f"its health check has failed for longer than its timeout of "
            f"{seen.health_timeout:g} s" + (f": {failure}" if failure else ""))
