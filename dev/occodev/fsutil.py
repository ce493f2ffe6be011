"""Small file helpers shared by the subcommands."""
from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def write_if_changed(path: Path, text: str) -> bool:
    """Write `text` to `path` unless it already holds it; True when written.

    Leaving unchanged files alone keeps their mtimes, so re-running a generator
    with no input change changes no file.
    """
    if path.is_file() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return True


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def link_or_copy(source: Path, target: Path) -> None:
    """Hard-link `source` to `target` (copying across file systems)."""
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the file `path` (made if missing), across processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def mounts_below(roots: list[Path]) -> list[str]:
    """What is mounted at or under any of `roots`, from /proc/self/mountinfo (whose paths
    write spaces and the like as octal escapes, \\040)."""
    tops = [str(root) for root in roots]
    try:
        table = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    points = {re.sub(r"\\([0-7]{3})", lambda found: chr(int(found.group(1), 8)), line.split()[4])
              for line in table if len(line.split()) > 4}
    return [point for point in points
            if any(point == top or point.startswith(top + "/") for top in tops)]


def unmount_below(roots: list[Path]) -> list[str]:
    """Unmount what is mounted at or under `roots`, deepest first (lazily when a plain umount
    fails); return what is still mounted there."""
    for point in sorted(mounts_below(roots), key=len, reverse=True):
        if subprocess.run(["umount", point], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode != 0:
            subprocess.run(["umount", "-l", point], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return mounts_below(roots)
