"""The httpx client of a cloud whose API an account reaches with its email and password.

CloudSigma and CloudBroker both take basic authentication from auth_data's
`email` and `password`; a resource section names the API's URL as
`endpoint`. A bad endpoint or a missing credential is refused before any
call, as a `PermanentError` saying what to write. Nothing is retried here:
the engine retries each `TransientError` itself.
"""
from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from occo.util.redact import redact_url

from .base import Connection, PermanentError

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0
# the engine calls one handler from many threads
POOL_CONNECTIONS = 32
CREDENTIAL_KEYS = ("email", "password")


def basic_auth_client(connection: Connection, *, cloud: str, endpoint_hint: str, accept: str,
                      connect_timeout: float = CONNECT_TIMEOUT,
                      read_timeout: float = READ_TIMEOUT) -> httpx.Client:
    """A client of `connection`'s endpoint, logged in as its email and password, accepting
    `accept`; `PermanentError` (naming the `cloud` type) when the endpoint is not an http(s)
    URL (`endpoint_hint` says what to set) or a credential is missing."""
    endpoint = str(connection.settings.get("endpoint") or "").strip()
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PermanentError(f"[{connection.label}] the {cloud} endpoint is not an "
                             f"http(s) URL: {redact_url(endpoint) or 'nothing'}",
                             hint=endpoint_hint)
    missing = [key for key in CREDENTIAL_KEYS if not connection.credentials.get(key)]
    if missing:
        raise PermanentError(f"[{connection.label}] the {cloud} credentials have no "
                             f"{' and no '.join(missing)}",
                             hint="give this resource an entry in auth_data.yaml with "
                                  "auth_data: {email: ..., password: ...}")
    return httpx.Client(
        base_url=endpoint.rstrip("/") + "/",
        auth=httpx.BasicAuth(str(connection.credentials["email"]),
                             str(connection.credentials["password"])),
        headers={"Accept": accept, "User-Agent": "occopus"},
        timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
        limits=httpx.Limits(max_connections=POOL_CONNECTIONS),
        follow_redirects=False)
