"""How many instances a node should have, from its limits and the scaling requests.

The semantics are the original's (Occopus 1.10), as pure functions (the caller
stores the results):

1. The target is the stored target clamped to [min, max]; min when none is stored.
2. Create requests raise it, up to max (requests beyond max are dropped with a message).
3. Otherwise destroy requests that name an instance (by node id or by any of its
   addresses) lower it, down to min; a request naming no instance is dropped.
4. Otherwise anonymous destroy requests lower it, down to min.

Only the first kind of request present is handled in one pass; the others
wait for the next pass. Instances to drop are the named ones first, then the
youngest.

Unlike the original, pending requests are counts (`PendingScaling`), not one
stored record each, and `occopus-scale` queues none beyond what the node's
limits allow (`queue_limit`): the original stored a million records for
`-c 1000000` and a pass over them never finished. The rules above still clamp,
for requests queued before a description's limits changed.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from occo.infobroker.store import PendingScaling
from occo.infobroker.store.base import ScalingKind


@dataclass(frozen=True)
class LiveInstance:
    """What scaling needs to know of an existing instance."""

    node_id: str
    addresses: tuple[str, ...] = ()
    created_at: float = 0.0


@dataclass(frozen=True)
class ScalingDecision:
    target: int
    handled: PendingScaling = PendingScaling()  # the requests this pass consumed
    named_drops: tuple[str, ...] = ()      # node ids that requests asked to destroy
    messages: tuple[str, ...] = field(default=())


def clamp(value: int, minimum: int, maximum: int) -> int:
    return max(minimum, min(maximum, value))


def current_target(minimum: int, maximum: int, stored: int | None) -> int:
    """The target before any request: the stored one within the limits, else min."""
    return clamp(stored if stored is not None else minimum, minimum, maximum)


def decide_target(node_name: str, minimum: int, maximum: int, stored: int | None,
                  pending: PendingScaling,
                  existing: Sequence[LiveInstance]) -> ScalingDecision:
    """The node's target count for this pass, and which requests it consumed."""
    target = current_target(minimum, maximum, stored)
    if pending.create:
        wanted = target + pending.create
        messages = () if wanted <= maximum else (
            f"scaling: {wanted - maximum} create request(s) ignored, node '{node_name}' "
            f"is at its maximum of {maximum}",)
        return ScalingDecision(min(wanted, maximum), PendingScaling(create=pending.create), (),
                               messages)
    if pending.named:
        return _destroy(node_name, minimum, target, PendingScaling(named=pending.named),
                        _resolve(pending.named, existing))
    if pending.destroy:
        return _destroy(node_name, minimum, target, PendingScaling(destroy=pending.destroy), [])
    return ScalingDecision(target)


def queue_limit(kind: ScalingKind, minimum: int, maximum: int, stored: int | None,
                pending: PendingScaling) -> int:
    """The most requests of `kind` that may be pending for them all to be carried out.

    Creates are handled first, so they may raise the target to max; destroys
    lower what the creates leave, down to min.
    """
    target = current_target(minimum, maximum, stored)
    if kind == "create":
        return maximum - target
    return min(maximum, target + pending.create) - minimum


def _resolve(values: Sequence[str], existing: Sequence[LiveInstance]) -> list[str]:
    """The node id each named request means, or "" when it names no instance."""
    by_key = {}
    for instance in existing:
        by_key[instance.node_id] = instance.node_id
        for address in instance.addresses:
            by_key.setdefault(address, instance.node_id)
    return [by_key.get(value, "") for value in values]


def _destroy(node_name: str, minimum: int, target: int, handled: PendingScaling,
             resolved: Sequence[str]) -> ScalingDecision:
    """Lower the target by the named instances (`resolved`, one node id or "" per name) or,
    when none is named, by the anonymous count: never below min."""
    messages = [f"scaling: destroy request {value!r} names no instance of node '{node_name}'"
                for value, node_id in zip(handled.named, resolved, strict=True) if not node_id]
    named = list(dict.fromkeys(node_id for node_id in resolved if node_id))
    wanted = len(named) if handled.named else handled.destroy
    allowed = max(0, target - minimum)
    if wanted > allowed:
        messages.append(f"scaling: {wanted - allowed} destroy request(s) ignored, node "
                        f"'{node_name}' is at its minimum of {minimum}")
    dropped = min(wanted, allowed)
    return ScalingDecision(target - dropped, handled, tuple(named[:dropped]), tuple(messages))


def choose_drops(existing: Sequence[LiveInstance], count: int,
                 named: Sequence[str] = ()) -> list[str]:
    """`count` node ids to drop: the named ones first, then the youngest."""
    chosen = [node_id for node_id in named if any(i.node_id == node_id for i in existing)][:count]
    rest = sorted((i for i in existing if i.node_id not in chosen),
                  key=lambda i: (i.created_at, i.node_id), reverse=True)
    return chosen + [i.node_id for i in rest[:max(0, count - len(chosen))]]
