"""Delays that grow, and retrying cloud calls that failed transiently.

`Backoff` gives both the retry delays and the readiness polling interval:
small at first, so that a fast node or a short hiccup costs little, growing
by `factor` up to `cap`, so that a slow one is not hammered. Jitter spreads
the retries of many nodes that failed together (one rate limit hits them
all) so they do not come back in lockstep. Retries take `delays()`, one
after the other; readiness polls take `paced(elapsed)`, a delay in
proportion to the time waited so far (see `pacing`).

`Retrier` retries a call while it fails with a `TransientError`, waiting
at least what the error's `retry_after` says (a throttled API); a
`PermanentError` (or any other failure) is raised at once. `call_each`
does so for a call that answers many items, each with its value or its
error, asking again for those that failed transiently. Retrying a create
is safe only because plugins make it idempotent for the node id: the retry
gets the resource the first attempt made, never a second one.
"""
from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from occo.resourcehandler.base import TransientError

log = logging.getLogger("occo.infraprocessor.engine")

# the longest a cloud's Retry-After is waited: an answer of hours (or `inf`) is no reason to
# stall a build; past it the call is tried again, and throttled again if it must be
LONGEST_WAIT = 300.0

T = TypeVar("T")
Item = TypeVar("Item")


@dataclass(frozen=True)
class Backoff:
    """Delays from `initial` growing by `factor` up to `cap` seconds.

    `jitter` is the part of each delay left to chance: 0.5 gives between half
    and all of it, 0 gives it exactly.
    """

    initial: float
    factor: float = 2.0
    cap: float = 10.0
    jitter: float = 0.0

    def __post_init__(self) -> None:
        if not (0 < self.initial <= self.cap and self.factor >= 1 and 0 <= self.jitter <= 1):
            raise ValueError(f"a backoff needs 0 < initial <= cap, factor >= 1 and "
                             f"0 <= jitter <= 1, not {self}")

    def delays(self, rng: random.Random) -> Iterator[float]:
        """The delays, without end."""
        delay = self.initial
        while True:
            yield delay * (1 - self.jitter * rng.random())
            delay = min(self.cap, delay * self.factor)

    def paced(self, elapsed: float, rng: random.Random) -> float:
        """The delay after waiting `elapsed` seconds: `factor - 1` of it, within `initial`
        and `cap`, less up to `jitter` of it by chance.

        Why not the next of `delays()`: those grow by themselves, so time spent
        in the calls between them, or in calls that failed, is not counted,
        and the delay after a wait of T may be anything up to `factor - 1`
        of the sum of the delays before. Paced on the time really waited, a
        poll comes at most `factor - 1` of T (and at most `cap`) after the
        moment it waited for, however long that took.
        """
        delay = min(self.cap, max(self.initial, (self.factor - 1) * elapsed))
        return delay * (1 - self.jitter * rng.random())


class Retrier:
    """Makes a call up to `attempts` times while it fails transiently.

    `sleep(seconds)` waits between attempts and returns True when the caller
    wants no more attempts (the engine was cancelled): the last error is then
    raised without waiting for the rest.
    """

    def __init__(self, backoff: Backoff, attempts: int, *, rng: random.Random,
                 sleep: Callable[[float], bool]) -> None:
        if attempts < 1:
            raise ValueError(f"attempts must be at least 1, not {attempts}")
        self.backoff = backoff
        self.attempts = attempts
        self.rng = rng
        self.sleep = sleep

    def call(self, what: str, function: Callable[[], T]) -> T:
        """`function()`; its last `TransientError` once attempts run out or a sleep is cut short."""
        delays = self.backoff.delays(self.rng)
        attempt = 0
        while True:
            attempt += 1
            try:
                return function()
            except TransientError as error:
                if attempt >= self.attempts:
                    raise TransientError(f"{error.message} (gave up after {attempt} attempts)",
                                         hint=error.hint) from error
                delay = max(next(delays), _asked(error))
                log.info("%s failed (attempt %d of %d), retrying in %.2f s: %s", what, attempt,
                         self.attempts, delay, error.message)
                if self.sleep(delay):
                    raise

    def call_each(self, what: str, function: Callable[[Sequence[Item]], Sequence[T | Exception]],
                  items: Sequence[Item]) -> list[T | Exception]:
        """`function(items)`'s answer for each item, asking again, up to `attempts` calls in
        all, for the items answered with a `TransientError` (or all of them, when the whole
        call failed so); each item ends with its value or its last error."""
        answers: dict[int, T | Exception] = {}
        pending = list(range(len(items)))
        delays = self.backoff.delays(self.rng)
        attempt = 0
        while pending:
            attempt += 1
            try:
                got: Sequence[T | Exception] = function([items[index] for index in pending])
            except TransientError as error:
                got = [error] * len(pending)
            failed = [(index, answer) for index, answer in zip(pending, got, strict=True)
                      if isinstance(answer, TransientError)]
            answers.update((index, answer) for index, answer in zip(pending, got))
            if not failed:
                break
            if attempt >= self.attempts:
                for index, error in failed:
                    answers[index] = TransientError(
                        f"{error.message} (gave up after {attempt} attempts)", hint=error.hint)
                break
            delay = max([next(delays), *(_asked(error) for _, error in failed)])
            log.info("%s: %d of %d failed (attempt %d of %d), retrying in %.2f s: %s", what,
                     len(failed), len(pending), attempt, self.attempts, delay,
                     failed[0][1].message)
            if self.sleep(delay):
                break
            pending = [index for index, _ in failed]
        return [answers[index] for index in range(len(items))]


def _asked(error: TransientError) -> float:
    """What the cloud asked to be waited, within [0, LONGEST_WAIT] (NaN: nothing)."""
    asked = error.retry_after or 0.0
    return min(LONGEST_WAIT, asked) if asked > 0 else 0.0
