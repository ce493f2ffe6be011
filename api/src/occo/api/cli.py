"""What every occopus-* command shares: option groups and the exit-code contract.

Exit codes: 0 success, 1 error, 2 usage error (argparse), 130 interrupted,
141 stdout closed by its reader (quietly, as a command killed by SIGPIPE).
An `OccoError` is printed as `<command>: error: <message>` with no traceback;
any other exception is a bug, so its traceback goes to a private crash log
(`crashlog`) whose path is printed instead.

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
import select
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

from occo.util.errors import OccoError
from occo.util.redact import redact_url

from .crashlog import LOG_DIR_VARIABLE, write_crash_log
from .warninglines import show_warnings

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_BROKEN_PIPE = 141   # 128 + SIGPIPE: what a shell shows for a writer whose reader left


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


def error_text(error: OccoError) -> str:
    """An error as a command prints it: a URL password its message quotes is never shown."""
    return redact_url(str(error))


def run_command(name: str, body: Callable[[Sequence[str]], int],
                argv: Sequence[str] | None = None) -> int:
    """Run a command body and turn its outcome into an exit code."""
    found = installation()
    if found.mixed:
        print(f"{name}: error: {found.describe()}", file=sys.stderr)
        return EXIT_ERROR
    show_warnings(name)
    try:
        code = body(sys.argv[1:] if argv is None else argv)
        sys.stdout.flush()     # a reader gone shows here, not in an "Exception ignored" at exit
        return code
    except BrokenPipeError as error:
        if _stdout_reader_gone():
            return _reader_gone()
        print(f"{name}: internal error; {_crash_report(name, error)}", file=sys.stderr)
        return EXIT_ERROR
    except OccoError as error:
        print(f"{name}: error: {error_text(error)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # a bug: keep the traceback, out of the user's way
        print(f"{name}: internal error; {_crash_report(name, error)}", file=sys.stderr)
        return EXIT_ERROR


def _stdout_reader_gone() -> bool:
    """Whether stdout is a pipe whose reader left (a broken pipe elsewhere, a socket or a
    subprocess's, is a failure to report, not a reason to stop quietly)."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (OSError, ValueError):
        return False


def _reader_gone() -> int:
    """stdout's reader closed it (`occopus-maintain -l | head -1`): stop quietly, as a command
    killed by SIGPIPE does. stdout is pointed at /dev/null so that the interpreter's flush at
    exit finds nothing to complain about."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        os.close(devnull)
    return EXIT_BROKEN_PIPE


def _crash_report(name: str, error: BaseException) -> str:
    """Where the crash log went, or why none could be written (never the traceback itself:
    it may quote what the user should not see on a shared terminal)."""
    try:
        path = write_crash_log(name, error)
    except (OccoError, OSError) as problem:
        reason = problem.message if isinstance(problem, OccoError) else problem.strerror
        return (f"{type(error).__name__}; no crash log could be written ({reason}). "
                f"Set {LOG_DIR_VARIABLE} to a folder of yours and run it again to keep one.")
    return f"the details are in {path}. Please report it with that file."
