"""The schemas of every plugin type, discovered through entry points.

Each component that owns a kind of section (resource-handler the `resource`
types, config-manager the `config_management` types, infra-processor the
`contextualisation` and `health_check` types) declares its schemas as data in
an entry-point group; the compiler reads them from there and never imports
those components. Resource and config-management types are plugins registered
once, as `Declared` entries whose schema is read without importing the plugin
(nor its SDK).
"""
from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from occo.util.plugins import Declared
from occo.util.schema import Schema

SECTION_GROUPS = {
    "resource": "occo.resource_plugins",
    "contextualisation": "occo.contextualisation_schemas",
    "config_management": "occo.config_management_plugins",
    "health_check": "occo.health_check_schemas",
}


class SchemaRegistry:
    """Plugin schemas by section and type name."""

    def __init__(self, schemas: dict[str, dict[str, Schema]]) -> None:
        self._schemas = {section: dict(schemas.get(section, {})) for section in SECTION_GROUPS}

    @classmethod
    def from_entry_points(cls) -> SchemaRegistry:
        return cls({section: {ep.name: _schema(ep.load()) for ep in entry_points(group=group)}
                    for section, group in SECTION_GROUPS.items()})

    def get(self, section: str, type_name: str) -> Schema | None:
        return self._schemas[section].get(type_name)

    def types(self, section: str) -> list[str]:
        return sorted(self._schemas[section])


def _schema(registered: Any) -> Schema:
    """The schema of an entry: a plugin registered once (`Declared`), or a schema alone."""
    return registered.schema if isinstance(registered, Declared) else registered
