"""occopus-build [--parallelize] [-i ID] [--dry-run] [--json] FILE.

Compiles the description, checks that every node type was imported, stores
the infrastructure and makes one pass. The infrastructure id is the last
line on stdout, as the original printed it. A node that fails is rolled back
and reported (exit 1); the rest of the infrastructure is kept, never torn
down, so that `occopus-maintain -i ID` can finish it or `occopus-destroy`
remove it. With `-i` the new description replaces a running
infrastructure's and the pass converges it.

A node this installation cannot build (no plugin here for any implementation
it may get) is a warning before a build, whose pass fails that node saying
why, and an error of `--dry-run` (exit 1, after the plan): the plan cannot be
carried out here.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from occo.compiler import compile_description
from occo.infobroker.store import InfrastructureNotFound
from occo.util.errors import SchemaError
from occo.util.yamlload import load_file

from ..buildable import check_imported, description_check
from ..cli import EXIT_OK, add_config_options, add_version_option
from ..display import ProgressDisplay
from ..infralist import Infralist
from ..passes import exit_code, run_pass, show
from ..session import Session, load


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="occopus-build",
                                     description="Build an infrastructure from its description.")
    add_version_option(parser)
    add_config_options(parser)
    parser.add_argument("--parallelize", action="store_true",
                        help="accepted for compatibility: nodes are always created in parallel, "
                             "each as soon as the nodes it depends on are ready")
    parser.add_argument("-i", "--infra_id", help="reconfigure this running infrastructure")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the plan and stop: no cloud is touched, nothing is stored")
    parser.add_argument("--json", action="store_true",
                        help="print the result (or the plan) as one JSON document")
    parser.add_argument("infra_def", help="the infrastructure description (YAML)")
    return parser


def body(argv: Sequence[str]) -> int:
    args = parser().parse_args(argv)
    settings = load(args.cfg, args.auth_data_path)
    data = load_file(args.infra_def, limits=settings.yaml)
    static = compile_description(data, infra_id=args.infra_id, source=args.infra_def,
                                 limits=settings.limits)
    with ProgressDisplay(live=False if args.json else None) as progress, \
            Session(settings, progress=progress) as session:
        check_imported(session.store, data)
        if args.infra_id and args.infra_id not in session.store.list_infrastructures():
            raise InfrastructureNotFound(f"no infrastructure {args.infra_id!r} to reconfigure",
                                         hint="occopus-maintain -l lists them")
        cannot, may_not = description_check(static, data, session.store.get_node_definition)
        for warning in may_not + (cannot if not args.dry_run else []):
            print(f"occopus-build: warning: {warning}", file=sys.stderr)
        if args.dry_run:
            result = session.enactor.dry_run(static.infra_id, static)
            show(result, as_json=args.json, title="")
            if cannot:          # the plan cannot be carried out here: a dry run says no
                raise SchemaError(cannot)
            return EXIT_OK
        if args.infra_id:
            result = run_pass("occopus-build",
                              lambda cancel: session.enactor.make_a_pass(
                                  static.infra_id, description=static, cancel=cancel))
        else:
            session.store.add_infrastructure(static.infra_id, static.to_dict())
            Infralist().add(static.infra_id)
            result = run_pass("occopus-build",
                              lambda cancel: session.enactor.make_a_pass(static.infra_id,
                                                                         cancel=cancel))
    show(result, as_json=args.json, title=f"infrastructure {static.infra_id}")
    if not args.json:
        if not result.ok:
            print(f"occopus-build: the infrastructure is kept as it is: `occopus-maintain -i "
                  f"{static.infra_id}` tries again, `occopus-destroy -i {static.infra_id}` "
                  "removes it", file=sys.stderr)
        print(static.infra_id)
    return exit_code(result)

