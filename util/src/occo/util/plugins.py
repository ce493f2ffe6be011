"""Loading plugins by name from entry-point groups.

Every extension point of Occopus is an entry-point group (`occo.stores`,
`occo.resource_handlers`, ...): a component registers its plugins in its
pyproject.toml, and the code that needs one loads only the entry it names.
"""
from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from .errors import PluginNotAvailable


def plugin_names(group: str) -> list[str]:
    """The names registered in a group, sorted."""
    return sorted({entry.name for entry in entry_points(group=group)})


def load_plugin(group: str, name: str, what: str) -> Any:
    """The object registered as `name` in `group`; `PluginNotAvailable` naming the installed ones.

    `what` says what kind of plugin it is, for the message ("state store backend").
    """
    for entry in entry_points(group=group, name=name):
        return entry.load()
    installed = ", ".join(plugin_names(group)) or "none"
    raise PluginNotAvailable(f"no {what} '{name}' is installed",
                             hint=f"the installed ones are: {installed}")
