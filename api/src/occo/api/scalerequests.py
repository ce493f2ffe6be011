"""Scaling requests as `occopus-scale` and the REST service take them.

A request is checked against the node's scaling limits and queued in the
store in one atomic step (`Store.queue_scaling` with the bound `queue_limit`
gives), so that requests made at once by many callers never queue more than
the next passes can carry out. A request beyond that bound is refused, never
clamped: the refusal says the node's numbers and the most that would be
accepted (`ScaleRefused.accepted`), since a typo such as a count of a million
would otherwise start as many instances as the limits allow.

The wording of refusals is shared; only the advice on what to ask instead
names the caller's way of asking (`Advice`: occopus-scale's flags by default).
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass

from occo.compiler import StaticDescription
from occo.enactor.scaling import current_target, queue_limit
from occo.infobroker.store import NamedDestroyRefused, PendingScaling, ScalingQueueFull, Store
from occo.infobroker.store.base import ScalingKind
from occo.infobroker.store.pending import MAX_VALUE_LENGTH
from occo.util.errors import OccoError


class NodeNotFound(OccoError):
    """The infrastructure has no node of that name."""


class OutsideLimits(OccoError):
    """A target count outside the node's scaling limits."""


class BadInstanceName(OccoError):
    """A destroy request naming what can be no instance (empty, or far too long)."""


class ScaleRefused(OccoError):
    """A request the node's limits cannot take; nothing was queued.

    `accepted` is the most of the same kind that would be accepted now.
    """

    def __init__(self, message: str, *, hint: str | None, accepted: int) -> None:
        super().__init__(message, hint=hint)
        self.accepted = accepted


class Advice:
    """What a refusal advises asking instead, in the caller's terms: occopus-scale's flags.

    The REST service gives its own (routes instead of flags)."""

    def more(self, infra_id: str, name: str, room: int) -> str:
        return f"ask for at most {room} more (-c {room})"

    def fewer(self, infra_id: str, name: str, room: int) -> str:
        return f"ask for at most {room} fewer (-c -{room})"

    def queue(self, infra_id: str, name: str) -> str | None:
        """How to see and drop the requests that wait, if the caller can."""
        return (f"occopus-scale -i {infra_id} -n {name} --list shows the requests that wait, "
                "--drop drops them")


@dataclass(frozen=True)
class Queued:
    """A request taken: `accepted` requests were added (0 for an instance already named by a
    pending request), `pending` is the node's queue afterwards."""

    node: str
    kind: ScalingKind
    accepted: int
    pending: PendingScaling
    already: bool = False


def check_node(static: StaticDescription, name: str) -> None:
    """`NodeNotFound`, with the closest name as a hint, unless the infrastructure has `name`."""
    if name not in static.nodes:
        close = difflib.get_close_matches(name, list(static.nodes), n=1)
        raise NodeNotFound(f"infrastructure {static.infra_id} has no node '{name}'",
                           hint=f"did you mean '{close[0]}'?" if close
                           else f"its nodes: {', '.join(sorted(static.nodes))}")


def limits(static: StaticDescription, name: str) -> tuple[int, int]:
    """The node's (min, max) instances; `NodeNotFound` if it has no such node."""
    check_node(static, name)
    scaling = static.node(name)["scaling"]
    return scaling["min"], scaling["max"]


def target(store: Store, static: StaticDescription, name: str) -> int:
    """The node's target before any pending request: the stored one within its limits."""
    low, high = limits(static, name)
    return current_target(low, high, store.get_target_count(static.infra_id, name))


def set_target(store: Store, static: StaticDescription, name: str, count: int) -> None:
    """Store the node's target count; `OutsideLimits` if the limits do not allow it."""
    low, high = limits(static, name)
    if not low <= count <= high:
        raise OutsideLimits(f"node '{name}' may have {low} to {high} instances, not {count}",
                            hint="change its scaling limits with occopus-build -i")
    store.set_target_count(static.infra_id, name, count)


def queue_request(store: Store, static: StaticDescription, name: str, kind: ScalingKind, *,
                  count: int = 1, value: str | None = None,
                  advice: Advice | None = None) -> Queued:
    """Queue `count` creates or destroys of node `name`, or one destroy of the instance
    `value` names (node id or address), within the bound the node's limits give.

    Raises `NodeNotFound`, `BadInstanceName`, or `ScaleRefused` (nothing queued)."""
    infra_id = static.infra_id
    low, high = limits(static, name)
    # whether a named destroy was asked already (a count is never "already")
    named = store.pending_scaling(infra_id, name).named if value is not None else ()
    try:
        # the limit from the target and queue the store's atomic step reads: one a pass
        # or another request changes meanwhile cannot make the answer overstate it
        after = store.queue_scaling(
            infra_id, name, kind, count=count, value=value,
            limit=lambda stored, queued: queue_limit(kind, low, high, stored, queued))
    except NamedDestroyRefused as refused:       # for the name itself, whatever the room
        error = BadInstanceName if not value or len(value) > MAX_VALUE_LENGTH else ScaleRefused
        message = f"cannot queue the destroy request {(value or '')[:60]!r}: {refused.message}"
        if error is BadInstanceName:
            raise BadInstanceName(message, hint=refused.hint) from None
        raise ScaleRefused(message, hint=refused.hint, accepted=0) from None
    except ScalingQueueFull as full:
        # what holds now, not what was read before: others may have queued meanwhile
        raise _refusal(static, name, kind, count, value, full.target, full.pending,
                       advice or Advice()) from None
    already = value is not None and value in named
    return Queued(name, kind, 0 if already else count, after, already)


def _refusal(static: StaticDescription, name: str, kind: ScalingKind, count: int,
             value: str | None, stored: int | None, pending: PendingScaling,
             advice: Advice) -> ScaleRefused:
    """The refusal: the node's numbers (its `stored` target and `pending` requests as the
    refusal found them), and the most it would accept."""
    infra_id = static.infra_id
    low, high = limits(static, name)
    target_now = current_target(low, high, stored)
    bound = queue_limit(kind, low, high, stored, pending)
    room = max(0, bound - (pending.create if kind == "create" else pending.destroys))
    state = (f"node '{name}' may have {low} to {high} instances; its target is {target_now}"
             + (f" and {describe(pending)} wait" if pending else ""))
    if kind == "create":
        wanted = f"{count} more" if value is None else "one more"
        hint = (advice.more(infra_id, name, room) if room
                else "it can grow no further: raise its max with occopus-build -i")
    else:
        wanted = f"{count} fewer" if value is None else "one fewer"
        hint = (advice.fewer(infra_id, name, room) if room
                else "it can shrink no further: lower its min with occopus-build -i")
    queue = advice.queue(infra_id, name)
    return ScaleRefused(f"{state}: {wanted} cannot be queued",
                        hint=f"{hint}; {queue}" if queue else hint, accepted=room)


def describe(pending: PendingScaling) -> str:
    """The pending requests in a few words: '3 to create', '2 to destroy (any); 10.0.0.5'."""
    parts = []
    if pending.create:
        parts.append(f"{pending.create} to create")
    if pending.destroy:
        parts.append(f"{pending.destroy} to destroy (the youngest)")
    if pending.named:
        parts.append("to destroy by name: " + ", ".join(pending.named))
    return "; ".join(parts) or "nothing"
