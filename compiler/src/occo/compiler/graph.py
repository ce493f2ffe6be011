"""Ordering nodes by their dependencies, in time linear in nodes plus edges."""
from __future__ import annotations

from collections.abc import Mapping, Sequence


class CycleError(Exception):
    """The dependencies form a cycle; `cycle` lists it, each node needing the next."""

    def __init__(self, cycle: list[str]) -> None:
        super().__init__(" -> ".join(cycle))
        self.cycle = cycle


def topological_levels(names: Sequence[str],
                       depends_on: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Levels of nodes: each level depends only on earlier ones (Kahn's algorithm).

    Level 0 keeps the given order; later levels keep the order in which their
    last dependency was satisfied, so the result is deterministic.
    """
    waiting = {name: len(depends_on.get(name, ())) for name in names}
    dependents: dict[str, list[str]] = {name: [] for name in names}
    for name in names:
        for dependee in depends_on.get(name, ()):
            dependents[dependee].append(name)
    level = [name for name in names if waiting[name] == 0]
    levels = []
    placed = 0
    while level:
        levels.append(level)
        placed += len(level)
        following = []
        for name in level:
            for dependent in dependents[name]:
                waiting[dependent] -= 1
                if waiting[dependent] == 0:
                    following.append(dependent)
        level = following
    if placed < len(names):
        raise CycleError(find_cycle([n for n in names if waiting[n] > 0], depends_on, waiting))
    return levels


def find_cycle(remaining: list[str], depends_on: Mapping[str, Sequence[str]],
               waiting: Mapping[str, int]) -> list[str]:
    """A cycle among nodes that were never placed.

    Each unplaced node waits on at least one unplaced dependee, so following
    such dependees from any of them must come back to a node already seen.
    """
    position: dict[str, int] = {}
    path: list[str] = []
    name = remaining[0]
    while name not in position:
        position[name] = len(path)
        path.append(name)
        name = next(d for d in depends_on[name] if waiting.get(d, 0) > 0)
    return path[position[name]:] + [name]
