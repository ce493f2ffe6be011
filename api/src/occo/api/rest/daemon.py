"""The maintenance daemon of the REST service: a pass of every attached infrastructure each
interval, shared among the service's processes.

Threads: one scheduler and `settings.rest.workers` workers. The scheduler
keeps the infrastructures this process maintains in a heap by the time their
next pass is due and sleeps until the first is (or a wake), so an idle
service costs a wake-up per pass due and per announcement, never a scan of
every infrastructure. Each worker has a `Session` of its own (a store
connection belongs to its thread) and runs one job at a time, a pass or a
destroy. An infrastructure has at most one job here at a time, queued or
running: two passes of it never run at once in this process, and a pass
still running when the next is due is not queued twice. A node whose creates
keep failing is held back as `occopus-maintain -c` holds it (`backoff`, one
per infrastructure). A destroy refused the lease (another member's pass runs)
is tried again the next interval, one that failed less and less often.

Sharing: each process is a member, announced in the store with a time to
live and again every third of the shorter of that and the interval; the list
of live members is read at the same time, with the attached set, and
rendezvous hashing (`sharing`) picks the one member that maintains each
attached infrastructure. A dead process's announcement expires and the
others take its infrastructures at their next reading. While the processes'
views differ (one joined or died a moment ago) two of them may try a pass at
once: the lease lets one through and the other skips quietly.

Cancellation: the maintainer's token follows the `cancel` it is given, and
each job runs under a child token of its own, so detaching or destroying one
infrastructure cancels that one's pass alone; `stop` cancels them all (the
enactor finishes or rolls back what is in flight and releases the leases).
"""
from __future__ import annotations

import heapq
import itertools
import logging
import math
import os
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from occo.enactor.outcome import PassResult
from occo.infobroker.store import DEFAULT_LEASE_TTL, InfrastructureNotFound, LeaseHeld, Store
from occo.util.cancel import Cancellation
from occo.util.config import Settings
from occo.util.errors import OccoError
from occo.util.redact import redact_url

from ..backoff import MOST_WAITED, CreateBackoff
from ..cli import error_text
from ..infralist import Infralist
from ..session import Session, connect
from .sharing import owner

log = logging.getLogger("occo.api.rest")

STOP_TIMEOUT = 60.0     # seconds `stop` waits for the jobs in flight to finish or roll back
SHOWN_PROBLEMS = 3      # problems a log line of a failed pass quotes

Job = Literal["pass", "destroy"]


class MaintainerStopped(OccoError):
    """The maintainer is stopping: it takes no new work."""


@dataclass(frozen=True)
class MaintenanceStatus:
    """What this process knows of an infrastructure's maintenance."""

    attached: bool              # in the attached set (as this process last saw it)
    here: bool                  # this process is the member that maintains it
    running: bool               # a pass (or the destroy) of it is in flight here
    last_pass: float | None     # epoch seconds when the last pass here started
    last_ok: bool | None        # whether that pass went well
    destroying: bool            # a destroy was asked here and has not ended yet


class _Tracked:
    """One infrastructure as this process sees it; changed only under the maintainer's lock
    (its backoff only by the worker running its pass)."""

    def __init__(self, infra_id: str, interval: float) -> None:
        self.infra_id = infra_id
        self.backoff = CreateBackoff(interval)
        self.attached = False
        self.mine = False               # this member maintains it
        self.destroying = False
        self.queued = False             # waiting for a worker
        self.job: Job | None = None     # what a worker runs of it now
        self.token: Cancellation | None = None   # that job's own token
        self.slot: int | None = None    # its heap entry's number while a pass is due
        self.again = False              # woken while busy: pass again as soon as it ends
        self.changed = -math.inf        # monotonic time of the last attach/detach/destroy here
        self.last_pass: float | None = None
        self.last_ok: bool | None = None
        self.destroy_failures = 0

    @property
    def busy(self) -> bool:
        return self.queued or self.job is not None


