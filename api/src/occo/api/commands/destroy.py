"""occopus-destroy -i ID: drop every node, then the infrastructure, then forget it.

An unknown id is an error (exit 1). If a node cannot be dropped, the
infrastructure is kept with what is left (exit 1): running the command again
finishes the job, and nothing is forgotten while a cloud still holds it.

`--forget` is the way out when that cannot work (the node's plugin is gone
from this installation, the cloud account was closed): what can be dropped
is, then the infrastructure is forgotten all the same (exit 0), and each
instance that may be left behind is named with its cloud and resource id, to
be removed by hand, and each cloud that could not be swept of it (it may hold
what no record names).
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from occo.enactor.outcome import PassResult

from ..cli import add_config_options, add_version_option
from ..display import ProgressDisplay
from ..destroyed import forget_locally
from ..passes import exit_code, run_pass, show
from ..session import Session, load


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="occopus-destroy",
                                     description="Destroy an infrastructure and all its nodes.")
    add_version_option(parser)
    add_config_options(parser)
    parser.add_argument("-i", "--infra_id", required=True, help="the infrastructure to destroy")
    parser.add_argument("--forget", action="store_true",
                        help="forget the infrastructure even if some nodes cannot be dropped, "
                             "naming each one that may be left behind in its cloud")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser


def body(argv: Sequence[str]) -> int:
    args = parser().parse_args(argv)
    settings = load(args.cfg, args.auth_data_path)
    with ProgressDisplay(live=False if args.json else None) as progress, \
            Session(settings, progress=progress) as session:
        result = run_pass("occopus-destroy",
                          lambda cancel: session.enactor.destroy(args.infra_id,
                                                                 forget=args.forget,
                                                                 cancel=cancel))
    show(result, as_json=args.json, title=f"infrastructure {args.infra_id}")
    if result.ok:
        forget_locally(args.infra_id)
    if not args.json:
        _what_is_left(result, args.infra_id)
    return exit_code(result)


def _what_is_left(result: PassResult, infra_id: str) -> None:
    """On stderr: what may be left behind in the clouds, or how to finish the job."""
    if result.forgotten and not result.left_behind:
        print(f"occopus-destroy: infrastructure {infra_id} is forgotten; nothing is known to "
              "be left behind", file=sys.stderr)
    elif result.forgotten:
        print(f"occopus-destroy: infrastructure {infra_id} is forgotten; what could not be "
              "dropped may be left behind, remove it by hand:", file=sys.stderr)
        for item in result.left_behind:
            print(f"  {item}", file=sys.stderr)
    elif not result.ok:
        print(f"occopus-destroy: infrastructure {infra_id} is kept with what could not be "
              f"dropped; run the command again to finish, or `occopus-destroy -i {infra_id} "
              "--forget` to forget it and name what may be left behind", file=sys.stderr)
