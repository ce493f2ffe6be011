"""Finding the config-manager class for a `config_management` section (built by `Managers`)."""
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
