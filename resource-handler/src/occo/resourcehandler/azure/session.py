"""What every Azure handler holds: the sign-in of one connection and its management clients.

`AzureSession` signs in at the first call that needs a client, not when the
handler is built (building one sends nothing), so a sign-in failure (an
endpoint not https, a missing credential key, the cloud's metadata unreadable)
surfaces as that call's error. Clients are made once per class and shared by
the handler's threads; `close` lets them go.

`ensure_resource_group` is the one rule for the resource group a section
names: made in the section's location when absent, never deleted (it may hold
what is not Occopus's).
"""
from __future__ import annotations

import logging
import threading
from typing import Any, TypeVar

from azure.identity import ClientSecretCredential
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.resource.resources.models import ResourceGroup

from ..base import Connection
from .credentials import cloud_of, credential_of, management_client

log = logging.getLogger("occo.resourcehandler.azure")

Client = TypeVar("Client")


def quiet_sdk_loggers() -> None:
    """The SDK logs every request at INFO, a failed sign-in at WARNING, and an error answer
    without a JSON body (a HEAD's, a proxy's page) with a traceback at WARNING: the handler
    reports failures itself, once and without secrets."""
    logging.getLogger("azure").setLevel(logging.WARNING)
    logging.getLogger("azure.identity").setLevel(logging.ERROR)
    logging.getLogger("azure.mgmt").setLevel(logging.ERROR)


class AzureSession:
    """One connection's credential and management clients, each made at first use."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        secret = str(connection.credentials.get("client_secret") or "")
        # what no message or log may quote
        self.secrets: frozenset[str] = frozenset({secret} if secret else ())
        self._lock = threading.Lock()
        self._credential: ClientSecretCredential | None = None
        self._clients: dict[type, Any] = {}

    @property
    def subscription(self) -> str:
        return str(self.connection.credentials.get("subscription_id") or "")

    def client(self, make: type[Client]) -> Client:
        """The management client of class `make`, made (and signed in) at its first use;
        a sign-in error is raised here, as the contract's."""
        with self._lock:
            made = self._clients.get(make)
            if made is None:
                cloud = cloud_of(self.connection)
                if self._credential is None:
                    self._credential = credential_of(self.connection, cloud)
                made = self._clients[make] = management_client(make, self.connection, cloud,
                                                               self._credential)
            return made

    def close(self) -> None:
        """Close the clients and the credential; a later call makes them again."""
        with self._lock:
            clients, self._clients = self._clients, {}
            credential, self._credential = self._credential, None
        for client in clients.values():
            client.close()
        if credential is not None:
            credential.close()


def ensure_resource_group(session: AzureSession, name: str, location: str, *,
                          where: str) -> bool:
    """Make the resource group in `location` unless it exists (True: made now). SDK errors
    pass, for the handler to classify."""
    groups = session.client(ResourceManagementClient).resource_groups
    if groups.check_existence(name):
        return False
    groups.create_or_update(name, ResourceGroup(location=location))
    log.info("%s: created resource group %s in %s", where, name, location)
    return True
