"""The memory behind skipping recovery, and passes: which infrastructures' last pass ended
cleanly, and what it left when it had nothing to do.

A pass may skip recovery only when the pass just before it (the fencing token
one less) ended cleanly and was made by an enactor sharing this memory; an
idle infrastructure's pass may be a check against what the last one left
(`Enactor.quiet`). One `CleanPasses` per enactor is enough for a command; a
service whose passes of one infrastructure move from worker to worker gives
them all the same one, or recovery would run at nearly every pass.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

from occo.compiler import StaticDescription
from occo.infraprocessor.record import InstanceRecord


@dataclass(frozen=True)
class Idle:
    """What a pass that had nothing to do left: its description and its instances, every
    one ready."""

    static: StaticDescription
    records: tuple[InstanceRecord, ...]


@dataclass(frozen=True)
class CleanPass:
    """A pass that ended cleanly."""

    token: int      # the fencing token it held
    skipped: int    # how many passes (and checks) in a row, it included, skipped recovery
    idle: Idle | None = None    # what it left, when it had nothing to do


class CleanPasses:
    """The last clean pass of each infrastructure; safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._passes: dict[str, CleanPass] = {}

    def take(self, infra_id: str) -> CleanPass | None:
        """The last clean pass of `infra_id`, forgotten: a pass takes it as it starts and
        records itself again only if it ends cleanly."""
        with self._lock:
            return self._passes.pop(infra_id, None)

    def peek(self, infra_id: str) -> CleanPass | None:
        """The last clean pass of `infra_id`, kept."""
        with self._lock:
            return self._passes.get(infra_id)

    def record(self, infra_id: str, clean: CleanPass) -> None:
        with self._lock:
            self._passes[infra_id] = clean

    def replace(self, infra_id: str, old: CleanPass, new: CleanPass) -> bool:
        """`new` in place of `old`, if `old` is still the last; whether it was."""
        with self._lock:
            if self._passes.get(infra_id) is not old:
                return False
            self._passes[infra_id] = new
            return True

    def forget(self, infra_id: str) -> None:
        """Drop what is known of `infra_id` (destroyed, or no longer maintained here)."""
        with self._lock:
            self._passes.pop(infra_id, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._passes)
