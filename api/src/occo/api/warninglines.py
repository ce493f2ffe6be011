"""What the components log, as the commands show it: one line per warning on stderr.

The components log through `logging` (`occo.*` loggers) and leave the output
to the program. A command prints each warning as `<command>: warning: <first
line>`; the rest of a record (a plugin bug's traceback) goes to a private log
file named on that line, so the terminal never shows a traceback and the bug
report still has it. Secrets are hidden in both (the components hide what
they know; URL passwords and the auth file's secrets are hidden here too).
A command that runs for days (`maintain -c`) repeats its warnings: the same
details are kept once, and at most `MAX_FILES` files a run.
"""
from __future__ import annotations

import logging
import sys

from occo.util.errors import OccoError
from occo.util.redact import hide, known_secrets

from .crashlog import write_private_log

MAX_FILES = 20


class WarningLines(logging.Handler):
    """One stderr line per record of WARNING or above; details to a private file."""

    def __init__(self, command: str) -> None:
        super().__init__(logging.WARNING)
        self.command = command
        self._kept: dict[str, str] = {}     # details -> where they were kept

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
            if record.exc_info:
                text += "\n" + logging.Formatter().formatException(record.exc_info)
            first, _, details = text.partition("\n")
            line = f"{self.command}: warning: {hide(first, known_secrets())}"
            if details.strip():
                line += f" (details in {self._keep(text)})"
            print(line, file=sys.stderr, flush=True)
        except Exception:
            self.handleError(record)

    def _keep(self, text: str) -> str:
        if text in self._kept:
            return self._kept[text]
        if len(self._kept) >= MAX_FILES:
            return f"no log file: {MAX_FILES} were written by this run already"
        try:
            where = str(write_private_log(self.command, "warning", text))
        except (OccoError, OSError):
            return "no log file: it could not be written"
        self._kept[text] = where
        return where


def show_warnings(command: str) -> None:
    """Route the `occo.*` loggers' warnings to stderr as lines of `command` (once)."""
    root = logging.getLogger("occo")
    root.handlers = [handler for handler in root.handlers
                     if not isinstance(handler, WarningLines)]
    root.addHandler(WarningLines(command))
