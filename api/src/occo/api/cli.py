"""What every occopus-* command shares: option groups and the exit-code contract.

Exit codes: 0 success, 1 error, 2 usage error (argparse), 130 interrupted.
An `OccoError` is printed as `<command>: error: <message>` with no traceback;
any other exception is a bug, so its traceback goes to a log file whose path
is printed instead.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence

from occo.util.errors import OccoError

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def add_config_options(parser: argparse.ArgumentParser) -> None:
    """The options every command that reads the Occopus config accepts."""
    parser.add_argument("--cfg", metavar="CFG_PATH", help="the occopus_config.yaml to use")
    parser.add_argument("--auth_data_path", metavar="AUTH_DATA_PATH",
                        help="the auth_data.yaml to use")


def run_command(name: str, body: Callable[[Sequence[str]], int],
                argv: Sequence[str] | None = None) -> int:
    """Run a command body and turn its outcome into an exit code."""
    try:
        return body(sys.argv[1:] if argv is None else argv)
    except OccoError as error:
        print(f"{name}: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception:  # a bug: keep the traceback, out of the user's way
        path = _write_crash_log(name)
        print(f"{name}: internal error; the details are in {path}. "
              "Please report it with that file.", file=sys.stderr)
        return EXIT_ERROR


def _write_crash_log(name: str) -> str:
    directory = os.environ.get("OCCOPUS_LOG_DIR") or tempfile.gettempdir()
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, f"{name}-crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log")
    with open(path, "w") as stream:
        traceback.print_exc(file=stream)
    return path
