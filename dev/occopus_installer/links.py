"""The links on PATH (~/.local/bin or /usr/local/bin) to the commands in the environment.

Each link goes through the `current` link, so switching releases moves them
all at once. Only links that lead into our folder are ours: a file of the same
name that does not is left alone unless --force says to replace it.
"""
import os
from pathlib import Path

from .layout import Layout
from .proc import InstallError
from .releases import point


def is_ours(layout: Layout, path: Path) -> bool:
    return path.is_symlink() and os.path.realpath(path).startswith(
        os.path.realpath(layout.home) + os.sep)


def refuse_foreign(layout: Layout, force: bool) -> None:
    """Before changing anything: an occopus-* in the bin folder that is not ours needs --force."""
    foreign = [path for path in sorted(layout.bin.glob("occopus-*")) if not is_ours(layout, path)]
    if foreign and not force:
        raise InstallError(f"{foreign[0]} exists and is not a link into {layout.venv}; "
                           "remove it, or run again with --force to replace it")


def link_commands(layout: Layout) -> list[str]:
    """Link every command of the environment; drop our links to commands it no longer has."""
    layout.bin.mkdir(parents=True, exist_ok=True)
    names = layout.commands()
    for name in names:
        point(layout.bin / name, layout.command(name))
    for stale in layout.bin.glob("occopus-*"):
        if stale.name not in names and is_ours(layout, stale):
            stale.unlink()
    return names


def unlink_commands(layout: Layout) -> list[str]:
    """Remove our links; return their names."""
    if not layout.bin.is_dir():
        return []
    ours = sorted(path for path in layout.bin.glob("occopus-*") if is_ours(layout, path))
    for path in ours:
        path.unlink()
    return [path.name for path in ours]


def unlinked_commands(layout: Layout) -> list[str]:
    """Commands of the current release that have no link through `current`."""
    return [name for name in layout.commands()
            if not (layout.bin / name).is_symlink()
            or os.readlink(layout.bin / name) != str(layout.command(name))]


def bin_on_path(layout: Layout) -> bool:
    folders = [os.path.realpath(p) for p in os.environ.get("PATH", "").split(os.pathsep) if p]
    return os.path.realpath(layout.bin) in folders
