"""Finding the handler class for a resource type, by entry point."""
from __future__ import annotations

from occo.util.plugins import load_plugin_class

from .base import ResourceHandler

HANDLERS = "occo.resource_handlers"
SCHEMAS = "occo.resource_schemas"


def handler_class(type_name: str) -> type[ResourceHandler]:
    """The class registered for a resource type (see `load_plugin_class` for the errors)."""
    return load_plugin_class(HANDLERS, type_name, "resource type", ResourceHandler,
                             declared_in=SCHEMAS)
