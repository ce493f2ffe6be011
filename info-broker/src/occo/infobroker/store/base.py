"""The state store interface (the original's UDS) shared by every backend.

A `Store` keeps, for one user namespace (`<prefix><user>@...`, as the original
did per OS user):

- node definitions, by node type;
- infrastructures: their compiled static descriptions, by infrastructure id;
- node instances of each infrastructure, by node name and node id: intent
  records written before any cloud call, then instance data;
- failed instances, archived for reports;
- scaling targets and pending scaling requests, per node name, as counts
  (`PendingScaling`): a request for a million instances is one number, not a
  million records;
- failing periods of unhealthy instances;
- the event log of each infrastructure, read from a cursor (`Event.seq`);
- a lease lock per infrastructure, with a fencing token;
- the infrastructures a REST service keeps maintaining (the attached set), and
  each one's notification settings, so that a restarted service takes them up
  again;
- the destroy requests such a service accepted (the destroying set), so that a
  DELETE survives a restart and any process of the service can carry it out;
- the live processes (members) of that service, each until its announcement
  expires, so that they can share the attached infrastructures among them.

Every stored document is JSON with a schema version (`SCHEMA_VERSION`); a
document of a newer version is refused rather than misread. Each backend also
marks the store itself with the version of its layout (SQLite's user_version, a
`schema` key or document): opening a store of a newer layout is refused, one of
an older layout is upgraded.

Writes that belong to an enactor pass take `fence`, the token of the lease the
writer holds: the store rejects it with `StaleFenceError` when a newer lease
was granted since, so a writer whose lease expired cannot overwrite its
successor's state.
"""
from __future__ import annotations

import abc
import os
import socket
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from occo.util.errors import OccoError, SourceLocation
from occo.util.moments import moment

# 1: the first layout; 2: pending scale requests stored as counts per node (`PendingScaling`).
SCHEMA_VERSION = 2
DEFAULT_LEASE_TTL = 30.0

ScalingKind = Literal["create", "destroy"]


class StoreError(OccoError):
    """The store cannot be reached or answered wrongly."""


class InfrastructureNotFound(OccoError):
    """No infrastructure with this id exists in the store."""


class InfrastructureExists(OccoError):
    """An infrastructure with this id exists already."""


class LeaseHeld(OccoError):
    """Another owner holds the infrastructure's lease; `holder` says who and since when."""

    def __init__(self, infra_id: str, holder: "Lease", now: float | None = None) -> None:
        super().__init__(
            f"infrastructure {infra_id} is locked by {holder.owner} since "
            f"{moment(holder.acquired_at, now)}; the lease expires at "
            f"{moment(holder.expires_at, now)}",
            hint="wait for that command to finish, or for the lease to expire")
        self.holder = holder


class StaleFenceError(OccoError):
    """A write carried a fencing token older than the newest lease granted."""


@dataclass(frozen=True)
class LeaseOwner:
    """Who holds a lease: shown to whoever is refused it."""

    host: str
    pid: int
    command: str

    @classmethod
    def current(cls) -> "LeaseOwner":
        return cls(socket.gethostname(), os.getpid(), os.path.basename(sys.argv[0]) or "python")

    def __str__(self) -> str:
        return f"{self.command} (pid {self.pid} on {self.host})"


@dataclass(frozen=True)
class Lease:
    infra_id: str
    owner: LeaseOwner
    token: int            # the fencing token: grows with every grant for this infrastructure
    acquired_at: float    # epoch seconds
    expires_at: float


class ScalingQueueFull(OccoError):
    """A scaling request would queue more than its `limit` allows; nothing was queued.

    `pending` is the node's queue and `target` its stored target as the refusal found them
    (what holds now)."""

    def __init__(self, message: str, *, pending: PendingScaling, target: int | None,
                 location: SourceLocation | None = None, hint: str | None = None) -> None:
        super().__init__(message, location=location, hint=hint)
        self.pending = pending
        self.target = target


class NamedDestroyRefused(ScalingQueueFull):
    """A destroy request refused for its name, whatever the limit: it names no instance
    (empty, or too long to be one), or too many named ones are pending; nothing was queued."""


