"""Folders and files private to their user: 0700 folders, 0600 files, whatever the umask.

State and credentials (the state store, the infrastructure list, crash logs)
live under `~/.occopus`; another local user must not read them, nor swap a
folder or file for a symlink that makes a command (often run as root) write
somewhere else. A folder is created 0700; Occopus's own folders must be
folders of this user and are tightened to 0700, a folder the user chose is
left as it is. Files are created with `O_NOFOLLOW` and mode 0600, and an
existing file must be a regular file of this user.
"""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from .errors import OccoError

FOLDER_MODE = 0o700
FILE_MODE = 0o600
HOME_FOLDER = "~/.occopus"


class PrivacyError(OccoError):
    """A folder or file meant to be private to this user cannot be made or kept so."""


def home_folder() -> Path:
    """`~/.occopus`, the folder of this user's Occopus state."""
    return Path(HOME_FOLDER).expanduser()


def is_own_folder(path: Path) -> bool:
    """Whether `path` is `~/.occopus` or inside it: folders Occopus alone uses."""
    home = home_folder()
    return path == home or home in path.parents


def private_folder(path: str | os.PathLike[str], *, own: bool | None = None) -> Path:
    """`path` as a folder, made 0700 when missing (with its missing parents).

    Occopus's own folders (`own`, by default those under `~/.occopus`) must
    end, symlinks followed, in a folder of this user, and are made 0700: only
    this user (or root) can have put a symlink there, so following one (a
    `~/.occopus` kept on another disk) is safe once the folder it names is
    checked. A folder the user chose elsewhere (a shared store folder, `/tmp`)
    is left as it is: the files made in it are private on their own.
    """
    folder = Path(path).expanduser()
    if own is None:
        own = is_own_folder(folder)
    missing = []
    probe = folder
    while not os.path.lexists(probe) and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for created in reversed(missing):
        try:
            os.mkdir(created, FOLDER_MODE)
        except FileExistsError:
            pass       # made meanwhile by another command: checked below like any other
        except OSError as error:
            raise PrivacyError(f"cannot create the folder {created}: {error.strerror}",
                               hint="check that its parent folder exists and can be written"
                               ) from None
        else:
            _check_folder(created, own=True)   # mkdir's mode is cut by the umask: made 0700
    _check_folder(folder, own=own)
    return folder


def _check_folder(folder: Path, *, own: bool) -> None:
    """Check (and for an own folder, tighten) the folder `folder` names, through one
    descriptor, so that what is checked is what is changed."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except NotADirectoryError:
        raise PrivacyError(f"{folder} is not a folder", hint="move that file away") from None
    except OSError as error:
        raise PrivacyError(f"cannot open the folder {folder}: {error.strerror}",
                           hint="check the folder and its owner") from None
    try:
        if not own:
            return
        info = os.fstat(fd)
        if info.st_uid != os.geteuid():
            raise PrivacyError(f"the folder {folder} belongs to another user (uid {info.st_uid})",
                               hint="remove it, or choose a folder of your own")
        if stat.S_IMODE(info.st_mode) != FOLDER_MODE:
            os.fchmod(fd, FOLDER_MODE)
    except OSError as error:
        raise PrivacyError(f"cannot make the folder {folder} private: {error.strerror}",
                           hint="check the folder, its owner and whether its disk is read-only"
                           ) from None
    finally:
        os.close(fd)


def open_private(path: str | os.PathLike[str], flags: int = os.O_RDWR) -> int:
    """A descriptor of `path`, a 0600 file of this user: created if missing, never through a
    symlink; an existing file of ours that others could read is made 0600."""
    try:
        fd = os.open(path, flags | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE)
    except OSError as error:
        raise refused(path, error) from None
    try:
        keep_private(fd, path)
    except BaseException:
        os.close(fd)
        raise
    return fd


def create_private(path: str | os.PathLike[str]) -> int:
    """A descriptor of a new 0600 file at `path`; `FileExistsError` if anything is there
    (a symlink included), so a name another user planted is never written through."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                   FILE_MODE)


def keep_private(fd: int, path: str | os.PathLike[str]) -> None:
    """Check that the open file `fd` is a regular file of ours, and make it 0600."""
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        raise PrivacyError(f"{path} is not a regular file", hint="move it away")
    if info.st_uid != os.geteuid():
        raise PrivacyError(f"{path} belongs to another user (uid {info.st_uid})",
                           hint="remove it, or choose a path of your own")
    if stat.S_IMODE(info.st_mode) != FILE_MODE:
        os.fchmod(fd, FILE_MODE)


def make_private(path: str | os.PathLike[str]) -> None:
    """Make an existing file of ours 0600 (no-op when it is missing); never follows a symlink."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    except OSError as error:
        raise refused(path, error) from None
    try:
        keep_private(fd, path)
    finally:
        os.close(fd)


def refused(path: str | os.PathLike[str], error: OSError) -> PrivacyError:
    """Why a private file cannot be opened: a symlink in its place said as such."""
    if error.errno == errno.ELOOP:
        return PrivacyError(f"{path} is a symlink: a private file is never opened through one",
                            hint="remove the symlink")
    return PrivacyError(f"cannot open {path}: {error.strerror}",
                        hint="check the file, its folder and their owner")
