"""occopus-events -i ID [--follow] [--json]: an infrastructure's event log, from the store.

Each event is one line: when (UTC), its name, the node it is about, and the
rest of its data in short; `--json` prints one JSON object a line instead
(`{"seq", "name", "time", "data"}`, as the REST service answers). `--follow`
keeps printing new events until Ctrl+C (exit 130, quietly) or until the
infrastructure is removed (exit 0).

The helpers that read and shape events are shared with the REST service
(`occo.api.rest.events`, `occo.api.rest.webhooks`), so that the command, the
routes and the webhooks show an event the same way, secrets hidden.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from typing import Any

from occo.infobroker.store import InfrastructureNotFound, Store
from occo.infobroker.store.base import Event
from occo.util.errors import OccoError
from occo.util.redact import redact

from ..cli import EXIT_INTERRUPTED, EXIT_OK, add_config_options, add_version_option
from ..session import connect, load

PAGE = 500              # events read from the store at once
FOLLOW_POLL = 0.5       # seconds between two reads of the log with --follow
SUMMARY_VALUE = 60      # characters of a data value shown on a line


# --- shared with the REST service ----------------------------------------------

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
    """The cursor after the newest event (0 for an empty log): where a follower starts."""
    last = 0
    for event in _pages(store, infra_id, 0):
        last = event.seq
    return last


def exists(store: Store, infra_id: str) -> bool:
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


# --- the command -----------------------------------------------------------------

def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="occopus-events",
                                     description="Print an infrastructure's events.")
    add_version_option(parser)
    add_config_options(parser)
    parser.add_argument("-i", "--infra_id", required=True, help="the infrastructure")
    parser.add_argument("-f", "--follow", action="store_true",
                        help="keep printing new events until Ctrl+C or until the "
                             "infrastructure is removed")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object a line: seq, name, time, data")
    return parser


def body(argv: Sequence[str]) -> int:
    args = parser().parse_args(argv)
    store = connect(load(args.cfg, args.auth_data_path))
    try:
        store.get_infrastructure(args.infra_id)      # InfrastructureNotFound: exit 1
        after = _show(read_events(store, args.infra_id), args.json, 0)
        if not args.follow:
            return EXIT_OK
        return _follow(store, args.infra_id, args.json, after)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED                     # asked for: nothing to say
    finally:
        store.close()


def _follow(store: Store, infra_id: str, as_json: bool, after: int) -> int:
    while True:
        time.sleep(FOLLOW_POLL)
        after = _show(read_events(store, infra_id, after=after), as_json, after)
        if not exists(store, infra_id):
            print(f"occopus-events: infrastructure {infra_id} was removed", file=sys.stderr)
            return EXIT_OK


def _show(events: Sequence[Event], as_json: bool, after: int) -> int:
    """Print `events`; the cursor after them."""
    for event in events:
        print(json.dumps(event_record(event)) if as_json else line(event))
        after = event.seq
    if events:
        sys.stdout.flush()
    return after


def line(event: Event) -> str:
    """One event for a person: time (UTC), name, node, the rest of its data in short."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(event.timestamp))
    data = redact(event.data)
    node = str(data.pop("name", None) or "-")
    rest = " ".join(f"{key}={_short(value)}" for key, value in data.items())
    return f"{stamp}  {event.name:<14} {node:<16} {rest}".rstrip()


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    text = " ".join(text.split())
    return text if len(text) <= SUMMARY_VALUE else text[:SUMMARY_VALUE - 3] + "..."
