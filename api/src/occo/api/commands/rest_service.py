"""occopus-rest-service: the REST API (not in this release: it says so, with exit code 1)."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..cli import EXIT_ERROR, add_config_options, add_version_option


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="occopus-rest-service",
                                     description="Serve the Occopus REST API.")
    add_version_option(parser)
    add_config_options(parser)
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default 5000)")
    parser.add_argument("--parallelize", action="store_true",
                        help="accepted for compatibility: nodes are always created in parallel")
    return parser


def body(argv: Sequence[str]) -> int:
    parser().parse_args(argv)
    print("occopus-rest-service: not available in this release; use occopus-build, "
          "occopus-maintain, occopus-scale and occopus-destroy", file=sys.stderr)
    return EXIT_ERROR
