"""occopus-scale -i ID -n NODE (-c N | -s N | -f FILTER) | -i ID [-n NODE] (--list | --drop):
ask for more or fewer instances, or see and drop the requests that wait.

Requests are queued in the store and take effect at the next pass
(`occopus-maintain -i ID`), as in the original; unlike it, the
infrastructure and the node must exist, `-s` must be within the node's
scaling limits, and `-c`/`-f` are refused when the next passes could not
carry them out in full: the pending requests may at most fill the node up to
its max (creates) and empty it down to its min (destroys), counted from its
current target. A refused request queues nothing and says how many would be
accepted (refused, not clamped: a typo such as `-c 1000000` would otherwise
start as many instances as the limits allow).
"""
from __future__ import annotations

import argparse
from collections.abc import Sequence

from occo.compiler import StaticDescription
from occo.enactor.description import stored_description
from occo.infobroker.store import Store

from ..cli import EXIT_OK, add_config_options, add_version_option
from ..scalerequests import check_node, describe, limits, queue_request, set_target, target
from ..session import connect, load


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="occopus-scale",
                                     description="Request more or fewer instances of a node, "
                                                 "or list or drop the requests that wait.")
    add_version_option(parser)
    add_config_options(parser)
    parser.add_argument("-i", "--infra_id", required=True, help="the infrastructure")
    parser.add_argument("-n", "--node", help="the node name (--list and --drop: every node "
                                             "when left out)")
    change = parser.add_mutually_exclusive_group(required=True)
    change.add_argument("-c", "--changescale", type=int, metavar="N",
                        help="add N instances (remove them if N is negative)")
    change.add_argument("-s", "--setscale", type=int, metavar="N",
                        help="set the instance count to N")
    change.add_argument("-f", "--filter", metavar="FILTER",
                        help="destroy the instance with this node id or address")
    change.add_argument("-l", "--list", action="store_true",
                        help="list the requests that wait for the next pass")
    change.add_argument("--drop", action="store_true",
                        help="drop the requests that wait for the next pass")
    return parser


def body(argv: Sequence[str]) -> int:
    command = parser()
    args = command.parse_args(argv)
    if args.changescale == 0:
        command.error("argument -c/--changescale: must not be 0")
    if args.setscale is not None and args.setscale < 0:
        command.error("argument -s/--setscale: must be 0 or more")
    if args.node is None and not (args.list or args.drop):
        command.error("argument -n/--node is required with -c, -s and -f")
    store = connect(load(args.cfg, args.auth_data_path))
    try:
        static = stored_description(store, args.infra_id)
        nodes = [args.node] if args.node is not None else sorted(static.nodes)
        for name in nodes:
            check_node(static, name)
        if args.list or args.drop:
            for name in nodes:
                _list_or_drop(store, static, name, drop=args.drop)
            return EXIT_OK
        if args.setscale is not None:
            set_target(store, static, args.node, args.setscale)
            print(f"Scaling node '{args.node}' to {args.setscale} instance(s)")
        else:
            _queue(store, static, args.node, args.changescale, args.filter)
    finally:
        store.close()
    print(f"It takes effect at the next pass: occopus-maintain -i {args.infra_id}")
    return EXIT_OK


def _queue(store: Store, static: StaticDescription, name: str, change: int | None,
           value: str | None) -> None:
    """Queue -c or -f (see `scalerequests.queue_request`), and say what waits now."""
    kind = "create" if change is not None and change > 0 else "destroy"
    queued = queue_request(store, static, name, kind,
                           count=1 if change is None else abs(change), value=value)
    if change is not None:
        print(f"Scaling {'up' if kind == 'create' else 'down'} node '{name}' with "
              f"{abs(change)} instance(s)")
    elif queued.already:
        print(f"The instance of node '{name}' filtered by '{value}' is already to be "
              "scaled down")
    else:
        print(f"Scaling down the instance of node '{name}' filtered by '{value}'")
    print(f"Pending for node '{name}': {describe(queued.pending)}")


def _list_or_drop(store: Store, static: StaticDescription, name: str, *, drop: bool) -> None:
    infra_id = static.infra_id
    pending = store.pending_scaling(infra_id, name)
    if drop:
        if pending:
            store.consume_scaling(infra_id, name, pending)
            print(f"Dropped for node '{name}': {describe(pending)}")
        else:
            print(f"Nothing pending for node '{name}'")
        return
    low, high = limits(static, name)
    print(f"{name}: target {target(store, static, name)} (min {low}, max {high}); "
          f"pending: {describe(pending)}")
