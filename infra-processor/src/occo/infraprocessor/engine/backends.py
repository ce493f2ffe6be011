"""A node's cloud and config manager, each built with the credentials the auth file gives it.

Built per execution and shared by its worker threads: resource handlers come
from the caller's `ResourceHandlers` (which keeps one per connection and
applies each backend's limits), config managers from one `Managers` (one per
section, each infrastructure prepared once). What a section resolves to is
remembered for the section object: the nodes of one implementation share
theirs (`NodeResolver`), and a level of hundreds must not select credentials
and encode its section hundreds of times.
"""
from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from occo.configmanager.base import ConfigManager, ConfigTarget
from occo.configmanager.managers import Managers
from occo.infobroker.auth import CredentialSource
from occo.resourcehandler.guard import GuardedHandler, ResourceHandlers
from occo.util.config import SshSettings
from occo.util.nodes import section_key
from occo.util.ssh import HostKeyPolicy, KnownHosts

from ..record import InstanceRecord

if TYPE_CHECKING:
    from occo.util.ssh import SshAccess

__all__ = ["Backends", "describe_section", "section_key"]


def describe_section(section: Mapping[str, Any]) -> str:
    """A `resource` or `config_management` section in a few words, for messages."""
    where = section.get("endpoint") or section.get("workdir")
    return f"{section.get('type')} {where}" if where else str(section.get("type"))


class Backends:
    """Thread-safe; the credentials are selected per section on first use."""

    def __init__(self, handlers: ResourceHandlers, auth_data: CredentialSource | None,
                 ssh: SshSettings = SshSettings()) -> None:
        self.handlers = handlers
        self.auth_data = auth_data
        self.ssh = ssh
        self.managers = Managers(auth_data, key=self.key)
        self._keys: dict[int, tuple[Mapping[str, Any], str]] = {}     # id -> (section, key)
        self._clouds: dict[int, tuple[Mapping[str, Any], GuardedHandler]] = {}
        self._known_hosts: dict[str, KnownHosts] = {}
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

    def config_target(self, record: InstanceRecord, addresses: tuple[str, ...],
                      private_ip: str | None, manager: ConfigManager,
                      peers: Mapping[str, tuple[str, ...]] | None = None) -> ConfigTarget:
        """The instance as its config manager sees it; with its SSH access only for a
        manager that configures nodes (the others never reach the node)."""
        instance_id = record.instance.instance_id if record.instance is not None else ""
        return ConfigTarget(record.node, instance_id, addresses, private_ip, record.variables,
                            self._access(record, addresses) if manager.configures else None,
                            record.configured, peers or {})

    def _access(self, record: InstanceRecord, addresses: tuple[str, ...]) -> SshAccess | None:
        """How to reach the instance over SSH; None without an address or a login for it."""
        from occo.util.ssh import SshAccess, SshLogin, SshOptions, SshTarget   # loads asyncssh
        data = self._credentials("ssh", record.resource)
        if not addresses or data is None:
            return None
        with self._lock:
            known = self._known_hosts.get(record.infra_id)
            if known is None:
                known = self._known_hosts[record.infra_id] = KnownHosts.of_infrastructure(
                    record.infra_id, HostKeyPolicy(self.ssh.host_keys))
        port = (self.cloud(record.resource).ssh_port(record.instance)
                if record.instance is not None else 22)
        target = SshTarget(addresses[0], port, f"{record.name}/{record.node_id[:8]}",
                           machine=record.node_id)
        return SshAccess(target, SshLogin.from_auth_data(data), known,
                         SshOptions(parallel=self.ssh.parallel,
                                    connect_timeout=self.ssh.connect_timeout))

    def _credentials(self, kind: str, section: Mapping[str, Any]) -> dict[str, Any] | None:
        return self.auth_data.select(kind, section) if self.auth_data else None
