"""How many instances a node should have, from its limits and the scaling requests.

The semantics are the original's, as pure functions (the caller stores the
results):

1. The target is the stored target clamped to [min, max]; min when none is stored.
2. Create requests raise it, up to max (requests beyond max are dropped with a message).
3. Otherwise destroy requests that name an instance (by node id or by any of its
   addresses) lower it, down to min; a request naming no instance is dropped.
4. Otherwise anonymous destroy requests lower it, down to min.

Only the first kind of request present is handled in one pass; the others
wait for the next pass. Instances to drop are the named ones first, then the
youngest.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from occo.infobroker.store import ScalingRequest


@dataclass(frozen=True)
class LiveInstance:
    """What scaling needs to know of an existing instance."""

    node_id: str
    addresses: tuple[str, ...] = ()
    created_at: float = 0.0


@dataclass(frozen=True)
class ScalingDecision:
    target: int
    handled: tuple[str, ...] = ()          # ids of the requests this pass consumed
    named_drops: tuple[str, ...] = ()      # node ids that requests asked to destroy
    messages: tuple[str, ...] = field(default=())


def clamp(value: int, minimum: int, maximum: int) -> int:
    return max(minimum, min(maximum, value))


def decide_target(node_name: str, minimum: int, maximum: int, stored: int | None,
                  requests: Sequence[ScalingRequest],
                  existing: Sequence[LiveInstance]) -> ScalingDecision:
    """The node's target count for this pass, and which requests it consumed."""
    target = clamp(stored if stored is not None else minimum, minimum, maximum)
    creates = [r for r in requests if r.kind == "create"]
    if creates:
        wanted = target + len(creates)
        messages = () if wanted <= maximum else (
            f"scaling: {wanted - maximum} create request(s) ignored, node '{node_name}' "
            f"is at its maximum of {maximum}",)
        return ScalingDecision(min(wanted, maximum), _ids(creates), (), messages)
    named = [r for r in requests if r.kind == "destroy" and r.value]
    if named:
        return _destroy(node_name, minimum, target, named, _resolve(named, existing))
    anonymous = [r for r in requests if r.kind == "destroy" and not r.value]
    if anonymous:
        return _destroy(node_name, minimum, target, anonymous, [None] * len(anonymous))
    return ScalingDecision(target)


def _resolve(requests: Sequence[ScalingRequest],
             existing: Sequence[LiveInstance]) -> list[str | None]:
    """The node id each named request means, or "" when it names no instance."""
    by_key = {}
    for instance in existing:
        by_key[instance.node_id] = instance.node_id
        for address in instance.addresses:
            by_key.setdefault(address, instance.node_id)
    return [by_key.get(request.value or "", "") for request in requests]


def _destroy(node_name: str, minimum: int, target: int, requests: Sequence[ScalingRequest],
             resolved: Sequence[str | None]) -> ScalingDecision:
    messages = [f"scaling: destroy request {r.value!r} names no instance of node '{node_name}'"
                for r, node_id in zip(requests, resolved, strict=True) if node_id == ""]
    valid: list[str | None] = []
    for node_id in resolved:
        if node_id != "" and (node_id is None or node_id not in valid):
            valid.append(node_id)
    allowed = max(0, target - minimum)
    if len(valid) > allowed:
        messages.append(f"scaling: {len(valid) - allowed} destroy request(s) ignored, node "
                        f"'{node_name}' is at its minimum of {minimum}")
        valid = valid[:allowed]
    named = tuple(node_id for node_id in valid if node_id)
    return ScalingDecision(target - len(valid), _ids(requests), named, tuple(messages))


def _ids(requests: Sequence[ScalingRequest]) -> tuple[str, ...]:
    return tuple(r.request_id for r in requests)


def choose_drops(existing: Sequence[LiveInstance], count: int,
                 named: Sequence[str] = ()) -> list[str]:
    """`count` node ids to drop: the named ones first, then the youngest."""
    chosen = [node_id for node_id in named if any(i.node_id == node_id for i in existing)][:count]
    rest = sorted((i for i in existing if i.node_id not in chosen),
                  key=lambda i: (i.created_at, i.node_id), reverse=True)
    return chosen + [i.node_id for i in rest[:max(0, count - len(chosen))]]
