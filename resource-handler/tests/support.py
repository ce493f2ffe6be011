"""Helpers shared by the tests: a clock the test turns, and threads run to the end."""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from occo.util.nodes import NodeState, ResolvedNode

from occo.resourcehandler.base import Instance, ResourceError, ResourceHandler


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


def create_one(handler: ResourceHandler, node: ResolvedNode) -> Instance:
    """`create_nodes` of one node: its instance, or its error raised."""
    [made] = handler.create_nodes([node])
    if isinstance(made, ResourceError):
        raise made
    return made


def state_of(handler: ResourceHandler, instance: Instance) -> NodeState:
    """The state `get_states` tells of one instance."""
    return handler.get_states([instance])[0].state
