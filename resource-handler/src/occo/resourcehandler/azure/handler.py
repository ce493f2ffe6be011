"""`AzureHandler`: what the azure_vm and azure_aci handlers share.

A handler holds one `AzureSession` (built without sending anything; the SDK's
loggers quieted), closes it with the handler, and turns what the SDK raises
into the contract's errors through `errors.classify` with its type's `HINTS`,
never quoting the client secret nor the values a call asks to hide.
"""
from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from contextlib import AbstractContextManager
from typing import ClassVar, TypeVar

from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.network import NetworkManagementClient

from occo.util.nodes import ResolvedNode

from ..base import Connection, ResourceHandler, raised_as_contract
from .errors import classify
from .session import AzureSession, quiet_sdk_loggers

Found = TypeVar("Found")


class AzureHandler(ResourceHandler):
    """A resource handler of one subscription, reached through one Resource Manager endpoint
    with one service principal."""

    # what to check for an Azure error code of the type's calls (or "404": any not-found)
    HINTS: ClassVar[Mapping[str, str]] = {}

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        quiet_sdk_loggers()
        self.session = AzureSession(connection)

    def close(self) -> None:
        self.session.close()

    @property
    def _network(self) -> NetworkManagementClient:
        return self.session.client(NetworkManagementClient)

    def _name_key(self, group: str, name: str) -> str:
        """A name of the resource group in this subscription, as a key of a lock: a create
        holds it, so that creates of one name in this process wait for each other (Azure's
        names ignore case)."""
        return (f"{self.connection.settings.get('endpoint')}|{self.session.subscription}|"
                f"{group.lower()}|{name.lower()}")

    def _read(self, get: Callable[[], Found], what: str, node: ResolvedNode | None = None, *,
              hide: Collection[str] = ()) -> Found | None:
        """`get()`'s resource, None when there is none (nor its resource group)."""
        with self._cloud_errors(f"reading the {what}", node, hide=hide):
            try:
                return get()
            except ResourceNotFoundError:
                return None

    def _cloud_errors(self, operation: str, node: ResolvedNode | None = None, *,
                      hide: Collection[str] = ()) -> AbstractContextManager[None]:
        """Raise what the SDK raises as a `TransientError` or `PermanentError`; bugs pass.
        `hide`: what the message must not quote besides the client secret (an admin password,
        a node's environment)."""
        return raised_as_contract(lambda error: classify(
            error, where=self.where(node), operation=operation,
            secrets=self.session.secrets | {item for item in hide if item}, hints=self.HINTS))
