"""Which node types this installation cannot build, and why, before anything is built.

A node definition may name a resource or config-manager type that validates
but has no plugin here: declared but not available in this release, or
registered by a package whose code will not load (a missing
SDK). Such a node fails only when a pass tries to create it; validate, import
and `build --dry-run` say so first (see `docs/user-guide.md`). A node type
never imported cannot be built either: `check_imported` says so for each
(occopus-build and the REST service's submit share these checks).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from occo.compiler import StaticDescription
from occo.compiler.nodedefs import PREFIX
from occo.configmanager.plugins import manager_class
from occo.infobroker.selection import matching
from occo.infobroker.store import Store
from occo.resourcehandler.plugins import handler_class
from occo.util.errors import OccoError, PluginNotAvailable, SchemaError
from occo.util.yamlload import location_of

Definitions = Mapping[str, Sequence[Mapping[str, Any]]]


@dataclass(frozen=True)
class Unbuildable:
    """One implementation of a node type that this installation cannot build."""

    node_type: str
    index: int                  # its place in the node type's list, from 0
    count: int                  # how many implementations the node type has
    error: PluginNotAvailable   # which plugin is missing, and why

    def as_error(self, location: Any = None) -> OccoError:
        return OccoError(f"node type '{self.node_type}', implementation {self.index + 1} of "
                         f"{self.count}, cannot be built by this installation: "
                         f"{self.error.message}", location=location, hint=self.error.hint)


def check_imported(store: Store, data: Any) -> None:
    """Every node type has definitions in the store, or one error naming each that has not."""
    problems = []
    for index, node in enumerate(data["nodes"]):
        if store.get_node_definition(node["type"]) is None:
            problems.append(OccoError(
                f"node '{node['name']}': node type '{node['type']}' has not been imported",
                location=location_of(node, "type") or location_of(data["nodes"], index),
                hint="import its node definitions with occopus-import FILE first"))
    if problems:
        raise SchemaError(problems)


def _plugins(implementation: Mapping[str, Any]) -> list[tuple[Callable[[str], Any], str]]:
    resource = implementation.get("resource") or {}
    manager = implementation.get("config_management") or {}
    return [(handler_class, str(resource.get("type"))),
            (manager_class, str(manager.get("type", "dummy")))]


def unbuildable(definitions: Definitions) -> list[Unbuildable]:
    """Every implementation whose resource or config-manager plugin cannot be loaded here."""
    found = []
    for node_type, implementations in definitions.items():
        for index, implementation in enumerate(implementations):
            for load, type_name in _plugins(implementation):
                try:
                    load(type_name)
                except PluginNotAvailable as error:
                    found.append(Unbuildable(node_type, index, len(implementations), error))
                    break
    return found


def file_warnings(data: Any, definitions: Definitions) -> list[OccoError]:
    """`unbuildable` of a node definition file, each placed at its resource section's type."""
    warnings = []
    for item in unbuildable(definitions):
        implementations = data.get(PREFIX + item.node_type) if isinstance(data, dict) else None
        implementation = (implementations[item.index]
                          if isinstance(implementations, list) else None)
        resource = implementation.get("resource") if isinstance(implementation, dict) else None
        location = location_of(resource, "type") if resource is not None else None
        warnings.append(item.as_error(location))
    return warnings


def description_check(static: StaticDescription, data: Any,
                      definitions: Callable[[str], Sequence[Mapping[str, Any]] | None]
                      ) -> tuple[list[OccoError], list[OccoError]]:
    """The (errors, warnings) of a description's nodes as this installation would build them.

    An error: every implementation a node may get (those its `filter` keeps)
    cannot be built. A warning: some of them cannot; the node may get one of those.
    `definitions` gives a node type's stored implementations.
    """
    errors: list[OccoError] = []
    warnings: list[OccoError] = []
    nodes = data.get("nodes") if isinstance(data, dict) else None
    for name in static.nodes:
        node = static.node(name)
        stored = definitions(node["type"])
        if not stored:
            continue                # not imported: said elsewhere
        fitting = matching(list(stored), node.get("filter") or None)
        missing = unbuildable({node["type"]: fitting})
        if not missing:
            continue
        where = _node_location(nodes, name)
        reasons = "; ".join(f"implementation {item.index + 1}: {item.error.message}"
                            for item in missing)
        if len(missing) == len(fitting):
            errors.append(OccoError(
                f"node '{name}' cannot be built by this installation: no implementation of node "
                f"type '{node['type']}' it may get has its plugins here ({reasons})",
                location=where, hint=missing[0].error.hint))
        else:
            warnings.append(OccoError(
                f"node '{name}' may get an implementation of node type '{node['type']}' that "
                f"this installation cannot build ({reasons})", location=where,
                hint="a filter on the node keeps the implementations it may get"))
    return errors, warnings


def _node_location(nodes: Any, name: str) -> Any:
    if not isinstance(nodes, list):
        return None
    for node in nodes:
        if isinstance(node, dict) and node.get("name") == name:
            return location_of(node, "type")
    return None
