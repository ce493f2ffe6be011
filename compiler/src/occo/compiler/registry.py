"""The schemas of every plugin type, discovered through entry points.

Each component that owns a kind of section (resource-handler the `resource`
types, config-manager the `config_management` types, infra-processor the
`contextualisation` and `health_check` types) declares its schemas as data in
an entry-point group; the compiler reads them from there and never imports
those components. Resource and config-management types are plugins registered
once, as `Declared` entries whose schema is read without importing the plugin
(nor its SDK). An entry that fails to load (a broken plugin package) costs
only its own type: the registry keeps why, and a description naming that type
is told so instead of "unknown type".
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
    """Plugin schemas by section and type name, and why a registered type failed to load."""

    def __init__(self, schemas: dict[str, dict[str, Schema]],
                 broken: dict[str, dict[str, str]] | None = None) -> None:
        self._schemas = {section: dict(schemas.get(section, {})) for section in SECTION_GROUPS}
        self._broken = {section: dict((broken or {}).get(section, {}))
                        for section in SECTION_GROUPS}

    @classmethod
    def from_entry_points(cls) -> SchemaRegistry:
        schemas: dict[str, dict[str, Schema]] = {section: {} for section in SECTION_GROUPS}
        broken: dict[str, dict[str, str]] = {section: {} for section in SECTION_GROUPS}
        for section, group in SECTION_GROUPS.items():
            for ep in entry_points(group=group):
                try:
                    schemas[section][ep.name] = _schema(ep.load())
                except Exception as error:  # a broken plugin package: its own type only
                    package = ep.dist.name if ep.dist else "its package"
                    broken[section][ep.name] = (f"its plugin ({ep.value}, from {package}) "
                                                f"fails to load: {type(error).__name__}: {error}")
        return cls(schemas, broken)

    def get(self, section: str, type_name: str) -> Schema | None:
        return self._schemas[section].get(type_name)

    def broken(self, section: str, type_name: str) -> str | None:
        """Why a registered type cannot be used, when its entry failed to load."""
        return self._broken[section].get(type_name)

    def types(self, section: str) -> list[str]:
        return sorted(self._schemas[section])


def _schema(registered: Any) -> Schema:
    """The schema of an entry: a plugin registered once (`Declared`), or a schema alone."""
    return registered.schema if isinstance(registered, Declared) else registered
