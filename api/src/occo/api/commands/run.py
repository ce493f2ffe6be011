"""occopus-run -i ID [-n NODE] [--timeout S] [--json] -- COMMAND: a command on every instance
of an infrastructure (or of one node) at once, over SSH.

Each line an instance prints is shown as it is, after `[node/id address]`
(its standard error on this command's standard error); then one line per
instance that did not exit 0 and a count. The exit code is 0 when every
instance ran the command and exited 0, 1 otherwise. `--json` prints one
document instead: a list with each instance's output and exit status. Logins
come from the `ssh` entries of auth_data.yaml and host keys are checked as
the `ssh:` settings say (`reach`).
"""
from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

from occo.enactor.description import stored_description
from occo.infraprocessor.engine import recorded
from occo.util.ssh import Ran

from ..cli import EXIT_ERROR, EXIT_OK, add_config_options, add_version_option
from ..reach import Instance, instances, run_on, show_ran
from ..scalerequests import check_node
from ..session import connect, load


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="occopus-run", description="Run a command on every instance of an "
                                        "infrastructure, or of one of its nodes, over SSH.",
        epilog="example: occopus-run -i ID -n app -- systemctl is-active nginx")
    add_version_option(parser)
    add_config_options(parser)
    parser.add_argument("-i", "--infra_id", required=True, help="the infrastructure")
    parser.add_argument("-n", "--node", help="only the instances of this node")
    parser.add_argument("--timeout", type=float, metavar="S",
                        help="stop the command on an instance after S seconds")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON document: each instance's output and exit status")
    parser.add_argument("command", nargs=argparse.REMAINDER,
                        help="the command, after --: its words joined with spaces and read by "
                             "the login's shell, as ssh does")
    return parser


def body(argv: Sequence[str]) -> int:
    command_line = parser()
    args = command_line.parse_args(argv)
    words = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not words:
        command_line.error("give the command to run after --")
    if args.timeout is not None and not args.timeout > 0:
        command_line.error("argument --timeout: must be more than 0")
    command = " ".join(words)          # as ssh joins them: the login's shell reads the line
    settings = load(args.cfg, args.auth_data_path)
    store = connect(settings)
    try:
        static = stored_description(store, args.infra_id)
        if args.node is not None:
            check_node(static, args.node)
        records = [status.record for status in recorded(store, args.infra_id)
                   if args.node in (None, status.record.name)]
    finally:
        store.close()
    targets = instances(settings, records)
    ran = run_on(settings, args.infra_id, targets, command, args.timeout)
    if args.json:
        print(json.dumps([_document(instance, result) for instance, result
                          in zip(targets, ran)], indent=1))
    else:
        show_ran(targets, ran)
    return EXIT_OK if ran and all(result.ok for result in ran) else EXIT_ERROR


def _document(instance: Instance, result: Ran) -> dict[str, Any]:
    return {"node_name": instance.record.name, "node_id": instance.record.node_id,
            "address": instance.target.address or None, "exit_status": result.exit_status,
            "stdout": result.stdout, "stderr": result.stderr, "error": result.error,
            "dropped_bytes": result.dropped}
