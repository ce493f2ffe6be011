"""occopus-shell -i ID: an interactive shell to move around an infrastructure (`shell`).

On a terminal it has a prompt, tab completion and a history kept in
~/.occopus/shell_history (0600, its last 1,000 lines); with its input from a
file or a pipe it runs the commands read, one a line, without a prompt, and
exits 1 if any failed. Ctrl+C stops the command under way (or the line being
typed), Ctrl+D leaves.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator, Sequence

from occo.enactor.description import stored_description
from occo.infraprocessor.engine import recorded
from occo.util.private import home_folder, open_private, private_folder

from ..cli import EXIT_ERROR, EXIT_OK, add_config_options, add_version_option
from ..session import connect, load
from ..shell import InfraShell

HISTORY = "shell_history"
HISTORY_LINES = 1000


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="occopus-shell", description="Move around an infrastructure: its nodes and "
                                          "instances, their states and addresses; run commands "
                                          "on them, log in to one, copy files to and from them.",
        epilog="type help in the shell for its commands")
    add_version_option(parser)
    add_config_options(parser)
    parser.add_argument("-i", "--infra_id", required=True, help="the infrastructure")
    return parser


def body(argv: Sequence[str]) -> int:
    args = parser().parse_args(argv)
    settings = load(args.cfg, args.auth_data_path)
    store = connect(settings)
    try:
        static = stored_description(store, args.infra_id)
        interactive = sys.stdin.isatty()
        shell = InfraShell(settings, args.infra_id, list(static.nodes),
                           lambda: recorded(store, args.infra_id), interactive=interactive)
        if interactive:
            with _history():
                _loop(shell)
            return EXIT_OK
        shell.cmdloop()
    finally:
        store.close()
    return EXIT_ERROR if shell.failures else EXIT_OK


def _loop(shell: InfraShell) -> None:
    """The shell's loop; Ctrl+C at the prompt drops the line typed, as a login shell does."""
    print(f"infrastructure {shell.infra_id}: {len(shell.node_names)} node(s), "
          f"{len(shell.statuses)} instance(s); type help for the commands")
    while True:
        try:
            shell.cmdloop()
            return
        except KeyboardInterrupt:
            print("^C")


@contextlib.contextmanager
def _history() -> Iterator[None]:
    """readline's history from the file, and back to it (0600) when the shell ends."""
    import readline
    readline.set_completer_delims(" \t\n")     # node names have -, paths /
    path = private_folder(home_folder()) / HISTORY
    readline.set_history_length(HISTORY_LINES)
    try:
        if path.is_file():
            readline.read_history_file(path)
    except OSError as error:
        print(f"occopus-shell: the history in {path} cannot be read ({error}); "
              "starting without it", file=sys.stderr)
    try:
        yield
    finally:
        try:
            os.close(open_private(path))
            readline.write_history_file(path)
        except OSError as error:
            print(f"occopus-shell: the history cannot be kept in {path}: {error}",
                  file=sys.stderr)
