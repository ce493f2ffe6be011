"""occopus-maintain [-i ID] [-l] [-r [-f NAME] [-o FILE]] [-c [-t S]] [--json].

- `-l` without `-i` lists the infrastructures of the store.
- `-r` reports every instance with its live state and addresses (no lease
  is taken and no record written: it can run beside a pass).
- otherwise one pass, or with `-c` a pass every `-t` seconds until Ctrl+C;
  in that mode a pass that fails, or finds the infrastructure locked by
  another command, is reported and the next one comes as planned; a node
  whose creates keep failing is tried less and less often (`backoff`), and
  after the first table only what changed is printed (`changes`).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Sequence

from occo.enactor.outcome import rows_of
from occo.infobroker.store import LeaseHeld
from occo.util.errors import OccoError

from ..backoff import CreateBackoff
from ..changes import ChangesPrinter
from ..cli import (EXIT_INTERRUPTED, EXIT_OK, add_config_options, add_version_option,
                   error_text)
from ..display import ProgressDisplay, print_rows
from ..passes import cancel_on_interrupt, exit_code, show
from ..session import Session, load


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="occopus-maintain",
                                     description="Keep an infrastructure in its desired state.")
    add_version_option(parser)
    add_config_options(parser)
    parser.add_argument("-i", "--infra_id", help="the infrastructure to maintain")
    parser.add_argument("-l", "--list", action="store_true", help="list the infrastructures")
    parser.add_argument("-r", "--report", action="store_true",
                        help="report nodes, their states and addresses")
    parser.add_argument("-c", "--cyclic", action="store_true", help="maintain until interrupted")
    parser.add_argument("-t", "--interval", type=interval, default=10.0,
                        help="seconds between passes with --cyclic (default 10)")
    parser.add_argument("--parallelize", action="store_true",
                        help="accepted for compatibility: nodes are always created in parallel")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="with -r: write each instance's addresses to FILE, a line each")
    parser.add_argument("-f", "--filter", metavar="NAME",
                        help="with -r: only nodes whose name contains NAME")
    parser.add_argument("--json", action="store_true", help="print the report or result as JSON")
    return parser


def interval(text: str) -> float:
    """-t's seconds: a finite number above 0 (`nan`, `inf` and `0` would each break the
    wait between passes, or the backoff's count of passes)."""
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not (math.isfinite(seconds) and seconds > 0):
        raise argparse.ArgumentTypeError(f"must be more than 0 (a finite number of seconds), "
                                         f"not {text!r}")
    return seconds


def body(argv: Sequence[str]) -> int:
    command = parser()
    args = command.parse_args(argv)
    if not args.infra_id and not args.list:
        command.error("give an infrastructure with -i ID, or -l to list them")
    settings = load(args.cfg, args.auth_data_path)
    if args.list and not args.infra_id:
        with Session(settings) as session:
            return _list(session.store.list_infrastructures(), as_json=args.json)
    with ProgressDisplay(live=False if args.json or args.cyclic else None) as progress, \
            Session(settings, progress=progress) as session:
        if args.report:
            return _report(session, args)
        if args.cyclic:
            return _cyclic(session, args)
        with cancel_on_interrupt("occopus-maintain") as cancel:
            result = session.enactor.make_a_pass(args.infra_id, cancel=cancel)
    show(result, as_json=args.json, title=f"infrastructure {args.infra_id}")
    return exit_code(result)


def _list(ids: list[str], *, as_json: bool) -> int:
    if as_json:
        print(json.dumps(sorted(ids)))
    elif ids:
        print("List of active infrastructure:")
        print("\n".join(f"  {infra_id}" for infra_id in sorted(ids)))
    else:
        print("No active infrastructure!")
    return EXIT_OK


def _report(session: Session, args: argparse.Namespace) -> int:
    session.enactor.static(args.infra_id)          # InfrastructureNotFound for an unknown id
    statuses = [status for status in session.engine.survey(args.infra_id, fence=None)
                if not args.filter or args.filter in status.record.name]
    if args.output:
        try:
            with open(args.output, "w") as stream:
                for status in statuses:
                    print(" ".join(status.record.addresses), file=stream)
        except OSError as error:     # a path the user gave: an error of theirs, not a bug
            raise OccoError(f"cannot write the addresses to '{args.output}': "
                            f"{error.strerror or error}",
                            hint="give -o a file in a folder that exists and can be written"
                            ) from None
        print(f"Saved the addresses of {len(statuses)} instance(s) to '{args.output}'",
              file=sys.stderr)
    if args.json:
        print(json.dumps([status.to_json() for status in statuses], indent=2))
    else:
        print_rows(rows_of(statuses, "-"), title=f"infrastructure {args.infra_id}")
    return EXIT_OK


def _cyclic(session: Session, args: argparse.Namespace) -> int:
    """A pass every interval until Ctrl+C; only an unknown infrastructure ends it early.

    A node whose creates keep failing is backed off (`backoff`); after the
    first pass's table only what changed is printed (`changes`).
    """
    backoff = CreateBackoff(args.interval)
    printer = ChangesPrinter()
    with cancel_on_interrupt("occopus-maintain") as cancel:
        while not cancel.cancelled:
            started = time.monotonic()
            try:
                result = session.enactor.make_a_pass(args.infra_id, hold=backoff.hold(),
                                                     cancel=cancel)
                backoff.record(result)
                title = f"pass at {time.strftime('%H:%M:%S')}"
                if args.json:
                    show(result, as_json=True, title=title)
                else:
                    printer.show(result, title=title)
            except LeaseHeld as busy:
                print(f"occopus-maintain: pass skipped: {busy.message}", file=sys.stderr)
            except OccoError as error:
                if args.infra_id not in session.store.list_infrastructures():
                    raise
                print(f"occopus-maintain: pass failed: {error_text(error)}", file=sys.stderr)
            cancel.wait(max(0.0, started + args.interval - time.monotonic()))
    return EXIT_INTERRUPTED
