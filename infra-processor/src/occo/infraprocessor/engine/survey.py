"""The live state of every instance of an infrastructure: what the enactor plans from.

Each instance the cloud has made is asked as a readiness poll asks a booting
one (resource, then config manager, then health check, with its failing
period): its cloud once for as many of a connection's instances as it tells
in a call, then each instance's config manager and health check,
concurrently. An intent whose create has not been seen yet counts as
PENDING. With a fencing token, what was learnt is written back: an adopted
`created` instance found ready becomes `ready`, new addresses are kept.
Without one (a report by a command that holds no lease) nothing but the
failing periods is written.
"""
from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from occo.infobroker.store.base import Store
from occo.resourcehandler.base import ResourceStatus, TransientError
from occo.util.errors import OccoError
from occo.util.nodes import NodeState

from ..record import InstanceRecord, Phase, decode_all, stored_documents
from .calls import STATES_PER_CALL, batches
from .dispatcher import Dispatcher
from .operations import Observation, Operations, Told, observed_state
from .parts import Parts
from .results import describe


@dataclass(frozen=True)
class InstanceStatus:
    """One stored instance and its live state; `detail` says why when it is not ready."""

    record: InstanceRecord
    state: NodeState
    detail: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"node_name": self.record.name, "node_id": self.record.node_id,
                "state": str(self.state), "addresses": list(self.record.addresses),
                "created_at": self.record.created_at, "detail": self.detail}


LEAVING = (Phase.FAILED, Phase.DROPPING)
_RECORDED = {Phase.READY: NodeState.READY, Phase.CREATED: NodeState.PENDING,
             Phase.INTENT: NodeState.PENDING, Phase.FAILED: NodeState.FAILED,
             Phase.DROPPING: NodeState.SHUTDOWN}


def recorded(store: Store, infra_id: str) -> list[InstanceStatus]:
    """Every stored instance with the state its record last gave, asking no cloud.

    For a dry run, which must not touch a cloud, and for the table after a
    pass, which has just seen every instance it made become ready.
    """
    return _sorted([InstanceStatus(record, _RECORDED[record.phase], record.error)
                    for record in decoded(store, infra_id)])


class Survey:
    """One survey of stored instances, of one infrastructure or of many."""

    def __init__(self, parts: Parts, *, fence: int | None) -> None:
        self.parts = parts
        self.fence = fence

    def run(self, records: Sequence[InstanceRecord]) -> list[InstanceStatus]:
        # a failed record whose rollback did not finish, or one being dropped, is on its way
        # out whatever its cloud says: the pass replaces it (recovery drops it again)
        leaving = [record for record in records if record.phase in LEAVING]
        made = [record for record in records
                if record.instance is not None and record.phase not in LEAVING]
        dispatcher = Dispatcher(self.parts.tuning.max_workers)
        operations = self.parts.operations(threading.Event())
        try:
            looks = self._looks(dispatcher, operations, made)
            probing = [record for record in made if isinstance(looks[record.node_id], Told)]
            probed = dispatcher.map(
                lambda record: operations.finish(looks[record.node_id], record), probing)
        finally:
            dispatcher.close()
        for record, future in zip(probing, probed):
            try:
                looks[record.node_id] = future.result()
            except OccoError as error:
                looks[record.node_id] = error
        statuses = [InstanceStatus(record, NodeState.PENDING, "its create is not confirmed yet")
                    for record in records
                    if record.instance is None and record.phase not in LEAVING]
        statuses += [InstanceStatus(record, _RECORDED[record.phase],
                                    record.error or f"it is {record.phase}")
                     for record in leaving]
        for record in made:
            seen = looks[record.node_id]
            if isinstance(seen, TransientError):
                statuses.append(InstanceStatus(record, NodeState.UNKNOWN, describe(seen)))
            elif isinstance(seen, OccoError):
                statuses.append(InstanceStatus(record, NodeState.UNKNOWN,
                                               f"cannot tell its state: {describe(seen)}"))
            else:
                # a refused write (a lost lease: StaleFenceError) or a store that fails is
                # the pass's problem, not a state of this instance
                assert isinstance(seen, Observation), "every probe was finished"
                statuses.append(self._status(record, seen))
        return _sorted(statuses)

    def _looks(self, dispatcher: Dispatcher, operations: Operations,
               made: list[InstanceRecord]) -> dict[str, Observation | Told | OccoError]:
        """What can be seen of each instance without reaching it, or why not: its cloud is
        asked once for as many of a connection's instances as a call takes, whichever
        infrastructure they belong to, retried while it answers transiently (an instance
        whose state stays unknown is kept, not replaced, and the pass reports it)."""
        calls = list(batches(operations.backends, made, lambda record: record.resource,
                             STATES_PER_CALL))
        answers = dispatcher.map(
            lambda batch: operations.retrier.call(
                f"asking the states of {len(batch)} instance(s)",
                lambda: operations.statuses(batch)), calls)
        looks: dict[str, Observation | Told | OccoError] = {}
        for batch, answer in zip(calls, answers):
            try:
                statuses: list[ResourceStatus] = list(answer.result())
            except OccoError as error:
                looks.update((record.node_id, error) for record in batch)
                continue
            looks.update((record.node_id, operations.look(record, status))
                         for record, status in zip(batch, statuses))
        return looks

    def _status(self, record: InstanceRecord, seen: Observation) -> InstanceStatus:
        state = observed_state(record.infra_id, seen, self.parts.failing)
        updated = record.replace(addresses=seen.addresses or record.addresses,
                                 private_ip=seen.private_ip or record.private_ip)
        if state == NodeState.READY and record.phase is Phase.CREATED:
            updated = updated.replace(phase=Phase.READY, ready_at=self.parts.clock())
        if updated != record and self.fence is not None:
            self.parts.store.put_instance(record.infra_id, record.name, record.node_id,
                                           updated.to_dict(), fence=self.fence)
        detail = None if state == NodeState.READY else _why(seen, state)
        return InstanceStatus(updated, state, detail)


def decoded(store: Store, infra_id: str) -> list[InstanceRecord]:
    """The records a pass can act on: recovery reports those it cannot read."""
    return decode_all(stored_documents(store.get_instances(infra_id)), lambda error: None)


def _sorted(statuses: list[InstanceStatus]) -> list[InstanceStatus]:
    return sorted(statuses, key=lambda s: (s.record.name, s.record.created_at, s.record.node_id))


def _why(seen: Observation, state: NodeState) -> str:
    if seen.resource != NodeState.READY:
        return f"its resource is {seen.resource}" + (f": {seen.detail}" if seen.detail else "")
    if seen.service != NodeState.READY:
        return f"its config manager reports it {seen.service}"
    failure = seen.report.failure if seen.report is not None else None
    return f"its health check fails ({state})" + (f": {failure}" if failure else "")


def by_name(statuses: list[InstanceStatus]) -> Mapping[str, list[InstanceStatus]]:
    """The statuses grouped by node name, in their order."""
    grouped: dict[str, list[InstanceStatus]] = {}
    for status in statuses:
        grouped.setdefault(status.record.name, []).append(status)
    return grouped
