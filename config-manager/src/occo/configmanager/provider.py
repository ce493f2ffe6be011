"""The info-broker key `node.service.state`: what the node's config manager says of it."""
from __future__ import annotations

from occo.infobroker.auth import CredentialSource
from occo.infobroker.broker import InfoProvider, provides
from occo.util.nodes import NodeState

from .base import ConfigTarget
from .managers import Managers


class ConfigManagerProvider(InfoProvider):
    """Answers from the manager a node's `config_management` section names."""

    def __init__(self, auth_data: CredentialSource | None = None) -> None:
        self.managers = Managers(auth_data)

    @provides("node.service.state")
    def service_state(self, target: ConfigTarget) -> NodeState:
        """What the manager of the instance's `config_management` section (none: dummy) says
        of it."""
        return self.managers.manager(target.node.config_management).get_node_state(target)
