"""The openstacksdk connection of one nova resource: Keystone v3 auth and the region.

Credentials come from the auth_data entry, as the original took them: a
`username` and `password` (scoped to the section's `project_id`, the user in
`user_domain_name`), or `{type: application_credential, id, secret}`.
The endpoint is Keystone's; `/v3` is added when its path names no version.

Retries: none inside the SDK (`connect_retries` and `status_code_retries` 0).
The engine retries every `TransientError` itself, under the backend's limits;
a create is safe to retry, being idempotent by node id.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

import openstack.connection
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from occo.util.redact import redact_url

from ..base import Connection, PermanentError

TIMEOUT = 60.0      # seconds for one call: a server create answers within seconds
_VERSIONED = re.compile(r"/v\d+(\.\d+)?$")
CREDENTIALS_HINT = ("add an entry for this resource to auth_data.yaml: resource: [{type: nova, "
                    "endpoint: ..., auth_data: {username: ..., password: ...}}], or auth_data: "
                    "{type: application_credential, id: ..., secret: ...}")


def auth_url(endpoint: str) -> str:
    """Keystone's v3 URL: `endpoint` with `/v3` added when its path ends with no version."""
    parts = urlsplit(endpoint.strip())
    path = parts.path.rstrip("/")
    if not _VERSIONED.search(path):
        path += "/v3"
    return urlunsplit(parts._replace(path=path))


def make_auth(connection: Connection) -> v3.Password | v3.ApplicationCredential:
    """The Keystone v3 auth plugin of the connection's credentials; `PermanentError` when the
    endpoint is no http(s) URL or the credentials are incomplete."""
    settings, credentials = connection.settings, connection.credentials
    endpoint = str(settings.get("endpoint") or "").strip()
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PermanentError(f"[{connection.label}] the nova endpoint must be an http(s) URL, "
                             f"not {redact_url(endpoint) or 'nothing'}",
                             hint="write Keystone's URL in full, e.g. "
                                  "https://keystone.example.org:5000")
    url = auth_url(endpoint)
    kind = credentials.get("type")
    if kind == "application_credential":
        _require(connection, ("id", "secret"))
        return v3.ApplicationCredential(auth_url=url,
                                        application_credential_id=str(credentials["id"]),
                                        application_credential_secret=str(credentials["secret"]))
    if kind not in (None, ""):
        raise PermanentError(f"[{connection.label}] the nova auth_data type {kind!r} is not "
                             "supported", hint="leave type out (username and password) or "
                                               "write type: application_credential")
    _require(connection, ("username", "password"))
    if not str(settings.get("project_id") or "").strip():
        raise PermanentError(f"[{connection.label}] the nova resource has no project_id",
                             hint="set project_id in the resource section (openstack project "
                                  "list)")
    return v3.Password(auth_url=url, username=str(credentials["username"]),
                       password=str(credentials["password"]),
                       project_id=str(settings["project_id"]),
                       user_domain_name=str(settings.get("user_domain_name") or "Default"))


def make_connection(connection: Connection) -> openstack.connection.Connection:
    """An SDK connection of the resource's cloud and region, authenticating on first use."""
    session = ks_session.Session(auth=make_auth(connection), timeout=TIMEOUT,
                                 app_name="occopus")
    region = connection.settings.get("region_name")
    return openstack.connection.Connection(
        session=session, region_name=str(region) if region else None,
        connect_retries=0, status_code_retries=0)


def _require(connection: Connection, keys: tuple[str, ...]) -> None:
    missing = [key for key in keys if not str(connection.credentials.get(key) or "").strip()]
    if missing:
        raise PermanentError(f"[{connection.label}] the credentials selected for this nova "
                             f"resource have no {' and no '.join(missing)}",
                             hint=CREDENTIALS_HINT)
