"""What an engine is made of, handed down as one value to each execution, recovery and survey.

An execution, a recovery and a survey each need the engine's store, router,
handlers, checker and tuning; they take a `Parts` rather than the engine, so
that they depend on nothing above them.
"""
from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from occo.infobroker.auth import CredentialSource
from occo.infobroker.broker import InfoRouter
from occo.infobroker.store.base import Store
from occo.resourcehandler.guard import ResourceHandlers
from occo.util.config import Settings

from ..health import FailingPeriods, HealthChecker
from .backends import Backends
from .operations import Operations
from .progress import Progress
from .retry import Backoff, Retrier


@dataclass(frozen=True)
class Tuning:
    """How the engine paces itself.

    `max_workers` bounds the node operations in flight at once (each
    backend's own limits apply on top, in the guard). Its calls wait on
    clouds rather than compute, and the pool starts threads only as work
    comes, so the bound is set to let a whole level of a large
    infrastructure (hundreds of creates) go at once: 32 made 250 creates of
    50 ms each take 0.4 s in turns, all of it on the build's critical path.

    Failed cloud calls are made `attempts` times in all with `retry`
    delays, which are "full jitter" (anything up to the delay): most
    transient errors are one call in many (a 503 from one busy server), so
    the first retries come at once, within 5, 10, 20 ms, while the doubling
    reaches a second within eight, for a cloud in real trouble. Each failed retry
    of a create delays its instance's boot, and everything waiting for it:
    with a fifth of calls failing, the unluckiest of 250 creates fails four
    times or five, and delays from 25 ms made that a third of a second a
    level (from 0.2 s, seconds). Twelve attempts wait 10 s at most, more
    patience than before. What bounds the calls a cloud in trouble gets is
    its backend's limits (`plugins: {TYPE: {concurrency, rate_per_second}}`),
    retries included.

    Readiness is polled as `pacing` says: `poll` delays of a quarter of the
    time booted so far (0.25 s at least, the original's fixed 10 s at most),
    so that an instance is seen ready at most a quarter of its boot time
    late, and sooner once a peer of it is.

    `settle` is how long a create sent just before a crash may take to be
    carried out: recovery waits for an intent that young (see `recovery`).
    """

    max_workers: int = 256
    attempts: int = 12
    retry: Backoff = field(default_factory=lambda: Backoff(0.005, 2.0, 10.0, jitter=1.0))
    poll: Backoff = field(default_factory=lambda: Backoff(0.25, 1.25, 10.0, jitter=0.5))
    settle: float = 10.0


@dataclass(frozen=True)
class Parts:
    """The store and the router the engine acts through, its clouds (`handlers`), how it
    checks and paces nodes; `clock` gives epoch seconds (record times, failing periods)."""

    store: Store
    router: InfoRouter
    handlers: ResourceHandlers
    settings: Settings
    auth_data: CredentialSource | None
    checker: HealthChecker
    rng: random.Random
    clock: Callable[[], float]
    progress: Progress
    tuning: Tuning
    strategy: str
    failing: FailingPeriods = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "failing", FailingPeriods(self.store, clock=self.clock))

    def operations(self, stopping: threading.Event) -> Operations:
        """The blocking calls of one execution or recovery; creates stop retrying at
        `stopping`, drops and listings never do (a rollback must not stop half-way)."""
        return Operations(
            Backends(self.handlers, self.auth_data, self.settings.ssh), self.checker,
            create_retrier=Retrier(self.tuning.retry, self.tuning.attempts, rng=self.rng,
                                   sleep=stopping.wait),
            retrier=Retrier(self.tuning.retry, self.tuning.attempts, rng=self.rng,
                            sleep=_sleep), clock=self.clock)


def _sleep(seconds: float) -> bool:
    """Wait, never cut short."""
    time.sleep(seconds)
    return False
