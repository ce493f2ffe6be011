"""Building config managers, in one place.

Every config manager the engine, the resolver and the info-broker key
`node.service.state` use comes from a `Managers`: one manager for each
distinct `config_management` section (finding a plugin by entry point costs
milliseconds, too much to pay per node), built with the credentials the auth
file gives that section, and asked to prepare an infrastructure once, before
the first node it configures there.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from occo.infobroker.auth import CredentialSource
from occo.util.nodes import ResolvedNode, section_key

from .base import ConfigManager
from .plugins import DEFAULT_SECTION, manager_class


class Managers:
    """Thread-safe. `key` names a section (its JSON by default; the engine passes one that
    remembers the sections its nodes share)."""

    def __init__(self, auth_data: CredentialSource | None, *,
                 key: Callable[[Mapping[str, Any]], str] = section_key) -> None:
        self.auth_data = auth_data
        self.key = key
        self._managers: dict[str, ConfigManager] = {}
        self._prepared: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def manager(self, section: Mapping[str, Any] | None) -> ConfigManager:
        """The manager of a node's section (none: `dummy`)."""
        section = section or DEFAULT_SECTION
        key = self.key(section)
        with self._lock:
            manager = self._managers.get(key)
        if manager is None:
            credentials = (self.auth_data.select("config_management", section)
                           if self.auth_data else None)
            manager = manager_class(section.get("type", "dummy"))(section, credentials)
            with self._lock:
                manager = self._managers.setdefault(key, manager)
        return manager

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

    def attributes(self, node: ResolvedNode) -> Mapping[str, Any]:
        """The template data the node's config manager adds (puppet_solo: `puppet.modules`)."""
        return self.manager(node.config_management).resolve_attributes(node)
