"""An infrastructure's event log as Occopus shows it: read from the store, shaped the same way
by `occopus-events`, the REST routes and the webhooks, secrets hidden.

It lives here, below both the commands and the REST service, so that neither imports the
other.
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

from occo.infobroker.store import Event, InfrastructureNotFound, Store
from occo.util.errors import OccoError
from occo.util.redact import redact

PAGE = 500              # events read from the store at once


def event_record(event: Event) -> dict[str, Any]:
    """An event as JSON shows it: `seq` (the cursor to resume after), `name`, `time`
    (epoch seconds) and `data`, secrets hidden."""
    return {"seq": event.seq, "name": event.name, "time": event.timestamp,
            "data": redact(event.data)}


def parse_since(text: str) -> float:
    """`since` as epoch seconds: a number of them, or an ISO-8601 date and time (UTC unless
    it says its offset). `OccoError` for anything else."""
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds):
            raise OccoError(f"since {text[:40]!r} is no time", hint="give epoch seconds")
        return seconds
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise OccoError(f"since {text[:40]!r} is no time",
                        hint="give epoch seconds (1733443200) or ISO-8601 "
                             "(2024-12-06T00:00:00Z)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def one_line(name: str) -> str:
    """An event's name fit for a header or an SSE field: no line breaks (a name is whatever
    was appended to the log)."""
    return "".join(char for char in name if char not in "\r\n\0") or "event"


def read_events(store: Store, infra_id: str, *, after: int = 0, since: float | None = None,
                limit: int | None = None) -> list[Event]:
    """The events after the cursor `after`, leaving out those stamped before `since`, the
    oldest `limit` of them (all if None); read a page at a time."""
    found: list[Event] = []
    for event in _pages(store, infra_id, after):
        if since is None or event.timestamp >= since:
            found.append(event)
            if limit is not None and len(found) >= limit:
                break
    return found


def last_seq(store: Store, infra_id: str) -> int:
    """The seq of the newest event (0 for an empty log): where a follower starts; one query,
    however long the log."""
    return store.last_event_seq(infra_id)


def exists(store: Store, infra_id: str) -> bool:
    """Whether the store still has the infrastructure (a follower ends once it is gone)."""
    try:
        store.get_infrastructure(infra_id)
    except InfrastructureNotFound:
        return False
    return True


def _pages(store: Store, infra_id: str, after: int) -> Iterator[Event]:
    while True:
        page = store.events(infra_id, after=after, limit=PAGE)
        yield from page
        if len(page) < PAGE:
            return
        after = page[-1].seq
