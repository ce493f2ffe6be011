"""Checking node definitions: `'node_def:<type>'` mapped to a list of implementations.

Each implementation has a `resource` section and may have `contextualisation`,
`config_management` and `health_check`. Each section is checked against the
schema its plugin type declares (see registry.py); an unknown type is an error
that lists the known ones.
"""
from __future__ import annotations

from typing import Any

from occo.util.errors import SchemaError
from occo.util.schema import Problems, check, did_you_mean
from occo.util.urlsecrets import check_url_passwords
from occo.util.yamlload import key_location, location_of, to_plain

from .plain import check_plain
from .registry import SchemaRegistry

PREFIX = "node_def:"
SECTIONS = ("resource", "contextualisation", "config_management", "health_check")
DEFAULT_TYPES = {"health_check": "basic"}
# the sections the engine connects with: no credentials in their URLs (the auth file has them)
CONNECTING = ("resource", "config_management", "health_check")


def check_node_definitions(data: Any, registry: SchemaRegistry,
                           problems: Problems) -> dict[str, list[dict]]:
    """The valid definitions by node type (without the prefix), adding problems found."""
    if not isinstance(data, dict) or not data:
        problems.add("a node definition file is a mapping of 'node_def:<type>' to a list of "
                     "implementations", location_of(data))
        return {}
    definitions = {}
    for key, implementations in data.items():
        if not (isinstance(key, str) and key.startswith(PREFIX) and len(key) > len(PREFIX)):
            problems.add(f"node definition key {key!r} must be 'node_def:<type>'",
                         key_location(data, key))
            continue
        label = f"'{key}'"
        if not isinstance(implementations, list) or not implementations:
            problems.add(f"{label} must be a non-empty list of implementations",
                         location_of(data, key))
            continue
        before = len(problems)
        for index, implementation in enumerate(implementations):
            where = location_of(implementations, index)
            checked = len(problems)
            _check_implementation(implementation, f"{label}[{index}]", registry, problems, where)
            if len(problems) == checked:    # stored as JSON: every value must fit in it
                check_plain(implementation, f"implementation {label}[{index}]", where, problems)
        if len(problems) == before:
            definitions[key[len(PREFIX):]] = to_plain(implementations)
    return definitions


def load_node_definitions(data: Any, registry: SchemaRegistry) -> dict[str, list[dict]]:
    """Checked definitions by node type; `SchemaError` listing every problem."""
    problems = Problems()
    definitions = check_node_definitions(data, registry, problems)
    if problems:
        raise SchemaError(list(problems))
    return definitions


def _check_implementation(implementation: Any, label: str, registry: SchemaRegistry,
                          problems: Problems, where) -> None:
    if not isinstance(implementation, dict):
        problems.add(f"implementation {label} must be a mapping of sections", where)
        return
    for section in implementation:
        if section not in SECTIONS:
            problems.add(f"unknown section '{section}' in {label}", key_location(implementation, section),
                         did_you_mean(section, SECTIONS) or f"the sections are: {', '.join(SECTIONS)}")
    if "resource" not in implementation:
        problems.add(f"implementation {label} has no 'resource' section", where,
                     "every implementation says where its nodes are created")
    for section in SECTIONS:
        if section in implementation:
            _check_section(implementation[section], section, f"{section} section of {label}",
                           registry, problems, location_of(implementation, section))


def _check_section(data: Any, section: str, label: str, registry: SchemaRegistry,
                   problems: Problems, where) -> None:
    if not isinstance(data, dict):
        problems.add(f"the {label} must be a mapping", where)
        return
    type_name = data.get("type", DEFAULT_TYPES.get(section))
    if type_name is None:
        problems.add(f"the {label} has no 'type'", where,
                     f"the known types are: {', '.join(registry.types(section))}")
        return
    if not isinstance(type_name, str):
        # a list or mapping cannot name a plugin type (nor be looked up as one)
        known = registry.types(section)
        problems.add(f"'type' in the {label} must be a type name, not {_kind_of(type_name)}",
                     location_of(data, "type"),
                     f"the known types are: {', '.join(known) or 'none installed'}")
        return
    schema = registry.get(section, type_name)
    broken = registry.broken(section, type_name)
    if broken:
        problems.add(f"{section} type {type_name!r} in {label} cannot be checked: {broken}",
                     location_of(data, "type"),
                     "reinstall that plugin's package, or uninstall it if it is not needed")
        return
    if schema is None:
        known = registry.types(section)
        problems.add(f"unknown {section} type {type_name!r} in {label}",
                     location_of(data, "type") if "type" in data else where,
                     did_you_mean(str(type_name), known)
                     or f"the known types are: {', '.join(known) or 'none installed'}")
        return
    check(data, schema, label, problems, where)
    if section in CONNECTING:
        check_url_passwords(data, label, problems)


def _kind_of(value: Any) -> str:
    """How a problem names a value that is not what was expected."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"
