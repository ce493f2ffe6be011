"""The rules of the pending scaling queue, shared by every backend.

A node's requests are one `PendingScaling` record: backends read it, apply
`queued` or `consumed`, and write it back in one atomic step. Records of the
old shape (one stored request each, before requests were counted) are folded
in with `fold_legacy` the next time the node's queue is written.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .base import NamedDestroyRefused, PendingScaling, QueueLimit, ScalingKind, ScalingQueueFull
from .codec import decode, encode_record

# Named destroy requests one node may have pending, whatever its limits: each is kept
# by name, so they are bounded apart from the counts.
MAX_NAMED = 1000
# A node id or address is far shorter; anything longer is no name of an instance.
MAX_VALUE_LENGTH = 255


def queued(pending: PendingScaling, kind: ScalingKind, count: int, value: str | None,
           limit: int | QueueLimit, target: int | None) -> PendingScaling:
    """`pending` with the request added; `ScalingQueueFull` beyond `limit` (given, or made
    from `target`, the node's stored target, and `pending`), its subclass
    `NamedDestroyRefused` for a name that cannot be queued at any limit (see `Store`)."""
    if kind not in ("create", "destroy"):
        raise ValueError(f"a scaling request is 'create' or 'destroy', not {kind!r}")
    if count < 1 or (value is not None and (kind != "destroy" or count != 1)):
        raise ValueError("queue a positive count, or one destroy naming an instance")
    if value is not None:
        if not value or len(value) > MAX_VALUE_LENGTH:
            raise NamedDestroyRefused(f"{value[:40]!r}... names no instance" if value
                                      else "an empty name names no instance",
                                      hint="give a node id or an address of the instance",
                                      pending=pending, target=target)
        if value in pending.named:
            return pending
        if len(pending.named) >= MAX_NAMED:
            raise NamedDestroyRefused(f"{MAX_NAMED} destroy requests naming an instance are "
                                      "pending already",
                                      hint="run occopus-maintain, or drop them with "
                                           "occopus-scale --drop", pending=pending,
                                      target=target)
    bound = limit(target, pending) if callable(limit) else limit
    already = pending.create if kind == "create" else pending.destroys
    if already + count > bound:
        raise ScalingQueueFull(f"{already + count} {kind} requests would be pending; "
                               f"at most {max(0, bound)} may be", pending=pending,
                               target=target)
    if value is not None:
        return PendingScaling(pending.create, pending.destroy, (*pending.named, value))
    if kind == "create":
        return PendingScaling(pending.create + count, pending.destroy, pending.named)
    return PendingScaling(pending.create, pending.destroy + count, pending.named)


def consumed(pending: PendingScaling, handled: PendingScaling) -> PendingScaling:
    """What stays pending once `handled` is taken off (never below none)."""
    gone = set(handled.named)
    return PendingScaling(max(0, pending.create - handled.create),
                          max(0, pending.destroy - handled.destroy),
                          tuple(name for name in pending.named if name not in gone))


def fold_legacy(pending: PendingScaling,
                requests: Iterable[tuple[str, str | None, int]]) -> PendingScaling:
    """`pending` with old-shaped requests counted in, given as (kind, value, how many)
    oldest first."""
    create, destroy, named = pending.create, pending.destroy, list(pending.named)
    for kind, value, number in requests:
        if kind == "create":
            create += number
        elif not value:
            destroy += number
        elif value not in named:
            named.append(value)
    return PendingScaling(create, destroy, tuple(named))


def encode_pending(pending: PendingScaling) -> str:
    return encode_record(pending)


def decode_pending(text: str | bytes | None) -> PendingScaling:
    """The record stored as `text`; none pending when nothing is stored."""
    if text is None:
        return PendingScaling()
    data: dict[str, Any] = decode(text)
    return PendingScaling(int(data["create"]), int(data["destroy"]), tuple(data["named"]))


def decode_legacy(text: str | bytes) -> tuple[str, str | None, int]:
    """(kind, value, 1) of an old-shaped request document: one request each."""
    data: dict[str, Any] = decode(text)
    return data["kind"], data.get("value"), 1

