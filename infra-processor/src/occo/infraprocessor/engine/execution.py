"""One execution of instructions, driven by the thread that owns the store.

An instance being created goes through these steps; what happens in a worker
thread is marked [w], everything else (store writes, events, decisions) runs
in the owning thread:

    resolve (templates read the records, no cloud call)
    -> intent record stored, fenced; `nodecreating`
    -> [w] its config manager registers it, its cloud creates it (retried
       while transient, through its idempotent node id)
    -> record `created` -> polls until ready (`polling`) -> record `ready`

The instances of the creates that may start together are resolved and their
intents stored first, then all of them are sent (`_launch` says why). Other
records and the events are written behind (`writes`). A failure at any step
rolls the instance back, its dependents are skipped and other node types go
on (`teardown`, which also does the drops).

Cancelled, the execution starts nothing new: creates that have not started
are cancelled, instances booting are rolled back, calls in flight finish and
are then kept (ready) or rolled back. A failed store write (a lost lease:
`StaleFenceError`) stops everything at once without touching the cloud
again: the records written so far let the next owner's recovery finish the job.

A ready instance the plan names (`ConfigureNode`) is [w] configured again by
its config manager; the result replaces the record's, with `nodeconfigured`.
A failure is a problem of the execution, and the next pass replaces the
instance, as one whose first configuration failed.
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future
from functools import partial
from typing import Any

from occo.configmanager.base import Configured
from occo.util.errors import OccoError

from ..instructions import (ConfigureNode, CreateInfrastructure, CreateNodes,
                            DropInfrastructure, DropNode, Instruction)
from ..record import InstanceRecord, Phase
from ..resolution import NodeResolver
from .operations import Launched
from .parts import Parts
from .calls import CREATES_PER_CALL, call_group
from .polling import Polling
from .progress import Step
from .results import ExecutionResult, Outcome, describe
from .state import ExecutionState, Tracked
from .teardown import NOT_STARTED, Teardown
from .walk import DependencyWalk


log = logging.getLogger("occo.infraprocessor.engine")


class UnknownNode(OccoError):
    """An instruction names a node the description given does not have."""


class Execution:
    """One `Engine.execute` call; used once, from one thread."""

    def __init__(self, parts: Parts, infra_id: str, *, fence: int | None,
                 nodes: Mapping[str, Mapping[str, Any]]) -> None:
        self.state = ExecutionState(parts, infra_id, fence)
        self.teardown = Teardown(self.state)
        self.polling = Polling(self.state, self.teardown)
        self.nodes = nodes
        self.resolver = NodeResolver(
            parts.router, settings=parts.settings, rng=parts.rng, strategy=parts.strategy,
            attributes_of_manager=self.state.operations.backends.managers.attributes)
        self._began = time.monotonic()

    def stop(self) -> None:
        """Ask the execution to start nothing new; safe from any thread and signal handlers."""
        self.state.stopping.set()
        self.state.dispatcher.wake()

    # --- the loop -------------------------------------------------------------
    def run(self, instructions: Sequence[Instruction]) -> ExecutionResult:
        state = self.state
        creates = [i for i in instructions if isinstance(i, CreateNodes)]
        unknown = sorted({create.node_name for create in creates} - set(self.nodes))
        if unknown:
            raise UnknownNode(f"infrastructure {state.infra_id} has no node "
                              + ", ".join(f"'{name}'" for name in unknown),
                              hint="pass the static description's nodes the plan was made from")
        dispatcher, writes = state.dispatcher, state.writes
        try:
            self._begin(instructions, creates)
            while state.walk.waiting or not dispatcher.idle:
                if dispatcher.idle:
                    state.walk.check_progress()
                dispatcher.step(wait=not writes.waiting)
                self._advance()
                self.polling.send_due()
                if not dispatcher.ready:
                    writes.write_share()
            if any(isinstance(i, DropInfrastructure) for i in instructions):
                if state.halted:
                    state.problems.append("cancelled before the infrastructure was dropped")
                else:
                    self.teardown.drop_infrastructure()
            writes.write_all()
        except BaseException:
            self.stop()
            dispatcher.close(abandon=True)
            writes.save_what_is_left()
            raise
        dispatcher.close()
        return ExecutionResult(state.infra_id,
                               tuple(sorted(state.results,
                                            key=lambda r: (r.node_name, r.node_id or ""))),
                               tuple(state.problems), state.halted, dict(state.unswept))

    def _begin(self, instructions: Sequence[Instruction], creates: Sequence[CreateNodes]) -> None:
        """Start the drops, the polls of existing instances creates wait for, and what may start."""
        state = self.state
        drops = [i for i in instructions if isinstance(i, DropNode)]
        records = state.writes.records()
        state.walk = DependencyWalk(creates, [drop.node_name for drop in drops])
        if state.stopping.is_set():
            self._halt()
        if any(isinstance(i, CreateInfrastructure) for i in instructions) and not state.halted:
            state.writes.event("infrastart")
        self.teardown.drop([(drop.node_name, drop.node_id, drop.reason) for drop in drops],
                           records)
        self._watch_dependencies(creates, records, {drop.node_id for drop in drops})
        self._configure_again([i for i in instructions if isinstance(i, ConfigureNode)], records)
        for create in creates:
            state.progress(create.node_name, None, Step.WAITING, self._began)
        self._advance()

    def _advance(self) -> None:
        """Start what may start now; after a cancel, give up what has not.

        An instance that cannot even be resolved (its node type has no
        definitions) fails here, before any call: its dependents can be
        skipped at once, so the walk is advanced again until nothing changes.
        """
        while self._advance_once():
            pass

    def _advance_once(self) -> bool:
        """One step of `_advance`; whether it started or skipped anything."""
        state = self.state
        if state.stopping.is_set() and not state.halted:
            self._halt()
        start, skip = state.walk.advance()
        if not (start or skip):
            return False
        if any(self.resolver.renders_templates(self.nodes[create.node_name]) for create in start):
            state.writes.flush()    # templates read the records of the instances they depend on
        for create, why in skip:
            self._never_started(create.node_name, create.count, Outcome.SKIPPED, why)
        filling: dict[Any, list[Tracked]] = {}     # the next create call of each connection
        node_ids = new_node_ids(sum(create.count for create in start))
        for create in start:
            for _ in range(create.count):
                if state.stopping.is_set():
                    state.walk.failed(create.node_name)
                    self._never_started(create.node_name, 1, Outcome.CANCELLED, NOT_STARTED)
                elif (tracked := self._intend(create.node_name, next(node_ids))) is not None:
                    cloud, size = call_group(state.operations.backends,
                                             tracked.record.resource, CREATES_PER_CALL)
                    batch = filling.setdefault(cloud, [])
                    batch.append(tracked)
                    if len(batch) == size:
                        self._launch(filling.pop(cloud))
        for batch in filling.values():
            self._launch(batch)
        return True

    def _halt(self) -> None:
        self.state.halted = True
        for create in self.state.walk.cancel():
            self._never_started(create.node_name, create.count, Outcome.CANCELLED, NOT_STARTED)
        for tracked in list(self.state.tracked.values()):
            if not (tracked.done or tracked.busy):
                self.polling.give_up(tracked)

    def _never_started(self, name: str, count: int, outcome: Outcome, why: str) -> None:
        step = Step.SKIPPED if outcome is Outcome.SKIPPED else Step.CANCELLED
        for _ in range(count):
            self.state.progress(name, None, step, self._began)
            self.state.finish(name, None, outcome, why)

    # --- creating ---------------------------------------------------------------
    def _intend(self, name: str, node_id: str) -> Tracked | None:
        """Resolve a new instance and store its intent; None if it cannot be resolved."""
        state = self.state
        description = self.nodes[name]
        started = time.monotonic()
        try:
            node = self.resolver.resolve(description, node_id)
        except OccoError as error:
            reason = f"cannot resolve it: {describe(error)}"
            state.writes.event("nodefailed", node_id=node_id, name=name, reason=reason)
            state.progress(name, node_id, Step.FAILED, started)
            state.walk.failed(name)
            state.finish(name, node_id, Outcome.FAILED, reason)
            return None
        # the description's variables, shared by its nodes' records (read-only)
        record = InstanceRecord(node, Phase.INTENT, state.parts.clock(),
                                variables=description.get("variables") or {})
        state.writes.put(record)
        state.writes.event("nodecreating", node_id=node_id, name=name)
        return self._track(record, owned=True, started=started)

    def _launch(self, batch: Sequence[Tracked]) -> None:
        """Create the instances of one call, their intents stored first, in one transaction.

        A level's creates leave a call at a time, as soon as the call's
        intents are resolved and stored: the cloud works on the first calls
        while the engine resolves the rest, rather than after (on simcloud,
        making a level of 2,500 took a core for as long as resolving it).
        The intents of a call go in one transaction: the worker threads that
        send and answer creates hold the GIL for much of their time, and each
        store write waits for it several times (SQLite lets it go around each
        statement); an intent a transaction, a level of 250 took seconds. The
        other records kept back (the instances just seen ready, whose
        dependents these are) are written once the creates have left.

        The instances of one connection go to their cloud together, as many
        in a call (and a worker) as it takes (`creates_per_call`): a level of
        250 on a cloud that takes 200 a call is two calls, not 250 threads
        each starting, sending and waking up in turn.
        """
        state = self.state
        state.writes.flush([tracked.record.node_id for tracked in batch])
        for tracked in batch:
            tracked.busy = True
            state.progress(tracked.record.name, tracked.record.node_id, Step.CREATING,
                           tracked.started)
        state.dispatcher.submit(state.operations.launch, [tracked.record.node for tracked in batch],
                                then=partial(self._launched, batch))

    def _launched(self, batch: Sequence[Tracked], future: Future[list[Launched | OccoError]]
                  ) -> None:
        try:
            outcomes: Sequence[Launched | OccoError] = future.result()
        except OccoError as error:
            outcomes = [error] * len(batch)
        for tracked, outcome in zip(batch, outcomes, strict=True):
            tracked.busy = False
            if isinstance(outcome, OccoError):
                self.polling.fail(tracked, f"cannot create it: {describe(outcome)}")
                continue
            # stored with what its first poll tells (its addresses, most often): a write
            # saved for each instance, and a crash meanwhile loses nothing recovery does not
            # find again by the cloud's tags
            tracked.record = tracked.record.replace(phase=Phase.CREATED,
                                                    instance=outcome.instance)
            tracked.unsaved = True
            self.state.progress(tracked.record.name, tracked.record.node_id, Step.BOOTING,
                                tracked.started)
            self.polling.booted(tracked, outcome)

    def _configure_again(self, configures: Sequence[ConfigureNode],
                         records: Mapping[str, Mapping[str, dict]]) -> None:
        """The ready instances named configured again, each in a call of its own."""
        if not configures or self.state.halted:
            return
        state, peers = self.state, self.polling.addresses_by_node()
        for configure in configures:
            data = records.get(configure.node_name, {}).get(configure.node_id)
            record = self.teardown.decode(data) if data is not None else None
            if record is not None and record.phase is Phase.READY:
                state.dispatcher.submit(state.operations.reapply, record, peers,
                                        then=partial(self._configured_again, record))

    def _configured_again(self, record: InstanceRecord,
                          future: Future[Configured | None]) -> None:
        try:
            done = future.result()
        except OccoError as error:
            done = Configured(False, describe(error))
        if done is None:
            log.info("node %s: cannot be reached now, configured again by a later pass",
                     record.node_id)
            return
        state = self.state
        state.writes.put(record.replace(configured=done))
        state.writes.event("nodeconfigured", node_id=record.node_id, name=record.name,
                           ok=done.ok, again=True)
        if not done.ok:
            state.problems.append(f"node {record.node_id} ({record.name}): its configuration "
                                  f"applied again failed: {done.detail}; the next pass "
                                  "replaces it")

    def _watch_dependencies(self, creates: Sequence[CreateNodes],
                            records: Mapping[str, Mapping[str, dict]], dropping: set[str]) -> None:
        """Poll existing instances of the types creates wait for that are not ready yet."""
        needed = {name for create in creates for name in create.waits_for}
        for name in sorted(needed):
            for node_id, data in sorted(records.get(name, {}).items()):
                record = self.teardown.decode(data)
                if node_id not in dropping and record is not None and record.phase is Phase.CREATED:
                    self.state.walk.watch(name)
                    self.polling.watch(self._track(record, owned=False, started=time.monotonic()))

    def _track(self, record: InstanceRecord, *, owned: bool, started: float) -> Tracked:
        tracked = Tracked(record, owned, started,
                          self.state.operations.backends.key(record.resource))
        self.state.tracked[record.node_id] = tracked
        self.teardown.remember(record)
        return tracked


def new_node_ids(count: int) -> Iterator[str]:
    """`count` random (version 4) UUIDs, as `uuid.uuid4()` makes them, from one read of the
    system's randomness: a level of thousands made them one system call and one `UUID`
    object each, in the thread every other step waits for."""
    data = bytearray(os.urandom(16 * count))
    for start in range(0, len(data), 16):
        data[start + 6] = data[start + 6] & 0x0F | 0x40       # version 4
        data[start + 8] = data[start + 8] & 0x3F | 0x80       # the RFC 4122 variant
    text = data.hex()
    for start in range(0, len(text), 32):
        h = text[start:start + 32]
        yield f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
