"""A node's cloud and config manager, each built with the credentials the auth file gives it.

Built per execution and shared by its worker threads: resource handlers come
from the caller's `ResourceHandlers` (which keeps one per connection and
applies each backend's limits), config managers are kept here per section
(finding a plugin by entry point costs milliseconds, too much to pay per
node), and each manager is asked to prepare an infrastructure once
(`prepare`), before the first node it configures there. What a section
resolves to is remembered for the section object: the nodes of one
implementation share theirs (`NodeResolver`), and a level of hundreds must
not select credentials and encode its section hundreds of times.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

from occo.configmanager.base import ConfigManager
from occo.configmanager.plugins import DEFAULT_SECTION, make_manager
from occo.infobroker.auth import CredentialSource
from occo.resourcehandler.guard import GuardedHandler, ResourceHandlers
from occo.util.nodes import ResolvedNode


def section_key(section: Mapping[str, Any]) -> str:
    """One string per distinct section, to keep things per backend."""
    return json.dumps(section, sort_keys=True, default=str)


def describe_section(section: Mapping[str, Any]) -> str:
    """A `resource` or `config_management` section in a few words, for messages."""
    where = section.get("endpoint") or section.get("workdir")
    return f"{section.get('type')} {where}" if where else str(section.get("type"))


class Backends:
    """Thread-safe; the credentials are selected per section on first use."""

    def __init__(self, handlers: ResourceHandlers, auth_data: CredentialSource | None) -> None:
        self.handlers = handlers
        self.auth_data = auth_data
        self._managers: dict[str, ConfigManager] = {}
        self._prepared: set[tuple[str, str]] = set()
        self._keys: dict[int, tuple[Mapping[str, Any], str]] = {}     # id -> (section, key)
        self._clouds: dict[int, tuple[Mapping[str, Any], GuardedHandler]] = {}
        self._lock = threading.Lock()

    def key(self, section: Mapping[str, Any]) -> str:
        """`section_key(section)`, remembered for the section itself.

        The nodes resolved from one implementation share their sections
        (`NodeResolver`), and encoding a section again for every node, and
        every call about it, cost more than the rest of a poll's work on the
        node. A section is never changed once resolved or read from a record.
        """
        known = self._keys.get(id(section))
        if known is None or known[0] is not section:
            known = self._keys[id(section)] = (section, section_key(section))
        return known[1]

    def cloud(self, resource: Mapping[str, Any]) -> GuardedHandler:
        """The handler of the connection the section reaches, remembered for the section."""
        known = self._clouds.get(id(resource))
        if known is None or known[0] is not resource:
            cloud = self.handlers.for_resource(resource, self._credentials("resource", resource))
            known = self._clouds[id(resource)] = (resource, cloud)
        return known[1]

    def manager(self, section: Mapping[str, Any] | None) -> ConfigManager:
        section = section or DEFAULT_SECTION
        key = self.key(section)
        with self._lock:
            manager = self._managers.get(key)
        if manager is None:
            manager = make_manager(section, self._credentials("config_management", section))
            with self._lock:
                manager = self._managers.setdefault(key, manager)
        return manager

    def attributes(self, node: ResolvedNode) -> Mapping[str, Any]:
        """The template data the node's config manager adds, from the kept manager."""
        return self.manager(node.config_management).resolve_attributes(node)

    def prepare(self, section: Mapping[str, Any] | None, infra_id: str) -> ConfigManager:
        """The section's manager, with `create_infrastructure` done once for `infra_id`."""
        manager = self.manager(section)
        key = (self.key(section or DEFAULT_SECTION), infra_id)
        with self._lock:
            done = key in self._prepared
        if not done:
            manager.create_infrastructure(infra_id)     # idempotent: two threads may both call it
            with self._lock:
                self._prepared.add(key)
        return manager

    def _credentials(self, kind: str, section: Mapping[str, Any]) -> dict[str, Any] | None:
        return self.auth_data.select(kind, section) if self.auth_data else None
