"""`AnsibleManager`: runs the section's playbook against one node at a time (see the package)."""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from occo.util.errors import ConfigurationError
from occo.util.nodes import NodeState, ResolvedNode

from ..base import ConfigManager, ConfigTarget, Configured, NotReachableYet
from ..schemas import ANSIBLE
from .playbook import DEFAULT_TIMEOUT, PlaybookRun, run_playbook

log = logging.getLogger("occo.configmanager.ansible")


class AnsibleManager(ConfigManager):
    """Keeps nothing of its own: what a node's run gave is in `target.configured`."""

    type_name = "ansible"
    schema = ANSIBLE
    configures = True

    def __init__(self, section: Mapping[str, Any],
                 auth_data: Mapping[str, Any] | None = None) -> None:
        super().__init__(section, auth_data)
        self.timeout = float(self.section.get("timeout") or DEFAULT_TIMEOUT)

    def create_infrastructure(self, infra_id: str) -> None:
        """Nothing is kept per infrastructure."""

    def drop_infrastructure(self, infra_id: str) -> None:
        """Nothing is kept per infrastructure."""

    def infrastructure_exists(self, infra_id: str) -> bool:
        return True

    def register_node(self, node: ResolvedNode) -> None:
        """Nothing to register before the machine exists."""

    def drop_node(self, infra_id: str, node_id: str) -> None:
        """Nothing kept of a node."""

    def configure(self, target: ConfigTarget) -> Configured:
        access = target.access
        if access is None:
            raise ConfigurationError(
                f"node {target.node.name} cannot be reached: no ssh entry of the auth file "
                f"fits its resource (type {target.node.resource.get('type')})",
                hint="add an ssh entry with user and private_key whose filter fits it")
        from occo.util.ssh import SshError, SshUnreachable      # loads asyncssh
        try:
            access.verify()             # the host key, checked (or recorded) as Occopus does
        except SshUnreachable as error:
            raise NotReachableYet(error.message) from None
        except SshError as error:
            return Configured(False, error.message)
        run = PlaybookRun(self.section["playbook"], access, _variables(self.section, target),
                          self.timeout)
        log.info("node %s: running its playbook (%d play(s))", target.node_id,
                 len(self.section["playbook"]))
        return run_playbook(run)

    def get_node_state(self, target: ConfigTarget) -> NodeState:
        if target.configured is None:
            return NodeState.PENDING
        return NodeState.READY if target.configured.ok else NodeState.FAILED


def _variables(section: Mapping[str, Any], target: ConfigTarget) -> dict[str, Any]:
    """The node's variables, then the section's `extra_vars`, then what Occopus knows."""
    node = target.node
    return {**target.variables, **(section.get("extra_vars") or {}),
            "occopus": {"node_name": node.name, "node_id": node.node_id,
                        "infra_id": node.infra_id, "addresses": list(target.addresses),
                        "nodes": {name: list(found) for name, found in target.peers.items()}}}
