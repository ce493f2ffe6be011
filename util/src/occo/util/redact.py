"""Hiding secrets before anything is logged or put in an error message.

This is the one place that decides what a secret is, so that logs, error
messages and debug dumps all hide the same things. A key is secret when its
name, lower-cased and without `_` and `-`, is in `SECRET_NAMES` or ends with
one of `SECRET_SUFFIXES`; the whole value under a secret key is masked (every
leaf of it, keeping the shape, so a log still shows which keys were given).
`auth_data` is a secret key, so a credentials section never shows.

Names such as `key_name` (an EC2 key pair), `ssh_key_data` (a public key) or
`password_file` (a path) are not secrets and stay readable.
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

REDACTED = "***"
SHORTEST_SECRET = 4

SECRET_NAMES = frozenset({
    "authdata",          # a whole credentials section of the auth file
    "pass", "pwd",       # e.g. health_check mysqldbs: {name, user, pass}
    "credentials",
})
SECRET_SUFFIXES = (
    "password",          # password, vnc_password, admin_password
    "passwd",
    "passphrase",
    "secret",            # secret, client_secret
    "secretkey",         # secretkey, aws_secret_key
    "accesskey",         # accesskey, access_key
    "clientkey",         # chef client_key (a PEM)
    "privatekey",
    "apikey",            # api_key (FCM notifications)
    "token",             # token, access_token, auth_token
)

T = TypeVar("T")
_COLLECTIONS = (list, tuple, frozenset, set)   # copied as the plain type (YamlList -> list)

# the password runs to the last `@` before the host, as URL parsers read it (`u:p@ss@host`)
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<secret>[^/\s]+?)"
                           r"(?=@[^@/\s]*(?:[/?#\s]|$))", re.IGNORECASE)
_QUERY_PARAM = re.compile(r"(?P<head>[?&;](?P<name>[^=&;#\s]+)=)(?P<value>[^&;#\s]*)")


def is_secret_key(key: Any) -> bool:
    """Whether the value stored under `key` must be hidden."""
    if not isinstance(key, str):
        return False
    name = key.lower().replace("_", "").replace("-", "")
    return name in SECRET_NAMES or name.endswith(SECRET_SUFFIXES)


def redact(obj: T) -> T:
    """A deep copy of `obj` with every secret value replaced by `REDACTED`.

    Mappings, lists, tuples, sets and dataclass instances are copied (mappings
    become plain dicts); strings have URL passwords and secret query parameters
    hidden (`redact_url`); other values are returned as they are. `None` under a
    secret key stays `None`: it tells the reader the secret is missing, and
    hides nothing.
    """
    return _copy(obj, masked=False)


def redact_url(text: str) -> str:
    """`text` with the password of every URL in it, and secret query parameters, hidden.

    `redis://user:pw@host:6379/0` becomes `redis://user:***@host:6379/0`; it
    works on a bare URL and on a message that contains URLs.
    """
    if "://" not in text:                 # neither pattern can match: the common case
        return text
    text = _URL_PASSWORD.sub(lambda match: match["head"] + REDACTED, text)
    return _QUERY_PARAM.sub(
        lambda match: match["head"] + REDACTED if is_secret_key(match["name"]) and match["value"]
        else match[0], text)


def has_url_password(text: Any) -> bool:
    """Whether `text` is a string holding a URL with a password (`https://user:pw@host/`)."""
    return isinstance(text, str) and _URL_PASSWORD.search(text) is not None


def url_password_paths(obj: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The key paths of every string in `obj` (mappings and lists, keys too) holding a URL
    with a password: where a check puts its error."""
    if has_url_password(obj):
        return [path]
    if isinstance(obj, Mapping):
        return [found for key, value in obj.items()
                for found in ([(*path, key)] if has_url_password(key) else [])
                + url_password_paths(value, (*path, key))]
    if isinstance(obj, (list, tuple)):
        return [found for index, item in enumerate(obj)
                for found in url_password_paths(item, (*path, index))]
    return []


def secret_values(obj: Any, masked: bool = False) -> set[str]:
    """The strings `redact` would hide in `obj` (and `masked`: all of it), to hide them in free
    text too (an error a library raised may quote a password); those shorter than
    `SHORTEST_SECRET` would garble a message more than they hide, and are left out."""
    if isinstance(obj, Mapping):
        return {text for key, value in obj.items()
                for text in secret_values(value, masked or is_secret_key(key))}
    if isinstance(obj, _COLLECTIONS):
        return {text for item in obj for text in secret_values(item, masked)}
    if masked and obj is not None and len(str(obj)) >= SHORTEST_SECRET:
        return {str(obj)}
    return set()


_KNOWN_SECRETS: set[str] = set()


def remember_secrets(obj: Any) -> None:
    """Keep the secrets of `obj` (see `secret_values`: a credentials file, say) for `known_secrets`.

    A crash log is written where no credentials are at hand, from a traceback
    whose messages may quote them: it hides every secret this process read.
    """
    _KNOWN_SECRETS.update(secret_values(obj))


def known_secrets() -> frozenset[str]:
    """Every secret `remember_secrets` was given in this process."""
    return frozenset(_KNOWN_SECRETS)


def hide(text: str, secrets: Iterable[str]) -> str:
    """`text` with each of `secrets` (see `secret_values`) and every URL password hidden."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return redact_url(text)


def _copy(obj: Any, masked: bool) -> Any:
    if isinstance(obj, Mapping):
        return {key: _copy(value, masked or is_secret_key(key)) for key, value in obj.items()}
    for collection in _COLLECTIONS:
        if isinstance(obj, collection):
            return collection(_copy(item, masked) for item in obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.replace(obj, **{
            item.name: _copy(getattr(obj, item.name), masked or is_secret_key(item.name))
            for item in dataclasses.fields(obj) if item.init})
    if obj is None or not masked:
        return redact_url(obj) if isinstance(obj, str) else obj
    return REDACTED
