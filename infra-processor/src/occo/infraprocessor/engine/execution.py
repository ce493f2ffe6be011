"""One execution of instructions, driven by the thread that owns the store.

An instance being created goes through these steps; what happens in a worker
thread is marked [w], everything else (store writes, events, decisions) runs
in the owning thread:

    resolve (templates read the records, no cloud call)
    -> intent record stored, fenced; `nodecreating`
    -> [w] its config manager registers it, its cloud creates it (retried
       while transient, through its idempotent node id) and is asked its
       addresses
    -> record `created` -> polls, paced by `pacing`: [w] resource, config
       manager and health check, combined as `health.state` does
    -> record `ready`; `nodecreated`

The instances of the creates that may start together are resolved and their
intents stored first, then all of them are sent (`_launch` says why). Other
records and the events are kept back and written together, a share in a
transaction (`_write_share`), when the owning thread has nothing else to do,
and always before a record must be in the store: before the cloud is asked
to create or drop, before templates read the records, before `execute`
returns (`_put` says why).

A failure at any step (an error, FAILED or SHUTDOWN while booting, the
`create_timeout`) gives `nodefailed`, marks the record `failed` (so that a
crash now still leaves the resource to be dropped), rolls back ([w] resource
dropped, config manager told), then archives and removes the record. Its
dependents are skipped; other node types go on.

Existing instances of the types a create waits for that are still `created`
(adopted by recovery, say) are polled the same way, and fail the same way,
before it starts; `ready` ones count at once.

A drop gives `nodedropping`, [w] drops the resource (gone already is fine) and
tells the config manager, then removes the record; `nodedropped`.

Cancelled, the execution starts nothing new: creates that have not started
are cancelled, instances booting are rolled back, calls in flight finish and
are then kept (ready) or rolled back. A failed store write (a lost lease:
`StaleFenceError`) stops everything at once without touching the cloud
again: the records written so far let the next owner's recovery finish the job.
"""
from __future__ import annotations

import itertools
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from occo.infobroker.store.base import Event
from occo.resourcehandler.base import TransientError
from occo.resourcehandler.guard import GuardedHandler
from occo.util.errors import OccoError
from occo.util.nodes import NodeState

from ..instructions import (CreateInfrastructure, CreateNodes, DropInfrastructure, DropNode,
                            Instruction)
from ..resolution import NodeResolver
from .backends import describe_section
from .dispatcher import Dispatcher, Timer
from .operations import Launched, Observation, Told, observed_state
from .pacing import Boot, Pacing, peer_group
from .progress import Step
from .record import InstanceRecord, Phase, RecordError
from .results import ExecutionResult, NodeResult, Outcome, describe
from .walk import DependencyWalk

if TYPE_CHECKING:
    from .engine import Engine

log = logging.getLogger("occo.infraprocessor.engine")
T = TypeVar("T")

GONE = (NodeState.FAILED, NodeState.SHUTDOWN)
NOT_STARTED = "cancelled before it started"
SHARE = 50      # records, or events, the write-behind writes in one transaction (`_write_share`)


class UnknownNode(OccoError):
    """An instruction names a node the description given does not have."""


@dataclass(eq=False)
class _Tracked:
    """An instance the execution follows until it is ready, or rolled back."""

    record: InstanceRecord
    owned: bool                     # created here; False: an existing one its dependents wait for
    started: float                  # monotonic, for elapsed times
    section: str                    # its resource section (`section_key`): its cloud's calls
    boot: Boot | None = None        # once it boots: what paces its polls
    timer: Timer | None = None      # the next poll, when one is due
    busy: bool = False              # a call for it is in flight
    done: bool = False
    unhealthy: bool = False         # a health check of it failed: a failing period may be stored


