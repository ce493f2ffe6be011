"""The static description: a checked infrastructure description, compiled.

Compiling resolves dependencies to node names, merges infrastructure-level
variables under each node's own, attaches the attribute mappings of each
dependency to both of its ends, fills scaling defaults, and orders the nodes.
The result is plain JSON-able data, deterministic for a given input.
"""
from __future__ import annotations

import getpass
import uuid
from dataclasses import dataclass
from typing import Any

from occo.util.limits import InstanceLimits
from occo.util.errors import OccoError, SchemaError, SourceLocation
from occo.util.merge import deep_merge
from occo.util.schema import Problems
from occo.util.yamlload import location_of, to_plain

from .description import CheckedDescription, check_description
from .graph import CycleError, topological_levels

FORMAT = 1


@dataclass(frozen=True)
class StaticDescription:
    """A compiled infrastructure: its nodes in file order, their dependencies and levels."""

    infra_id: str
    name: str
    user_id: str
    variables: dict[str, Any]
    nodes: dict[str, dict[str, Any]]
    dependencies: tuple[tuple[str, str], ...]   # (dependent, dependee)
    levels: tuple[tuple[str, ...], ...]

    def node(self, name: str) -> dict[str, Any]:
        try:
            return self.nodes[name]
        except KeyError:
            raise OccoError(f"infrastructure {self.infra_id} has no node '{name}'") from None

    def depends_on(self, name: str) -> frozenset[str]:
        """The nodes `name` waits for: the engine starts it when all of them are ready."""
        return frozenset(dee for dent, dee in self.dependencies if dent == name)

    def dependency_sets(self) -> dict[str, frozenset[str]]:
        sets: dict[str, set[str]] = {name: set() for name in self.nodes}
        for dependent, dependee in self.dependencies:
            sets[dependent].add(dependee)
        return {name: frozenset(deps) for name, deps in sets.items()}

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "infra_id": self.infra_id, "name": self.name,
                "user_id": self.user_id, "variables": self.variables,
                "nodes": list(self.nodes.values()),
                "dependencies": [list(pair) for pair in self.dependencies],
                "levels": [list(level) for level in self.levels]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StaticDescription:
        if data.get("format") != FORMAT:
            raise OccoError(f"static description format {data.get('format')!r} is not "
                            f"{FORMAT}; it was stored by another version of Occopus")
        return cls(data["infra_id"], data["name"], data["user_id"], data["variables"],
                   {node["name"]: node for node in data["nodes"]},
                   tuple((a, b) for a, b in data["dependencies"]),
                   tuple(tuple(level) for level in data["levels"]))


def compile_description(data: Any, infra_id: str | None = None, source: str | None = None,
                        limits: InstanceLimits = InstanceLimits()) -> StaticDescription:
    """Check and compile a loaded description; `SchemaError` lists every problem.

    `infra_id` keeps the id of an infrastructure being reconfigured; a new one
    gets a fresh uuid. `limits` bounds the instances it may ask for (the
    configuration's `limits`, `Settings.limits`).
    """
    problems = Problems()
    checked = check_description(data, problems, limits)
    if problems or checked is None:
        raise SchemaError(list(problems) or [OccoError("not an infrastructure description",
                                                       location=SourceLocation(source))])
    return _compile(checked, infra_id or str(uuid.uuid4()))


def _compile(checked: CheckedDescription, infra_id: str) -> StaticDescription:
    data = checked.data
    names = [node["name"] for node in checked.nodes]
    depends_on: dict[str, list[str]] = {name: [] for name in names}
    for dependency in checked.dependencies:
        if dependency.dependee not in depends_on[dependency.dependent]:
            depends_on[dependency.dependent].append(dependency.dependee)
    try:
        levels = topological_levels(names, depends_on)
    except CycleError as error:
        raise SchemaError([OccoError(
            "dependency cycle: " + " -> ".join(error.cycle) + " (each waits for the next)",
            location=location_of(data, "dependencies"),
            hint="remove one of these dependencies")]) from None
    user_id = str(data.get("user_id") or getpass.getuser())
    variables = to_plain(data.get("variables") or {})
    nodes = {node["name"]: _compile_node(node, data["infra_name"], infra_id, user_id, variables)
             for node in checked.nodes}
    for dependency in checked.dependencies:
        if dependency.mappings:
            mappings = to_plain(dependency.mappings)
            nodes[dependency.dependent]["mappings"]["inbound"].setdefault(
                dependency.dependee, []).extend(mappings)
            nodes[dependency.dependee]["mappings"]["outbound"].setdefault(
                dependency.dependent, []).extend(mappings)
    pairs = tuple((dent, dee) for dent, dees in depends_on.items() for dee in dees)
    return StaticDescription(infra_id, data["infra_name"], user_id, variables, nodes, pairs,
                             tuple(tuple(level) for level in levels))


def _compile_node(node: dict, infra_name: str, infra_id: str, user_id: str,
                  variables: dict) -> dict[str, Any]:
    scaling = node.get("scaling") or {}
    low = max(scaling.get("min") or 1, 1)
    high = max(scaling.get("max") or low, low)
    return {
        "name": node["name"],
        "type": node["type"],
        "scaling": {"min": low, "max": high},
        "filter": to_plain(node.get("filter") or {}),
        "variables": deep_merge(variables, to_plain(node.get("variables") or {})),
        "mappings": {"inbound": {}, "outbound": {}},
        "create_timeout": node.get("create_timeout"),
        "infra_id": infra_id,
        "infra_name": infra_name,
        "user_id": user_id,
    }