@dataclass(frozen=True)
class PendingScaling:
    """A node's pending scaling requests, counted: one small record per node however many.

    `named` holds the destroy requests that name an instance (by node id or
    address), oldest first and each once; `destroy` counts those naming none.
    """

    create: int = 0
    destroy: int = 0
    named: tuple[str, ...] = ()

    @property
    def destroys(self) -> int:
        """Every pending destroy request, named or not."""
        return self.destroy + len(self.named)

    def __bool__(self) -> bool:
        return bool(self.create or self.destroy or self.named)


QueueLimit = Callable[[int | None, PendingScaling], int]
"""A node's queue limit from its stored target (None: none stored) and its pending requests."""


@dataclass(frozen=True)
class Delivered:
    """How far an infrastructure's events were sent to one notification target (a key of
    the caller's, such as a digest of a webhook's URL): `seq` is the cursor of the last
    event done with, sent or given up."""

    target: str
    seq: int


@dataclass
class Event:
    infra_id: str
    name: str              # infrastart, nodecreating, nodecreated, ...
    timestamp: float
    data: dict[str, Any] = field(default_factory=dict)
    # Where a read event sits in its infrastructure's log (> 0, growing with every append), for
    # `Store.events(after=...)`; 0 on an event not read from a store. The store gives it, so it
    # is not stored in the event's document, and it is no part of what the event says: an
    # event read back equals the one appended.
    seq: int = field(default=0, compare=False, metadata={"stored": False})


