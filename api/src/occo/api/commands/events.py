"""occopus-events -i ID [--follow] [--json]: an infrastructure's event log, from the store.

Each event is one line: when (UTC), its name, the node it is about, and the
rest of its data in short; `--json` prints one JSON object a line instead
(`{"seq", "name", "time", "data"}`, as the REST service answers). `--follow`
keeps printing new events until Ctrl+C (exit 130, quietly) or until the
infrastructure is removed (exit 0).

The helpers that read and shape events are in `occo.api.eventlog`, shared
with the REST service, so that the command, the routes and the webhooks show
an event the same way, secrets hidden.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

from occo.infobroker.store import Event, Store
from occo.util.redact import redact

from ..cli import EXIT_INTERRUPTED, EXIT_OK, add_config_options, add_version_option
from ..eventlog import event_record, exists, read_events
from ..session import connect, load

FOLLOW_POLL = 0.5       # seconds between two reads of the log with --follow
SUMMARY_VALUE = 60      # characters of a data value shown on a line


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
