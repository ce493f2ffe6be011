"""The build order, computed from the components' declared sibling dependencies."""
from __future__ import annotations

import graphlib
from dataclasses import dataclass

from packaging.utils import canonicalize_name

from .errors import DevError
from .repo import Component, Repo


@dataclass(frozen=True)
class BuildGraph:
    """Sibling edges and the topological levels they give."""

    edges: dict[str, tuple[str, ...]]   # folder -> folders it depends on
    levels: tuple[tuple[str, ...], ...]  # level 0 first; names sorted within a level

    @property
    def order(self) -> list[str]:
        return [name for level in self.levels for name in level]

    def closure(self, folder: str) -> list[str]:
        """Every component `folder` needs, directly or not, in build order."""
        needed: set[str] = set()
        stack = list(self.edges[folder])
        while stack:
            name = stack.pop()
            if name not in needed:
                needed.add(name)
                stack.extend(self.edges[name])
        return [name for name in self.order if name in needed]

    def dependents(self, folder: str) -> list[str]:
        """Every component that needs `folder`, directly or not, in build order."""
        return [name for name in self.order if folder in self.closure(name)]

    def sort(self, folders: list[str]) -> list[str]:
        return [name for name in self.order if name in set(folders)]

    def as_json(self) -> dict:
        return {"order": self.order,
                "levels": [list(level) for level in self.levels],
                "edges": {name: list(deps) for name, deps in self.edges.items()}}


def build_graph(repo: Repo) -> BuildGraph:
    """Topological levels of the components; a cycle is an error naming it."""
    edges = {c.folder: tuple(sorted(s.folder for s in repo.siblings_of(c)))
             for c in repo.components.values()}
    sorter = graphlib.TopologicalSorter(edges)
    try:
        sorter.prepare()
    except graphlib.CycleError as error:
        # graphlib lists the cycle so that each node is a dependency of the next;
        # reversed, it reads in the direction of pyproject: "a -> b" means a needs b.
        cycle = list(reversed(error.args[1]))
        raise DevError("dependency cycle between components: " + " -> ".join(cycle)
                       + " (each needs the next); remove one of these dependencies "
                       "from its pyproject.toml") from None
    levels = []
    while sorter.is_active():
        ready = tuple(sorted(sorter.get_ready()))
        levels.append(ready)
        sorter.done(*ready)
    return BuildGraph(edges, tuple(levels))


def check_sibling_pins(repo: Repo) -> None:
    """Every sibling dependency must be pinned `==` to the sibling's current version."""
    problems = []
    dists = repo.by_dist()
    for component in repo.components.values():
        for requirement in component.requires:
            sibling = dists.get(canonicalize_name(requirement.name))
            if sibling is None:
                continue
            wanted = f"=={sibling.version}"
            if str(requirement.specifier) != wanted:
                problems.append(f"{component.folder}/pyproject.toml requires "
                                f"'{requirement}', expected '{sibling.dist}{wanted}'")
    if problems:
        raise DevError("sibling pins disagree with the siblings' versions: " + "; ".join(problems)
                       + ". Pin siblings with == to their current version.")


def component_closure(repo: Repo, graph: BuildGraph, component: Component) -> list[Component]:
    return [repo.components[name] for name in graph.closure(component.folder)]
