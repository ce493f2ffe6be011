"""What a webhook is: the notification the store keeps, the service's key, each webhook's
secret, and the signature of a POST.

The store keeps a webhook's URL alone, never a secret (`WebhookNotification`): the secret
is derived, HMAC-SHA256 of the infrastructure id and URL under the service's key
(`webhook_secret`), a random key kept in a 0600 file next to the token file and made on
first use (`webhook_key`). Service processes that share a store must share that file for
their signatures to agree.

A POST is signed over its timestamp and its raw body (`signature`): a receiver that refuses
an old timestamp refuses a recorded POST sent again, and the timestamp cannot be changed
without the signature failing.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from occo.util.config import Settings
from occo.util.errors import ConfigurationError
from occo.util.private import create_private, open_private, private_folder
from occo.util.redact import redact_url

KEY_FILE = "rest-webhook-key"
TIMESTAMP_HEADER = "X-Occopus-Timestamp"
SIGNATURE_HEADER = "X-Occopus-Signature"


@dataclass(frozen=True)
class WebhookNotification:
    """An infrastructure's webhook as the store keeps it: its URL, the seq of the newest event
    when it was set (`since`: the events after it are the webhook's) and when (`at`, epoch
    seconds). Stored as the original's shape, `{"type": "webhook", "webhook": {"url"}, ...}`."""

    url: str
    since: int
    at: float

    def to_dict(self) -> dict[str, Any]:
        return {"type": "webhook", "webhook": {"url": self.url}, "since": self.since,
                "at": self.at}

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any] | None) -> WebhookNotification | None:
        """The webhook a stored notification describes; None for none, another kind, or a
        document this version cannot read."""
        if not stored or stored.get("type") != "webhook":
            return None
        target = stored.get("webhook")
        url = target.get("url") if isinstance(target, Mapping) else None
        since, at = stored.get("since", 0), stored.get("at", 0.0)
        if (not isinstance(url, str) or not url or isinstance(since, bool)
                or not isinstance(since, int) or isinstance(at, bool)
                or not isinstance(at, (int, float))):
            return None
        return cls(url, since, float(at))


def key_path(settings: Settings) -> Path:
    """Where the service keeps its webhook key: beside its token file."""
    return Path(settings.rest.token_file).with_name(KEY_FILE)


def webhook_key(path: Path) -> bytes:
    """The service's webhook key (32 random bytes, hex in a 0600 file of this user), made on
    first use; processes that start at once agree on one (the first link wins)."""
    if not os.path.lexists(path):
        private_folder(path.parent)
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        with os.fdopen(create_private(draft), "w") as stream:
            stream.write(secrets.token_bytes(32).hex() + "\n")
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    with os.fdopen(open_private(path, os.O_RDONLY), "r") as stream:
        text = stream.read(200)
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ConfigurationError(f"the webhook key {path} is not 64 hexadecimal digits",
                                 hint="remove it: a new one is made (and every webhook's "
                                      "secret changes)")
    return key


def webhook_secret(key: bytes, infra_id: str, url: str) -> str:
    """The secret a webhook's POSTs are signed with: bound to its infrastructure and URL."""
    return hmac.new(key, f"{infra_id}\n{url}".encode(), hashlib.sha256).hexdigest()


def delivery_target(url: str) -> str:
    """What the store records a webhook's delivery cursor under: a digest of its URL, so that
    the store keeps no second copy of it, and a new URL starts a cursor of its own."""
    return hashlib.sha256(url.encode()).hexdigest()[:32]


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The `X-Occopus-Signature` of a POST: `sha256=<hex HMAC-SHA256 of "<timestamp>.<raw
    body>" under the secret's UTF-8 bytes>`."""
    signed = f"{timestamp}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signed_headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers that let a receiver check a POST: its timestamp and signature."""
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signature(secret, timestamp,
                                                                          body)}


def public_url(url: str) -> str:
    """The URL without its user information (which may hold a password), for logs."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return redact_url(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    return redact_url(urlunsplit(parts._replace(netloc=netloc)))
