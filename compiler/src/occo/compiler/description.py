"""Checking an infrastructure description, reporting every problem at once.

The format is the original Occopus one: `infra_name`, `user_id`, `nodes`,
`dependencies` (pairs of node mappings, usually YAML aliases, or
`{connection: [A, B], mappings: [...]}`), `variables`. A node has `name`,
`type`, `scaling {min, max}`, `filter`, `variables`, and (new) `create_timeout`.
A dependency may also name its nodes by name instead of by alias.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from occo.util.errors import SourceLocation
from occo.util.schema import Field, Problems, Schema, Where, check, did_you_mean
from occo.util.yamlload import location_of

from .names import name_problem

SCALING = Schema("scaling", {
    "min": Field("int", doc="the least number of instances (default 1)"),
    "max": Field("int", doc="the most number of instances (default: min)"),
})

NODE = Schema("node", {
    "name": Field("str", required=True, doc="the node's name, unique in the infrastructure"),
    "type": Field("str", required=True, doc="the node type: a 'node_def:<type>' imported earlier"),
    "scaling": Field("mapping", schema=SCALING, doc="instance count limits"),
    "filter": Field("mapping", doc="keep the implementations whose resource has these values"),
    "variables": Field("mapping", doc="template variables of this node"),
    "create_timeout": Field("number", doc="seconds a new instance may take to become ready"),
})

INFRASTRUCTURE = Schema("infrastructure description", {
    "infra_name": Field("str", required=True, doc="the infrastructure's name"),
    "user_id": Field("scalar", doc="who the infrastructure belongs to"),
    "nodes": Field("list", required=True, items="mapping", doc="the nodes"),
    "dependencies": Field("list", doc="pairs [dependent, dependee]: the dependee is built first"),
    "variables": Field("mapping", doc="template variables of every node"),
})

MAPPING_SCHEMA = Schema("mapping", {
    "attributes": Field("list", required=True, doc="[source attribute, destination attribute]"),
    "synch": Field("bool", default=False, doc="wait for the source attribute to exist"),
}, open=True)


@dataclass
class Dependency:
    dependent: str
    dependee: str
    mappings: list[dict] = field(default_factory=list)
    extra: dict = field(default_factory=dict)


@dataclass
class CheckedDescription:
    """What the checker found valid, for the compiler to build on."""

    data: dict
    nodes: list[dict]
    dependencies: list[Dependency]


def check_description(data: Any, problems: Problems) -> CheckedDescription | None:
    """Check a loaded description; None when it is too broken to compile."""
    check(data, INFRASTRUCTURE, "the infrastructure description", problems)
    if not isinstance(data, dict):
        return None
    problem = name_problem(data.get("infra_name")) if "infra_name" in data else None
    if problem:
        problems.add(f"infra_name {data['infra_name']!r} {problem}", location_of(data, "infra_name"))
    nodes = [n for n in data.get("nodes") or [] if isinstance(n, dict)] \
        if isinstance(data.get("nodes"), list) else []
    if isinstance(data.get("nodes"), list) and not data["nodes"]:
        problems.add("an infrastructure needs at least one node", location_of(data, "nodes"))
    names = _check_nodes(nodes, problems)
    dependencies = _check_dependencies(data.get("dependencies"), nodes, names, problems) \
        if isinstance(data.get("dependencies"), list) else []
    return CheckedDescription(data, nodes, dependencies)


def _check_nodes(nodes: list[dict], problems: Problems) -> dict[str, dict]:
    by_name: dict[str, dict] = {}
    for node in nodes:
        label = f"node '{node.get('name', '?')}'"
        check(node, NODE, label, problems)
        name = node.get("name")
        problem = name_problem(name)
        if problem and "name" in node:
            problems.add(f"node name {name!r} {problem}", location_of(node, "name"))
        if isinstance(name, str):
            if name in by_name:
                problems.add(f"duplicate node name '{name}' (first at "
                             f"{location_of(by_name[name])})", location_of(node, "name"),
                             "node names must be unique in an infrastructure")
            else:
                by_name[name] = node
        _check_scaling(node, label, problems)
        timeout = node.get("create_timeout")
        if isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and timeout <= 0:
            problems.add(f"create_timeout of {label} must be positive", location_of(node, "create_timeout"))
    return by_name


def _check_scaling(node: dict, label: str, problems: Problems) -> None:
    scaling = node.get("scaling")
    if not isinstance(scaling, dict):
        return
    low, high = scaling.get("min"), scaling.get("max")
    for key, value in (("min", low), ("max", high)):
        if isinstance(value, int) and not isinstance(value, bool) and value < 0:
            problems.add(f"scaling {key} of {label} cannot be negative", location_of(scaling, key))
    if all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high)) and high < max(low, 1):
        problems.add(f"scaling max ({high}) of {label} is less than its min ({max(low, 1)})",
                     location_of(scaling, "max"), "raise max or lower min")


def _check_dependencies(entries: list, nodes: list[dict], by_name: dict[str, dict],
                        problems: Problems) -> list[Dependency]:
    dependencies = []
    node_ids = {id(node) for node in nodes}
    for index, entry in enumerate(entries):
        where: Where = lambda i=index: location_of(entries, i)  # noqa: E731
        label = f"dependency {index + 1}"
        mappings: list = []
        extra: dict = {}
        if isinstance(entry, dict):
            if "connection" not in entry:
                problems.add(f"{label} has no 'connection'", where,
                             "write {connection: [*Dependent, *Dependee], mappings: [...]}")
                continue
            pair = entry["connection"]
            where = lambda e=entry: location_of(e, "connection")  # noqa: E731
            mappings = entry.get("mappings") or []
            extra = {k: v for k, v in entry.items() if k not in ("connection", "mappings")}
        else:
            pair = entry
        if not isinstance(pair, list) or len(pair) != 2:
            problems.add(f"{label} must be a pair [dependent, dependee]", where,
                         "the second node of the pair is built first")
            continue
        # An alias has no position of its own (it is its anchor's node), so an
        # aliased end is reported at the dependency, a named end at the name.
        ends = [_node_name(end, node_ids, by_name, label,
                           where if isinstance(end, dict) else lambda p=pair, i=i: location_of(p, i),
                           problems)
                for i, end in enumerate(pair)]
        if None in ends:
            continue
        if ends[0] == ends[1]:
            problems.add(f"{label}: node '{ends[0]}' cannot depend on itself", where)
            continue
        dependencies.append(Dependency(ends[0], ends[1],
                                       _check_mappings(mappings, label, entry, problems), extra))
    return dependencies


def _node_name(end: Any, node_ids: set[int], by_name: dict[str, dict], label: str,
               where: Where, problems: Problems) -> str | None:
    """The name of the node a dependency end refers to, by alias or by name."""
    if isinstance(end, dict):
        if id(end) in node_ids:
            return end.get("name") if isinstance(end.get("name"), str) else None
        name = end.get("name")
    else:
        name = end
    if isinstance(name, str) and name in by_name:
        return name
    problems.add(f"{label} refers to an unknown node {name!r}", where,
                 did_you_mean(str(name), by_name) or "refer to a node of 'nodes', by alias or name")
    return None


def _check_mappings(mappings: Any, label: str, entry: Any, problems: Problems) -> list[dict]:
    def where() -> SourceLocation | None:
        return location_of(entry, "mappings") if isinstance(entry, dict) else None

    if not isinstance(mappings, list):
        problems.add(f"mappings of {label} must be a list", where)
        return []
    result = []
    for index, mapping in enumerate(mappings):
        mapping_where: Where = lambda i=index: location_of(mappings, i) or where()  # noqa: E731
        if isinstance(mapping, list):
            mapping = {"attributes": mapping}
        elif isinstance(mapping, dict):
            check(mapping, MAPPING_SCHEMA, f"mapping {index + 1} of {label}", problems)
        else:
            problems.add(f"mapping {index + 1} of {label} must be a pair or a mapping", mapping_where)
            continue
        attributes = mapping.get("attributes")
        if not (isinstance(attributes, list) and len(attributes) == 2):
            problems.add(f"mapping {index + 1} of {label} needs attributes [source, destination]",
                         mapping_where)
            continue
        result.append({"synch": False, **mapping, "attributes": list(attributes)})
    return result
