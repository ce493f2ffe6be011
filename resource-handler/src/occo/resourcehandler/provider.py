"""The info-broker keys `node.resource.*`: what a node's cloud says of it.

Each takes the instance record the engine stores for a node:
`{"resource": <its resolved resource section>, "instance": Instance.to_dict()}`.
The credentials are selected for the resource section from the
authentication file, and calls go through `ResourceHandlers`, so queries
share the engine's limits when it passes its own (`resource_handlers`).
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

from .base import Instance, NotSupported, TransientError
from .guard import GuardedHandler, ResourceHandlers

log = logging.getLogger("occo.resourcehandler")


class InstanceRecordError(OccoError):
    """A query was given something other than a stored instance record."""


class ResourceProvider(InfoProvider):
    """Answers from the handler of a stored instance's `resource` section.

    `resource_handlers` defaults to one of its own without limits; pass the
    engine's so that queries and engine calls count against the same limits.
    """

    def __init__(self, auth_data: CredentialSource | None = None,
                 resource_handlers: ResourceHandlers | None = None) -> None:
        self.auth_data = auth_data
        self.handlers = resource_handlers or ResourceHandlers(Settings())

    @provides("node.resource.state")
    def state(self, instance: Mapping[str, Any]) -> NodeState:
        """The resource's state; UNKNOWN while the cloud cannot be asked (a transient error)."""
        handler, record = self._handler(instance)
        try:
            return handler.get_state(record)
        except TransientError as error:
            log.info("%s: state unknown for now: %s", handler.label, error.message)
            return NodeState.UNKNOWN

    @provides("node.resource.address")
    def address(self, instance: Mapping[str, Any]) -> list[str]:
        """The addresses the node is reached at, the preferred first."""
        handler, record = self._handler(instance)
        return handler.get_address(record)

    @provides("node.resource.ip_address")
    def ip_address(self, instance: Mapping[str, Any]) -> str | None:
        handler, record = self._handler(instance)
        return handler.get_ip_address(record)

    @provides("node.resource.cost")
    def cost(self, instance: Mapping[str, Any]) -> float | None:
        """What the resource has cost so far; None where its cloud does not say."""
        handler, record = self._handler(instance)
        try:
            return handler.get_cost(record)
        except NotSupported:
            return None

    def _handler(self, instance: Mapping[str, Any]) -> tuple[GuardedHandler, Instance]:
        try:
            resource, record = instance["resource"], Instance.from_dict(instance["instance"])
        except (KeyError, TypeError) as error:
            raise InstanceRecordError(
                f"not an instance record (missing {error})",
                hint="pass the stored record: {'resource': ..., 'instance': Instance.to_dict()}"
            ) from None
        credentials = self.auth_data.select("resource", resource) if self.auth_data else None
        return self.handlers.for_resource(resource, credentials), record
