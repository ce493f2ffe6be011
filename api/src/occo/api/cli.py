"""What every occopus-* command shares: option groups and the exit-code contract.

Exit codes: 0 success, 1 error, 2 usage error (argparse), 130 interrupted.
An `OccoError` is printed as `<command>: error: <message>` with no traceback;
any other exception is a bug, so its traceback goes to a log file whose path
is printed instead.

The commands run in one of two install modes, read from the PEP 610
`direct_url.json` of the environment's occo-* distributions: `editable` (a
checkout, from `./occo-dev reset-env`) or `wheel` (from an index or a
wheelhouse). `--version` names the mode and its upgrade path; an environment
that mixes both is refused (docs/adr/0003-install-modes.md).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

from occo.util.errors import OccoError

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def add_config_options(parser: argparse.ArgumentParser) -> None:
    """The options every command that reads the Occopus config accepts."""
    parser.add_argument("--cfg", metavar="CFG_PATH", help="the occopus_config.yaml to use")
    parser.add_argument("--auth_data_path", metavar="AUTH_DATA_PATH",
                        help="the auth_data.yaml to use")


@dataclass(frozen=True)
class Installation:
    """The occo-* distributions of this environment, by install mode."""

    editable: tuple[str, ...]
    wheel: tuple[str, ...]
    checkout: Path | None  # the checkout an editable occo-api comes from

    @property
    def mixed(self) -> bool:
        return bool(self.editable and self.wheel)

    def describe(self) -> str:
        if self.mixed:
            return (f"this environment mixes editable ({', '.join(self.editable)}) and wheel "
                    f"({', '.join(self.wheel)}) installs of Occopus; use one mode: "
                    "`./occo-dev reset-env api` recreates a development environment, "
                    "`python3 install-occopus.py --force` reinstalls the commands from wheels")
        if self.editable:
            return (f"editable install from the checkout {self.checkout}; "
                    "upgrade: git pull && ./occo-dev reset-env api")
        return "wheel install; upgrade: python3 install-occopus.py --upgrade"


def installation() -> Installation:
    """Classify the occo-* distributions that this interpreter imports from."""
    editable: dict[str, Path] = {}
    wheel: set[str] = set()
    for dist in metadata.distributions():
        name = (dist.metadata["Name"] or "").lower().replace("_", "-")
        if not name.startswith("occo-") or name in editable or name in wheel:
            continue  # a later entry on sys.path is shadowed by the first
        direct_url = json.loads(dist.read_text("direct_url.json") or "{}")
        if direct_url.get("dir_info", {}).get("editable"):
            editable[name] = Path(unquote(urlparse(direct_url["url"]).path))
        else:
            wheel.add(name)
    api = editable.get("occo-api")
    return Installation(tuple(sorted(editable)), tuple(sorted(wheel)),
                        api.parent if api else None)


class _VersionAction(argparse.Action):
    def __init__(self, option_strings: Sequence[str], dest: str) -> None:
        super().__init__(option_strings, dest, nargs=0,
                         help="print the version and the install mode, then exit")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        print(f"{parser.prog} {metadata.version('occo-api')} ({installation().describe()})")
        parser.exit(EXIT_OK)


def add_version_option(parser: argparse.ArgumentParser) -> None:
    """`--version` for a command: computed only when asked, as it reads the metadata."""
    parser.add_argument("--version", action=_VersionAction)


def run_command(name: str, body: Callable[[Sequence[str]], int],
                argv: Sequence[str] | None = None) -> int:
    """Run a command body and turn its outcome into an exit code."""
    found = installation()
    if found.mixed:
        print(f"{name}: error: {found.describe()}", file=sys.stderr)
        return EXIT_ERROR
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