class Execution:
    """One `Engine.execute` call; used once, from one thread."""

    def __init__(self, engine: Engine, infra_id: str, *, fence: int | None,
                 nodes: Mapping[str, Mapping[str, Any]]) -> None:
        self.engine = engine
        self.store = engine.store
        self.infra_id = infra_id
        self.fence = fence
        self.nodes = nodes
        self.stopping = threading.Event()      # start nothing new; cut short create retries
        self.dispatcher = Dispatcher(engine.tuning.max_workers)
        self.operations = engine.operations(self.stopping)
        self.walk = DependencyWalk(())
        self.results: list[NodeResult] = []
        self.problems: list[str] = []
        self.tracked: dict[str, _Tracked] = {}
        self.pacing = Pacing(engine.tuning.poll, engine.tuning.retry, engine.rng)
        self.peers: dict[str, dict[str, _Tracked]] = {}    # each group's booting instances
        self.due: list[_Tracked] = []          # polls fallen due, sent together after each step
        self.resolver = NodeResolver(engine.router, settings=engine.settings, rng=engine.rng,
                                     strategy=engine.strategy,
                                     attributes_of_manager=self.operations.backends.attributes)
        # the clouds and config managers the infrastructure uses, to sweep when it is dropped
        self.resources: dict[str, dict[str, Any]] = {}
        self.managers: dict[str, dict[str, Any]] = {}
        self.halted = False
        # records and events kept back until the next write-behind (see `_put`)
        self.pending: dict[str, InstanceRecord] = {}
        self.events: list[Event] = []
        self._began = time.monotonic()

    def stop(self) -> None:
        """Ask the execution to start nothing new; safe from any thread and signal handlers."""
        self.stopping.set()
        self.dispatcher.wake()

    # --- the loop -------------------------------------------------------------
    def run(self, instructions: Sequence[Instruction]) -> ExecutionResult:
        creates = [i for i in instructions if isinstance(i, CreateNodes)]
        unknown = sorted({create.node_name for create in creates} - set(self.nodes))
        if unknown:
            raise UnknownNode(f"infrastructure {self.infra_id} has no node "
                              + ", ".join(f"'{name}'" for name in unknown),
                              hint="pass the static description's nodes the plan was made from")
        try:
            self._begin(instructions, creates)
            while self.walk.waiting or not self.dispatcher.idle:
                if self.dispatcher.idle:
                    self.walk.check_progress()
                self.dispatcher.step(wait=not (self.events or self.pending))
                self._advance()
                self._send_polls()
                if not self.dispatcher.ready:
                    self._write_share()
            if any(isinstance(i, DropInfrastructure) for i in instructions):
                if self.halted:
                    self.problems.append("cancelled before the infrastructure was dropped")
                else:
                    self._drop_infrastructure()
            self._write_behind()
        except BaseException:
            self.stop()
            self.dispatcher.close(abandon=True)
            self._save_what_is_left()
            raise
        self.dispatcher.close()
        return ExecutionResult(self.infra_id,
                               tuple(sorted(self.results,
                                            key=lambda r: (r.node_name, r.node_id or ""))),
                               tuple(self.problems), self.halted)

    def _begin(self, instructions: Sequence[Instruction], creates: Sequence[CreateNodes]) -> None:
        """Start the drops, the polls of existing instances creates wait for, and what may start."""
        drops = [i for i in instructions if isinstance(i, DropNode)]
        records = self._records()
        self.walk = DependencyWalk(creates, [drop.node_name for drop in drops])
        if self.stopping.is_set():
            self._halt()
        if any(isinstance(i, CreateInfrastructure) for i in instructions) and not self.halted:
            self._event("infrastart")
        for drop in drops:
            self._drop(drop.node_name, drop.node_id, drop.reason, records)
        self._watch_dependencies(creates, records, {drop.node_id for drop in drops})
        for create in creates:
            self._progress(create.node_name, None, Step.WAITING, self._began)
        self._advance()

    def _advance(self) -> None:
        """Start what may start now; after a cancel, give up what has not."""
        if self.stopping.is_set() and not self.halted:
            self._halt()
        start, skip = self.walk.advance()
        if any(self.resolver.renders_templates(self.nodes[create.node_name]) for create in start):
            self._flush()       # templates read the records of the instances they depend on
        for create, why in skip:
            self._never_started(create.node_name, create.count, Outcome.SKIPPED, why)
        intents: list[_Tracked] = []
        for create in start:
            for _ in range(create.count):
                if self.stopping.is_set():
                    self.walk.failed(create.node_name)
                    self._never_started(create.node_name, 1, Outcome.CANCELLED, NOT_STARTED)
                elif (tracked := self._intend(create.node_name)) is not None:
                    intents.append(tracked)
        self._launch(intents)

    def _halt(self) -> None:
        self.halted = True
        for create in self.walk.cancel():
            self._never_started(create.node_name, create.count, Outcome.CANCELLED, NOT_STARTED)
        for tracked in list(self.tracked.values()):
            if not (tracked.done or tracked.busy):
                if tracked.timer is not None:
                    tracked.timer.cancel()
                self._give_up(tracked)

    def _never_started(self, name: str, count: int, outcome: Outcome, why: str) -> None:
        step = Step.SKIPPED if outcome is Outcome.SKIPPED else Step.CANCELLED
        for _ in range(count):
            self._progress(name, None, step, self._began)
            self._finish(name, None, outcome, why)

    # --- creating ---------------------------------------------------------------
    def _intend(self, name: str) -> _Tracked | None:
        """Resolve a new instance and store its intent; None if it cannot be resolved."""
        description = self.nodes[name]
        node_id = str(uuid.uuid4())
        started = time.monotonic()
        try:
            node = self.resolver.resolve(description, node_id)
        except OccoError as error:
            reason = f"cannot resolve it: {describe(error)}"
            self._event("nodefailed", node_id=node_id, name=name, reason=reason)
            self._progress(name, node_id, Step.FAILED, started)
            self.walk.failed(name)
            self._finish(name, node_id, Outcome.FAILED, reason)
            return None
        record = InstanceRecord(node, Phase.INTENT, self.engine.clock(),
                                variables=dict(description.get("variables") or {}))
        self._put(record)
        self._event("nodecreating", node_id=node_id, name=name)
        return self._track(record, owned=True, started=started)

    def _launch(self, intents: Sequence[_Tracked]) -> None:
        """Create the instances whose intents are stored.

        Every intent of a batch is stored before the first create is sent:
        the worker threads that send and answer creates hold the GIL for much
        of their time, and each store write the owning thread makes among
        them waits for it several times (SQLite lets the GIL go around each
        statement). Interleaved with the creates, the intents of a level of
        250 instances took seconds rather than a fraction of one, and its
        last create left that much later. Each intent is still stored before
        its cloud is asked. Only the intents are: the other records kept back
        (the instances just seen ready, whose dependents these are) are
        written once the creates have left.

        The instances of one resource section go to their cloud together,
        as many in a call (and a worker) as it takes (`creates_per_call`):
        a level of 250 on a cloud that takes 200 a call is two calls, not
        250 threads each starting, sending and waking up in turn.
        """
        if not intents:
            return
        self._flush([tracked.record.node_id for tracked in intents])
        for tracked in intents:
            self._progress(tracked.record.name, tracked.record.node_id, Step.CREATING,
                           tracked.started)
        for batch in self._batches(intents, lambda cloud: cloud.creates_per_call):
            for tracked in batch:
                tracked.busy = True
            self.dispatcher.submit(self.operations.launch,
                                   [tracked.record.node for tracked in batch],
                                   then=partial(self._launched, batch))

    def _batches(self, tracked: Sequence[_Tracked], per_call: Callable[[GuardedHandler], int]
                 ) -> Iterator[list[_Tracked]]:
        """The instances by resource section, in runs of as many as their cloud takes in a
        call (`per_call` of its handler)."""
        sections: dict[str, list[_Tracked]] = {}
        for one in tracked:
            sections.setdefault(one.section, []).append(one)
        for same in sections.values():
            try:
                size = per_call(self.operations.backends.cloud(same[0].record.resource))
            except OccoError:       # the handler cannot be built: each call says why
                size = 1
            for start in range(0, len(same), size):
                yield same[start:start + size]

    def _launched(self, batch: Sequence[_Tracked], future: Future[list[Launched | OccoError]]
                  ) -> None:
        try:
            outcomes: Sequence[Launched | OccoError] = future.result()
        except OccoError as error:
            outcomes = [error] * len(batch)
        for tracked, outcome in zip(batch, outcomes, strict=True):
            tracked.busy = False
            self._provisioned(tracked, outcome)

    def _provisioned(self, tracked: _Tracked, launched: Launched | OccoError) -> None:
        if isinstance(launched, OccoError):
            self._fail(tracked, f"cannot create it: {describe(launched)}")
            return
        tracked.record = tracked.record.replace(phase=Phase.CREATED, instance=launched.instance,
                                                addresses=launched.addresses,
                                                private_ip=launched.private_ip)
        peers = peer_group(tracked.record.name, tracked.record.resource)
        tracked.boot = Boot(peers, launched.sent, kin=tracked.section)
        self.peers.setdefault(peers, {})[tracked.record.node_id] = tracked
        self._put(tracked.record)
        self._progress(tracked.record.name, tracked.record.node_id, Step.BOOTING, tracked.started)
        self._next_poll(tracked)

    def _watch_dependencies(self, creates: Sequence[CreateNodes],
                            records: Mapping[str, Mapping[str, dict]], dropping: set[str]) -> None:
        """Poll existing instances of the types creates wait for that are not ready yet."""
        needed = {name for create in creates for name in create.waits_for}
        for name in sorted(needed):
            for node_id, data in sorted(records.get(name, {}).items()):
                record = self._decode(data)
                if node_id not in dropping and record is not None and record.phase is Phase.CREATED:
                    self.walk.watch(name)
                    started = time.monotonic()
                    tracked = self._track(record, owned=False, started=started)
                    tracked.boot = Boot(None, started)     # how long it has booted is unknown
                    self._next_poll(tracked)

    def _track(self, record: InstanceRecord, *, owned: bool, started: float) -> _Tracked:
        tracked = _Tracked(record, owned, started, self.operations.backends.key(record.resource))
        self.tracked[record.node_id] = tracked
        self._remember_sections(record)
        return tracked

    # --- waiting until ready ----------------------------------------------------
    def _next_poll(self, tracked: _Tracked) -> None:
        assert tracked.boot is not None, "only a booting instance is polled"
        if self.halted:
            self._give_up(tracked)
        else:
            tracked.timer = self.dispatcher.after(
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
                peer.timer = self.dispatcher.at(due, partial(self._poll, peer))

    def _poll_again(self, tracked: _Tracked) -> None:
        """Not ready yet: poll again, unless its `create_timeout` (from its intent) is over."""
        timeout = tracked.record.node.create_timeout
        if timeout is not None and self.engine.clock() > tracked.record.created_at + float(timeout):
            self._fail(tracked, f"not ready within its create_timeout of {float(timeout):g} s")
        else:
            self._next_poll(tracked)

    def _poll(self, tracked: _Tracked) -> None:
        """Its poll is due: it goes with the others due now (`_send_polls`)."""
        tracked.timer = None
        tracked.busy = True
        self.due.append(tracked)

    def _send_polls(self) -> None:
        """Poll the instances fallen due, as many of one resource section in a call (and a
        worker) as their cloud takes (`states_per_call`).

        Polls fall due together: a level's instances are made together, and
        their peers or kin make them due at the same age. A level of 250
        seen ready on a cloud that tells 200 states a call is two calls, not
        250 workers each waking up to hand in its answer.
        """
        due, self.due = self.due, []
        if self.halted:
            for tracked in due:
                tracked.busy = False
                self._give_up(tracked)
            return
        for batch in self._batches(due, lambda cloud: cloud.states_per_call):
            self.dispatcher.submit(_begun(self.operations.observe_all),
                                   [tracked.record for tracked in batch],
                                   then=partial(self._observed_all, batch))

    def _observed_all(self, batch: Sequence[_Tracked],
                      future: Future[tuple[float, list[Observation | Told | OccoError]]]
                      ) -> None:
        asked, outcomes = future.result()
        for tracked, seen in zip(batch, outcomes, strict=True):
            tracked.busy = False
            if isinstance(seen, Told):      # its addresses or health check: a call of its own
                self._call(tracked, partial(self.operations.finish, seen), tracked.record,
                           then=partial(self._finished, asked))
            else:
                self._observed(tracked, asked, seen)

    def _finished(self, asked: float, tracked: _Tracked, future: Future[Observation]) -> None:
        try:
            seen: Observation | OccoError = future.result()
        except OccoError as error:
            seen = error
        self._observed(tracked, asked, seen)

    def _observed(self, tracked: _Tracked, asked: float, seen: Observation | OccoError) -> None:
        assert tracked.boot is not None
        if isinstance(seen, TransientError):
            log.info("node %s: state unknown for now: %s", tracked.record.node_id, seen.message)
            self.pacing.failed(tracked.boot)
            self._poll_again(tracked)
            return
        if isinstance(seen, OccoError):
            self._fail(tracked, f"cannot tell its state: {describe(seen)}")
            return
        self.pacing.answered(tracked.boot, asked)
        record = tracked.record
        if (seen.addresses, seen.private_ip) != (record.addresses, record.private_ip):
            record = record.replace(addresses=seen.addresses, private_ip=seen.private_ip)
        state = observed_state(self.infra_id, seen, self.engine.failing,
                               none_failing=tracked.owned and not tracked.unhealthy)
        tracked.unhealthy |= seen.report is not None and not seen.report.ready
        if state == NodeState.READY:
            tracked.record = record.replace(phase=Phase.READY, ready_at=self.engine.clock())
            self._put(tracked.record)
            self._event("nodecreated", node_id=record.node_id, name=record.name)
            self._progress(record.name, record.node_id, Step.READY, tracked.started)
            tracked.done = True
            self._leave_peers(tracked)
            if self.pacing.ready(tracked.boot):
                self._hurry_peers(tracked.boot)
            self.walk.ready(record.name)
            if tracked.owned:
                self._finish(record.name, record.node_id, Outcome.CREATED, None)
            return
        if record is not tracked.record:
            tracked.record = record
            self._put(record)
        if state in GONE:
            self._fail(tracked, _not_ready(seen))
        else:
            self._poll_again(tracked)

    # --- failing and rolling back -------------------------------------------------
    def _give_up(self, tracked: _Tracked) -> None:
        """Cancelled: roll back an instance made here; leave an existing one as it is."""
        if tracked.owned:
            self._fail(tracked, "cancelled before it was ready", Outcome.CANCELLED)
        else:
            tracked.done = True

    def _fail(self, tracked: _Tracked, reason: str, outcome: Outcome = Outcome.FAILED) -> None:
        self._leave_peers(tracked)
        record = tracked.record
        log.warning("node %s (%s) %s: %s", record.node_id, record.name, outcome, reason)
        if outcome is Outcome.FAILED:
            self._event("nodefailed", node_id=record.node_id, name=record.name, reason=reason)
            self.walk.failed(record.name)
        self._progress(record.name, record.node_id,
                       Step.FAILED if outcome is Outcome.FAILED else Step.CANCELLED,
                       tracked.started)
        tracked.record = record.replace(phase=Phase.FAILED, error=reason)
        self._put(tracked.record)
        self._flush()           # a crash from now on still leaves the resource to be dropped
        self._event("nodedropping", node_id=record.node_id, name=record.name, reason=str(outcome))
        self._call(tracked, self.operations.teardown, tracked.record,
                   then=partial(self._rolled_back, outcome=outcome))

    def _rolled_back(self, tracked: _Tracked, future: Future[None], *, outcome: Outcome) -> None:
        tracked.done = True
        record = tracked.record
        reason = record.error
        try:
            future.result()
        except OccoError as error:
            reason = f"{reason}; rolling it back failed: {describe(error)}"
            tracked.record = record.replace(error=reason)   # still `failed`: dropped later
            self._put(tracked.record)
        else:
            if outcome is Outcome.FAILED:
                self.store.archive_failed(self.infra_id, record.node_id, record.to_dict(),
                                          fence=self.fence)
            self._removed(record)
        self._finish(record.name, record.node_id, outcome, reason)

    # --- dropping -------------------------------------------------------------------
    def _drop(self, name: str, node_id: str, reason: str,
              records: Mapping[str, Mapping[str, dict]]) -> None:
        started = time.monotonic()
        if self.halted:
            self.walk.dropped(name)
            self._progress(name, node_id, Step.CANCELLED, started)
            self._finish(name, node_id, Outcome.CANCELLED, NOT_STARTED)
            return
        data = records.get(name, {}).get(node_id)
        record = None if data is None else self._decode(data)
        if record is None:
            self.walk.dropped(name)
            self._finish(name, node_id, Outcome.DROPPED if data is None else Outcome.FAILED,
                         "it was not stored" if data is None else "its record is damaged")
            return
        self._remember_sections(record)
        self._event("nodedropping", node_id=node_id, name=name, reason=reason)
        self._progress(name, node_id, Step.DROPPING, started)
        self.dispatcher.submit(self.operations.teardown, record,
                               then=partial(self._dropped, record, started))

    def _dropped(self, record: InstanceRecord, started: float, future: Future[None]) -> None:
        self.walk.dropped(record.name)
        try:
            future.result()
        except OccoError as error:
            reason = f"cannot drop it: {describe(error)}"
            self._put(record.replace(phase=Phase.FAILED, error=reason))
            self._progress(record.name, record.node_id, Step.FAILED, started)
            self._finish(record.name, record.node_id, Outcome.FAILED, reason)
            return
        self._removed(record)
        self._progress(record.name, record.node_id, Step.DROPPED, started)
        self._finish(record.name, record.node_id, Outcome.DROPPED, None)

    def _removed(self, record: InstanceRecord) -> None:
        self.pending.pop(record.node_id, None)
        self.store.remove_instance(self.infra_id, record.name, record.node_id, fence=self.fence)
        self._event("nodedropped", node_id=record.node_id, name=record.name)

    def _drop_infrastructure(self) -> None:
        """Drop every instance left, then whatever the clouds still own for the infrastructure,
        then the config managers' part; `infradrop`."""
        records = self._records()
        for name, by_id in records.items():
            for node_id in by_id:
                self._drop(name, node_id, "infrastructure", records)
        self.dispatcher.drain()
        kept = {node_id for by_id in self._records().values() for node_id in by_id}
        resources, managers = list(self.resources.values()), list(self.managers.values())
        swept = self.dispatcher.map(
            lambda resource: self.operations.sweep(resource, self.infra_id, kept), resources)
        for resource, future in zip(resources, swept):
            self._problem(future, f"cannot sweep {describe_section(resource)}")
        dropped = self.dispatcher.map(
            lambda section: self.operations.backends.manager(section).drop_infrastructure(
                self.infra_id), managers)
        for section, future in zip(managers, dropped):
            self._problem(future, f"{describe_section(section)} cannot drop the infrastructure")
        self._event("infradrop")

    def _problem(self, future: Future[Any], what: str) -> None:
        try:
            future.result()
        except OccoError as error:
            self.problems.append(f"{what}: {describe(error)}")

    # --- plumbing -------------------------------------------------------------------
    def _leave_peers(self, tracked: _Tracked) -> None:
        """It no longer boots: its peers stop looking at it."""
        if tracked.boot is not None and tracked.boot.peers is not None:
            self.peers.get(tracked.boot.peers, {}).pop(tracked.record.node_id, None)

    def _call(self, tracked: _Tracked, function: Callable[[Any], Any], argument: Any, *,
              then: Callable[[_Tracked, Future[Any]], None]) -> None:
        tracked.busy = True

        def returned(future: Future[Any]) -> None:
            tracked.busy = False
            then(tracked, future)
        self.dispatcher.submit(function, argument, then=returned)

    def _records(self) -> dict[str, dict[str, dict]]:
        self._flush()
        return self.store.get_instances(self.infra_id)

    def _decode(self, data: Mapping[str, Any]) -> InstanceRecord | None:
        try:
            record = InstanceRecord.from_dict(data)
        except RecordError as error:
            log.warning("%s", error)
            return None
        self._remember_sections(record)
        return record

    def _remember_sections(self, record: InstanceRecord) -> None:
        """Keep its sections, to sweep them when the infrastructure is dropped."""
        key = self.operations.backends.key
        self.resources.setdefault(key(record.resource), record.resource)
        self.managers.setdefault(key(record.node.config_management),
                                 record.node.config_management)

    def _put(self, record: InstanceRecord) -> None:
        """Keep `record` to be written by the next `_flush`, replacing any kept for its node.

        Each write is a transaction the owning thread waits for, and a level of
        250 instances makes 750 of them on its way to ready: one at a time,
        they held back the answers and polls of the instances the next node
        type waits for. Kept back, the records of one moment go in one
        transaction. What a crash may lose is safe to lose: an instance whose
        `created` record was lost is found by its tags (`list_owned`) and
        adopted, one whose `ready` was lost is polled again. What must not be
        lost is flushed at once: an intent before its create, `failed` before
        the roll-back.
        """
        self.pending[record.node_id] = record

    def _flush(self, node_ids: Sequence[str] | None = None) -> None:
        """Write the records kept back, or those of `node_ids`, in one transaction."""
        records = (list(self.pending.values()) if node_ids is None
                   else [self.pending[node_id] for node_id in node_ids if node_id in self.pending])
        if records:
            self.store.put_instances(self.infra_id,
                                     [(record.name, record.node_id, record.to_dict())
                                      for record in records],
                                     fence=self.fence)
            for record in records:
                del self.pending[record.node_id]

    def _event(self, event: str, /, **data: Any) -> None:
        """Log an event, stamped now; it is written with the next write-behind."""
        self.events.append(Event(self.infra_id, event, self.engine.clock(), data))

    def _write_behind(self) -> None:
        """Write the records and the events kept back."""
        self._flush()
        self._write_events()

    def _write_share(self) -> None:
        """Write up to `SHARE` of the records kept back, or else of the events, in one
        transaction: what the owning thread writes while it waits for answers.

        Written whole, the records and events of a level of hundreds just seen
        ready kept the thread for tens of milliseconds (encoding them is most
        of it), and the answers of the polls that came meanwhile, which the
        next level waited for, waited that long to be looked at. A share at a
        time, the loop looks for them between shares.
        """
        if self.pending:
            self._flush(list(itertools.islice(self.pending, SHARE)))
        else:
            self._write_events(SHARE)

    def _save_what_is_left(self) -> None:
        """After an error: write what was kept back, as far as the store still takes it
        (events take no fence; a lost lease refuses the records)."""
        for what, write in (("events", self._write_events), ("records", self._flush)):
            try:
                write()
            except Exception as error:
                log.warning("the %s of infrastructure %s kept back could not be written: %s",
                            what, self.infra_id, error)

    def _write_events(self, count: int | None = None) -> None:
        """Write the events kept back, or the first `count` of them, in one transaction."""
        events = self.events[:count]
        if events:
            self.store.append_events(events)
            del self.events[:len(events)]

    def _progress(self, name: str, node_id: str | None, step: Step, started: float) -> None:
        try:
            self.engine.progress.on_node(name, node_id, step, time.monotonic() - started)
        except Exception:      # a display must not stop a build
            log.exception("the progress callback failed on %s %s %s", name, node_id, step)

    def _finish(self, name: str, node_id: str | None, outcome: Outcome,
                reason: str | None) -> None:
        self.results.append(NodeResult(name, node_id, outcome, reason))


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
    if seen.service in GONE:
        return f"its config manager reports it {seen.service}"
    failure = seen.report.failure if seen.report is not None else None
    return (f"its health check has failed for longer than its timeout of "
            f"{seen.health_timeout:g} s" + (f": {failure}" if failure else ""))
