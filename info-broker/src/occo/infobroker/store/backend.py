"""What every backend shares: the user namespace, one-line errors, no password in a message,
and the checks of arguments that each backend turns into its own query."""
from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

from occo.util.errors import ConfigurationError
from occo.util.redact import redact_url

from . import leases, pending
from .base import (InfrastructureExists, InfrastructureNotFound, PendingScaling, QueueLimit,
                   ScalingKind, Store, StoreError)

# Compare-and-set rounds lost to other commands before a write gives up (`busy`).
ATTEMPTS = 20

S = TypeVar("S", bound=Store)


def namespace(prefix: str, user: str) -> str:
    """`<prefix><user>@`, the original's key namespace, refused when it could read as another's.

    A user has no ':' or '@' and a prefix is empty or ends with ':', so the last
    ':' always tells prefix from user: "a:" + "b" can never meet "" + "a:b".
    """
    if not user or set(user) & set(":@"):
        raise ConfigurationError(f"{user!r} cannot name a store namespace",
                                 hint="give the OS user name: not empty, without ':' or '@'")
    if "@" in prefix or (prefix and not prefix.endswith(":")):
        raise ConfigurationError(f"store prefix {prefix!r} is ambiguous",
                                 hint="end the prefix with ':' and leave '@' out, e.g. 'occo:'")
    return f"{prefix}{user}@"


Hint = str | Callable[[BaseException], str]

# What each writing method of `Store` stores, for a message saying what was not stored.
WRITES = {
    "put_node_definitions": "the node definitions", "add_infrastructure": "the infrastructure",
    "update_infrastructure": "the infrastructure's description",
    "remove_infrastructure": "the removal of the infrastructure",
    "put_instance": "the instance record", "put_instances": "the instance records",
    "remove_instance": "the removal of an instance record",
    "archive_failed": "the failed instance's record", "set_target_count": "the target count",
    "append_event": "the event", "append_events": "the events",
    "queue_scaling": "the scaling request", "consume_scaling": "the handled scaling requests",
    "acquire_lease": "the lease", "renew_lease": "the lease's renewal",
    "release_lease": "the lease's release", "failing_period": "the failing period",
    "attach": "the attachment", "detach": "the detachment",
    "mark_destroying": "the destroy mark", "unmark_destroying": "the removal of the destroy mark",
    "announce": "the member's announcement", "withdraw": "the member's withdrawal",
    "set_notification": "the notification settings",
}


def failure(where: str, error: BaseException, hint: Hint, method: str | None = None
            ) -> StoreError:
    """A driver error as one line: its first line only, credentials removed; `method`, a
    writing method of `Store`, names what was not stored."""
    lines = str(error).strip().splitlines() or [type(error).__name__]
    written = WRITES.get(method or "")
    message = f"{where}: {redact_url(lines[0])}" + (f"; {written} not stored" if written else "")
    return StoreError(message, hint=hint if isinstance(hint, str) else hint(error))


def translate_errors(*errors: type[BaseException], hint: Hint) -> Callable[[type[S]], type[S]]:
    """Class decorator: a driver error raised by any `Store` method becomes a `StoreError`.

    The message names the store by the instance's `location` (already redacted); `hint` is
    the hint, or a function giving it for the error.
    """
    def decorate(cls: type[S]) -> type[S]:
        for name in _public_methods():
            setattr(cls, name, _translating(getattr(cls, name), errors, hint))
        return cls
    return decorate


def _public_methods() -> list[str]:
    """Every method of the `Store` interface, the batch ones that have a default included
    (`put_instances`: a backend's own version raises driver errors too)."""
    return sorted(name for name, value in vars(Store).items()
                  if callable(value) and not name.startswith("_") and name != "close")


def _translating(method: Callable[..., Any], errors: tuple[type[BaseException], ...],
                 hint: str) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except errors as error:
            raise failure(self.location, error, hint, method.__name__) from error
    return call


def not_found(infra_id: str) -> InfrastructureNotFound:
    return InfrastructureNotFound(f"no infrastructure {infra_id} in the state store",
                                  hint="check the id that occopus-build printed")


def already_exists(infra_id: str) -> InfrastructureExists:
    return InfrastructureExists(f"infrastructure {infra_id} exists already",
                                hint="choose another id, or destroy that infrastructure first")


def busy(infra_id: str) -> StoreError:
    """The error of a write that lost `ATTEMPTS` compare-and-set rounds in a row."""
    return StoreError(f"infrastructure {infra_id} kept changing during a write",
                      hint="too many commands write it at once; run this one again")


def event_window(after: int, limit: int | None) -> tuple[int, int | None]:
    """`Store.events`' cursor and limit checked: a negative cursor reads from the first event
    (a backend's index must never count from the end), a negative limit is a caller's bug."""
    if limit is not None and limit < 0:
        raise ValueError(f"a limit of events to read is 0 or more, not {limit}")
    return max(0, after), limit


def member_expiry(member: str, ttl: float, now: float | None) -> tuple[float, float]:
    """(now, when the member's announcement expires) of `Store.announce`, its arguments
    checked as a lease's are."""
    if not member:
        raise ValueError("a service member needs a name")
    if not ttl > 0:
        raise ValueError(f"a service member needs a positive ttl, not {ttl}")
    moment = leases.clock(now)
    return moment, moment + ttl


def pair(first: str, second: str) -> str:
    """One key for two names, unambiguous whatever characters they hold."""
    return json.dumps([first, second])


Change = Callable[[PendingScaling, int | None], PendingScaling]
"""A change of a node's queue, given the queue and the node's stored target."""


class ChangedAtomically:
    """`queue_scaling` and `consume_scaling` of a backend whose one atomic step is a
    read-change-write of a node's queue (`_change_pending`: a compare-and-set, tried again
    while what it read changes, at most `ATTEMPTS` times, then `busy`); mixed in before
    `Store`."""

    def _change_pending(self, infra_id: str, node_name: str, fence: int | None, *,
                        must_exist: bool, change: Change) -> PendingScaling | None:
        """The queue after `change` (of the queue and the node's stored target, read
        together, neither changed when it is written), written if the fence allows; None
        when the infrastructure is gone (`must_exist`: its not-found error instead)."""
        raise NotImplementedError

    def queue_scaling(self, infra_id: str, node_name: str, kind: ScalingKind, *,
                      count: int = 1, value: str | None = None,
                      limit: int | QueueLimit) -> PendingScaling:
        after = self._change_pending(
            infra_id, node_name, None, must_exist=True,
            change=lambda before, target: pending.queued(before, kind, count, value, limit,
                                                         target))
        return PendingScaling() if after is None else after

    def consume_scaling(self, infra_id: str, node_name: str, handled: PendingScaling,
                        fence: int | None = None) -> None:
        self._change_pending(infra_id, node_name, fence, must_exist=False,
                             change=lambda before, _: pending.consumed(before, handled))
