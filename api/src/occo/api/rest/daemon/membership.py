"""Which process of the REST service maintains which infrastructure, and keeping up with
what the others change.

Each process is a member, announced in the store with a time to live and
again every third of the shorter of that and the interval. Rendezvous
(highest random weight) hashing picks the member of each infrastructure:
every member scores every infrastructure with a hash of the pair and the
highest score wins. Each process computes the same answer from the same list
of live members with no coordination; when a member leaves only its own
infrastructures move (each to the member that scored second), and one that
joins takes about its share from the others. While the processes' views
differ (one joined or died a moment ago) two of them may try a pass at once:
the lease lets one through and the other skips quietly.

The same reading follows the attached set and the infrastructures marked for
destroying: what another process attached, detached or asked to destroy, and
what was pending when this one started.
"""
from __future__ import annotations

import hashlib
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterable

from occo.infobroker.store import Store
from occo.util.cancel import Cancellation
from occo.util.config import Settings
from occo.util.errors import OccoError

from ...cli import error_text
from ...session import connect
from .schedule import Schedule
from .workers import closed

log = logging.getLogger("occo.api.rest")


def score(member: str, infra_id: str) -> int:
    """The weight of `member` for `infra_id`: a stable 64-bit hash of the pair."""
    digest = hashlib.blake2b(f"{member}\0{infra_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def owner(infra_id: str, members: Iterable[str]) -> str | None:
    """The member that maintains `infra_id` (None without members); ties, which a 64-bit
    hash all but never has, go to the greater name so that every process agrees."""
    return max(members, key=lambda member: (score(member, infra_id), member), default=None)


def default_member() -> str:
    """This process's name among the service's members: host, pid and a random suffix (a
    pid is reused, and a container's host name may be too)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class Membership:
    """This member's announcements and its view of the others, applied to `schedule`.

    `run` is the scheduler thread: it queues the jobs as they fall due and
    refreshes the view every `announce_every` seconds, sleeping on `tick`
    (a condition of the maintainer's lock) in between.
    """

    def __init__(self, settings: Settings, member: str, ttl: float, schedule: Schedule,
                 tick: threading.Condition) -> None:
        self.settings = settings
        self.member = member
        self.ttl = ttl
        self.announce_every = min(settings.rest.interval, ttl) / 3
        self.schedule = schedule
        self.members: tuple[str, ...] = ()
        self._tick = tick

    def owns(self, infra_id: str) -> bool:
        """Whether this member maintains `infra_id`, as it last saw the members."""
        return owner(infra_id, self.members) == self.member

    def run(self) -> None:
        store: Store | None = None
        next_refresh = time.monotonic() + self.announce_every
        try:
            while True:
                with self._tick:
                    while True:
                        if self.schedule.stopping:
                            return
                        now = time.monotonic()
                        self.schedule.dispatch_due(now + self.schedule.early)
                        if now >= next_refresh:
                            break
                        self._tick.wait(min(next_refresh, self.schedule.next_due()) - now)
                try:
                    if store is None:
                        store = connect(self.settings)
                    self.refresh(store)
                except Exception as error:      # the store is down: keep the last view, retry
                    if isinstance(error, OccoError):
                        log.warning("maintainer %s: cannot announce itself: %s", self.member,
                                    error_text(error))
                    else:
                        log.exception("maintainer %s: cannot announce itself", self.member)
                    store = closed(store)
                next_refresh = time.monotonic() + self.announce_every
        finally:
            closed(store)

    def refresh(self, store: Store) -> None:
        """Announce this member; read the live members, the attached set and the marked
        ones, and follow what changed since the last reading. A change made here after the
        reading began is newer than what it read, and kept."""
        begun = time.monotonic()
        store.announce(self.member, self.ttl)
        members = store.members()
        if self.member not in members:      # its announcement was lost (a clock step, a flush)
            log.warning("maintainer %s: missing from the members; announcing it again",
                        self.member)
            store.announce(self.member, self.ttl)
            members = sorted({*members, self.member})
        attached = set(store.attached())
        destroying = set(store.destroying())
        cancels: list[Cancellation] = []
        schedule = self.schedule
        with self._tick:
            if schedule.stopping:
                return
            now = time.monotonic()
            schedule.forget_gone_before(begun)
            if tuple(members) != self.members:
                log.info("maintainer %s: the members are %s", self.member, ", ".join(members))
                self.members = tuple(members)
                schedule.reassign(self.owns, now)
            for infra_id in destroying - schedule.destroying:
                if schedule.gone_since(infra_id, begun):
                    continue
                state = schedule.track(infra_id)
                if (token := schedule.set_destroying(state)) is not None:
                    cancels.append(token)
                if state.mine:
                    log.info("maintainer %s: destroying %s (asked of another process, or "
                             "before a restart)", self.member, infra_id)
            for infra_id in schedule.destroying - destroying:
                state = schedule.get(infra_id)
                if state is not None and state.changed < begun and state.job != "destroy":
                    schedule.clear_destroying(state)
            for infra_id in attached - schedule.attached:
                if schedule.gone_since(infra_id, begun):
                    continue
                known = schedule.get(infra_id)
                if known is None or (known.changed < begun and not known.destroying):
                    schedule.set_attached(schedule.track(infra_id), True, now)
            for infra_id in schedule.attached - attached:
                state = schedule.get(infra_id)
                if state is not None and state.changed < begun:
                    token = schedule.set_attached(state, False, now)
                    if token is not None:
                        cancels.append(token)
                        log.info("maintainer %s: %s was detached or removed elsewhere: its pass "
                                 "is cancelled", self.member, infra_id)
        for token in cancels:
            token.cancel()
