"""Reading a text file that someone else may have named: bounded, and only a regular file.

`Path.read_text()` on a FIFO waits for ever, on `/dev/zero` fills the memory,
and on a folder says something unhelpful; here each gets its own message.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


class UnreadableFile(Exception):
    """A file cannot be read as text; `message` and `hint` say why and what to do."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class FileTooLarge(UnreadableFile):
    """A file holds more bytes than the caller allows."""


def read_text(path: Path, max_bytes: int) -> str:
    """The UTF-8 text of a regular file of at most `max_bytes` bytes (newlines made `\\n`)."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; its kind is checked below
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise UnreadableFile(f"file not found: {path}") from None
    except OSError as error:
        raise UnreadableFile(f"cannot read {path}: {error.strerror}") from None
    except ValueError:                  # a NUL byte in the name
        raise UnreadableFile(f"cannot read {str(path)!r}: a file name holds no NUL byte") from None
    try:
        mode = os.fstat(fd).st_mode
        for test, kind in _KINDS:
            if test(mode):
                raise UnreadableFile(f"{path} is {kind}, not a regular file",
                                     "name a regular file")
        if not stat.S_ISREG(mode):
            raise UnreadableFile(f"{path} is not a regular file", "name a regular file")
        with os.fdopen(os.dup(fd), "rb") as file:
            data = file.read(max_bytes + 1)
    except OSError as error:
        raise UnreadableFile(f"cannot read {path}: {error.strerror}") from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise FileTooLarge(f"{path} is larger than {max_bytes:,} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UnreadableFile(f"{path} is not UTF-8 text (byte {error.start + 1} is "
                             f"{data[error.start]:#04x})", "save the file as UTF-8") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")
