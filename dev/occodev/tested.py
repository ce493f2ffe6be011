"""What the last green test run tested: the record `deploy` holds a release to.

`./occo-dev test` of every suite writes env/tested.json when nothing failed: each
component's version, the sha256 of the lock, and the commit it ran on. `deploy` puts
exactly those versions on servers; anything else is refused unless forced, with what
differs.
"""
from __future__ import annotations

import json
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .fsutil import sha256_file, write_if_changed
from .lock import LOCK_FILE
from .repo import Repo

RECORD = Path("env") / "tested.json"


@dataclass(frozen=True)
class Tested:
    versions: dict[str, str]        # distribution -> version
    lock: str                       # sha256 of dev/lock/requirements.lock
    commit: str                     # git HEAD, "+changes" when the tree had any
    at: str = ""                    # when, UTC

    @classmethod
    def of(cls, repo: Repo) -> Tested:
        """The checkout as it is now."""
        versions = {c.dist: c.version for c in repo.components.values()}
        lock = repo.root / LOCK_FILE
        return cls(dict(sorted(versions.items())), sha256_file(lock) if lock.is_file() else "",
                   _commit(repo.root), time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))

    def differences(self, other: Tested) -> list[str]:
        """What `other` has that this record does not, in words."""
        found = [f"{dist} {other.versions.get(dist, 'absent')} (tested: {version})"
                 for dist, version in self.versions.items()
                 if other.versions.get(dist) != version]
        found += [f"{dist} {version} (not tested)" for dist, version in other.versions.items()
                  if dist not in self.versions]
        if other.lock != self.lock:
            found.append(f"{LOCK_FILE} changed since the tests ran")
        return found


def record(repo: Repo, before: Tested | None = None) -> Path | None:
    """Write what the checkout holds now as tested; with `before` (taken when the tests
    started), only if nothing changed meanwhile (a bump, a new lock): else None."""
    now = Tested.of(repo)
    if before is not None and (before.differences(now) or before.commit != now.commit):
        return None
    path = repo.root / RECORD
    write_if_changed(path, json.dumps(asdict(now), indent=1) + "\n")
    return path


def read(repo: Repo) -> Tested | None:
    try:
        return Tested(**json.loads((repo.root / RECORD).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def _commit(root: Path) -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                              text=True)
    except OSError:             # no git here
        return "unknown"
    if head.returncode != 0:
        return "unknown"
    changed = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                             capture_output=True, text=True).stdout.strip()
    return head.stdout.strip() + ("+changes" if changed else "")
