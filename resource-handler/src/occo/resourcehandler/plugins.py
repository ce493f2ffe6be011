"""Finding a resource type's plugin: registered once, as a `Declared` entry point."""
from __future__ import annotations

from occo.util.plugins import load_declared

from .base import ResourceHandler

PLUGINS = "occo.resource_plugins"


def handler_class(type_name: str) -> type[ResourceHandler]:
    """The class registered for a resource type (see `load_declared` for the errors)."""
    return load_declared(PLUGINS, type_name, "resource type", ResourceHandler)
