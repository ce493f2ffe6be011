"""Rolling back instances that failed, dropping nodes, and dropping the infrastructure.

A failure at any step of a create (an error, FAILED or SHUTDOWN while
booting, the `create_timeout`) gives `nodefailed`, marks the record `failed`
(so that a crash now still leaves the resource to be dropped), rolls back
([w] resource dropped, config manager told), then archives and removes the
record. If the rollback fails the record stays `failed` for the next pass.

A drop stores the record as `dropping` (one transaction for a moment's
drops) and gives `nodedropping`, then [w] drops the resource (gone already is
fine) and tells the config manager, then removes the record; `nodedropped`.
Dropping the infrastructure drops every instance left, sweeps what the clouds
still own for it, then has the config managers drop their part; `infradrop`.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from functools import partial
from typing import Any

from occo.util.errors import OccoError

from ..record import InstanceRecord, Phase, RecordError
from .backends import describe_section
from .progress import Step
from .results import Outcome, describe
from .state import ExecutionState, Tracked

log = logging.getLogger("occo.infraprocessor.engine")

NOT_STARTED = "cancelled before it started"


class Teardown:
    """The rollbacks and drops of one execution."""

    def __init__(self, state: ExecutionState) -> None:
        self.state = state
        # the clouds and config managers the infrastructure uses, to sweep when it is dropped
        self.resources: dict[str, dict[str, Any]] = {}
        self.managers: dict[str, dict[str, Any]] = {}

    # --- rolling back ---------------------------------------------------------------
    def fail(self, tracked: Tracked, reason: str, outcome: Outcome = Outcome.FAILED) -> None:
        """Roll back an instance that failed (or was cancelled) on its way to ready."""
        state, record = self.state, tracked.record
        # info, not a warning: the caller's result says it (a command's table), and a warning
        # with no logging configured goes to stderr, saying the reason a second time
        log.info("node %s (%s) %s: %s", record.node_id, record.name, outcome, reason)
        if outcome is Outcome.FAILED:
            state.writes.event("nodefailed", node_id=record.node_id, name=record.name,
                               reason=reason)
            state.walk.failed(record.name)
        state.progress(record.name, record.node_id,
                       Step.FAILED if outcome is Outcome.FAILED else Step.CANCELLED,
                       tracked.started)
        tracked.record = record.replace(phase=Phase.FAILED, error=reason)
        state.writes.put(tracked.record)
        state.writes.flush()    # a crash from now on still leaves the resource to be dropped
        state.writes.event("nodedropping", node_id=record.node_id, name=record.name,
                           reason=str(outcome))
        state.call(tracked, state.operations.teardown, tracked.record,
                   then=partial(self._rolled_back, outcome=outcome))

    def _rolled_back(self, tracked: Tracked, future: Future[None], *, outcome: Outcome) -> None:
        tracked.done = True
        record = tracked.record
        reason = record.error
        try:
            future.result()
        except OccoError as error:
            reason = f"{reason}; rolling it back failed: {describe(error)}"
            tracked.record = record.replace(error=reason)   # still `failed`: dropped later
            self.state.writes.put(tracked.record)
        else:
            self.state.writes.remove(record, archive=outcome is Outcome.FAILED)
        self.state.finish(record.name, record.node_id, outcome, reason)

    # --- dropping -------------------------------------------------------------------
    def drop(self, drops: Sequence[tuple[str, str, str]],
             records: Mapping[str, Mapping[str, dict]]) -> None:
        """Drop instances given as (node name, node id, reason).

        Each record is stored as `dropping` before its drop is sent, all of
        them in one transaction: a cloud carries out a drop its caller no
        longer waits for (a command killed meanwhile), and a pass after a
        crash must not take such an instance for a live one; recovery drops
        it again and removes the record.
        """
        state = self.state
        sending: list[tuple[InstanceRecord, float]] = []
        for name, node_id, reason in drops:
            started = time.monotonic()
            if state.halted:
                state.walk.dropped(name)
                state.progress(name, node_id, Step.CANCELLED, started)
                state.finish(name, node_id, Outcome.CANCELLED, NOT_STARTED)
                continue
            data = records.get(name, {}).get(node_id)
            record = None if data is None else self.decode(data)
            if record is None:
                state.walk.dropped(name)
                state.finish(name, node_id, Outcome.DROPPED if data is None else Outcome.FAILED,
                             "it was not stored" if data is None else "its record is damaged")
                continue
            record = record.replace(phase=Phase.DROPPING)
            state.writes.put(record)
            state.writes.event("nodedropping", node_id=node_id, name=name, reason=reason)
            state.progress(name, node_id, Step.DROPPING, started)
            sending.append((record, started))
        state.writes.flush([record.node_id for record, _ in sending])
        for record, started in sending:
            state.dispatcher.submit(state.operations.teardown, record,
                                    then=partial(self._dropped, record, started))

    def _dropped(self, record: InstanceRecord, started: float, future: Future[None]) -> None:
        state = self.state
        state.walk.dropped(record.name)
        try:
            future.result()
        except OccoError as error:
            reason = f"cannot drop it: {describe(error)}"
            state.writes.put(record.replace(phase=Phase.FAILED, error=reason))
            state.progress(record.name, record.node_id, Step.FAILED, started)
            state.finish(record.name, record.node_id, Outcome.FAILED, reason)
            return
        state.writes.remove(record)
        state.progress(record.name, record.node_id, Step.DROPPED, started)
        state.finish(record.name, record.node_id, Outcome.DROPPED, None)

    def drop_infrastructure(self) -> None:
        """Drop every instance left, then whatever the clouds still own for the infrastructure,
        then the config managers' part; `infradrop`."""
        state = self.state
        records = state.writes.records()
        self.drop([(name, node_id, "infrastructure") for name, by_id in records.items()
                   for node_id in by_id], records)
        state.dispatcher.drain()
        kept = {node_id for by_id in state.writes.records().values() for node_id in by_id}
        resources, managers = self._one_per_connection(), list(self.managers.values())
        swept = state.dispatcher.map(
            lambda resource: state.operations.sweep(resource, state.infra_id, kept), resources)
        for resource, future in zip(resources, swept):
            self._unswept(future, describe_section(resource), "cannot sweep {}")
        built = state.operations.backends.managers
        dropped = state.dispatcher.map(
            lambda section: built.manager(section).drop_infrastructure(state.infra_id), managers)
        for section, future in zip(managers, dropped):
            self._unswept(future, describe_section(section), "{} cannot drop the infrastructure")
        state.writes.event("infradrop")

    def _one_per_connection(self) -> list[dict[str, Any]]:
        """A section of each connection the infrastructure used: one listing sweeps them all,
        however many sections (a per-node name, say) reach it."""
        clouds: dict[Any, dict[str, Any]] = {}
        for key, resource in self.resources.items():
            try:
                cloud: Any = self.state.operations.backends.cloud(resource)
            except OccoError:
                cloud = key             # it cannot be reached: its sweep says why
            clouds.setdefault(cloud, resource)
        return list(clouds.values())

    def _unswept(self, future: Future[Any], where: str, what: str) -> None:
        """A problem, and `where` (a cloud or config manager, described) unswept, if the
        future failed; `what` says what failed, `{}` standing for `where`."""
        try:
            future.result()
        except OccoError as error:
            self.state.problems.append(f"{what.format(where)}: {describe(error)}")
            self.state.unswept[where] = f"{what.format('it')}: {describe(error)}"

    # --- the sections in use ----------------------------------------------------------
    def decode(self, data: Mapping[str, Any]) -> InstanceRecord | None:
        """A stored record, its sections remembered; None (logged) if it is damaged."""
        try:
            record = InstanceRecord.from_dict(data)
        except RecordError as error:
            log.warning("%s", error)
            return None
        self.remember(record)
        return record

    def remember(self, record: InstanceRecord) -> None:
        """Keep its sections, to sweep them when the infrastructure is dropped."""
        key = self.state.operations.backends.key
        self.resources.setdefault(key(record.resource), record.resource)
        self.managers.setdefault(key(record.node.config_management),
                                 record.node.config_management)
