"""What the parts of one execution share: the instances it follows, its workers, its writes,
its dependency walk and what it reports."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from ..record import InstanceRecord
from .dispatcher import Dispatcher, Timer
from .pacing import Boot
from .parts import Parts
from .progress import Step
from .results import NodeResult, Outcome
from .walk import DependencyWalk
from .writes import WriteBehind

log = logging.getLogger("occo.infraprocessor.engine")


@dataclass(eq=False)
class Tracked:
    """An instance the execution follows until it is ready, or rolled back."""

    record: InstanceRecord
    owned: bool                     # created here; False: an existing one its dependents wait for
    started: float                  # monotonic, for elapsed times
    section: str                    # its resource section (`section_key`): what boots alike
    boot: Boot | None = None        # once it boots: what paces its polls
    timer: Timer | None = None      # the next poll, when one is due
    busy: bool = False              # a call for it is in flight
    unsaved: bool = False           # `record` is newer than what was given to the write-behind
    done: bool = False
    unhealthy: bool = False         # a health check of it failed: a failing period may be stored


class ExecutionState:
    """Used from the thread that owns the store, but `stopping`, which any thread may set."""

    def __init__(self, parts: Parts, infra_id: str, fence: int | None) -> None:
        self.parts = parts
        self.infra_id = infra_id
        self.stopping = threading.Event()      # start nothing new; cut short create retries
        self.dispatcher = Dispatcher(parts.tuning.max_workers)
        self.operations = parts.operations(self.stopping)
        self.writes = WriteBehind(parts.store, infra_id, fence, parts.clock)
        self.walk = DependencyWalk(())
        self.tracked: dict[str, Tracked] = {}
        self.results: list[NodeResult] = []
        self.problems: list[str] = []
        self.unswept: dict[str, str] = {}      # a cloud or config manager (described) -> why
        self.halted = False                    # cancelled, and what had not started given up

    def call(self, tracked: Tracked, function: Callable[[Any], Any], argument: Any, *,
             then: Callable[[Tracked, Future[Any]], None]) -> None:
        """`function(argument)` in a worker, the instance busy meanwhile; `then` after."""
        tracked.busy = True

        def returned(future: Future[Any]) -> None:
            tracked.busy = False
            then(tracked, future)
        self.dispatcher.submit(function, argument, then=returned)

    def progress(self, name: str, node_id: str | None, step: Step, started: float) -> None:
        try:
            self.parts.progress.on_node(name, node_id, step, time.monotonic() - started)
        except Exception:      # a display must not stop a build
            log.exception("the progress callback failed on %s %s %s", name, node_id, step)

    def finish(self, name: str, node_id: str | None, outcome: Outcome,
               reason: str | None) -> None:
        self.results.append(NodeResult(name, node_id, outcome, reason))
