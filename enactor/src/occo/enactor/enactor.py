"""The enactor: brings an infrastructure to its desired state, one pass at a time.

A pass holds the infrastructure's lease from start to end, renewed while it
runs, and carries the lease's fencing token on every write:

1. recovery: the records against what the clouds own (a crash leaves no other mark);
   skipped when nothing can have been left for it (`_recover` says when);
2. `build -i` only: the new description replaces the stored one;
3. the survey: every instance's live state;
4. the plan (`plan.plan_pass`), whose scaling targets are stored and whose
   handled requests are consumed before anything is executed, so that a crash
   after this point never applies a request twice (it may leave a target
   not yet reached, which the next pass reaches);
5. the engine executes the plan; `infraready` when it changed something and
   all went well.

A dry run plans from the recorded state: no cloud is asked, nothing is written.
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager

from occo.compiler import StaticDescription
from occo.infobroker.store import DEFAULT_LEASE_TTL, Event, LeaseOwner, Store
from occo.infraprocessor.engine import (Engine, InstanceStatus, Phase, RecoveryReport, by_name,
                                        recorded)
from occo.infraprocessor.instructions import ConfigureNode, CreateNodes, DropInfrastructure
from occo.util.cancel import Cancellation
from occo.util.nodes import NodeState

from .cleanpasses import CleanPass, CleanPasses, Idle
from .description import stored_description
from .lease import HeldLease, Renewer
from .outcome import PassResult, forgetting, rows_after, rows_of, unknown
from .plan import InstanceView, Plan, held_back, plan_pass

SETTLED = frozenset({Phase.CREATED, Phase.READY})
RECOVER_EVERY = 10      # a pass in this many recovers even when nothing can be left for it


class Enactor:
    """Passes over the infrastructures of one store, through one engine.

    `open_store` opens another connection to the same store, for the thread
    that renews the leases (`close` stops it). `clean_passes` remembers the passes that ended
    cleanly (recovery is skipped after one): enactors that take turns on the
    same infrastructures share one; a new one by default.
    """

    def __init__(self, store: Store, engine: Engine, *, open_store: Callable[[], Store],
                 owner: LeaseOwner | None = None, lease_ttl: float = DEFAULT_LEASE_TTL,
                 clock: Callable[[], float] = time.time,
                 clean_passes: CleanPasses | None = None) -> None:
        self.store = store
        self.engine = engine
        self.owner = owner or LeaseOwner.current()
        self.lease_ttl = lease_ttl
        self.clock = clock
        self.clean_passes = clean_passes if clean_passes is not None else CleanPasses()
        self.renewer = Renewer(open_store)

    def close(self) -> None:
        """Stop renewing leases (after the last pass)."""
        self.renewer.close()

    def make_a_pass(self, infra_id: str, *, description: StaticDescription | None = None,
                    hold: Mapping[str, str] | None = None,
                    cancel: Cancellation | None = None) -> PassResult:
        """One pass; `description` first replaces the stored one (reconfiguration); the nodes
        `hold` names (node name -> why) are not created this pass, nor what waits for them.
        Cancelling `cancel` stops the pass's execution (nothing new starts).

        Raises `LeaseHeld` when another command holds the infrastructure, and
        `InfrastructureNotFound` for an unknown id; node failures are rows of
        the result, not exceptions.
        """
        clean = self.clean_passes.take(infra_id)      # kept again only if this pass ends well
        with self._lease(infra_id, cancel) as (lease, stop):
            recovery, skipped = self._recover(infra_id, lease.token, clean)
            if description is not None:
                self.store.update_infrastructure(infra_id, description.to_dict(),
                                                 fence=lease.token)
            static = self.static(infra_id)
            before = self.engine.survey(infra_id, fence=lease.token)
            plan = self._plan(static, before)
            if hold:
                plan = held_back(plan, hold)
            self._store_scaling(plan, lease.token)
            execution = self.engine.execute(infra_id, plan.actions, static.nodes,
                                            fence=lease.token, cancel=stop)
            lease.check()
            if execution.ok and any(not isinstance(action, ConfigureNode)
                                    for action in plan.actions):
                # a pass that only configured nodes again made nothing ready
                self.store.append_event(Event(infra_id, "infraready", self.clock()))
            after = {status.record.node_id: status for status in recorded(self.store, infra_id)}
            if not execution.cancelled:
                idle = (Idle(static, tuple(status.record for status in after.values()))
                        if execution.ok and plan.writes_nothing and not hold
                        and _all_ready(before) and _all_ready(after.values()) else None)
                self.clean_passes.record(infra_id, CleanPass(lease.token, skipped, idle))
        return PassResult(infra_id, plan, rows_after(execution, before, after), recovery,
                          execution, recovery.problems + unknown(before) + execution.problems)

    def quiet(self, infra_ids: Sequence[str]) -> set[str]:
        """Those of `infra_ids` whose pass would change nothing now, checked without a lease
        and writing nothing (but the failing periods of health checks, as any survey).

        One is quiet when its last pass, by this enactor or one sharing
        `clean_passes`, had nothing to do and left every instance ready;
        nobody has held its lease since (its fencing token is that pass's:
        description and instances are as the pass left them); its
        clouds tell every instance still ready where it was; and its stored
        target and scaling requests ask for nothing (they change without the
        lease). A check counts as a pass that skipped recovery, which still
        runs every `RECOVER_EVERY` passes. The clouds are asked once for the
        instances of all of them (`Engine.survey_records`): a service
        maintaining many idle infrastructures checks them together.
        """
        candidates: dict[str, tuple[CleanPass, Idle]] = {}
        for infra_id in infra_ids:
            clean = self.clean_passes.peek(infra_id)
            if (clean is not None and clean.idle is not None
                    and clean.skipped + 1 < RECOVER_EVERY
                    and self.store.fence_token(infra_id) == clean.token):
                candidates[infra_id] = clean, clean.idle
        statuses: dict[str, list[InstanceStatus]] = {}
        for status in self.engine.survey_records(
                [record for _, idle in candidates.values() for record in idle.records]):
            statuses.setdefault(status.record.infra_id, []).append(status)
        quiet = set()
        for infra_id, (clean, idle) in candidates.items():
            seen = statuses.get(infra_id, [])
            if (_all_ready(seen)
                    and {status.record.node_id: status.record for status in seen}
                    == {record.node_id: record for record in idle.records}
                    and self._plan(idle.static, seen).writes_nothing
                    and self.clean_passes.replace(
                        infra_id, clean, dataclasses.replace(clean, skipped=clean.skipped + 1))):
                quiet.add(infra_id)
        return quiet

    def dry_run(self, infra_id: str, description: StaticDescription | None = None) -> PassResult:
        """The plan a pass would make now, for the stored or a new `description`."""
        exists = infra_id in self.store.list_infrastructures()
        static = description or self.static(infra_id)
        before = recorded(self.store, infra_id) if exists else []
        return PassResult(infra_id, self._plan(static, before, stored=exists), rows_of(before))

    def destroy(self, infra_id: str, *, forget: bool = False,
                cancel: Cancellation | None = None) -> PassResult:
        """Drop every instance, then the infrastructure; forget it only if all went well.

        `forget`: forget it all the same once everything that can be dropped
        was (not when cancelled): the result lists each instance that may be
        left behind in its cloud, for the user to remove by hand.
        """
        self.static(infra_id)      # InfrastructureNotFound before taking a lease
        self.clean_passes.forget(infra_id)
        with self._lease(infra_id, cancel) as (lease, stop):
            recovery = self.engine.recover(infra_id, fence=lease.token)
            before = recorded(self.store, infra_id)
            # DropInfrastructure drops every instance itself, then what the clouds still
            # own: a DropNode of each as well would drop (and report) twice every instance
            # whose drop fails
            actions = (DropInfrastructure(infra_id),)
            plan = Plan(infra_id, actions, {}, {})
            execution = self.engine.execute(infra_id, actions, {}, fence=lease.token,
                                            cancel=stop)
            lease.check()
            result = PassResult(infra_id, plan, rows_after(execution, before, {}), recovery,
                                execution, recovery.problems + execution.problems)
            if not result.ok and forget and not result.cancelled:
                result = forgetting(result, recorded(self.store, infra_id))
            if result.ok:
                self.store.remove_infrastructure(infra_id, fence=lease.token)
        return result

    def _recover(self, infra_id: str, token: int,
                 clean: CleanPass | None) -> tuple[RecoveryReport, int]:
        """Recovery, and how many passes in a row have now skipped it.

        It is skipped when the last pass of the infrastructure, by this
        enactor or one sharing its `clean_passes`, ended cleanly just before
        this one (the new fencing token follows its token: nobody held the
        lease between) and no record is half-done: a crash or another command
        is then not possible, and recovery would find nothing; it still runs
        every `RECOVER_EVERY` passes. An idle infrastructure's pass is one
        cloud listing cheaper.
        """
        if (clean is not None and clean.token == token - 1 and clean.skipped + 1 < RECOVER_EVERY
                and all(status.record.phase in SETTLED
                        for status in recorded(self.store, infra_id))):
            return RecoveryReport(infra_id), clean.skipped + 1
        return self.engine.recover(infra_id, fence=token), 0

    def static(self, infra_id: str) -> StaticDescription:
        return stored_description(self.store, infra_id)

    @contextmanager
    def _lease(self, infra_id: str,
               cancel: Cancellation | None) -> Iterator[tuple[HeldLease, Cancellation]]:
        """The lease, and the pass's own token: cancelled with `cancel`, or alone when the
        lease is lost (that pass stops; the caller's next pass is free to run)."""
        with (cancel or Cancellation()).child() as stop, \
                HeldLease(self.store, infra_id, renewer=self.renewer, owner=self.owner,
                          ttl=self.lease_ttl, on_lost=stop.cancel) as lease:
            yield lease, stop

    def _plan(self, static: StaticDescription, statuses: Sequence[InstanceStatus], *,
              stored: bool = True) -> Plan:
        infra_id = static.infra_id
        names = list(static.nodes) if stored else []
        views = {name: [InstanceView(s.record.node_id, s.state, s.record.addresses,
                                     s.record.created_at) for s in group]
                 for name, group in by_name(list(statuses)).items()}
        plan = plan_pass(static, views,
                         {name: self.store.get_target_count(infra_id, name) for name in names},
                         {name: self.store.pending_scaling(infra_id, name)
                          for name in names},
                         infrastructure_exists=bool(statuses)
                         or (stored and self._started(infra_id)),
                         reapply=self.engine.reapply_due(
                             [s.record for s in statuses if s.state == NodeState.READY])
                         if stored else frozenset())
        creates = [action for action in plan.actions if isinstance(action, CreateNodes)]
        if not creates:
            return plan
        waited = iter(self.engine.address_waits(creates, static.nodes))
        return dataclasses.replace(plan, actions=tuple(
            next(waited) if isinstance(action, CreateNodes) else action
            for action in plan.actions))

    def _started(self, infra_id: str) -> bool:
        """Whether a pass began the infrastructure: its log says so, or it has been trimmed
        (a log keeps `events_kept` events once it is), so its `infrastart` may be gone."""
        events = self.store.events(infra_id)
        return (len(events) >= self.store.events_kept
                or any(event.name == "infrastart" for event in events))

    def _store_scaling(self, plan: Plan, fence: int) -> None:
        for name, target in plan.target_changes.items():
            self.store.set_target_count(plan.infra_id, name, target, fence=fence)
        for name, handled in plan.handled_requests.items():
            self.store.consume_scaling(plan.infra_id, name, handled, fence=fence)


def _all_ready(statuses: Iterable[InstanceStatus]) -> bool:
    return all(status.state == NodeState.READY and status.record.phase is Phase.READY
               for status in statuses)
