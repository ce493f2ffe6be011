"""File helpers the handler and the bootstrap wrapper share.

Several Occopus processes read the registry and a node's status while one
writes them, so every write goes to a temporary file that replaces the old one
in one step: a reader sees the old content or the new, never half of it.
"""
from __future__ import annotations

import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path


def write_atomically(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Replace `path` with `data` in one step, flushed to disk first."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def tail(path: Path, lines: int, limit: int = 4000) -> str:
    """The last `lines` lines of a text file, at most `limit` characters; '' if it is missing."""
    try:
        with path.open("rb") as stream:
            stream.seek(max(0, stream.seek(0, os.SEEK_END) - limit))
            data = stream.read()
    except FileNotFoundError:
        return ""
    return "\n".join(data.decode(errors="replace").splitlines()[-lines:])


def remove_tree(path: Path) -> None:
    """Remove a folder and all in it, even folders its processes made read-only.

    A node's commands may leave folders without read or write permission; their
    owner may still change that, so each such folder is opened up and emptied.
    """
    if path.exists():
        shutil.rmtree(path, **_ON_FAILURE)


def _open_up(_function: object, failed: str, _error: object) -> None:
    if not os.path.lexists(failed):      # already removed by an earlier call
        return
    parent = os.path.dirname(failed)
    os.chmod(parent, os.stat(parent).st_mode | stat.S_IRWXU)
    if os.path.isdir(failed) and not os.path.islink(failed):
        os.chmod(failed, os.stat(failed).st_mode | stat.S_IRWXU)
        shutil.rmtree(failed, **_ON_FAILURE)
    else:
        os.unlink(failed)


# Python 3.12 renamed rmtree's error callback; the handler suits both.
_ON_FAILURE = {"onexc" if sys.version_info >= (3, 12) else "onerror": _open_up}
