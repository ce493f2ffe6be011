"""Finding and stopping a node's process group, from any process of the machine.

A node's bootstrap leads a new session, so its pid is the group id of every
command it starts, background services included. A recorded pid alone is not
proof, though: after the group has ended (or the machine rebooted) the number
may belong to someone else. Every process of a node therefore carries the
variable `OCCOPUS_INSTANCE_ID=<instance id>` from its start, and a group is
taken for the node's only while a process in it carries that mark; no other
group can have the same id while one of its processes lives.
"""
from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

from ..base import TransientError

MARK = "OCCOPUS_INSTANCE_ID"
PROC = Path("/proc")
POLL = 0.05


def mark(instance_id: str) -> dict[str, str]:
    """The variable that marks a node's processes, to add to their environment."""
    return {MARK: instance_id}


def is_running(pid: int, instance_id: str) -> bool:
    """Whether `pid` is a live process of the node (not a zombie, not a stranger)."""
    return _group_of(pid) is not None and _is_marked(pid, instance_id)


def group_is_alive(pgid: int, instance_id: str) -> bool:
    """Whether the group still has a live process of the node."""
    return any(_is_marked(pid, instance_id) for pid in _members(pgid))


def stop_group(pgid: int, instance_id: str, grace: float, patience: float = 10.0) -> None:
    """SIGTERM the node's group, SIGKILL what is left after `grace` seconds, wait till none lives.

    Nothing is sent when no process of the group carries the node's mark.
    """
    if not group_is_alive(pgid, instance_id):
        return
    for signum, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, patience)):
        try:
            os.killpg(pgid, signum)
        except ProcessLookupError:
            return
        if _wait_until_empty(pgid, wait):
            return
    raise TransientError(f"processes of group {pgid} survived SIGKILL for {patience:g} s",
                         hint="they may be stuck in the kernel (e.g. on a dead mount); try again")


def _wait_until_empty(pgid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while any(True for _ in _members(pgid)):
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL)
    return True


def _members(pgid: int) -> Iterator[int]:
    """The live (not zombie) processes whose group is `pgid`."""
    for entry in os.scandir(PROC):
        if entry.name.isdigit() and _group_of(int(entry.name)) == pgid:
            yield int(entry.name)


def _group_of(pid: int) -> int | None:
    """The process group of a live process; None if it is gone or a zombie."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # "pid (command name) state ppid pgrp ...": the name may hold spaces and parentheses
    state, _ppid, pgrp = stat[stat.rindex(")") + 2:].split(" ", 3)[:3]
    return None if state in ("Z", "X") else int(pgrp)


def _is_marked(pid: int, instance_id: str) -> bool:
    try:
        environment = (PROC / str(pid) / "environ").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False
    return f"{MARK}={instance_id}".encode() in environment.split(b"\0")
