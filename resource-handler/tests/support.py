"""Helpers shared by the tests: a clock the test turns, and threads run to the end."""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterable


class Clock:
    """A clock that moves only when the test sets `now`."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def run_threads(targets: Iterable[Callable[[], object]]) -> list[BaseException]:
    """Run each target in a thread of its own, all at once; return what they raised."""
    failures: list[BaseException] = []

    def run(target: Callable[[], object]) -> None:
        try:
            target()
        except BaseException as error:     # a thread's failure must reach the test
            failures.append(error)
    threads = [threading.Thread(target=run, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures
