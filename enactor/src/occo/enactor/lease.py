"""The infrastructure's lease, held for one pass and renewed while the pass runs.

A pass may take longer than the lease's time to live (clouds are slow), so
each held lease is renewed every third of that time by the enactor's
`Renewer`: one thread for all the leases it holds, started at the first and
kept (a thread started and joined by each pass cost an idle pass more than
its own work). The thread has a store connection of its own (an SQLite
connection serves only the thread that opened it), opened when a first
renewal is due: most passes end before. If a renewal is refused, another
owner took the lease over: `on_lost` is called (the enactor stops the
execution in flight) and every later fenced write fails with
`StaleFenceError`, so the two owners never both write.

A lease whose holder was a process of this host that no longer runs (a
SIGKILLed or crashed command) is taken over at once rather than after its
time to live: the holder cannot write any more, and if the check were ever
wrong (a host name shared by two machines) fencing would still refuse the
older owner's writes.
"""
from __future__ import annotations

import heapq
import itertools
import logging
import math
import os
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType

from occo.infobroker.store import (DEFAULT_LEASE_TTL, Lease, LeaseHeld, LeaseOwner,
                                  StaleFenceError, Store)
from occo.util.errors import OccoError

log = logging.getLogger("occo.enactor")


class HeldLease:
    """`with HeldLease(...) as lease:` holds the lease (or raises `LeaseHeld` naming the holder)."""

    def __init__(self, store: Store, infra_id: str, *, renewer: Renewer,
                 owner: LeaseOwner | None = None, ttl: float = DEFAULT_LEASE_TTL,
                 on_lost: Callable[[], None] = lambda: None) -> None:
        self.store = store
        self.infra_id = infra_id
        self.renewer = renewer
        self.owner = owner or LeaseOwner.current()
        self.ttl = ttl
        self.on_lost = on_lost
        self.lost = threading.Event()
        self._lock = threading.Lock()       # the lease as renewed, or None once given up
        self._lease: Lease | None = None

    @property
    def token(self) -> int:
        """The fencing token every write of the pass carries."""
        assert self._lease is not None, "the lease is held only inside the with block"
        return self._lease.token

    def check(self) -> None:
        """`StaleFenceError` if the lease was lost: what the pass did may be cut short."""
        if self.lost.is_set():
            raise StaleFenceError(f"lost the lease of infrastructure {self.infra_id} during the "
                                  "pass: another command took it over",
                                  hint="that command's pass recovers what this one left")

    def __enter__(self) -> HeldLease:
        try:
            self._lease = self.store.acquire_lease(self.infra_id, self.owner, self.ttl)
        except LeaseHeld as held:
            if not abandoned(held.holder.owner):
                raise
            log.warning("taking over the lease of %s from %s, which no longer runs",
                        self.infra_id, held.holder.owner)
            # granted as of the dead lease's end (atomically: a rival taker is refused),
            # then renewed so that it runs from now
            taken = self.store.acquire_lease(self.infra_id, self.owner, self.ttl,
                                             now=held.holder.expires_at)
            self._lease = self.store.renew_lease(taken, self.ttl)
        self.renewer.add(self)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        with self._lock:                    # waits for a renewal in flight
            lease, self._lease = self._lease, None
        if lease is not None and not self.lost.is_set():
            try:
                self.store.release_lease(lease)
            except OccoError as problem:   # it expires by itself; say so, keep the pass's outcome
                log.warning("could not release the lease of %s: %s", self.infra_id, problem)

    @property
    def held(self) -> bool:
        """Inside the with block, and not lost."""
        return self._lease is not None and not self.lost.is_set()

    def renew(self, store: Store) -> bool:
        """Renew it through `store` (the renewer's); whether it is still held, to renew again."""
        with self._lock:
            if self._lease is None:
                return False
            try:
                self._lease = store.renew_lease(self._lease, self.ttl)
                return True
            except OccoError as problem:
                log.error("lost the lease of %s: %s", self.infra_id, problem)
        self.lose()
        return False

    def lose(self) -> None:
        self.lost.set()
        self.on_lost()


class Renewer:
    """Renews the leases held through it, each every third of its time to live, in one thread.

    `close()` stops the thread and closes its connection; leases held then are
    no longer renewed (they expire, or are released by their pass)."""

    def __init__(self, open_store: Callable[[], Store]) -> None:
        self.open_store = open_store
        self._wake = threading.Condition()
        self._due: list[tuple[float, int, HeldLease]] = []     # (monotonic due time, -, lease)
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        self._closed = False
        # when the thread wakes next by itself (monotonic); -inf while it is awake
        self._deadline = -math.inf

    def add(self, held: HeldLease) -> None:
        due = time.monotonic() + held.ttl / 3
        with self._wake:
            if self._closed:
                raise RuntimeError("the lease renewer is closed")
            heapq.heappush(self._due, (due, next(self._order), held))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="lease-renewer",
                                                daemon=True)
                self._thread.start()
            elif due < self._deadline:
                self._wake.notify()

    def close(self) -> None:
        with self._wake:
            self._closed = True
            thread, self._thread = self._thread, None
            self._wake.notify()
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _next(self) -> HeldLease | None:
        """The next lease due, once it is; None once closed.

        The leases of passes that ended are dropped before each wait, so that the thread
        sleeps until a lease still held is due: a pass is most often over long before
        (waking for each of those cost an idle service a thread switch a pass)."""
        with self._wake:
            while not self._closed:
                while self._due and not self._due[0][2].held:
                    heapq.heappop(self._due)
                if self._due and (left := self._due[0][0] - time.monotonic()) <= 0:
                    return heapq.heappop(self._due)[2]
                self._deadline = self._due[0][0] if self._due else math.inf
                self._wake.wait(left if self._due else None)
                self._deadline = -math.inf
            return None

    def _run(self) -> None:
        store: Store | None = None
        try:
            while (held := self._next()) is not None:
                if not held.held:           # its pass ended (or it was lost) meanwhile
                    continue
                if store is None:
                    try:
                        store = self.open_store()
                    except OccoError as problem:
                        log.error("cannot renew the lease of %s: %s", held.infra_id, problem)
                        held.lose()
                        continue
                try:
                    renewed = held.renew(store)
                except Exception:     # a bug: that lease is given up, the others still renewed
                    log.exception("renewing the lease of %s failed", held.infra_id)
                    held.lose()
                    continue
                if renewed:
                    with self._wake:
                        heapq.heappush(self._due, (time.monotonic() + held.ttl / 3,
                                                   next(self._order), held))
        finally:
            if store is not None:
                store.close()


def abandoned(owner: LeaseOwner) -> bool:
    """Whether `owner` was a process of this host that has ended."""
    if owner.host != socket.gethostname() or owner.pid == os.getpid():
        return False
    try:
        os.kill(owner.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:      # alive, under another user
        return False
    return False
