"""The info-broker key `node.service.state`: what the node's config manager says of it."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from occo.infobroker.auth import CredentialSource
from occo.infobroker.broker import InfoProvider, provides
from occo.util.nodes import NodeState

from .plugins import DEFAULT_SECTION, make_manager


class ConfigManagerProvider(InfoProvider):
    """Answers from the manager named by a stored instance's `config_management` section."""

    def __init__(self, auth_data: CredentialSource | None = None) -> None:
        self.auth_data = auth_data

    @provides("node.service.state")
    def service_state(self, instance: Mapping[str, Any]) -> NodeState:
        """The state of a stored instance record (`infra_id`, `node_id`, `config_management`)."""
        section = instance.get("config_management") or DEFAULT_SECTION
        credentials = self.auth_data.select("config_management", section) if self.auth_data else None
        manager = make_manager(section, credentials)
        return manager.get_node_state(instance["infra_id"], instance["node_id"])
