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
import difflib
from collections.abc import Sequence

from occo.compiler import StaticDescription
from occo.enactor.scaling import current_target, queue_limit
from occo.infobroker.store import NamedDestroyRefused, PendingScaling, ScalingQueueFull, Store
from occo.util.errors import OccoError

from ..cli import EXIT_OK, add_config_options, add_version_option
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
        static = StaticDescription.from_dict(store.get_infrastructure(args.infra_id))
        nodes = [args.node] if args.node is not None else sorted(static.nodes)
        for name in nodes:
            _check_node(static, name)
        if args.list or args.drop:
            for name in nodes:
                _list_or_drop(store, static, name, drop=args.drop)
            return EXIT_OK
        if args.setscale is not None:
            low, high = _limits(static, args.node)
            if not low <= args.setscale <= high:
                raise OccoError(f"node '{args.node}' may have {low} to {high} instances, "
                                f"not {args.setscale}",
                                hint="change its scaling limits with occopus-build -i")
            store.set_target_count(args.infra_id, args.node, args.setscale)
            print(f"Scaling node '{args.node}' to {args.setscale} instance(s)")
        else:
            _queue(store, static, args.node, args.changescale, args.filter)
    finally:
        store.close()
    print(f"It takes effect at the next pass: occopus-maintain -i {args.infra_id}")
    return EXIT_OK


def _queue(store: Store, static: StaticDescription, name: str, change: int | None,
           value: str | None) -> None:
    """Queue -c or -f within the bound `queue_limit` gives, or say why not and what would do."""
    infra_id = static.infra_id
    low, high = _limits(static, name)
    stored = store.get_target_count(infra_id, name)
    pending = store.pending_scaling(infra_id, name)
    kind = "create" if change is not None and change > 0 else "destroy"
    count = 1 if change is None else abs(change)
    limit = queue_limit(kind, low, high, stored, pending)
    try:
        after = store.queue_scaling(infra_id, name, kind, count=count, value=value, limit=limit)
    except ScalingQueueFull as full:
        raise _refusal(static, name, kind, count, value, current_target(low, high, stored),
                       pending, limit, full) from None
    if change is not None:
        print(f"Scaling {'up' if kind == 'create' else 'down'} node '{name}' with "
              f"{count} instance(s)")
    elif value in pending.named:
        print(f"The instance of node '{name}' filtered by '{value}' is already to be "
              "scaled down")
    else:
        print(f"Scaling down the instance of node '{name}' filtered by '{value}'")
    print(f"Pending for node '{name}': {describe(after)}")


def _refusal(static: StaticDescription, name: str, kind: str, count: int, value: str | None,
             target: int, pending: PendingScaling, limit: int,
             full: ScalingQueueFull) -> OccoError:
    """The error for a refused request: the node's numbers, and the most it would accept."""
    low, high = _limits(static, name)
    room = max(0, limit - (pending.create if kind == "create" else pending.destroys))
    state = (f"node '{name}' may have {low} to {high} instances; its target is {target}"
             + (f" and {describe(pending)} wait" if pending else ""))
    if isinstance(full, NamedDestroyRefused):      # for the name itself, whatever the room
        return OccoError(f"cannot queue the destroy request {value[:60]!r}: {full.message}",
                         hint=full.hint)
    if kind == "create":
        wanted = f"{count} more" if value is None else "one more"
        hint = (f"ask for at most {room} more (-c {room})" if room
                else "it can grow no further: raise its max with occopus-build -i")
    else:
        wanted = f"{count} fewer" if value is None else "one fewer"
        hint = (f"ask for at most {room} fewer (-c -{room})" if room
                else "it can shrink no further: lower its min with occopus-build -i")
    return OccoError(f"{state}: {wanted} cannot be queued",
                     hint=f"{hint}; occopus-scale -i {static.infra_id} -n {name} --list shows "
                          "the requests that wait, --drop drops them")


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
    low, high = _limits(static, name)
    target = current_target(low, high, store.get_target_count(infra_id, name))
    print(f"{name}: target {target} (min {low}, max {high}); pending: {describe(pending)}")


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


def _check_node(static: StaticDescription, name: str) -> None:
    if name not in static.nodes:
        close = difflib.get_close_matches(name, list(static.nodes), n=1)
        raise OccoError(f"infrastructure {static.infra_id} has no node '{name}'",
                        hint=f"did you mean '{close[0]}'?" if close
                        else f"its nodes: {', '.join(sorted(static.nodes))}")


def _limits(static: StaticDescription, name: str) -> tuple[int, int]:
    _check_node(static, name)
    scaling = static.node(name)["scaling"]
    return scaling["min"], scaling["max"]
