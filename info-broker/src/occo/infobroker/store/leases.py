"""The lease rules every backend applies inside its own atomic step.

A backend reads the current lease and the newest fencing token of an
infrastructure, asks these functions what to write (or which error to raise),
and writes it in the same transaction, WATCH/MULTI block or compare-and-set,
so two commands can never both be granted a lease.
"""
from __future__ import annotations

import dataclasses
import time

from .base import Lease, LeaseHeld, LeaseOwner, StaleFenceError


def clock(now: float | None) -> float:
    """`now` if a test gave one, else the wall clock (epoch seconds: leases outlive processes)."""
    return time.time() if now is None else now


def is_live(lease: Lease | None, now: float) -> bool:
    return lease is not None and now < lease.expires_at


def grant(infra_id: str, current: Lease | None, newest: int, owner: LeaseOwner,
          ttl: float, now: float) -> Lease:
    """The next lease of an infrastructure, or `LeaseHeld` while another owner's is live.

    The same owner asking again gets a fresh token: its earlier lease turns
    stale, so two threads of one process cannot both write under it.
    """
    _check_ttl(ttl)
    if current is not None and is_live(current, now) and current.owner != owner:
        raise LeaseHeld(infra_id, current, now)
    return Lease(infra_id, owner, newest + 1, now, now + ttl)


def renewed(lease: Lease, current: Lease | None, ttl: float, now: float) -> Lease:
    """`lease` extended to now + ttl, or `StaleFenceError` if it is no longer the current one.

    An expired lease that nobody took over is still current and can be
    renewed: no newer token exists, so nobody else can have written.
    """
    if current is None or current.token != lease.token:
        raise lost(lease)
    return extended(current, ttl, now)


def extended(lease: Lease, ttl: float, now: float) -> Lease:
    """`lease` running until now + ttl (the caller checks that it is still current)."""
    _check_ttl(ttl)
    return dataclasses.replace(lease, expires_at=now + ttl)


def check_fence(infra_id: str, fence: int | None, newest: int) -> None:
    if fence is not None and fence < newest:
        raise stale(infra_id, fence, newest)


def stale(infra_id: str, fence: int | None, newest: int) -> StaleFenceError:
    return StaleFenceError(
        f"infrastructure {infra_id}: a write with fencing token {fence} was refused, "
        f"token {newest} was granted since",
        hint="this command lost its lease (it expired and another command took it over); "
             "run it again")


def lost(lease: Lease) -> StaleFenceError:
    return StaleFenceError(
        f"infrastructure {lease.infra_id}: the lease with token {lease.token} was lost",
        hint="it was released or taken over after it expired; take a new lease and start over")


def _check_ttl(ttl: float) -> None:
    if not ttl > 0:
        raise ValueError(f"a lease needs a positive ttl, not {ttl}")
