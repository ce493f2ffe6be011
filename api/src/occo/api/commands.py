"""Entry points of the occopus-* console scripts.

Each command parses the original Occopus flags. The engine behind them comes
with a later release: until then they print their usage and say so, with exit
code 1, rather than pretend to work.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .cli import EXIT_ERROR, add_config_options, add_version_option, run_command


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="occopus-build",
                                     description="Build an infrastructure from its description.")
    add_version_option(parser)
    add_config_options(parser)
    parser.add_argument("--parallelize", action="store_true",
                        help="create independent nodes in parallel")
    parser.add_argument("-i", "--infra_id", help="reconfigure this running infrastructure")
    parser.add_argument("infra_def", help="the infrastructure description (YAML)")
    return parser


def _destroy_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="occopus-destroy",
                                     description="Destroy an infrastructure and all its nodes.")
    add_version_option(parser)
    add_config_options(parser)
    parser.add_argument("-i", "--infra_id", required=True, help="the infrastructure to destroy")
    return parser


def _import_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="occopus-import",
                                     description="Check and store node definitions.")
    add_version_option(parser)
    parser.add_argument("--cfg", metavar="CFG_PATH", help="the occopus_config.yaml to use")
    parser.add_argument("datafile", help="the node definition file (YAML)")
    return parser


def _maintain_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="occopus-maintain",
                                     description="Keep an infrastructure in its desired state.")
    add_version_option(parser)
    add_config_options(parser)
    parser.add_argument("-i", "--infra_id", help="the infrastructure to maintain")
    parser.add_argument("-l", "--list", action="store_true", help="list the active infrastructures")
    parser.add_argument("-r", "--report", action="store_true", help="report nodes and addresses")
    parser.add_argument("-c", "--cyclic", action="store_true", help="maintain until interrupted")
    parser.add_argument("-t", "--interval", type=float, default=10.0,
                        help="seconds between passes with --cyclic (default 10)")
    parser.add_argument("--parallelize", action="store_true",
                        help="create independent nodes in parallel")
    parser.add_argument("-o", "--output", metavar="FILE", help="with -r: write addresses to FILE")
    parser.add_argument("-f", "--filter", metavar="NAME",
                        help="with -r: only nodes whose name contains NAME")
    return parser


def _scale_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="occopus-scale",
                                     description="Request more or fewer instances of a node.")
    add_version_option(parser)
    add_config_options(parser)
    parser.add_argument("-i", "--infra_id", required=True, help="the infrastructure")
    parser.add_argument("-n", "--node", required=True, help="the node name")
    change = parser.add_mutually_exclusive_group(required=True)
    change.add_argument("-c", "--changescale", type=int, metavar="N",
                        help="add N instances (remove them if N is negative)")
    change.add_argument("-s", "--setscale", type=int, metavar="N", help="set the instance count to N")
    change.add_argument("-f", "--filter", metavar="FILTER",
                        help="destroy the instance with this node id or address")
    return parser


def _rest_service_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="occopus-rest-service",
                                     description="Serve the Occopus REST API.")
    add_version_option(parser)
    add_config_options(parser)
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default 5000)")
    parser.add_argument("--parallelize", action="store_true",
                        help="create independent nodes in parallel")
    return parser


def _not_available(make_parser) -> int:
    def body(argv: Sequence[str]) -> int:
        parser = make_parser()
        parser.parse_args(argv)
        parser.print_usage(sys.stderr)
        print(f"{parser.prog}: not available yet: this release ships the packaging of "
              "Occopus; the engine comes in a later release.", file=sys.stderr)
        return EXIT_ERROR
    return run_command(make_parser().prog, body)


def build() -> int:
    return _not_available(_build_parser)


def destroy() -> int:
    return _not_available(_destroy_parser)


def import_() -> int:
    return _not_available(_import_parser)


def maintain() -> int:
    return _not_available(_maintain_parser)


def scale() -> int:
    return _not_available(_scale_parser)


def rest_service() -> int:
    return _not_available(_rest_service_parser)
