"""What the maintainer knows of each infrastructure, and when its next job is due.

No threads and no clock of its own: the maintainer calls it under its lock
and gives it the time (monotonic seconds), so that it can be tested alone.

The infrastructures whose next job is due later wait in a heap by due time;
those due now wait in a queue for a worker. An infrastructure has at most one
job at a time, queued or running: two passes of it never run at once, and a
pass still running when the next one falls due is not queued twice. A heap
entry whose slot number is no longer its infrastructure's is stale (it was
rescheduled or dropped) and skipped.

A pass after one that went well is first a check (`Enactor.quiet`): a worker
begins the checks queued together and makes them at once; one that finds work
to do is queued again, first, as a full pass. The scheduler queues what falls
due within `early` seconds from now with what is due now, so that the passes
of many idle infrastructures are checked in a few batches, not one by one.
"""
from __future__ import annotations

import heapq
import itertools
import math
from collections import deque
from collections.abc import Callable
from typing import Literal

from occo.util.cancel import Cancellation

from ...backoff import MOST_WAITED, CreateBackoff

Job = Literal["pass", "check", "destroy"]
EARLY = 0.05        # share of the interval a pass may begin early, to be begun with others


def _nothing() -> None:
    pass


class Tracked:
    """One infrastructure as this process sees it (its backoff is changed only by the worker
    running its pass, the rest only under the maintainer's lock)."""

    def __init__(self, infra_id: str, interval: float, mine: bool) -> None:
        self.infra_id = infra_id
        self.backoff = CreateBackoff(interval)
        self.attached = False
        self.destroying = False         # marked for destroying in the store
        self.mine = mine                # this member maintains (or destroys) it
        self.queued = False             # waiting for a worker
        self.job: Job | None = None     # what a worker runs of it now
        self.token: Cancellation | None = None   # that job's own token
        self.slot: int | None = None    # its heap entry's number while a job is due
        self.again = False              # woken while busy: pass again as soon as it ends
        self.full_pass = True           # its next pass is not a check (first, hurried, after
                                        # one that failed or a check that found work)
        self.changed = -math.inf        # monotonic time of the last attach/detach/destroy here
        self.last_pass: float | None = None
        self.last_ok: bool | None = None
        self.destroy_failures = 0

    @property
    def busy(self) -> bool:
        return self.queued or self.job is not None

    @property
    def pass_token(self) -> Cancellation | None:
        """The token of its pass (or check) in flight, if one runs."""
        return self.token if self.job in ("pass", "check") else None


