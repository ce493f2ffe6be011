"""Releases side by side, and the links that choose among them.

A venv cannot be moved (its scripts name its path), so a release is made in
the folder it keeps: releases/<version>-<random>. Switching writes a new link
beside `current` and renames it over the old one, which is atomic: a command
started at any moment runs either the old release or the new one, and an
update cut short leaves the old one running.
"""
import os
import shutil
import tempfile
from pathlib import Path

from .layout import Layout


def new_release(layout: Layout, version: str) -> Path:
    """An empty, uniquely named folder for a release of `version`, open for everyone to run
    (a server's service user runs it, whatever root's umask)."""
    layout.releases.mkdir(parents=True, exist_ok=True)
    if layout.server:
        for folder in (layout.home, layout.releases):
            folder.chmod(0o755)
    folder = Path(tempfile.mkdtemp(prefix=f"{version}-", dir=layout.releases))
    folder.chmod(0o755)
    return folder


def release_of(link: Path) -> Path | None:
    """The release a link names, or None when there is no such link or it leads nowhere."""
    if not link.is_symlink():
        return None
    target = Path(os.path.realpath(link))
    return target if target.is_dir() else None


def point(link: Path, target: Path) -> None:
    """Make `link` name `target`, atomically; a link that already does is left as it is."""
    if link.is_symlink() and os.readlink(link) == str(target):
        return
    fresh = link.with_name(f".{link.name}.new")
    fresh.unlink(missing_ok=True)
    fresh.symlink_to(target)
    os.replace(fresh, link)


def prune(layout: Layout) -> None:
    """Remove every release that is neither current nor previous, and a pre-release venv."""
    kept = {release_of(layout.venv), release_of(layout.previous)}
    if layout.releases.is_dir():
        for folder in layout.releases.iterdir():
            if folder.resolve() not in kept:
                discard(folder)
    legacy = layout.legacy_venv
    if legacy.is_dir() and not legacy.is_symlink() and legacy.resolve() not in kept:
        shutil.rmtree(legacy, ignore_errors=True)
    if release_of(layout.previous) is None:
        layout.previous.unlink(missing_ok=True)


def discard(release: Path) -> None:
    shutil.rmtree(release, ignore_errors=True)


def remove_all(layout: Layout) -> bool:
    """Remove every release and both links; whether there was anything to remove."""
    found = False
    for link in (layout.venv, layout.previous):
        if link.is_symlink():
            link.unlink()
            found = True
    for folder in (layout.releases, layout.legacy_venv):
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
            found = True
    return found
