"""Grouping instances into calls: by the connection their resource reaches, as many in a call
as the cloud declares it takes."""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from operator import attrgetter
from typing import Any

from occo.resourcehandler.guard import GuardedHandler
from occo.util.errors import OccoError

from .state import ExecutionState, Tracked

PerCall = Callable[[GuardedHandler], int]
CREATES_PER_CALL: PerCall = attrgetter("capabilities.creates_per_call")
STATES_PER_CALL: PerCall = attrgetter("capabilities.states_per_call")


def call_group(state: ExecutionState, tracked: Tracked,
               per_call: PerCall) -> tuple[Any, int]:
    """The connection an instance's calls go to (its handler), and how many instances one
    call there takes (`per_call` of the handler); a handler that cannot be built is a group
    of one per section (each call says why)."""
    try:
        cloud = state.operations.backends.cloud(tracked.record.resource)
    except OccoError:
        return tracked.section, 1
    return cloud, per_call(cloud)


def batches(state: ExecutionState, tracked: Sequence[Tracked],
            per_call: PerCall) -> Iterator[list[Tracked]]:
    """The instances by the connection their resource reaches, in runs of as many as their
    cloud takes in a call (`per_call` of its handler)."""
    groups: dict[Any, list[Tracked]] = {}
    sizes: dict[Any, int] = {}
    for one in tracked:
        cloud, sizes[cloud] = call_group(state, one, per_call)
        groups.setdefault(cloud, []).append(one)
    for cloud, same in groups.items():
        size = sizes[cloud]
        for start in range(0, len(same), size):
            yield same[start:start + size]
