"""How many calls a backend gets at once and per second, shared by all its handlers.

Limits come from the configuration (`plugins: {ec2: {concurrency: 4,
rate_per_second: 2}}`) per plugin type and apply per backend (`backend_key`:
type and endpoint): two clouds of one type each get the full allowance, and
every handler built for the same cloud shares one `Limiter`. Nothing
configured means no limit.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from occo.util.config import PluginSettings, Settings

Clock = Callable[[], float]


class TokenBucket:
    """`rate` tokens a second, holding at most `capacity`; thread-safe.

    `reserve` is for callers that wait their turn (the handlers' limiter);
    `try_take` for servers that refuse instead (simcloud's 429).
    """

    def __init__(self, rate: float, capacity: float = 1.0, clock: Clock = time.monotonic) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError(f"a token bucket needs rate > 0 and capacity >= 1, "
                             f"not {rate!r} and {capacity!r}")
        self.rate = rate
        self.capacity = capacity
        self._clock = clock
        self._tokens = capacity
        self._stamp = clock()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take a token, going into debt if need be; the seconds to wait before using it."""
        with self._lock:
            self._refill()
            self._tokens -= 1
            return max(0.0, -self._tokens / self.rate)

    def try_take(self) -> float:
        """Take a token if one is there (0.0); otherwise the seconds until one will be."""
        with self._lock:
            self._refill()
            if self._tokens >= 1:
                self._tokens -= 1
                return 0.0
            return (1 - self._tokens) / self.rate

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now


class Limiter:
    """At most `concurrency` calls at once, started at most `rate_per_second` a second.

    Calls are spaced evenly (a bucket of one token), so the backend never
    sees a burst above the rate. A call first takes a concurrency slot, then
    waits for its turn, so that the rate holds when the call really starts.
    """

    def __init__(self, concurrency: int | None = None, rate_per_second: float | None = None,
                 *, clock: Clock = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.concurrency = concurrency
        self.rate_per_second = rate_per_second
        self._slots = threading.BoundedSemaphore(concurrency) if concurrency else None
        self._bucket = TokenBucket(rate_per_second, clock=clock) if rate_per_second else None
        self._sleep = sleep

    @classmethod
    def from_settings(cls, settings: PluginSettings) -> Limiter:
        return cls(settings.concurrency, settings.rate_per_second)

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold a place for one call for the duration of the `with` block."""
        if self._slots is not None:
            self._slots.acquire()
        try:
            if self._bucket is not None:
                delay = self._bucket.reserve()
                if delay > 0:
                    self._sleep(delay)
            yield
        finally:
            if self._slots is not None:
                self._slots.release()


class Limits:
    """The limiters of every backend in use, built on first use from the settings."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._limiters: dict[str, Limiter] = {}
        self._lock = threading.Lock()

    def for_backend(self, type_name: str, backend_key: str) -> Limiter:
        """The one limiter of a backend, with the limits configured for its plugin type."""
        with self._lock:
            limiter = self._limiters.get(backend_key)
            if limiter is None:
                limiter = Limiter.from_settings(self._settings.plugin(type_name))
                self._limiters[backend_key] = limiter
            return limiter