def default_member() -> str:
    """This process's name among the service's members: host, pid and a random suffix (a
    pid is reused, and a container's host name may be too)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class Maintainer:
    """A pass of each attached infrastructure that this process maintains, every interval."""

    def __init__(self, settings: Settings, *, member: str | None = None,
                 cancel: Cancellation | None = None,
                 member_ttl: float = DEFAULT_LEASE_TTL) -> None:
        if not member_ttl > 0:
            raise ValueError(f"member_ttl must be more than 0, not {member_ttl!r}")
        self.settings = settings
        self.member = member or default_member()
        self.member_ttl = member_ttl
        self.interval = settings.rest.interval
        self.announce_every = min(self.interval, member_ttl) / 3
        self._lock = threading.RLock()     # reentrant: `cancel` may come from a signal handler
        self._tick = threading.Condition(self._lock)     # the scheduler sleeps on it
        self._work = threading.Condition(self._lock)     # the workers sleep on it
        self._tracked: dict[str, _Tracked] = {}
        self._attached: set[str] = set()                 # the ids of tracked, attached ones
        self._heap: list[tuple[float, int, str]] = []    # (monotonic due time, slot, id)
        self._slots = itertools.count()
        self._jobs: deque[str] = deque()
        self._members: tuple[str, ...] = ()
        self._threads: list[threading.Thread] = []
        self._started = False
        self._stopping = False
        self._root = Cancellation()
        self._root.on_cancel(self._begin_stop)
        self._unfollow: Callable[[], None] = (cancel.on_cancel(self._root.cancel)
                                              if cancel is not None else lambda: None)

    # --- life -------------------------------------------------------------------------
    def start(self) -> None:
        """Announce this member, pick up the attached set, start the scheduler and workers."""
        with self._lock:
            if self._started:
                raise RuntimeError("a Maintainer is started once")
            self._started = True
        with connect(self.settings) as store:
            self._refresh(store)
        threads = [threading.Thread(target=self._schedule_loop, name="occo-maintainer-scheduler",
                                    daemon=True)]
        threads += [threading.Thread(target=self._work_loop, name=f"occo-maintainer-worker-{n}",
                                     daemon=True) for n in range(self.settings.rest.workers)]
        with self._lock:
            self._threads = threads
        for thread in threads:
            thread.start()
        log.info("maintainer %s started: %d worker(s), a pass every %g s", self.member,
                 self.settings.rest.workers, self.interval)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Take no new work, cancel the jobs in flight and wait (at most `timeout` seconds)
        for them to finish or roll back, then withdraw this member."""
        self._root.cancel()           # -> _begin_stop
        with self._lock:
            threads, self._threads = self._threads, []
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        left = [thread.name for thread in threads if thread.is_alive()]
        if left:
            log.warning("maintainer %s: %s still running after %g s; the leases they hold "
                        "expire by themselves", self.member, ", ".join(left), timeout)
        try:
            with connect(self.settings) as store:
                store.withdraw(self.member)
        except OccoError as error:     # it expires by itself
            log.warning("maintainer %s: could not withdraw from the members: %s", self.member,
                        error_text(error))
        self._unfollow()
        if threads:
            log.info("maintainer %s stopped", self.member)

    def _begin_stop(self) -> None:
        with self._lock:
            self._stopping = True
            self._tick.notify_all()
            self._work.notify_all()

    # --- what the routes ask ------------------------------------------------------------
    def attach(self, infra_id: str) -> bool:
        """Keep maintaining `infra_id` (a pass soon); False if it already was attached.
        `InfrastructureNotFound` for an unknown id."""
        self._refuse_when_stopping()
        with connect(self.settings) as store:
            added = store.attach(infra_id)
        with self._lock:
            state = self._track(infra_id)
            state.changed = time.monotonic()
            self._set_attached(state, True)
        return added

    def detach(self, infra_id: str) -> bool:
        """Stop maintaining `infra_id`, cancelling its pass in flight here; False if it was
        not attached."""
        with connect(self.settings) as store:
            removed = store.detach(infra_id)
        cancel = None
        with self._lock:
            state = self._tracked.get(infra_id)
            if state is not None:
                state.changed = time.monotonic()
                cancel = self._set_attached(state, False)
        if cancel is not None:
            cancel.cancel()
        return removed

    def destroy(self, infra_id: str) -> None:
        """Detach `infra_id`, cancel its pass, and destroy it in a worker, retried until it is
        gone (`InfrastructureNotFound` at once for an unknown id)."""
        self._refuse_when_stopping()
        with connect(self.settings) as store:
            store.get_infrastructure(infra_id)
            store.detach(infra_id)
        with self._lock:
            state = self._track(infra_id)
            state.changed = time.monotonic()
            asked, state.destroying = state.destroying, True
            cancel = self._set_attached(state, False)
            if not asked:
                state.destroy_failures = 0
            if not state.busy:          # asked again while it waits to retry: now
                self._enqueue(state, first=True)
            # else: the job that ends next, or the queued one, turns into the destroy
        if cancel is not None:
            cancel.cancel()
        log.info("maintainer %s: destroying %s", self.member, infra_id)

    def wake(self, infra_id: str) -> None:
        """A pass of `infra_id` as soon as a worker is free, if this process maintains it."""
        with self._lock:
            state = self._tracked.get(infra_id)
            if state is None or not self._wanted(state):
                return
            if state.job is not None:
                state.again = True
            elif state.queued:
                if self._jobs[0] != infra_id:
                    self._jobs.remove(infra_id)
                    self._jobs.appendleft(infra_id)
            else:
                self._enqueue(state, first=True)

    def status(self, infra_id: str) -> MaintenanceStatus:
        with self._lock:
            state = self._tracked.get(infra_id)
            if state is None:
                return MaintenanceStatus(False, False, False, None, None, False)
            return MaintenanceStatus(
                attached=state.attached, here=state.attached and state.mine and not self._stopping,
                running=state.job is not None, last_pass=state.last_pass, last_ok=state.last_ok,
                destroying=state.destroying)

    def _refuse_when_stopping(self) -> None:
        if self._stopping:
            raise MaintainerStopped("the service is stopping: it takes no new work",
                                    hint="ask again once it runs again")

    # --- the state, under the lock ------------------------------------------------------
    def _track(self, infra_id: str) -> _Tracked:
        state = self._tracked.get(infra_id)
        if state is None:
            state = self._tracked[infra_id] = _Tracked(infra_id, self.interval)
        return state

    def _wanted(self, state: _Tracked) -> bool:
        """Whether a job of it should run here."""
        return not self._stopping and (state.destroying or (state.attached and state.mine))

    def _set_attached(self, state: _Tracked, attached: bool) -> Cancellation | None:
        """Record it attached or not; the token of a pass to cancel, if it was detached."""
        state.attached = attached
        if attached:
            self._attached.add(state.infra_id)
            state.mine = owner(state.infra_id, self._members) == self.member
            if self._wanted(state) and not state.busy and state.slot is None:
                self._schedule(state, time.monotonic())
            return None
        self._attached.discard(state.infra_id)
        if not state.destroying:     # a destroy's retry stays due
            state.slot = None
        token = state.token if state.job == "pass" else None
        self._forget_if_idle(state)
        return token

    def _forget_if_idle(self, state: _Tracked) -> None:
        if not (state.attached or state.destroying or state.busy):
            self._tracked.pop(state.infra_id, None)

    def _schedule(self, state: _Tracked, due: float) -> None:
        """Its next job at `due` (monotonic); the scheduler is woken if that is sooner than
        anything it waits for."""
        slot = state.slot = next(self._slots)
        sooner = not self._heap or due < self._heap[0][0]
        heapq.heappush(self._heap, (due, slot, state.infra_id))
        if sooner:
            self._tick.notify()

    def _enqueue(self, state: _Tracked, *, first: bool = False) -> None:
        state.slot = None
        state.queued = True
        if first:
            self._jobs.appendleft(state.infra_id)
        else:
            self._jobs.append(state.infra_id)
        self._work.notify()

    def _dispatch_due(self, now: float) -> None:
        """Queue every job due by `now`; heap entries of a rescheduled or dropped slot are
        stale and skipped."""
        while self._heap and self._heap[0][0] <= now:
            _, slot, infra_id = heapq.heappop(self._heap)
            state = self._tracked.get(infra_id)
            if state is None or state.slot != slot:
                continue
            state.slot = None
            if self._wanted(state):
                self._enqueue(state)
            else:
                self._forget_if_idle(state)

    # --- the scheduler ------------------------------------------------------------------
    def _schedule_loop(self) -> None:
        store: Store | None = None
        next_refresh = time.monotonic() + self.announce_every
        try:
            while True:
                with self._lock:
                    while True:
                        if self._stopping:
                            return
                        now = time.monotonic()
                        self._dispatch_due(now)
                        if now >= next_refresh:
                            break
                        until = min(next_refresh, self._heap[0][0] if self._heap else math.inf)
                        self._tick.wait(until - now)
                try:
                    if store is None:
                        store = connect(self.settings)
                    self._refresh(store)
                except Exception as error:      # the store is down: keep the last view, retry
                    if isinstance(error, OccoError):
                        log.warning("maintainer %s: cannot announce itself: %s", self.member,
                                    error_text(error))
                    else:
                        log.exception("maintainer %s: cannot announce itself", self.member)
                    store = _closed(store)
                next_refresh = time.monotonic() + self.announce_every
        finally:
            _closed(store)

    def _refresh(self, store: Store) -> None:
        """Announce this member; read the live members and the attached set, and follow what
        changed: the infrastructures this member takes or gives up, those attached or
        detached by another process."""
        begun = time.monotonic()
        store.announce(self.member, self.member_ttl)
        members = store.members()
        if self.member not in members:      # its announcement was lost (a clock step, a flush)
            log.warning("maintainer %s: missing from the members; announcing it again",
                        self.member)
            store.announce(self.member, self.member_ttl)
            members = sorted({*members, self.member})
        attached = set(store.attached())
        cancels = []
        with self._lock:
            if self._stopping:
                return
            if tuple(members) != self._members:
                log.info("maintainer %s: the members are %s", self.member, ", ".join(members))
                self._members = tuple(members)
                self._reassign()
            for infra_id in attached - self._attached:
                known = self._tracked.get(infra_id)
                if known is None or (known.changed < begun and not known.destroying):
                    self._set_attached(self._track(infra_id), True)
            for infra_id in self._attached - attached:
                state = self._tracked[infra_id]
                if state.changed < begun:
                    token = self._set_attached(state, False)
                    if token is not None:
                        cancels.append(token)
                        log.info("maintainer %s: %s was detached or removed elsewhere: its pass "
                                 "is cancelled", self.member, infra_id)
        for token in cancels:
            token.cancel()

    def _reassign(self) -> None:
        """Who maintains each attached infrastructure, once the members changed."""
        now = time.monotonic()
        for infra_id in self._attached:
            state = self._tracked[infra_id]
            mine = owner(infra_id, self._members) == self.member
            if mine == state.mine:
                continue
            state.mine = mine
            if mine and not state.busy:
                self._schedule(state, now)
            elif not mine:
                state.slot = None        # a pass in flight or queued ends as it would

    # --- the workers ----------------------------------------------------------------------
    def _work_loop(self) -> None:
        session: Session | None = None
        try:
            while True:
                with self._lock:
                    while not self._jobs and not self._stopping:
                        self._work.wait()
                    if self._stopping:
                        return
                    state = self._tracked.get(self._jobs.popleft())
                    if state is None:       # not expected: a queued one is never forgotten
                        continue
                    state.queued = False
                    if not self._wanted(state):
                        self._forget_if_idle(state)
                        continue
                    job: Job = "destroy" if state.destroying else "pass"
                    token = Cancellation()
                    unfollow = self._root.on_cancel(token.cancel)
                    state.job, state.token = job, token
                    # said under the lock: a log of the passes shows each in the order the
                    # member decided it, after what it knew then ("the members are ...")
                    log.debug("maintainer %s: %s of %s", self.member, job, state.infra_id)
                started, begun = time.time(), time.monotonic()
                try:
                    if session is None:
                        session = Session(self.settings)
                    if job == "pass":
                        self._pass(session, state, token, started, begun)
                    else:
                        self._destroy(session, state, token)
                except Exception as error:     # never the end of a worker
                    if isinstance(error, OccoError):
                        log.warning("maintainer %s: %s of %s failed: %s", self.member, job,
                                    state.infra_id, error_text(error))
                    else:
                        log.exception("maintainer %s: %s of %s failed", self.member, job,
                                      state.infra_id)
                    session = _closed(session)
                    self._ended(state, passed=(started, False) if job == "pass" else None,
                                retry=True)
                finally:
                    unfollow()
        finally:
            _closed(session)

    def _pass(self, session: Session, state: _Tracked, token: Cancellation, started: float,
              begun: float) -> None:
        infra_id = state.infra_id
        hold = state.backoff.hold()
        if hold:
            log.info("maintainer %s: the pass of %s holds back %s", self.member, infra_id,
                     "; ".join(f"{name} ({why})" for name, why in sorted(hold.items())))
        try:
            result = session.enactor.make_a_pass(infra_id, hold=hold, cancel=token)
        except LeaseHeld as held:
            log.info("maintainer %s: pass of %s skipped: %s", self.member, infra_id,
                     error_text(held))
            self._ended(state, next_pass=begun + self.interval)
            return
        except InfrastructureNotFound:
            log.info("maintainer %s: %s is gone: no longer maintained", self.member, infra_id)
            self._ended(state, gone=True)
            return
        except OccoError as error:
            log.warning("maintainer %s: pass of %s failed: %s", self.member, infra_id,
                        error_text(error))
            self._ended(state, passed=(started, False), next_pass=begun + self.interval)
            return
        state.backoff.record(result)
        self._log_pass(result)
        self._ended(state, passed=(started, result.ok), next_pass=begun + self.interval)

    def _destroy(self, session: Session, state: _Tracked, token: Cancellation) -> None:
        infra_id = state.infra_id
        try:
            result = session.enactor.destroy(infra_id, cancel=token)
        except LeaseHeld as held:
            log.info("maintainer %s: destroy of %s waits: %s", self.member, infra_id,
                     error_text(held))
            self._ended(state, next_pass=time.monotonic() + self.interval)
            return
        except InfrastructureNotFound:
            log.info("maintainer %s: %s is gone already", self.member, infra_id)
            self._ended(state, gone=True)
            return
        if result.ok:
            try:
                Infralist().remove(infra_id)
            except (OccoError, OSError) as error:
                log.warning("maintainer %s: could not remove %s from the infralist: %s",
                            self.member, infra_id, redact_url(str(error)))
            log.info("maintainer %s: destroyed %s", self.member, infra_id)
            self._ended(state, gone=True)
            return
        self._log_pass(result, what="destroy")
        self._ended(state, retry=True)

    def _ended(self, state: _Tracked, *, passed: tuple[float, bool] | None = None,
               next_pass: float | None = None, gone: bool = False, retry: bool = False) -> None:
        """A job of `state` ended: record it and plan what comes next."""
        with self._lock:
            was, state.job, state.token = state.job, None, None
            if passed is not None:
                state.last_pass, state.last_ok = passed
            if gone:
                state.destroying = False
                state.changed = time.monotonic()
                self._set_attached(state, False)
                return
            now = time.monotonic()
            if state.destroying:
                if was == "destroy" and retry:
                    state.destroy_failures += 1
                    wait = min(MOST_WAITED, self.interval * 2 ** (state.destroy_failures - 1))
                    self._schedule(state, now + wait)
                elif was == "destroy":
                    self._schedule(state, next_pass if next_pass is not None else now)
                else:                            # the pass it cancelled: destroy now
                    self._enqueue(state, first=True)
            elif self._wanted(state):
                due = now if state.again else (next_pass or now + self.interval)
                state.again = False
                self._schedule(state, due)
            else:
                self._forget_if_idle(state)

    def _log_pass(self, result: PassResult, what: str = "pass") -> None:
        counts = ", ".join(f"{number} {outcome}"
                           for outcome, number in sorted(result.counts().items())) or "no nodes"
        if result.cancelled:
            log.info("maintainer %s: %s of %s cancelled: %s", self.member, what,
                     result.infra_id, counts)
        elif not result.ok:
            failures = [f"{row.node_name} {row.node_id}: {row.reason}" for row in result.rows
                        if row.outcome == "failed"] + list(result.problems)
            log.warning("maintainer %s: %s of %s failed: %s; %s", self.member, what,
                        result.infra_id, counts, "; ".join(failures[:SHOWN_PROBLEMS]))
        elif result.plan.actions:
            log.info("maintainer %s: %s of %s: %s", self.member, what, result.infra_id, counts)
        else:
            log.debug("maintainer %s: %s of %s: nothing to do", self.member, what,
                      result.infra_id)


def _closed(resource: Store | Session | None) -> None:
    """Close what may be open, quietly (it was failing already): None to forget it."""
    if resource is not None:
        try:
            resource.close()
        except Exception:        # noqa: BLE001 - closing a broken connection
            pass
    return None