class Store(abc.ABC):
    """The state of every infrastructure of one user namespace."""

    # The newest events an infrastructure's log keeps: a log that has grown a tenth past
    # this (`event_trim_stride`) loses its oldest events, so a long-lived infrastructure's
    # log stays bounded in the store (and in Redis's memory). A class attribute, so that a
    # test can keep a few.
    events_kept: int = 5_000

    @property
    def event_trim_stride(self) -> int:
        """How far past `events_kept` a log grows before it is trimmed: trimming in strides
        makes its cost per event small."""
        return max(1, self.events_kept // 10)

    # --- node definitions -------------------------------------------------
    @abc.abstractmethod
    def put_node_definitions(self, definitions: dict[str, list[dict]]) -> None:
        """Store implementations by node type, replacing what each type had."""

    @abc.abstractmethod
    def get_node_definition(self, node_type: str) -> list[dict] | None:
        """The implementations of a node type, or None if it was never imported."""

    @abc.abstractmethod
    def list_node_types(self) -> list[str]:
        """Every imported node type, sorted."""

    # --- infrastructures --------------------------------------------------
    @abc.abstractmethod
    def add_infrastructure(self, infra_id: str, description: dict) -> None:
        """Store a new static description; `InfrastructureExists` if the id is taken."""

    @abc.abstractmethod
    def update_infrastructure(self, infra_id: str, description: dict,
                              fence: int | None = None) -> None:
        """Replace the static description of an existing infrastructure."""

    @abc.abstractmethod
    def get_infrastructure(self, infra_id: str) -> dict:
        """The static description; `InfrastructureNotFound` if unknown."""

    @abc.abstractmethod
    def list_infrastructures(self) -> list[str]:
        """Every infrastructure id, sorted."""

    @abc.abstractmethod
    def remove_infrastructure(self, infra_id: str, fence: int | None = None) -> None:
        """Forget the infrastructure and everything stored about it (idempotent)."""

    # --- node instances ---------------------------------------------------
    @abc.abstractmethod
    def put_instance(self, infra_id: str, node_name: str, node_id: str, data: dict,
                     fence: int | None = None) -> None:
        """Create or replace one instance record (intent record or instance data)."""

    def put_instances(self, infra_id: str, records: Sequence[tuple[str, str, dict]],
                      fence: int | None = None) -> None:
        """Create or replace several instance records, given as (node name, node id, data);
        data is a JSON value, or its text already encoded (`codec.Encoded`).

        The engine keeps the records of many instances changing at once: one
        transaction for all of them costs about what one record does. Stores
        that can write them atomically do; this default writes one at a time,
        in order.
        """
        for node_name, node_id, data in records:
            self.put_instance(infra_id, node_name, node_id, data, fence=fence)

    @abc.abstractmethod
    def get_instances(self, infra_id: str) -> dict[str, dict[str, dict]]:
        """{node name: {node id: data}} of an infrastructure; empty if it has none."""

    @abc.abstractmethod
    def remove_instance(self, infra_id: str, node_name: str, node_id: str,
                        fence: int | None = None) -> None:
        """Forget one instance (idempotent)."""

    @abc.abstractmethod
    def archive_failed(self, infra_id: str, node_id: str, data: dict,
                       fence: int | None = None) -> None:
        """Keep a failed instance's data for reports."""

    @abc.abstractmethod
    def failed_instances(self, infra_id: str) -> dict[str, dict]:
        """{node id: data} of the archived failed instances."""

    # --- scaling ----------------------------------------------------------
    @abc.abstractmethod
    def set_target_count(self, infra_id: str, node_name: str, count: int,
                         fence: int | None = None) -> None:
        """Store the target instance count of a node."""

    @abc.abstractmethod
    def get_target_count(self, infra_id: str, node_name: str) -> int | None:
        """The stored target count, or None if none was ever stored."""

    @abc.abstractmethod
    def queue_scaling(self, infra_id: str, node_name: str, kind: ScalingKind, *,
                      count: int = 1, value: str | None = None,
                      limit: int | QueueLimit) -> PendingScaling:
        """Queue `count` create or destroy requests, or one destroy naming `value`; returns
        the node's pending requests after it.

        `limit` is the most requests of this kind (creates; or destroys, named or
        not) that may be pending afterwards, or a function giving it from the
        node's stored target and pending requests as the same atomic step reads
        them (a target or a request that changes meanwhile cannot make it stale):
        beyond it `ScalingQueueFull` is raised and nothing is queued; a name that
        cannot be queued at any limit raises its subclass `NamedDestroyRefused`. A
        named destroy already pending is not queued twice. See `pending.queued`
        for the rules.
        """

    @abc.abstractmethod
    def pending_scaling(self, infra_id: str, node_name: str) -> PendingScaling:
        """The node's pending requests (none for an unknown infrastructure or node)."""

    @abc.abstractmethod
    def consume_scaling(self, infra_id: str, node_name: str, handled: PendingScaling,
                        fence: int | None = None) -> None:
        """Take handled (or dropped) requests off the node's queue: their counts and names.

        Requests queued since `handled` was read stay pending; consuming more than
        is pending leaves none (a no-op for an unknown infrastructure).
        """

    # --- health -----------------------------------------------------------
    @abc.abstractmethod
    def failing_period(self, infra_id: str, node_id: str, failing: bool, now: float) -> float:
        """Seconds an instance has been failing: 0 at its first failure, cleared on success."""

    # --- events -----------------------------------------------------------
    @abc.abstractmethod
    def append_event(self, event: Event) -> None:
        """Add an event to its infrastructure's log.

        The log keeps at least its newest `events_kept` events and never more than
        `event_trim_stride` beyond them: the oldest are dropped. Cursors stay valid: a
        reader whose cursor is older than the oldest event kept reads on from that one.
        """

    def append_events(self, events: Sequence[Event]) -> None:
        """Add several events, in order; see `put_instances` for why."""
        for event in events:
            self.append_event(event)

    @abc.abstractmethod
    def events(self, infra_id: str, after: int = 0, limit: int | None = None) -> list[Event]:
        """The infrastructure's events after the cursor `after` (an event's `seq`; 0 for
        the first), the oldest `limit` of them (all if None), in the order they were appended.

        A reader that pages with the last `seq` it got sees every event once; a
        negative `after` reads from the first, a negative `limit` is a ValueError.
        """

    @abc.abstractmethod
    def last_event_seq(self, infra_id: str) -> int:
        """The cursor (`Event.seq`) of the infrastructure's newest event, 0 if it has none
        (or is unknown): one cheap query, so that a reader can start at the end of a long
        log without paging through it."""

    # --- leases -----------------------------------------------------------
    @abc.abstractmethod
    def acquire_lease(self, infra_id: str, owner: LeaseOwner, ttl: float = DEFAULT_LEASE_TTL,
                      now: float | None = None) -> Lease:
        """Take the infrastructure's lease, or raise `LeaseHeld` naming the holder.

        An expired lease is taken over with no manual unlock. Every grant gets a
        larger fencing token than any before it for this infrastructure.
        """

    @abc.abstractmethod
    def renew_lease(self, lease: Lease, ttl: float = DEFAULT_LEASE_TTL,
                    now: float | None = None) -> Lease:
        """Extend a lease we hold; `StaleFenceError` if it was lost meanwhile."""

    @abc.abstractmethod
    def release_lease(self, lease: Lease) -> None:
        """Give the lease up (a lease already lost or taken over is left alone)."""

    @abc.abstractmethod
    def current_lease(self, infra_id: str, now: float | None = None) -> Lease | None:
        """The live lease of an infrastructure, if any."""

    @abc.abstractmethod
    def fence_token(self, infra_id: str) -> int:
        """The newest fencing token granted for an infrastructure (0: none yet).

        Every grant takes a new one, so a holder that ended with token T knows,
        while this still says T, that nobody has held the lease since: what is
        written under the lease (description, instances) is as it left it. Writes
        made without a fence (a target set by occopus-scale -s, requests, the
        undo of a submit) do not move it.
        """

    # --- the attached set -------------------------------------------------
    @abc.abstractmethod
    def attach(self, infra_id: str) -> bool:
        """Mark an infrastructure as maintained by the REST service; True if it was not
        before. `InfrastructureNotFound` if unknown. Removal detaches it."""

    @abc.abstractmethod
    def detach(self, infra_id: str) -> bool:
        """Stop maintaining an infrastructure; True if it was attached."""

    @abc.abstractmethod
    def attached(self) -> list[str]:
        """Every attached infrastructure id, sorted."""

    # --- the destroying set -----------------------------------------------
    @abc.abstractmethod
    def mark_destroying(self, infra_id: str) -> bool:
        """Record that a REST service accepted the infrastructure's destruction; True if it
        was not marked before. `InfrastructureNotFound` if unknown. Removal unmarks it."""

    @abc.abstractmethod
    def unmark_destroying(self, infra_id: str) -> bool:
        """Drop the mark (the destruction was given up); True if it was marked."""

    @abc.abstractmethod
    def destroying(self) -> list[str]:
        """Every infrastructure id marked for destruction, sorted."""

    # --- service members --------------------------------------------------
    @abc.abstractmethod
    def announce(self, member: str, ttl: float, now: float | None = None) -> None:
        """Register `member` (a process of the REST service), or refresh it, as alive
        until now + ttl; `now` defaults to the wall clock, as for leases."""

    @abc.abstractmethod
    def members(self, now: float | None = None) -> list[str]:
        """The members alive at `now`, sorted (expired ones may be pruned)."""

    @abc.abstractmethod
    def withdraw(self, member: str) -> None:
        """Forget `member` at once, rather than when it expires (unknown: a no-op)."""

    # --- notification settings --------------------------------------------
    @abc.abstractmethod
    def set_notification(self, infra_id: str, data: dict | None) -> None:
        """Store the infrastructure's notification settings (None removes them);
        `InfrastructureNotFound` if unknown. Removed with the infrastructure."""

    @abc.abstractmethod
    def notification(self, infra_id: str) -> dict | None:
        """The infrastructure's notification settings, or None if it has none."""

    @abc.abstractmethod
    def start_delivery(self, infra_id: str, delivered: Delivered) -> None:
        """Record where sending to a target starts, replacing the record of any other target
        (the notification's target changed). A no-op for an unknown infrastructure; removed
        with the infrastructure."""

    @abc.abstractmethod
    def advance_delivery(self, infra_id: str, delivered: Delivered) -> None:
        """Record how far events were sent, if the record is of this target: its cursor only
        grows (two senders may overlap for a moment), and a sender of a target no longer
        recorded changes nothing."""

    @abc.abstractmethod
    def delivered(self, infra_id: str) -> Delivered | None:
        """How far events were sent, or None if nothing was recorded."""

    # --- lifecycle --------------------------------------------------------
    def close(self) -> None:
        """Release connections; the default has none."""

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
