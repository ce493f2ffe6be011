"""occopus-scale -i ID -n NODE (-c N | -s N | -f FILTER): ask for more or fewer instances.

Requests are queued in the store and take effect at the next pass
(`occopus-maintain -i ID`), as in the original; unlike it, the
infrastructure and the node must exist, and `-s` must be within the node's
scaling limits.
"""
from __future__ import annotations

import argparse
import difflib
from collections.abc import Sequence

from occo.compiler import StaticDescription
from occo.util.errors import OccoError

from ..cli import EXIT_OK, add_config_options, add_version_option
from ..session import connect, load


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="occopus-scale",
                                     description="Request more or fewer instances of a node.")
    add_version_option(parser)
    add_config_options(parser)
    parser.add_argument("-i", "--infra_id", required=True, help="the infrastructure")
    parser.add_argument("-n", "--node", required=True, help="the node name")
    change = parser.add_mutually_exclusive_group(required=True)
    change.add_argument("-c", "--changescale", type=int, metavar="N",
                        help="add N instances (remove them if N is negative)")
    change.add_argument("-s", "--setscale", type=int, metavar="N",
                        help="set the instance count to N")
    change.add_argument("-f", "--filter", metavar="FILTER",
                        help="destroy the instance with this node id or address")
    return parser


def body(argv: Sequence[str]) -> int:
    command = parser()
    args = command.parse_args(argv)
    if args.changescale == 0:
        command.error("argument -c/--changescale: must not be 0")
    if args.setscale is not None and args.setscale < 0:
        command.error("argument -s/--setscale: must be 0 or more")
    store = connect(load(args.cfg, args.auth_data_path))
    try:
        static = StaticDescription.from_dict(store.get_infrastructure(args.infra_id))
        limits = _limits(static, args.node)
        if args.changescale:
            kind = "create" if args.changescale > 0 else "destroy"
            for _ in range(abs(args.changescale)):
                store.add_scaling_request(args.infra_id, args.node, kind)
            print(f"Scaling {'up' if kind == 'create' else 'down'} node '{args.node}' with "
                  f"{abs(args.changescale)} instance(s)")
        elif args.setscale is not None:
            low, high = limits
            if not low <= args.setscale <= high:
                raise OccoError(f"node '{args.node}' may have {low} to {high} instances, "
                                f"not {args.setscale}",
                                hint="change its scaling limits with occopus-build -i")
            store.set_target_count(args.infra_id, args.node, args.setscale)
            print(f"Scaling node '{args.node}' to {args.setscale} instance(s)")
        else:
            store.add_scaling_request(args.infra_id, args.node, "destroy", args.filter)
            print(f"Scaling down the instance of node '{args.node}' filtered by '{args.filter}'")
    finally:
        store.close()
    print(f"It takes effect at the next pass: occopus-maintain -i {args.infra_id}")
    return EXIT_OK


def _limits(static: StaticDescription, name: str) -> tuple[int, int]:
    if name not in static.nodes:
        close = difflib.get_close_matches(name, list(static.nodes), n=1)
        raise OccoError(f"infrastructure {static.infra_id} has no node '{name}'",
                        hint=f"did you mean '{close[0]}'?" if close
                        else f"its nodes: {', '.join(sorted(static.nodes))}")
    scaling = static.node(name)["scaling"]
    return scaling["min"], scaling["max"]
