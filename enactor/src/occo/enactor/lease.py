"""The infrastructure's lease, held for one pass and renewed while the pass runs.

A pass may take longer than the lease's time to live (clouds are slow), so a
thread renews it every third of that time. The thread has a store connection
of its own (an SQLite connection serves only the thread that opened it). If
a renewal is refused, another owner took the lease over: `on_lost` is called
(the enactor stops the execution in flight) and every later fenced write fails with
`StaleFenceError`, so the two owners never both write.

A lease whose holder was a process of this host that no longer runs (a
SIGKILLed or crashed command) is taken over at once rather than after its
time to live: the holder cannot write any more, and if the check were ever
wrong (a host name shared by two machines) fencing would still refuse the
older owner's writes.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from types import TracebackType

from occo.infobroker.store import (DEFAULT_LEASE_TTL, Lease, LeaseHeld, LeaseOwner,
                                  StaleFenceError, Store)
from occo.util.errors import OccoError

log = logging.getLogger("occo.enactor")


class HeldLease:
    """`with HeldLease(...) as lease:` holds the lease (or raises `LeaseHeld` naming the holder)."""

    def __init__(self, store: Store, infra_id: str, *, open_store: Callable[[], Store],
                 owner: LeaseOwner | None = None, ttl: float = DEFAULT_LEASE_TTL,
                 on_lost: Callable[[], None] = lambda: None) -> None:
        self.store = store
        self.infra_id = infra_id
        self.open_store = open_store
        self.owner = owner or LeaseOwner.current()
        self.ttl = ttl
        self.on_lost = on_lost
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._lease: Lease | None = None
        self._thread: threading.Thread | None = None

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
        self._thread = threading.Thread(target=self._renew, name=f"lease-{self.infra_id}",
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            lease, self._lease = self._lease, None
        if lease is not None and not self.lost.is_set():
            try:
                self.store.release_lease(lease)
            except OccoError as problem:   # it expires by itself; say so, keep the pass's outcome
                log.warning("could not release the lease of %s: %s", self.infra_id, problem)

    def _renew(self) -> None:
        # most passes end before the first renewal is due: open the connection only then
        if self._stop.wait(self.ttl / 3):
            return
        try:
            store = self.open_store()
        except OccoError as problem:
            log.error("cannot renew the lease of %s: %s", self.infra_id, problem)
            self._lose()
            return
        try:
            while True:
                with self._lock:
                    lease = self._lease
                if lease is None:
                    return
                try:
                    renewed = store.renew_lease(lease, self.ttl)
                except OccoError as problem:
                    log.error("lost the lease of %s: %s", self.infra_id, problem)
                    self._lose()
                    return
                with self._lock:
                    if self._lease is not None:
                        self._lease = renewed
                if self._stop.wait(self.ttl / 3):
                    return
        finally:
            store.close()

    def _lose(self) -> None:
        self.lost.set()
        self.on_lost()


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
