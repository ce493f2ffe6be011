"""`Maintainer`: what the REST service asks of its daemon, and its life (start, stop)."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from occo.enactor.cleanpasses import CleanPasses
from occo.infobroker.store import DEFAULT_LEASE_TTL
from occo.util.cancel import Cancellation
from occo.util.config import Settings
from occo.util.errors import OccoError

from ...cli import error_text
from ...session import connect
from .membership import Membership, default_member
from .schedule import Schedule
from .workers import Workers

log = logging.getLogger("occo.api.rest")

STOP_TIMEOUT = 60.0     # seconds `stop` waits for the jobs in flight to finish or roll back


class MaintainerStopped(OccoError):
    """The maintainer is stopping: it takes no new work."""


class InfrastructureBeingDestroyed(OccoError):
    """A destroy of the infrastructure was asked and has not ended: it cannot be attached."""


@dataclass(frozen=True)
class MaintenanceStatus:
    """What this process knows of an infrastructure's maintenance."""

    attached: bool              # in the attached set (as this process last saw it)
    here: bool                  # this process is the member that maintains it
    running: bool               # a pass (or the destroy) of it is in flight here
    last_pass: float | None     # epoch seconds when the last pass here started
    last_ok: bool | None        # whether that pass went well
    destroying: bool            # marked for destroying (as this process last saw it)


UNKNOWN = MaintenanceStatus(attached=False, here=False, running=False, last_pass=None,
                            last_ok=None, destroying=False)


class Maintainer:
    """A pass of each attached infrastructure that this process maintains, every interval,
    and the destroys asked of the service's processes.

    Threads: a scheduler (`Membership.run`) and `settings.rest.workers`
    workers (`Workers.run`), sharing one lock. The maintainer's token follows
    the `cancel` it is given, and each job runs under a child token of its
    own, so that detaching or destroying one infrastructure cancels that
    one's pass alone; `stop` cancels them all (the enactor finishes or rolls
    back what is in flight and releases the leases).
    """

    def __init__(self, settings: Settings, *, member: str | None = None,
                 cancel: Cancellation | None = None,
                 member_ttl: float = DEFAULT_LEASE_TTL) -> None:
        if not member_ttl > 0:
            raise ValueError(f"member_ttl must be more than 0, not {member_ttl!r}")
        self.settings = settings
        self.member = member or default_member()
        self.member_ttl = member_ttl
        self.interval = settings.rest.interval
        self._lock = threading.RLock()     # reentrant: `cancel` may come from a signal handler
        self._tick = threading.Condition(self._lock)     # the scheduler sleeps on it
        self._work = threading.Condition(self._lock)     # the workers sleep on it
        self._schedule = Schedule(self.interval, on_sooner=self._tick.notify,
                                  on_queued=self._work.notify)
        self._membership = Membership(settings, self.member, member_ttl, self._schedule,
                                      self._tick)
        self.announce_every = self._membership.announce_every
        self._root = Cancellation()
        # one memory of clean passes for all the workers: a pass of an infrastructure goes
        # to whichever worker is free
        self._workers = Workers(settings, self.member, self._schedule, self._work, self._root,
                                CleanPasses())
        self._threads: list[threading.Thread] = []
        self._started = False
        self._root.on_cancel(self._begin_stop)
        self._unfollow: Callable[[], None] = (cancel.on_cancel(self._root.cancel)
                                              if cancel is not None else lambda: None)

    # --- life -------------------------------------------------------------------------
    def start(self) -> None:
        """Announce this member, pick up the attached and the marked set, start the
        scheduler and workers."""
        with self._lock:
            if self._started:
                raise RuntimeError("a Maintainer is started once")
            self._started = True
        with connect(self.settings) as store:
            self._membership.refresh(store)
        threads = [threading.Thread(target=self._membership.run,
                                    name="occo-maintainer-scheduler", daemon=True)]
        threads += [threading.Thread(target=self._workers.run,
                                     name=f"occo-maintainer-worker-{n}", daemon=True)
                    for n in range(self.settings.rest.workers)]
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
            self._schedule.stop()
            self._tick.notify_all()
            self._work.notify_all()

    # --- what the routes ask ------------------------------------------------------------
    def attach(self, infra_id: str) -> bool:
        """Keep maintaining `infra_id` (a pass soon); False if it already was attached.
        `InfrastructureNotFound` for an unknown id, `InfrastructureBeingDestroyed` for one
        whose destroy was asked."""
        self._refuse_when_stopping()
        with connect(self.settings) as store:
            added = store.attach(infra_id)
            if infra_id in store.destroying():     # after attaching: a destroy asked meanwhile
                if added:                           # detached it already, or will
                    store.detach(infra_id)
                raise InfrastructureBeingDestroyed(
                    f"infrastructure '{infra_id}' is being destroyed: it cannot be attached",
                    hint="wait until it is gone, and submit it again")
        with self._lock:
            state = self._schedule.track(infra_id)
            state.changed = time.monotonic()
            self._schedule.set_attached(state, True, state.changed)
        return added

    def detach(self, infra_id: str) -> bool:
        """Stop maintaining `infra_id`, cancelling its pass in flight here; False if it was
        not attached."""
        with connect(self.settings) as store:
            removed = store.detach(infra_id)
        cancel = None
        with self._lock:
            state = self._schedule.get(infra_id)
            if state is not None:
                state.changed = time.monotonic()
                cancel = self._schedule.set_attached(state, False, state.changed)
        if cancel is not None:
            cancel.cancel()
        return removed

    def destroy(self, infra_id: str) -> None:
        """Mark `infra_id` for destroying in the store and detach it: its member cancels its
        pass and destroys it in a worker, retried until it is gone, whichever process was
        asked and across restarts (`InfrastructureNotFound` at once for an unknown id)."""
        self._refuse_when_stopping()
        with connect(self.settings) as store:
            store.mark_destroying(infra_id)
            store.detach(infra_id)
        with self._lock:
            state = self._schedule.track(infra_id)
            state.changed = time.monotonic()
            cancel = self._schedule.set_destroying(state)
            self._schedule.set_attached(state, False, state.changed)
            mine = state.mine
        if cancel is not None:
            cancel.cancel()
        log.info("maintainer %s: destroying %s%s", self.member, infra_id,
                 "" if mine else " (by the member that maintains it)")

    def wake(self, infra_id: str) -> None:
        """A pass of `infra_id` as soon as a worker is free, if this process maintains it."""
        with self._lock:
            self._schedule.hurry(infra_id, time.monotonic())

    def status(self, infra_id: str) -> MaintenanceStatus:
        with self._lock:
            state = self._schedule.get(infra_id)
            if state is None:
                return UNKNOWN
            return MaintenanceStatus(
                attached=state.attached,
                here=state.attached and state.mine and not self._schedule.stopping,
                running=state.job is not None, last_pass=state.last_pass,
                last_ok=state.last_ok, destroying=state.destroying)

    def _refuse_when_stopping(self) -> None:
        if self._schedule.stopping:
            raise MaintainerStopped("the service is stopping: it takes no new work",
                                    hint="ask again once it runs again")
