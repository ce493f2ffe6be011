"""Grouping instances into calls: by the connection their resource reaches, as many in a call
as the cloud declares it takes."""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from operator import attrgetter
from typing import Any, TypeVar

from occo.resourcehandler.guard import GuardedHandler
from occo.util.errors import OccoError

from .backends import Backends

T = TypeVar("T")
PerCall = Callable[[GuardedHandler], int]
CREATES_PER_CALL: PerCall = attrgetter("capabilities.creates_per_call")
STATES_PER_CALL: PerCall = attrgetter("capabilities.states_per_call")


def call_group(backends: Backends, resource: Mapping[str, Any],
               per_call: PerCall) -> tuple[Any, int]:
    """The connection a resource's calls go to (its handler), and how many instances one
    call there takes (`per_call` of the handler); a handler that cannot be built is a group
    of one per section (each call says why)."""
    try:
        cloud = backends.cloud(resource)
    except OccoError:
        return backends.key(resource), 1
    return cloud, per_call(cloud)


def batches(backends: Backends, items: Sequence[T], resource_of: Callable[[T], Mapping[str, Any]],
            per_call: PerCall) -> Iterator[list[T]]:
    """The items by the connection their resource reaches, in runs of as many as their cloud
    takes in a call (`per_call` of its handler)."""
    groups: dict[Any, list[T]] = {}
    sizes: dict[Any, int] = {}
    for item in items:
        cloud, sizes[cloud] = call_group(backends, resource_of(item), per_call)
        groups.setdefault(cloud, []).append(item)
    for cloud, same in groups.items():
        size = sizes[cloud]
        for start in range(0, len(same), size):
            yield same[start:start + size]
