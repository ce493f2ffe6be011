"""Loading plugins by name from entry-point groups.

Every extension point of Occopus is an entry-point group (`occo.stores`,
`occo.resource_plugins`, ...): a component registers its plugins in its
pyproject.toml, and the code that needs one loads only the entry it names.
Resource and config-manager types register once, as a `Declared` (their
schema, and where their class is).
"""
from __future__ import annotations

import functools
import importlib
import sys
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any, TypeVar

from .errors import PluginNotAvailable
from .schema import Schema

T = TypeVar("T")


@functools.lru_cache(maxsize=64)
def _entries(group: str, search_path: tuple[str, ...]) -> dict[str, EntryPoint]:
    # Scanning every installed distribution's metadata takes milliseconds; the
    # answer changes only when the import path does, so it is kept per path.
    found: dict[str, EntryPoint] = {}
    for entry in entry_points(group=group):
        found.setdefault(entry.name, entry)
    return found


@functools.lru_cache(maxsize=256)
def _loaded(entry: EntryPoint) -> Any:
    # Loading imports the module (found in `sys.modules` after the first time) and looks the
    # object up, a tenth of a millisecond each time: engines load a plugin per node.
    return entry.load()


def _implemented(entry: EntryPoint) -> bool:
    """Whether an entry is a `Declared` plugin with an implementation; one that cannot even
    be loaded, or is no `Declared`, is not offered as available."""
    try:
        declared = _loaded(entry)
    except (ImportError, AttributeError):
        return False
    return isinstance(declared, Declared) and bool(declared.implementation)


def registered(group: str) -> dict[str, EntryPoint]:
    """The entry points of a group by name (the first one wins, as imports do)."""
    return _entries(group, tuple(sys.path))


def plugin_names(group: str) -> list[str]:
    """The names registered in a group, sorted."""
    return sorted(registered(group))


def load_plugin(group: str, name: str, what: str) -> Any:
    """The object registered as `name` in `group`; `PluginNotAvailable` naming the installed ones.

    `what` says what kind of plugin it is, for the message ("state store backend").
    """
    entry = registered(group).get(name)
    if entry is not None:
        try:
            return _loaded(entry)
        except ImportError as error:
            raise PluginNotAvailable(f"{what} '{name}' cannot be loaded: {error}",
                                     hint="reinstall the package that registers it") from None
    installed = ", ".join(plugin_names(group)) or "none"
    raise PluginNotAvailable(f"no {what} '{name}' is installed",
                             hint=f"the installed ones are: {installed}")


@dataclass(frozen=True)
class Declared:
    """A plugin as its package registers it, once: the keys its section takes, and where its
    implementation is (`"module:attribute"`).

    The schema is read without importing the implementation, which may pull in a cloud's
    SDK: the compiler checks every node definition against schemas, and must stay quick.
    `implementation` None: the type is declared (files using it validate) but not available
    in this release.
    """

    schema: Schema
    implementation: str | None = None


def load_declared(group: str, name: str, what: str, base: type[T]) -> type[T]:
    """The implementation class of plugin `name` of a group of `Declared` entries.

    `PluginNotAvailable` when no such plugin is registered (naming the installed ones), when
    it is declared without an implementation, or when the implementation cannot be imported.
    """
    declared = load_plugin(group, name, what)
    if not isinstance(declared, Declared):
        raise PluginNotAvailable(f"{what} '{name}' is not registered as a Declared plugin",
                                 hint="reinstall the package that registers it")
    if declared.implementation is None:
        available = ", ".join(plugin for plugin in plugin_names(group)
                              if _implemented(registered(group)[plugin])) or "none"
        raise PluginNotAvailable(f"{what} '{name}' is declared but not available in this "
                                 "release", hint=f"the available ones are: {available}")
    try:
        cls = _imported(declared.implementation)
    except (ImportError, AttributeError) as error:
        raise PluginNotAvailable(f"{what} '{name}' cannot be loaded: {error}",
                                 hint="reinstall the package that registers it") from None
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise PluginNotAvailable(f"{what} '{name}' is not a {base.__name__} class",
                                 hint="reinstall the package that registers it")
    return cls


@functools.lru_cache(maxsize=64)
def _imported(implementation: str) -> Any:
    module, _, attribute = implementation.partition(":")
    return getattr(importlib.import_module(module), attribute)
