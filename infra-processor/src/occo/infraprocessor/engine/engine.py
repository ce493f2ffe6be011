"""The engine: executes instructions against real backends, and recovers after a crash.

    engine = Engine(store, router, ResourceHandlers(settings), settings=settings,
                    auth_data=auth_data, progress=table)
    engine.recover(infra_id, fence=lease.token)          # at the start of every pass
    result = engine.execute(infra_id, plan.actions, static.nodes, fence=lease.token)

The caller holds the infrastructure's lease and passes its fencing token:
every record write carries it, so a command whose lease was taken over
cannot overwrite its successor's records. One call at a time, from the
thread that owns `store` (its handlers and the router's store provider);
the engine's worker threads never touch the store. `cancel()` may come from
any thread or a signal handler.
"""
from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from occo.infobroker.auth import CredentialSource
from occo.infobroker.broker import InfoRouter
from occo.infobroker.selection import DEFAULT_STRATEGY
from occo.infobroker.store.base import Store
from occo.resourcehandler.guard import ResourceHandlers
from occo.util.config import Settings

from ..health import FailingPeriods, HealthChecker
from ..instructions import Instruction
from .backends import Backends
from .execution import Execution
from .operations import Operations
from .progress import NoProgress, Progress
from .recovery import Recovery
from .results import ExecutionResult, RecoveryReport
from .retry import Backoff, Retrier
from .survey import InstanceStatus, Survey


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


class Engine:
    """Executes create and drop instructions in parallel, crash-safe through the store."""

    def __init__(self, store: Store, router: InfoRouter, handlers: ResourceHandlers, *,
                 settings: Settings | None = None, auth_data: CredentialSource | None = None,
                 checker: HealthChecker | None = None, rng: random.Random | None = None,
                 clock: Callable[[], float] = time.time, progress: Progress | None = None,
                 tuning: Tuning | None = None, strategy: str = DEFAULT_STRATEGY) -> None:
        """`router` answers the templates' queries from `store`; `clock` gives epoch seconds
        (record times, failing periods); `strategy` chooses among a node's implementations."""
        self.store = store
        self.router = router
        self.handlers = handlers
        self.settings = settings or Settings()
        self.auth_data = auth_data
        self.checker = checker or HealthChecker()
        self.rng = rng or random.Random()
        self.clock = clock
        self.progress: Progress = progress or NoProgress()
        self.tuning = tuning or Tuning()
        self.strategy = strategy
        self.failing = FailingPeriods(store, clock=clock)
        self._cancelled = threading.Event()
        self._current: Execution | None = None

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def execute(self, infra_id: str, instructions: Sequence[Instruction],
                nodes: Mapping[str, Mapping[str, Any]], *, fence: int | None) -> ExecutionResult:
        """Carry out a plan's instructions; a result per node instance.

        `nodes` are the compiled node descriptions by name (the static
        description's `nodes`), which `CreateNodes` instances are resolved
        from. Node failures are results, not exceptions; a store write that
        is refused (`StaleFenceError`) stops the execution and is raised.
        """
        execution = Execution(self, infra_id, fence=fence, nodes=nodes)
        self._current = execution
        if self.cancelled:
            execution.stop()
        try:
            return execution.run(instructions)
        finally:
            self._current = None

    def recover(self, infra_id: str, *, fence: int | None) -> RecoveryReport:
        """Match the infrastructure's records against what its clouds own (see `recovery`)."""
        return Recovery(self, infra_id, fence=fence).run()

    def survey(self, infra_id: str, *, fence: int | None) -> list[InstanceStatus]:
        """The live state of every stored instance (see `survey`); writes back only with `fence`."""
        return Survey(self, infra_id, fence=fence).run()

    def cancel(self) -> None:
        """Start no new work: instances in flight finish or are rolled back. Stays cancelled."""
        self._cancelled.set()
        execution = self._current
        if execution is not None:
            execution.stop()

    def interrupt(self) -> None:
        """Stop the execution in flight as `cancel` does, leaving later calls free to run
        (a pass that lost its lease stops; the next pass of `maintain -c` still comes)."""
        execution = self._current
        if execution is not None:
            execution.stop()

    def operations(self, stopping: threading.Event) -> Operations:
        """The blocking calls of one execution or recovery; creates stop retrying at `stopping`."""
        return Operations(
            Backends(self.handlers, self.auth_data), self.checker,
            create_retrier=Retrier(self.tuning.retry, self.tuning.attempts, rng=self.rng,
                                   sleep=stopping.wait),
            retrier=Retrier(self.tuning.retry, self.tuning.attempts, rng=self.rng,
                            sleep=_sleep))


def _sleep(seconds: float) -> bool:
    """Wait, never cut short: a rollback must not stop half-way."""
    time.sleep(seconds)
    return False
