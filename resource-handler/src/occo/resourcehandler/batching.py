"""Calls made at once on one backend, merged into calls that carry many.

An engine creates a level of nodes at once and polls every instance that
boots; a thousand of them are a thousand calls, each paying the API's
latency, its rate limit and, here, the CPU of an HTTP round trip. A cloud
whose API takes many in one call (`creates_per_call`, `states_per_call`) is
asked once for the calls made within `GATHER` seconds of each other: the
first waits that long for others to join, then makes the call for all of
them (at most `size`; whoever is left over leads the next call at once).
Calls do not wait for each other: calls due one after the other are answered
one latency after they were made, not queued behind a call in flight, so
that an instance is made, or seen ready, as soon as it can be.

Each caller gets its own answer: the merged call answers item by item; a
failure of the whole call is raised to each of its callers.

An interrupted caller (Ctrl+C in the main thread) strands nobody: a leader
still makes its call on the way out (those it called for get a
`TransientError` if the call itself was cut short: what it did is found
again by asking again, as creates are idempotent), and a caller promoted to
lead just as it was interrupted makes it too.
"""
from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .base import TransientError

GATHER = 0.005      # seconds a call waits for others to join: small beside any cloud's latency

Item = TypeVar("Item")
Answer = TypeVar("Answer")


@dataclass(eq=False)
class _Call(Generic[Item]):
    item: Item
    answered: threading.Event = field(default_factory=threading.Event)
    answer: Any = None
    error: BaseException | None = None
    leads: bool = False             # this caller makes the merged call
    gone: bool = False              # its caller stopped waiting (interrupted): never promote it


class Batcher(Generic[Item, Answer]):
    """`call(item)` from any thread; `merged(items)` answers up to `size` items, in order."""

    def __init__(self, merged: Callable[[Sequence[Item]], Sequence[Answer]],
                 size: int, *, gather: float = GATHER,
                 sleep: Callable[[float], object] = time.sleep) -> None:
        if size < 1:
            raise ValueError(f"a merged call carries at least one item, not {size}")
        self._merged = merged
        self._size = size
        self._gather = gather
        self._sleep = sleep
        self._lock = threading.Lock()
        self._gathering: list[_Call[Item]] | None = None    # the next call's items, while open

    @property
    def gathering(self) -> int:
        """Calls waiting to join a merged call."""
        with self._lock:
            return len(self._gathering or ())

    def call(self, item: Item) -> Answer:
        call = _Call(item)
        with self._lock:
            if self._gathering is None:
                self._gathering, call.leads = [], True
            self._gathering.append(call)
        if call.leads:              # the first of a batch: others join meanwhile
            try:
                self._sleep(self._gather)
            finally:                # interrupted or not, those who joined get their answer
                self._make_call()
        else:
            try:
                call.answered.wait()
            finally:
                with self._lock:    # promoted, or gone for good: never both (see `_make_call`)
                    promoted, call.gone = call.leads, not call.leads
                if promoted:        # what was left over is its batch
                    self._make_call()
        if call.error is not None:
            raise call.error
        return call.answer

    def _make_call(self) -> None:
        """Make the call for the items gathered (the leader's first); hand the rest on."""
        with self._lock:
            gathered = self._gathering or []
            batch, rest = gathered[:self._size], gathered[self._size:]
            successor = next((call for call in rest if not call.gone), None)
            if successor is not None:
                successor.leads = True
            self._gathering = rest if successor is not None else None
        if successor is not None:
            successor.answered.set()
        try:
            answers = self._merged([call.item for call in batch])
            for call, answer in zip(batch, answers, strict=True):
                call.answer = answer
        except Exception as error:          # each caller raises it, as its own call would
            for call in batch:
                call.error = _own_copy(error)
        except BaseException:               # the leader was interrupted: it alone stops
            for call in batch:
                call.error = TransientError("a merged call was interrupted; make it again")
            raise
        finally:
            for call in batch:
                call.answered.set()


def _own_copy(error: Exception) -> Exception:
    """A copy of `error` for one caller, so that callers' tracebacks are not chained together."""
    try:
        return copy.copy(error)
    except Exception:       # an exception that cannot be copied: shared, then
        return error
