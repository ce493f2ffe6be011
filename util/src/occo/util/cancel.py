"""A cancellation token: a request to stop, shared by whoever may ask and whoever must obey.

One token per unit of work lets one process run many of them side by side
and stop one without the others. Tokens nest: a child is cancelled with its
parent, or alone. A command's Ctrl+C cancels its root token; a service's
SIGTERM cancels its root, which reaches every pass; a lost lease cancels only
the pass that held it.

`cancel()` is safe from any thread and from a signal handler (the lock is
reentrant, so a handler that interrupts the main thread inside `on_cancel`
cannot deadlock it).
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Cancellation:
    """`token.cancel()` asks; `token.cancelled`, `token.wait()` and `token.on_cancel()` obey."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.RLock()
        self._callbacks: dict[int, Callable[[], None]] = {}
        self._next = 0

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def cancel(self) -> None:
        """Cancel this token and its children; the callbacks run once, in this thread."""
        with self._lock:
            if self._event.is_set():
                return
            self._event.set()
            callbacks, self._callbacks = list(self._callbacks.values()), {}
        for callback in callbacks:
            callback()

    def wait(self, timeout: float | None = None) -> bool:
        """Sleep until cancelled or `timeout` seconds passed; whether it was cancelled."""
        return self._event.wait(timeout)

    def on_cancel(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback` when cancelled (now, if it already is); returns the unsubscriber."""
        with self._lock:
            if not self._event.is_set():
                key = self._next
                self._next += 1
                self._callbacks[key] = callback
                return lambda: self._forget(key)
        callback()
        return lambda: None

    @contextmanager
    def child(self) -> Iterator[Cancellation]:
        """`with token.child() as sub:` a token cancelled with this one, or alone; it stops
        following this one at the end of the block, so a long-lived parent holds no children."""
        sub = Cancellation()
        unsubscribe = self.on_cancel(sub.cancel)
        try:
            yield sub
        finally:
            unsubscribe()

    def _forget(self, key: int) -> None:
        with self._lock:
            self._callbacks.pop(key, None)
