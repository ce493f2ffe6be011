"""The info-broker keys `node.resource.*`: what a node's cloud says of it.

Each takes the node's resolved `resource` section and its `Instance`; the
component that stores instance records decodes them and passes these two. The
credentials are selected for the section from the authentication file, and
calls go through `ResourceHandlers`, so queries share the engine's limits
when it passes its own (`resource_handlers`).
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from occo.infobroker.auth import CredentialSource
from occo.infobroker.broker import InfoProvider, provides
from occo.util.config import Settings
from occo.util.errors import OccoError
from occo.util.nodes import NodeState

from .base import Instance, ResourceStatus, TransientError
from .guard import GuardedHandler, ResourceHandlers

log = logging.getLogger("occo.resourcehandler")


class InstanceRecordError(OccoError):
    """A query was given something other than a resource section and an `Instance`."""


class ResourceProvider(InfoProvider):
    """Answers from the handler of a resource section's connection.

    `resource_handlers` defaults to one of its own without limits; pass the
    engine's so that queries and engine calls count against the same limits.
    """

    def __init__(self, auth_data: CredentialSource | None = None,
                 resource_handlers: ResourceHandlers | None = None) -> None:
        self.auth_data = auth_data
        self.handlers = resource_handlers or ResourceHandlers(Settings())

    @provides("node.resource.status")
    def status(self, resource: Mapping[str, Any], instance: Instance) -> ResourceStatus:
        """The resource's state, addresses and private address, in one call."""
        return self._handler(resource, instance).get_states([instance])[0]

    @provides("node.resource.state")
    def state(self, resource: Mapping[str, Any], instance: Instance) -> NodeState:
        """The resource's state; UNKNOWN while the cloud cannot be asked (a transient error)."""
        try:
            return self.status(resource, instance).state
        except TransientError as error:
            log.info("%s: state unknown for now: %s", resource.get("type"), error.message)
            return NodeState.UNKNOWN

    @provides("node.resource.address")
    def address(self, resource: Mapping[str, Any], instance: Instance) -> list[str]:
        """The addresses the node is reached at, the preferred first."""
        return list(self.status(resource, instance).addresses)

    @provides("node.resource.ip_address")
    def ip_address(self, resource: Mapping[str, Any], instance: Instance) -> str | None:
        return self.status(resource, instance).private_ip

    @provides("node.resource.cost")
    def cost(self, resource: Mapping[str, Any], instance: Instance) -> float | None:
        """What the resource has cost so far; None where its cloud does not say."""
        handler = self._handler(resource, instance)
        return handler.get_cost(instance) if handler.capabilities.costs else None

    def _handler(self, resource: Mapping[str, Any], instance: Instance) -> GuardedHandler:
        if not isinstance(resource, Mapping) or "type" not in resource \
                or not isinstance(instance, Instance):
            raise InstanceRecordError(
                "node.resource.* takes a resolved resource section and an Instance, not "
                f"{type(resource).__name__} and {type(instance).__name__}",
                hint="decode the stored record first (InstanceRecord.from_dict)")
        credentials = self.auth_data.select("resource", resource) if self.auth_data else None
        return self.handlers.for_resource(resource, credentials)
