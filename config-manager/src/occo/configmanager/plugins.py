"""Finding the config-manager class for a `config_management` section."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from occo.util.plugins import load_declared

from .base import ConfigManager

PLUGINS = "occo.config_management_plugins"
DEFAULT_SECTION: Mapping[str, Any] = {"type": "dummy"}


def manager_class(type_name: str) -> type[ConfigManager]:
    """The class registered for a manager type (see `load_declared` for the errors)."""
    return load_declared(PLUGINS, type_name, "config manager", ConfigManager)


def make_manager(section: Mapping[str, Any] | None,
                 auth_data: Mapping[str, Any] | None = None) -> ConfigManager:
    """The manager for a node's section; the dummy one when the node names none."""
    section = section or DEFAULT_SECTION
    return manager_class(section.get("type", "dummy"))(section, auth_data)
