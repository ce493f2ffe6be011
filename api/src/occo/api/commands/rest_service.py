"""occopus-rest-service [--cfg] [--auth_data_path] [--host H] [--port P] [--parallelize].

Serves the REST API (`occo.api.rest`) and maintains the infrastructures
attached to it, until SIGTERM or Ctrl+C (exit 0). The host and port default
to the configuration's `rest` section (127.0.0.1:5000); `--port 0` takes any
free port. Once it listens, stderr says
`occopus-rest-service: serving on http://HOST:PORT`. What stops it before
(an address it may not or cannot listen on, an unreadable token file) is an
error line and exit 1.
"""
from __future__ import annotations

import argparse
from collections.abc import Sequence

from ..cli import add_config_options, add_version_option
from ..session import load


def port(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 to 65535, not {number}")
    return number


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="occopus-rest-service",
                                     description="Serve the Occopus REST API.")
    add_version_option(parser)
    add_config_options(parser)
    parser.add_argument("--host", help="address to listen on (default: rest.host of the "
                                       "configuration, 127.0.0.1)")
    parser.add_argument("--port", type=port, help="port to listen on, 0 for any free one "
                                                  "(default: rest.port, 5000)")
    parser.add_argument("--parallelize", action="store_true",
                        help="accepted for compatibility: nodes are always created in parallel")
    return parser


def body(argv: Sequence[str]) -> int:
    args = parser().parse_args(argv)
    settings = load(args.cfg, args.auth_data_path)
    from ..rest.server import serve     # FastAPI and uvicorn load only for this command
    return serve(settings, args.host or settings.rest.host,
                 settings.rest.port if args.port is None else args.port)
