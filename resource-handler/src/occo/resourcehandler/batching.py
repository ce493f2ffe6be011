"""State queries made at once on one backend, merged into `get_states` calls.

An engine polls every instance that boots; a thousand of them are a thousand
calls, each paying the API's latency, its rate limit and, here, the CPU of
an HTTP round trip. Queries made within `GATHER` seconds of each other share
one call instead: the first waits that long for others to join, then asks
for all of them (at most `size`; whoever is left over leads the next call at
once). Calls do not wait for each other: polls due one after the other are
answered one latency after they were made, not queued behind a call in
flight, so that an instance is seen ready as soon as it is.

An interrupted caller (Ctrl+C in the main thread) strands nobody: a leader
still makes its call on the way out (those it asked for get a
`TransientError` if the call itself was cut short), and a caller promoted to
lead just as it was interrupted makes it too.
"""
from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from occo.util.nodes import NodeState

from .base import Instance, TransientError

GATHER = 0.005      # seconds a query waits for others to join its call: small beside any cloud's


@dataclass(eq=False)
class _Query:
    instance: Instance
    answered: threading.Event = field(default_factory=threading.Event)
    state: NodeState | None = None
    error: BaseException | None = None
    leads: bool = False             # this caller makes the call
    gone: bool = False              # its caller stopped waiting (interrupted): never promote it


class StateBatcher:
    """`state(instance)` from any thread; `ask(instances)` gets the states of up to `size`."""

    def __init__(self, ask: Callable[[Sequence[Instance]], Sequence[NodeState]], size: int, *,
                 gather: float = GATHER, sleep: Callable[[float], object] = time.sleep) -> None:
        if size < 1:
            raise ValueError(f"a batch holds at least one instance, not {size}")
        self._ask = ask
        self._size = size
        self._gather = gather
        self._sleep = sleep
        self._lock = threading.Lock()
        self._gathering: list[_Query] | None = None     # the next call's queries, while open

    @property
    def gathering(self) -> int:
        """Queries waiting to join a call."""
        with self._lock:
            return len(self._gathering or ())

    def state(self, instance: Instance) -> NodeState:
        query = _Query(instance)
        with self._lock:
            if self._gathering is None:
                self._gathering, query.leads = [], True
            self._gathering.append(query)
        if query.leads:             # the first of a batch: others join meanwhile
            try:
                self._sleep(self._gather)
            finally:                # interrupted or not, those who joined get their answer
                self._call()
        else:
            try:
                query.answered.wait()
            finally:
                with self._lock:    # promoted, or gone for good: never both (see `_call`)
                    promoted, query.gone = query.leads, not query.leads
                if promoted:        # what was left over is its batch
                    self._call()
        if query.error is not None:
            raise query.error
        assert query.state is not None
        return query.state

    def _call(self) -> None:
        """Ask for the queries gathered (the leader's first); hand what does not fit on."""
        with self._lock:
            gathered = self._gathering or []
            batch, rest = gathered[:self._size], gathered[self._size:]
            successor = next((query for query in rest if not query.gone), None)
            if successor is not None:
                successor.leads = True
            self._gathering = rest if successor is not None else None
        if successor is not None:
            successor.answered.set()
        try:
            states = self._ask([query.instance for query in batch])
            for query, state in zip(batch, states, strict=True):
                query.state = state
        except Exception as error:          # each caller raises it, as its own call would
            for query in batch:
                query.error = _own_copy(error)
        except BaseException:               # the leader was interrupted: it alone stops
            for query in batch:
                query.error = TransientError("a merged state query was interrupted; ask again")
            raise
        finally:
            for query in batch:
                query.answered.set()


def _own_copy(error: Exception) -> Exception:
    """A copy of `error` for one caller, so that callers' tracebacks are not chained together."""
    try:
        return copy.copy(error)
    except Exception:       # an exception that cannot be copied: shared, then
        return error
