"""When each `CreateNodes` may start: a dependency walk per node type, not per level.

A node type starts as soon as every instance of each type it waits for is
ready, whatever else of the same topological level is still booting: a slow
database does not hold back an unrelated chain. It also waits while
instances of those types are being dropped (a template must not read the
address of a node on its way out). A type whose instance failed, or whose
creation was skipped, makes every type waiting for it skipped in turn.

The walk only counts; the execution tells it what happened to each instance.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from occo.util.errors import OccoError

from ..instructions import CreateNodes


class StuckWalk(OccoError):
    """The instructions wait for each other, so none of them can start."""


def with_address_waits(creates: Sequence[CreateNodes],
                       asked: Mapping[str, frozenset[str]]) -> list[CreateNodes]:
    """The creates, each also waiting for the nodes whose addresses its templates ask for
    (`asked`, by node name): the original's files rely on a node listed earlier having an
    address (puppet-solo-wordpress declares no dependency at all). A wait that would close
    a cycle among the creates is left out: that node's template then says the address is
    missing, as it would have."""
    waits = {create.node_name: set(create.waits_for) for create in creates}

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            name = todo.pop()
            if name == goal:
                return True
            if name not in seen:
                seen.add(name)
                todo.extend(waits.get(name, ()))
        return False

    for create in creates:
        for name in sorted(asked.get(create.node_name, frozenset()) - {create.node_name}):
            if name not in waits[create.node_name] and not reaches(name, create.node_name):
                waits[create.node_name].add(name)
    return [create if waits[create.node_name] == create.waits_for
            else CreateNodes(create.node_name, create.count, frozenset(waits[create.node_name]))
            for create in creates]


class DependencyWalk:
    """The `CreateNodes` of one execution and the instances their dependencies have in flight."""

    def __init__(self, creates: Sequence[CreateNodes], dropping: Iterable[str] = ()) -> None:
        self._waiting = list(creates)
        self._unfinished: Counter[str] = Counter()    # instances neither ready nor failed, by type
        self._dropping = Counter(dropping)           # drops in flight, by type
        self._failed: dict[str, str] = {}             # type -> what became of it: "failed", ...

    @property
    def waiting(self) -> tuple[CreateNodes, ...]:
        return tuple(self._waiting)

    def watch(self, node_name: str) -> None:
        """An existing instance of `node_name` that is not ready yet: its dependents wait for it."""
        self._unfinished[node_name] += 1

    def ready(self, node_name: str) -> None:
        self._unfinished[node_name] -= 1

    def failed(self, node_name: str) -> None:
        """An instance of `node_name` failed: its dependents will be skipped."""
        self._unfinished[node_name] -= 1
        self._failed.setdefault(node_name, "failed")

    def dropped(self, node_name: str) -> None:
        self._dropping[node_name] -= 1

    def advance(self) -> tuple[list[CreateNodes], list[tuple[CreateNodes, str]]]:
        """The creates that may start now, and those to skip with the reason.

        The instances of a create returned to start count as unfinished from
        now on: the caller reports each one `ready` or `failed`.
        """
        start: list[CreateNodes] = []
        skip: list[tuple[CreateNodes, str]] = []
        changed = True
        while changed:
            changed = False
            for create in list(self._waiting):
                failed = sorted(name for name in create.waits_for if name in self._failed)
                if failed:
                    skip.append((create, f"'{failed[0]}', which it depends on, "
                                         f"{self._failed[failed[0]]}"))
                    self._failed.setdefault(create.node_name, "was skipped")
                elif not any(self._busy(name, create) for name in create.waits_for):
                    self._unfinished[create.node_name] += create.count
                    start.append(create)
                else:
                    continue
                self._waiting.remove(create)
                changed = True
        return start, skip

    def cancel(self) -> list[CreateNodes]:
        """Give up every create not started yet; they are returned."""
        cancelled, self._waiting = self._waiting, []
        for create in cancelled:
            self._failed.setdefault(create.node_name, "was cancelled")
        return cancelled

    def check_progress(self) -> None:
        """Call when nothing is in flight: creates still waiting then wait for each other."""
        if self._waiting:
            raise StuckWalk("these creates wait for each other and cannot start: "
                            + "; ".join(create.describe() for create in self._waiting),
                            hint="the instructions' waits_for must not form a cycle")

    def _busy(self, name: str, create: CreateNodes) -> bool:
        """Instances of `name` are not all ready yet, or some are being dropped."""
        return (self._unfinished[name] > 0 or self._dropping[name] > 0
                or any(other.node_name == name for other in self._waiting if other is not create))
