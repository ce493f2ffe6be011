"""Helpers shared by the tests: a clock the test turns, threads run to the end (the kit's),
and one node made or asked about."""
from __future__ import annotations


from occo.util.nodes import NodeState, ResolvedNode

from occo.resourcehandler.base import Instance, ResourceError, ResourceHandler
from occo.resourcehandler.conformance import run_threads  # noqa: F401 (the tests import it here)


class Clock:
    """A clock that moves only when the test sets `now`."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def create_one(handler: ResourceHandler, node: ResolvedNode) -> Instance:
    """`create_nodes` of one node: its instance, or its error raised."""
    [made] = handler.create_nodes([node])
    if isinstance(made, ResourceError):
        raise made
    return made


def state_of(handler: ResourceHandler, instance: Instance) -> NodeState:
    """The state `get_states` tells of one instance."""
    return handler.get_states([instance])[0].state
