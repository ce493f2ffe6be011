"""What the managers that configure a node over SSH share (`ansible`, `puppet_solo`).

The node must have an `SshAccess` (an `ssh` entry of the auth file fits its
resource). Its host key is checked, or recorded on first use, by Occopus
before anything runs there; a node that does not answer yet is tried again
at its next poll. The configure step's result is the node's state.
"""
from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from occo.util.errors import ConfigurationError
from occo.util.nodes import NodeState

from .base import ConfigTarget, Configured, KeepsNothing, NotReachableYet

if TYPE_CHECKING:
    from occo.util.ssh import SshAccess

DEFAULT_TIMEOUT = 1800.0        # seconds a node's configuration may take
DEFAULT_REAPPLY = 300.0         # seconds between applications: the original tutorials' cron


class SshConfigManager(KeepsNothing):
    configures = True

    def __init__(self, section: Mapping[str, Any],
                 auth_data: Mapping[str, Any] | None = None) -> None:
        super().__init__(section, auth_data)
        self.timeout = float(self.section.get("timeout") or DEFAULT_TIMEOUT)

    def configure(self, target: ConfigTarget) -> Configured:
        access = target.access
        if not target.addresses:
            raise NotReachableYet(f"node {target.node.name} has no address yet")
        if access is None:
            raise ConfigurationError(
                f"node {target.node.name} cannot be reached: no ssh entry of the auth file "
                f"fits its resource (type {target.node.resource.get('type')})",
                hint="add an ssh entry with user and private_key whose filter fits it")
        from occo.util.ssh import SshError, SshUnreachable      # loads asyncssh
        try:
            access.verify()
        except SshUnreachable as error:
            raise NotReachableYet(error.message) from None
        except SshError as error:
            return Configured(False, error.message)
        return self.apply(target, access)

    def reapply_after(self) -> float | None:
        value = self.section.get("reapply")
        return DEFAULT_REAPPLY if value is None else float(value)

    @abc.abstractmethod
    def apply(self, target: ConfigTarget, access: SshAccess) -> Configured:
        """Configure the node, reached through `access` (its host key verified)."""

    def get_node_state(self, target: ConfigTarget) -> NodeState:
        if target.configured is None:
            return NodeState.PENDING
        return NodeState.READY if target.configured.ok else NodeState.FAILED
