"""Finding the config-manager class for a `config_management` section."""
from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Any

from occo.util.errors import PluginNotAvailable
from occo.util.plugins import load_plugin

from .base import ConfigManager

DEFAULT_SECTION: Mapping[str, Any] = {"type": "dummy"}


def manager_class(type_name: str) -> type[ConfigManager]:
    """The class registered for a manager type.

    A type whose schema is declared (so its node definitions validate) but
    whose implementation is not installed says so, rather than "unknown".
    """
    try:
        return load_plugin("occo.config_managers", type_name, "config manager")
    except PluginNotAvailable as error:
        if any(ep.name == type_name for ep in entry_points(group="occo.config_management_schemas")):
            raise PluginNotAvailable(
                f"config manager '{type_name}' is declared but not available in this release",
                hint=error.hint) from None
        raise


def make_manager(section: Mapping[str, Any] | None,
                 auth_data: Mapping[str, Any] | None = None) -> ConfigManager:
    """The manager for a node's section; the dummy one when the node names none."""
    section = section or DEFAULT_SECTION
    return manager_class(section.get("type", "dummy"))(section, auth_data)
