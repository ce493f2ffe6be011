"""The info-broker key `node.service.state`: what the node's config manager says of it."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from occo.infobroker.auth import CredentialSource
from occo.infobroker.broker import InfoProvider, provides
from occo.util.nodes import NodeState

from .plugins import DEFAULT_SECTION, make_manager


class ConfigManagerProvider(InfoProvider):
    """Answers from the manager a node's `config_management` section names."""

    def __init__(self, auth_data: CredentialSource | None = None) -> None:
        self.auth_data = auth_data

    @provides("node.service.state")
    def service_state(self, infra_id: str, node_id: str,
                      section: Mapping[str, Any] | None = None) -> NodeState:
        """What the manager of a node's `config_management` section (none: dummy) says of it."""
        section = section or DEFAULT_SECTION
        credentials = self.auth_data.select("config_management", section) if self.auth_data else None
        return make_manager(section, credentials).get_node_state(infra_id, node_id)
