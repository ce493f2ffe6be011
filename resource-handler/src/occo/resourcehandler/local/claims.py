"""Loopback addresses claimed machine-wide, so that local nodes of two HOMEs (of one user
or of two) never get the same address and answer each other's health checks.

A claim is a file `occopus-loopback-<address>` in a folder every user of the
machine shares: /tmp by default, as X11 keeps its display locks there. It is
made with O_CREAT|O_EXCL, so of two commands claiming at once exactly one wins,
and it is never followed through a symlink. The folder must be root's (or this
user's) and, if others may write it, sticky: then no other user can remove or
replace a claim; a claim they plant only makes us skip that address.

A claim names the registry that holds it. One that its registry no longer lists
(a command killed between claiming and recording) is stale: it is taken back by
its own user, under that registry's lock, never by another user.

A claim is only ever removed by whoever holds its `flock` and has checked that
the file it locked is still the one at the path: two registries that both judge
a claim stale cannot both take it (the second would otherwise remove the fresh
claim the first made in its place). The lock is never waited for: a claim
whose lock is busy is being judged or taken by someone else, so it is skipped
(or, when released, left to be taken back as stale later).
"""
from __future__ import annotations

import errno
import fcntl
import json
import os
import stat
from collections.abc import Callable, Collection
from pathlib import Path
from typing import IO

from ..base import PermanentError

DEFAULT_FOLDER = Path("/tmp")
PREFIX = "occopus-loopback-"
# the registry file and its lock, in a workdir (see registry.py)
REGISTRY_FILE = "registry.json"
LOCK_FILE = "registry.lock"
# Claims of one address tried in a row: each try after the first follows a stale claim taken.
ATTEMPTS = 3


class ClaimError(PermanentError):
    """The claims folder cannot be trusted or used."""


def claims_folder() -> Path:
    """The machine-wide folder: OCCOPUS_LOOPBACK_CLAIMS (tests), else /tmp."""
    return Path(os.environ.get("OCCOPUS_LOOPBACK_CLAIMS") or DEFAULT_FOLDER)


class Claims:
    """The claims of one registry (`workdir`) in the machine-wide `folder`."""

    def __init__(self, folder: Path, workdir: Path) -> None:
        self.folder = folder
        self.workdir = workdir.absolute()

    def claim(self, address: str, listed: Callable[[str], bool]) -> bool:
        """Claim `address`; False if another registry holds it. `listed` tells whether our own
        registry (whose lock the caller holds) lists an address: a claim of ours it does not
        list is stale."""
        self._check_folder()
        path = self._path(address)
        for _ in range(ATTEMPTS):
            try:
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                                     0o644)
            except FileExistsError:
                if not self._remove_if(path, lambda holder: self._stale(holder, address, listed)):
                    return False
                continue
            with os.fdopen(descriptor, "w") as claim:
                json.dump({"workdir": str(self.workdir), "uid": os.getuid()}, claim)
            return True
        return False

    def release(self, address: str) -> None:
        """Give the claim up, if it is this registry's."""
        self._remove_if(self._path(address), lambda holder: holder == self.workdir)

    def keep(self, addresses: Collection[str]) -> None:
        """Claim again the addresses our registry lists whose claims are missing (nodes made
        before claims existed, or claims a cleaner of /tmp removed), and mark the others
        as in use. An address another registry claimed meanwhile stays with it."""
        self._check_folder()
        for address in addresses:
            path = self._path(address)
            if self._holder(path) == self.workdir:
                try:
                    os.utime(path, follow_symlinks=False)
                except OSError:
                    pass
            elif not path.exists():
                self.claim(address, lambda _address: True)

    # --- plumbing ---------------------------------------------------------
    def _path(self, address: str) -> Path:
        return self.folder / f"{PREFIX}{address}"

    def _check_folder(self) -> None:
        """The folder must be a real folder whose claims no other user can remove or replace."""
        try:
            info = os.lstat(self.folder)
        except FileNotFoundError:
            raise ClaimError(f"the loopback claims folder {self.folder} does not exist",
                             hint="create it (it is /tmp unless OCCOPUS_LOOPBACK_CLAIMS says "
                                  "otherwise)") from None
        shared = info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
        if (not stat.S_ISDIR(info.st_mode) or info.st_uid not in (0, os.getuid())
                or (shared and not info.st_mode & stat.S_ISVTX)):
            raise ClaimError(f"the loopback claims folder {self.folder} is not safe to share: "
                             "it must be a folder of root (or of this user) that, if others "
                             "may write it, has the sticky bit",
                             hint="use /tmp, or a folder made with 'install -d -m 1777 "
                                  "-o root FOLDER'")

    def _holder(self, path: Path) -> Path | None:
        """The workdir a claim of this user names; None for a claim of another user, or none."""
        try:
            info = os.lstat(path)
            if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
                return None
            descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            return None
        with os.fdopen(descriptor) as claim:
            return _named_workdir(claim)

    def _remove_if(self, path: Path, doomed: Callable[[Path], bool]) -> bool:
        """Remove the claim at `path` if it is this user's and `doomed(its registry)`; True if
        it is gone (or was replaced meanwhile: judge the new one), False if it stays.

        The claim is judged and unlinked while holding its lock and after checking
        that the file locked is still the one at `path`: nobody else unlinks it
        meanwhile, and nothing can be created in its place while it is there.
        """
        try:
            descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except FileNotFoundError:
            return True
        except OSError:          # a symlink (ELOOP), or a file we may not read: not ours
            return False
        with os.fdopen(descriptor) as claim:
            info = os.fstat(descriptor)
            if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
                return False
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            if not _same_file(info, path):
                return True      # unlinked (and maybe claimed again) while we opened it
            holder = _named_workdir(claim)
            if holder is None or not doomed(holder):
                return False
            _unlink(path)
            return True

    def _stale(self, holder: Path, address: str, listed: Callable[[str], bool]) -> bool:
        """Whether a claim of ours that `holder` holds is stale: its registry does not list
        the address."""
        if holder == self.workdir:
            return not listed(address)
        return not _lists(holder, address)


def _lists(workdir: Path, address: str) -> bool:
    """Whether another registry of ours lists `address`: read under its lock, or, when that is
    busy (or the registry unreadable), assumed so."""
    try:
        lock = open(workdir / LOCK_FILE, "a")
    except FileNotFoundError:
        return (workdir / REGISTRY_FILE).exists()
    except OSError:
        return True
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno in (errno.EAGAIN, errno.EACCES):
                return True
            raise
        try:
            document = json.loads((workdir / REGISTRY_FILE).read_bytes())
            return any(entry.get("address") == address
                       for entry in document.get("nodes", {}).values())
        except FileNotFoundError:
            return False
        except (OSError, ValueError, AttributeError):
            return True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _named_workdir(claim: IO[str]) -> Path | None:
    """The workdir an open claim names; None if it names none."""
    try:
        return Path(json.load(claim)["workdir"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _same_file(info: os.stat_result, path: Path) -> bool:
    """Whether the file at `path` is the one `info` describes (held open, so its inode
    cannot have been reused)."""
    try:
        current = os.lstat(path)
    except OSError:
        return False
    return (current.st_dev, current.st_ino) == (info.st_dev, info.st_ino)


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