class Schedule:
    """The tracked infrastructures, the heap of due times and the queue of due jobs.

    `on_sooner` is called when a job falls due sooner than anything the
    scheduler waits for, `on_queued` when a job waits for a worker.
    """

    def __init__(self, interval: float, *, on_sooner: Callable[[], None] = _nothing,
                 on_queued: Callable[[], None] = _nothing) -> None:
        self.interval = interval
        self.early = interval * EARLY
        self.stopping = False
        self.attached: set[str] = set()       # the ids of tracked, attached ones
        self.destroying: set[str] = set()     # the ids of tracked ones marked for destroying
        self._owns: Callable[[str], bool] = lambda infra_id: False
        self._gone: dict[str, float] = {}     # id -> when its job found it gone
        self._tracked: dict[str, Tracked] = {}
        self._heap: list[tuple[float, int, str]] = []    # (due time, slot, id)
        self._slots = itertools.count()
        self._jobs: deque[str] = deque()
        self._on_sooner = on_sooner
        self._on_queued = on_queued

    # --- what is known ----------------------------------------------------------------
    def get(self, infra_id: str) -> Tracked | None:
        return self._tracked.get(infra_id)

    def track(self, infra_id: str) -> Tracked:
        state = self._tracked.get(infra_id)
        if state is None:
            state = self._tracked[infra_id] = Tracked(infra_id, self.interval,
                                                      self._owns(infra_id))
        return state

    def wanted(self, state: Tracked) -> bool:
        """Whether a job of it should run here."""
        return not self.stopping and state.mine and (state.attached or state.destroying)

    def gone_since(self, infra_id: str, moment: float) -> bool:
        """Whether a job found `infra_id` gone at or after `moment`: a reading of the store
        begun before then may still list it."""
        return self._gone.get(infra_id, -math.inf) >= moment

    def forget_gone_before(self, moment: float) -> None:
        """Readings begun from `moment` on see what was gone before it."""
        self._gone = {infra_id: at for infra_id, at in self._gone.items() if at >= moment}

    def forget_if_idle(self, state: Tracked) -> None:
        if not (state.attached or state.destroying or state.busy):
            self._tracked.pop(state.infra_id, None)

    # --- changes ----------------------------------------------------------------------
    def set_attached(self, state: Tracked, attached: bool, now: float) -> Cancellation | None:
        """Record it attached or not; the token of its pass to cancel, if it was detached."""
        state.attached = attached
        if attached:
            self.attached.add(state.infra_id)
            if self.wanted(state) and not state.busy and state.slot is None:
                self.plan(state, now)
            return None
        self.attached.discard(state.infra_id)
        if not state.destroying:     # a destroy's retry stays due
            state.slot = None
        token = state.pass_token
        self.forget_if_idle(state)
        return token

    def set_destroying(self, state: Tracked) -> Cancellation | None:
        """Record it marked for destroying: its destroy is queued first if it is ours and
        idle (one queued or running turns into the destroy when it ends); the token of its
        pass to cancel."""
        asked, state.destroying = state.destroying, True
        self.destroying.add(state.infra_id)
        if not asked:
            state.destroy_failures = 0
        if self.wanted(state) and not state.busy:    # asked again while it waits: now
            self.enqueue(state, first=True)
        return state.pass_token

    def clear_destroying(self, state: Tracked) -> None:
        """No longer marked (destroyed by another process)."""
        state.destroying = False
        self.destroying.discard(state.infra_id)
        if not state.attached:
            state.slot = None
        self.forget_if_idle(state)

    def reassign(self, owns: Callable[[str], bool], now: float) -> None:
        """Which infrastructures are this member's, once the members changed: those it takes
        are due now; a job in flight or queued of one it gives up ends as it would."""
        self._owns = owns
        for state in list(self._tracked.values()):
            mine = owns(state.infra_id)
            if mine == state.mine:
                continue
            state.mine = mine
            if self.wanted(state) and not state.busy:
                self.plan(state, now)
            elif not mine:
                state.slot = None

    def stop(self) -> None:
        """No job is wanted any more."""
        self.stopping = True

    # --- due times and the queue ------------------------------------------------------
    def plan(self, state: Tracked, due: float) -> None:
        """Its next job at `due`."""
        slot = state.slot = next(self._slots)
        sooner = not self._heap or due < self._heap[0][0]
        heapq.heappush(self._heap, (due, slot, state.infra_id))
        if sooner:
            self._on_sooner()

    def enqueue(self, state: Tracked, *, first: bool = False) -> None:
        state.slot = None
        state.queued = True
        if first:
            self._jobs.appendleft(state.infra_id)
        else:
            self._jobs.append(state.infra_id)
        self._on_queued()

    def hurry(self, infra_id: str, now: float) -> None:
        """A pass of it as soon as a worker is free, if it is wanted here."""
        state = self._tracked.get(infra_id)
        if state is None or not self.wanted(state):
            return
        state.full_pass = True              # it was woken for work a check would find
        if state.job is not None:
            state.again = True
        elif state.queued:
            if self._jobs[0] != infra_id:
                self._jobs.remove(infra_id)
                self._jobs.appendleft(infra_id)
        else:
            self.enqueue(state, first=True)

    def dispatch_due(self, now: float) -> None:
        """Queue every job due by `now`."""
        while self._heap and self._heap[0][0] <= now:
            _, slot, infra_id = heapq.heappop(self._heap)
            state = self._tracked.get(infra_id)
            if state is None or state.slot != slot:
                continue
            state.slot = None
            if self.wanted(state):
                self.enqueue(state)
            else:
                self.forget_if_idle(state)

    def next_due(self) -> float:
        """When the first job in the heap falls due (infinity: none)."""
        return self._heap[0][0] if self._heap else math.inf

    @property
    def has_jobs(self) -> bool:
        return bool(self._jobs)

    def begin(self, token: Cancellation) -> tuple[Tracked, Job] | None:
        """The next queued job that is still wanted, now running under `token`; None when
        the queue holds no such job."""
        state = self._next_wanted()
        if state is None:
            return None
        job: Job = ("destroy" if state.destroying
                    else "pass" if state.full_pass else "check")
        if job == "pass":
            state.full_pass = False
        state.job, state.token = job, token
        return state, job

    def begin_checks(self, limit: int) -> list[Tracked]:
        """Up to `limit` checks queued next, now running (each under a token of its own), to
        be made with the one just begun; the first job that is no check ends them."""
        begun: list[Tracked] = []
        while len(begun) < limit and (state := self._next_wanted()) is not None:
            if state.destroying or state.full_pass:     # no check: back first in line
                state.queued = True
                self._jobs.appendleft(state.infra_id)
                break
            state.job, state.token = "check", Cancellation()
            begun.append(state)
        return begun

    def _next_wanted(self) -> Tracked | None:
        """The next queued infrastructure whose job is still wanted, off the queue (those no
        longer wanted are dropped on the way); None when none is left."""
        while self._jobs:
            state = self._tracked.get(self._jobs.popleft())
            if state is None:       # not expected: a queued one is never forgotten
                continue
            state.queued = False
            if self.wanted(state):
                return state
            self.forget_if_idle(state)
        return None

    def pass_in_full(self, state: Tracked) -> None:
        """Its check found work: a full pass as soon as a worker is free (which also does
        what a wake during the check asked)."""
        state.job, state.token = None, None
        state.full_pass, state.again = True, False
        if self.wanted(state):
            self.enqueue(state, first=True)
        else:
            self.forget_if_idle(state)

    def ended(self, state: Tracked, now: float, *, passed: tuple[float, bool] | None = None,
              next_pass: float | None = None, gone: bool = False, retry: bool = False) -> None:
        """A job of `state` ended: record it and plan what comes next. `passed`: (epoch
        start, ok) of a pass; `next_pass`: when the next is due; `gone`: it no longer exists;
        `retry`: the job failed (a destroy is tried again less and less often)."""
        was, state.job, state.token = state.job, None, None
        if passed is not None:
            state.last_pass, state.last_ok = passed
            state.full_pass = state.full_pass or not state.last_ok
        if gone:
            state.changed = self._gone[state.infra_id] = now
            state.destroying = False
            self.destroying.discard(state.infra_id)
            self.set_attached(state, False, now)
            return
        if state.destroying and self.wanted(state):
            if was == "destroy" and retry:
                state.destroy_failures += 1
                wait = min(MOST_WAITED, self.interval * 2 ** (state.destroy_failures - 1))
                self.plan(state, now + wait)
            elif was == "destroy":
                self.plan(state, next_pass if next_pass is not None else now)
            else:                            # the pass it cancelled: destroy now
                self.enqueue(state, first=True)
        elif not state.destroying and self.wanted(state):
            due = now if state.again else (next_pass or now + self.interval)
            state.again = False
            self.plan(state, due)
        else:
            self.forget_if_idle(state)
