"""Blocking calls on a bounded pool, their outcomes handed back to one thread.

The store belongs to the thread that runs the engine (an SQLite connection
serves only the thread that opened it, and one writer keeps the order of
writes plain). Workers make the slow calls; when one is done, its handler runs
in the owning thread, which also runs timers (the next readiness poll). The
pool's size is the engine's global bound on node operations at once.
"""
from __future__ import annotations

import heapq
import itertools
import queue
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")
Handler = Callable[["Future[Any]"], None]


@dataclass(eq=False)
class Timer:
    due: float
    callback: Callable[[], None]
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


class Dispatcher:
    """Used from the owning thread only, except `wake`."""

    def __init__(self, max_workers: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="occo-engine")
        self._done: queue.SimpleQueue[tuple[Handler, Future[Any]] | None] = queue.SimpleQueue()
        # (due, sequence, timer): tuples order in C, faster than a dataclass's __lt__
        self._timers: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()
        self.in_flight = 0

    def submit(self, function: Callable[..., T], *args: Any,
               then: Callable[[Future[T]], None]) -> Future[T]:
        """Run `function(*args)` on the pool; `then(future)` runs in the owning thread after."""
        future = self._pool.submit(function, *args)
        self.in_flight += 1
        future.add_done_callback(lambda done: self._done.put((then, done)))
        return future

    def after(self, delay: float, callback: Callable[[], None]) -> Timer:
        """Run `callback()` in the owning thread `delay` seconds from now (unless cancelled)."""
        return self.at(time.monotonic() + delay, callback)

    def at(self, due: float, callback: Callable[[], None]) -> Timer:
        """Run `callback()` in the owning thread at `due` (monotonic), or at once if past."""
        timer = Timer(due, callback)
        heapq.heappush(self._timers, (due, next(self._seq), timer))
        return timer

    def wake(self) -> None:
        """Make `step` return soon; safe from another thread and from a signal handler."""
        self._done.put(None)

    @property
    def idle(self) -> bool:
        return self.in_flight == 0 and self._next_timer() is None

    @property
    def ready(self) -> bool:
        """A finished call, a wake-up or a timer due is waiting for `step`."""
        timer = self._next_timer()
        return not self._done.empty() or (timer is not None and timer.due <= time.monotonic())

    def step(self, *, wait: bool = True) -> None:
        """Wait for a call to finish, a timer to fall due or a wake-up; run what is ready.

        With `wait=False` it only runs what is ready now: the caller has other work.
        """
        timer = self._next_timer()
        timeout = None if timer is None else max(0.0, timer.due - time.monotonic())
        if not wait:
            timeout = 0.0
        try:
            items = [self._done.get(timeout=timeout)]
        except queue.Empty:
            items = []
        while not self._done.empty():
            items.append(self._done.get_nowait())
        for item in items:
            if item is not None:
                self.in_flight -= 1
                handler, future = item
                handler(future)
        now = time.monotonic()
        while (timer := self._next_timer()) is not None and timer.due <= now:
            heapq.heappop(self._timers)
            timer.callback()

    def drain(self) -> None:
        """Step until nothing is in flight or waiting."""
        while not self.idle:
            self.step()

    def map(self, function: Callable[[Any], T], items: Iterable[Any]) -> list[Future[T]]:
        """`function` of every item on the pool; the finished futures, in the items' order.

        A single call runs in this thread: the caller waits for it all the same,
        and an idle pass (one listing, one state query) starts no worker thread.
        """
        items = list(items)
        if len(items) == 1:
            future: Future[T] = Future()
            try:
                future.set_result(function(items[0]))
            except Exception as error:
                future.set_exception(error)
            return [future]
        futures = [self.submit(function, item, then=_ignore) for item in items]
        self.drain()
        return futures

    def close(self, *, abandon: bool = False) -> None:
        """Wait for the calls in flight; with `abandon`, drop those not yet started."""
        self._pool.shutdown(wait=True, cancel_futures=abandon)

    def _next_timer(self) -> Timer | None:
        while self._timers and self._timers[0][2].cancelled:
            heapq.heappop(self._timers)
        return self._timers[0][2] if self._timers else None


def _ignore(future: Future[Any]) -> None:
    """For calls whose caller reads the future itself."""
