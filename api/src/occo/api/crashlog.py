"""Crash logs: the traceback of a bug, kept for its report, private to the user.

A crash log goes to `$OCCOPUS_LOG_DIR` when set, else to `~/.occopus/crash/`:
a folder of the user's own, 0700, never a symlink (`occo.util.private`).
Each log is a new 0600 file, created exclusively and never through a symlink,
under a name with a random part (tried again on the rare clash), so another
local user can neither guess it nor plant a link that makes a command run by
root overwrite some other file. The traceback's messages may quote secrets
(a library's error repeating a URL with its password, a credential): URL
passwords and every secret of the auth file read are hidden.
"""
from __future__ import annotations

import os
import secrets
import time
import traceback
from pathlib import Path

from occo.util.errors import OccoError
from occo.util.private import create_private, home_folder, private_folder
from occo.util.redact import hide, known_secrets

LOG_DIR_VARIABLE = "OCCOPUS_LOG_DIR"
TRIES = 8


def crash_folder() -> Path:
    """Where crash logs go, made private if missing (`OccoError` if it cannot be)."""
    chosen = os.environ.get(LOG_DIR_VARIABLE)
    return private_folder(chosen if chosen else home_folder() / "crash")


def write_crash_log(command: str, error: BaseException) -> Path:
    """Write `error`'s traceback to a new private file and return its path.

    `OccoError` when the folder is not private or no file can be made there;
    `OSError` when writing fails (a full disk).
    """
    return write_private_log(command, "crash", "".join(traceback.format_exception(error)))


def write_private_log(command: str, kind: str, text: str) -> Path:
    """Write `text`, secrets hidden, to a new private `<command>-<kind>-...log` file there."""
    folder = crash_folder()
    text = hide(text, known_secrets())
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for _ in range(TRIES):
        path = folder / f"{command}-{kind}-{stamp}-{os.getpid()}-{secrets.token_hex(6)}.log"
        try:
            fd = create_private(path)
        except FileExistsError:
            continue
        with os.fdopen(fd, "w") as stream:
            stream.write(text)
        return path
    raise OccoError(f"cannot create a log in {folder}: every name tried was taken")
