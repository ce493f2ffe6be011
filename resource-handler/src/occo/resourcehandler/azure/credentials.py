"""Signing in to an Azure cloud: where, with what, and the management clients it opens.

The endpoint is Resource Manager's (`https://management.azure.com` for Azure).
Where its tokens come from is known for Azure's public, China and US
Government clouds; for any other endpoint (Azure Stack Hub, a sovereign
cloud) it is read once per endpoint from the endpoint's own metadata,
`GET <endpoint>/metadata/endpoints`, as the Azure CLI does for a cloud it is
told to register.

The auth_data entry holds a service principal's client secret:
`tenant_id`, `client_id`, `client_secret` and `subscription_id`, as the
original took them.

TLS is verified against the system's certificate authorities, or the bundle
REQUESTS_CA_BUNDLE names (the Azure SDK's HTTP transport is requests).

Retries: none inside the SDK (`retry_total` 0). The engine retries every
`TransientError` itself, under the backend's limits; every create is a PUT
by name, safe to repeat.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from azure.identity import ClientSecretCredential

from occo.util.redact import redact_url

from ..base import Connection, PermanentError, TransientError
from ..httpanswers import CERTIFICATE_HINT, UNREACHABLE_HINT

TIMEOUT = 60.0              # seconds for one call
POLL_SECONDS = 2.0          # between two looks at an operation that did not say when to look
METADATA_VERSION = "2022-09-01"
CREDENTIAL_KEYS = ("tenant_id", "client_id", "client_secret", "subscription_id")
CREDENTIALS_HINT = ("add an entry for this resource to auth_data.yaml: resource: [{type: "
                    "azure_vm (or azure_aci), auth_data: {tenant_id: ..., client_id: ..., "
                    "client_secret: ..., subscription_id: ...}}] (a service principal: az ad sp "
                    "create-for-rbac)")
ENDPOINT_HINT = "set endpoint to Resource Manager's URL, e.g. https://management.azure.com"

Client = TypeVar("Client")


@dataclass(frozen=True)
class AzureCloud:
    """Where a Resource Manager endpoint's tokens come from: the sign-in authority and the
    scope of a token for it. `public`: an authority Microsoft's sign-in library knows."""

    endpoint: str
    authority: str
    scope: str
    public: bool


# Resource Manager host -> (sign-in authority, token audience) of Azure's own clouds
_KNOWN: dict[str, tuple[str, str]] = {
    "management.azure.com": ("https://login.microsoftonline.com",
                             "https://management.azure.com"),
    "management.chinacloudapi.cn": ("https://login.chinacloudapi.cn",
                                    "https://management.chinacloudapi.cn"),
    "management.usgovcloudapi.net": ("https://login.microsoftonline.us",
                                     "https://management.usgovcloudapi.net"),
}
_DISCOVERED: dict[str, AzureCloud] = {}
_DISCOVERING = threading.Lock()


def cloud_of(connection: Connection) -> AzureCloud:
    """The cloud of the connection's endpoint (its metadata read once per process)."""
    endpoint = str(connection.settings.get("endpoint") or "").strip().rstrip("/")
    parts = urlsplit(endpoint)
    if parts.scheme != "https" or not parts.hostname:
        raise PermanentError(f"[{connection.label}] the Azure endpoint must be an https URL, "
                             f"not {redact_url(endpoint) or 'nothing'}", hint=ENDPOINT_HINT)
    known = _KNOWN.get(parts.hostname.lower())
    if known is not None:
        return AzureCloud(endpoint, known[0], known[1] + "/.default", public=True)
    with _DISCOVERING:
        if endpoint not in _DISCOVERED:
            _DISCOVERED[endpoint] = _discover(connection, endpoint)
        return _DISCOVERED[endpoint]


def _discover(connection: Connection, endpoint: str) -> AzureCloud:
    url = f"{endpoint}/metadata/endpoints?api-version={METADATA_VERSION}"
    failed = f"[{connection.label}] reading the cloud's metadata ({redact_url(url)}) failed"
    try:
        answer = requests.get(url, timeout=TIMEOUT)
    except requests.exceptions.SSLError as error:
        raise PermanentError(f"{failed}: {error}", hint=CERTIFICATE_HINT) from None
    except requests.exceptions.RequestException as error:
        raise TransientError(f"{failed}: {type(error).__name__}", hint=UNREACHABLE_HINT) from None
    if answer.status_code >= 500 or answer.status_code == 429:
        raise TransientError(f"{failed}: {answer.status_code} {answer.reason}",
                             hint=UNREACHABLE_HINT)
    try:
        authentication = answer.json()["authentication"] if answer.ok else None
        authority = str(authentication["loginEndpoint"]).rstrip("/")
        audience = str(authentication["audiences"][0]).rstrip("/")
    except (ValueError, KeyError, IndexError, TypeError):
        raise PermanentError(f"{failed}: {answer.status_code}: the answer does not say where to "
                             "sign in", hint=ENDPOINT_HINT + " or an Azure Stack Hub's "
                             "management endpoint") from None
    return AzureCloud(endpoint, authority, audience + "/.default", public=False)


def credential_of(connection: Connection, cloud: AzureCloud) -> ClientSecretCredential:
    """The service principal's credential; `PermanentError` when the entry lacks a key."""
    credentials = connection.credentials
    missing = [key for key in CREDENTIAL_KEYS if not str(credentials.get(key) or "").strip()]
    if missing:
        raise PermanentError(f"[{connection.label}] the credentials selected for this "
                             f"{connection.type_name} resource have no "
                             f"{' and no '.join(missing)}", hint=CREDENTIALS_HINT)
    return ClientSecretCredential(str(credentials["tenant_id"]), str(credentials["client_id"]),
                                  str(credentials["client_secret"]), authority=cloud.authority,
                                  disable_instance_discovery=not cloud.public,
                                  connection_timeout=TIMEOUT, read_timeout=TIMEOUT,
                                  retry_total=0)


def management_client(make: Callable[..., Client], connection: Connection, cloud: AzureCloud,
                      credential: ClientSecretCredential, **options: Any) -> Client:
    """A management client (`make`: its class) of the connection's subscription."""
    return make(credential, str(connection.credentials["subscription_id"]),
                base_url=cloud.endpoint, credential_scopes=[cloud.scope], retry_total=0,
                polling_interval=POLL_SECONDS, connection_timeout=TIMEOUT,
                read_timeout=TIMEOUT, **options)
