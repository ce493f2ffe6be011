"""How the engine tells its caller what each node is doing, as it happens.

The commands draw a live table from these calls (one row per node instance:
its step and how long it has taken); the engine itself prints nothing. Calls
come from the thread that runs `execute`, one at a time; an exception raised
by a callback is logged and otherwise ignored, since a display must not stop
a build.
"""
from __future__ import annotations

from enum import StrEnum
from typing import Protocol


class Step(StrEnum):
    """What a node instance is doing."""

    WAITING = "waiting"        # for the node types it depends on (no node id yet)
    CREATING = "creating"      # its intent is stored; the config manager and the cloud are asked
    BOOTING = "booting"        # its resource exists; waiting until it is ready
    READY = "ready"
    FAILED = "failed"          # it is rolled back
    SKIPPED = "skipped"        # a node type it depends on failed
    CANCELLED = "cancelled"    # not started, or rolled back, because the engine was cancelled
    DROPPING = "dropping"
    DROPPED = "dropped"


class Progress(Protocol):
    def on_node(self, node_name: str, node_id: str | None, step: Step, elapsed: float) -> None:
        """Instance `node_id` of `node_name` reached `step`, `elapsed` seconds after it began.

        `node_id` is None for instances that never started (waiting, skipped,
        cancelled before they began).
        """


class NoProgress:
    """A caller that does not watch."""

    def on_node(self, node_name: str, node_id: str | None, step: Step, elapsed: float) -> None:
        """Nothing to show."""
