"""Checking an infrastructure description, reporting every problem at once.

The format is the original Occopus one: `infra_name`, `user_id`, `nodes`,
`dependencies` (pairs of node mappings, usually YAML aliases, or
`{connection: [A, B], mappings: [...]}`), `variables`. A node has `name`,
`type`, `scaling {min, max}`, `filter`, `variables`, and (new) `create_timeout`.
A dependency may also name its nodes by name instead of by alias.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from occo.util.limits import InstanceLimits
from occo.util.errors import SourceLocation
from occo.util.schema import Field, Problems, Schema, Where, check, did_you_mean
from occo.util.yamlload import location_of

from .names import name_problem
from .plain import check_plain

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


def check_description(data: Any, problems: Problems,
                      limits: InstanceLimits = InstanceLimits()) -> CheckedDescription | None:
    """Check a loaded description; None when it is too broken to compile.

    `limits` bounds the instances it may ask for (the configuration's `limits`).
    """
    check(data, INFRASTRUCTURE, "the infrastructure description", problems)
    if not isinstance(data, dict):
        return None
    # a name that is not a string at all has been reported by the schema check
    problem = name_problem(data["infra_name"]) if isinstance(data.get("infra_name"), str) else None
    if problem:
        problems.add(f"infra_name {data['infra_name']!r} {problem}", location_of(data, "infra_name"))
    nodes = [n for n in data.get("nodes") or [] if isinstance(n, dict)] \
        if isinstance(data.get("nodes"), list) else []
    if isinstance(data.get("nodes"), list) and not data["nodes"]:
        problems.add("an infrastructure needs at least one node", location_of(data, "nodes"))
    if isinstance(data.get("variables"), dict):
        check_plain(data["variables"], "'variables' of the infrastructure",
                    lambda: location_of(data, "variables"), problems)
    names = _check_nodes(nodes, problems, limits)
    _check_total(data, nodes, problems, limits)
    dependencies = _check_dependencies(data.get("dependencies"), nodes, names, problems) \
        if isinstance(data.get("dependencies"), list) else []
    return CheckedDescription(data, nodes, dependencies)


def _check_nodes(nodes: list[dict], problems: Problems,
                 limits: InstanceLimits) -> dict[str, dict]:
    by_name: dict[str, dict] = {}
    for index, node in enumerate(nodes):
        name = node.get("name")
        label = f"node '{name}'" if isinstance(name, str) else f"node {index + 1}"
        check(node, NODE, label, problems)
        problem = name_problem(name) if isinstance(name, str) else None
        if problem:
            problems.add(f"node name {name!r} {problem}", location_of(node, "name"))
        if isinstance(name, str):
            if name in by_name:
                problems.add(f"duplicate node name '{name}' (first at "
                             f"{location_of(by_name[name])})", location_of(node, "name"),
                             "node names must be unique in an infrastructure")
            else:
                by_name[name] = node
        _check_scaling(node, label, problems, limits)
        for key in ("filter", "variables"):
            if isinstance(node.get(key), dict):
                check_plain(node[key], f"'{key}' of {label}",
                            lambda n=node, k=key: location_of(n, k), problems)
        timeout = node.get("create_timeout")
        if isinstance(timeout, (int, float)) and not isinstance(timeout, bool):
            if not math.isfinite(timeout):  # .nan, .inf: no deadline anyone can wait for
                problems.add(f"create_timeout of {label} must be a number of seconds, "
                             f"not {timeout}", location_of(node, "create_timeout"))
            elif timeout <= 0:
                problems.add(f"create_timeout of {label} must be positive",
                             location_of(node, "create_timeout"))
    return by_name


def _check_scaling(node: dict, label: str, problems: Problems, limits: InstanceLimits) -> None:
    scaling = node.get("scaling")
    if not isinstance(scaling, dict):
        return
    low, high = scaling.get("min"), scaling.get("max")
    for key, value in (("min", low), ("max", high)):
        if isinstance(value, int) and not isinstance(value, bool) and value < 0:
            problems.add(f"scaling {key} of {label} cannot be negative", location_of(scaling, key))
        elif isinstance(value, int) and value > limits.node_instances:
            problems.add(f"scaling {key} of {label} is {value:,}, more than the "
                         f"{limits.node_instances:,} instances a node may have",
                         location_of(scaling, key),
                         "lower it, or raise limits.node_instances in occopus_config.yaml")
    if all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high)) and high < max(low, 1):
        problems.add(f"scaling max ({high}) of {label} is less than its min ({max(low, 1)})",
                     location_of(scaling, "max"), "raise max or lower min")


def _check_total(data: dict, nodes: list[dict], problems: Problems,
                 limits: InstanceLimits) -> None:
    """The instances a build creates at first (every node's min) stay within the bound."""
    least = (_least(node) for node in nodes)
    total = sum(count for count in least if count <= limits.node_instances)  # the rest are told
    if total > limits.infrastructure_instances:
        problems.add(f"the nodes ask for {total:,} instances at least (the sum of their scaling "
                     f"mins), more than the {limits.infrastructure_instances:,} an infrastructure "
                     "may have", location_of(data, "nodes"),
                     "lower scaling mins, or raise limits.infrastructure_instances in "
                     "occopus_config.yaml")


def _least(node: dict) -> int:
    """The instances a node starts with, as the compiler counts them (at least 1)."""
    scaling = node.get("scaling")
    low = scaling.get("min") if isinstance(scaling, dict) else None
    return low if isinstance(low, int) and not isinstance(low, bool) and low > 1 else 1


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
        if name is None:
            problems.add(f"{label} refers to a mapping that is not one of the nodes", where,
                         "refer to a node of 'nodes', by alias (*Name) or by name")
            return None
    elif isinstance(end, list):
        problems.add(f"{label} refers to a node by a list", where,
                     "refer to a node of 'nodes', by alias (*Name) or by name")
        return None
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
        if not all(isinstance(name, str) for name in attributes):
            problems.add(f"the attributes of mapping {index + 1} of {label} must be two "
                         "attribute names", lambda a=attributes: location_of(a) or mapping_where(),
                         "write e.g. attributes: [fqdn, wordpress.db.host]")
            continue
        if check_plain(mapping, f"mapping {index + 1} of {label}", mapping_where, problems):
            result.append({"synch": False, **mapping, "attributes": list(attributes)})
    return result
