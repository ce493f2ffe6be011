"""occopus-destroy -i ID: drop every node, then the infrastructure, then forget it.

An unknown id is an error (exit 1). If a node cannot be dropped, the
infrastructure is kept with what is left (exit 1): running the command again
finishes the job, and nothing is forgotten while a cloud still holds it.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..cli import add_config_options, add_version_option
from ..display import ProgressDisplay
from ..infralist import Infralist
from ..passes import exit_code, run_pass, show
from ..session import Session, load


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="occopus-destroy",
                                     description="Destroy an infrastructure and all its nodes.")
    add_version_option(parser)
    add_config_options(parser)
    parser.add_argument("-i", "--infra_id", required=True, help="the infrastructure to destroy")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser


def body(argv: Sequence[str]) -> int:
    args = parser().parse_args(argv)
    settings = load(args.cfg, args.auth_data_path)
    with ProgressDisplay(live=False if args.json else None) as progress, \
            Session(settings, progress=progress) as session:
        result = run_pass(session.engine, "occopus-destroy",
                          lambda: session.enactor.destroy(args.infra_id))
    show(result, as_json=args.json, title=f"infrastructure {args.infra_id}")
    if result.ok:
        Infralist().remove(args.infra_id)
    elif not args.json:
        print(f"occopus-destroy: infrastructure {args.infra_id} is kept with what could not be "
              "dropped; run the command again to finish", file=sys.stderr)
    return exit_code(result)
