"""Credentials belong in the auth file: a URL with a password elsewhere is refused.

A section the engine connects with (`resource`, `config_management`,
`health_check`) is stored with every instance record and shown in messages
and events; a password in one of its URLs (`https://user:secret@host/`) would
be stored and shown with it. The credentials go in `auth_data.yaml`, whose
entries select the endpoint by a filter and which is never stored
(docs/adr/0011-credentials-out-of-descriptions.md).
"""
from __future__ import annotations

from typing import Any

from .errors import OccoError
from .redact import redact_url, url_password_paths
from .schema import Problems
from .yamlload import location_of

HINT = ("move the user name and password into auth_data.yaml: an entry whose filter names this "
        "endpoint (without the credentials), e.g. {type: ..., endpoint: https://host/, "
        "auth_data: {username: ..., password: ...}}")


class CredentialsInDescription(OccoError):
    """A section the engine connects with holds a URL with a password."""


def check_url_passwords(data: Any, label: str, problems: Problems) -> None:
    """Add a problem for every URL with a password in `data` (a section), never quoting it."""
    for path in url_password_paths(data):
        problems.add(f"{_name(path)} in the {label} holds a URL with a password",
                     lambda path=path: _location(data, path), HINT)


def refuse_url_passwords(data: Any, label: str) -> None:
    """`CredentialsInDescription` naming the first URL with a password in `data` (rendered
    values: a template may put one there)."""
    for path in url_password_paths(data):
        raise CredentialsInDescription(f"{_name(path)} in the {label} holds a URL with a "
                                       "password once rendered", hint=HINT)


def _name(path: tuple[Any, ...]) -> str:
    return "'" + ".".join(redact_url(str(part)) for part in path) + "'" if path else "a value"


def _location(data: Any, path: tuple[Any, ...]) -> Any:
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    return location_of(parent, path[-1]) if path else location_of(data)
