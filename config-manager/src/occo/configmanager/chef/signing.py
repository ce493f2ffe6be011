"""Signing Chef Infra Server API requests: Chef's authentication protocol, version 1.3.

A request carries its client's name, a timestamp and the SHA-256 of its body;
those, its method, its path and the API version are signed with the client's
RSA key (RSASSA-PKCS1-v1_5 over SHA-256), and the server checks the signature
with the public key it holds for the client. Version 1.3 is the only one
made here: the older ones rest on SHA-1, and every Chef Server since 12.4
takes 1.3. The fake server of the tests checks requests with `verify`.
"""
from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from occo.util.errors import ConfigurationError

SIGN_VERSION = "1.3"
SIGN_HEADER = f"algorithm=sha256;version={SIGN_VERSION}"
API_VERSION = "1"
LINE = 60                       # the signature's base64 is sent in lines of at most 60
ALLOWED_SKEW = timedelta(minutes=15)        # what a Chef server tolerates between clocks


def canonical_path(path: str) -> str:
    """The path as signed: no query, no repeated slashes, no trailing slash (but `/`)."""
    path = re.sub("/+", "/", path.split("?", 1)[0]) or "/"
    return path.rstrip("/") or "/"


def content_hash(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def message(method: str, path: str, hashed_body: str, when: str, user_id: str,
            api_version: str = API_VERSION) -> bytes:
    """The text a v1.3 signature covers (lines joined by newlines, none after the last)."""
    return "\n".join((f"Method:{method.upper()}", f"Path:{canonical_path(path)}",
                      f"X-Ops-Content-Hash:{hashed_body}", f"X-Ops-Sign:version={SIGN_VERSION}",
                      f"X-Ops-Timestamp:{when}", f"X-Ops-UserId:{user_id}",
                      f"X-Ops-Server-API-Version:{api_version}")).encode()


def load_key(pem: str | bytes, client_name: str) -> rsa.RSAPrivateKey:
    """The client's RSA private key from its PEM text; what is wrong with it, said so."""
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as error:
        raise ConfigurationError(
            f"client_key of Chef client '{client_name}' is not an unencrypted PEM private key",
            hint=f"give the key the Chef server made for the client ({error.__class__.__name__}), "
                 "e.g. client_key: !text_import {url: file://client.pem}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigurationError(f"client_key of Chef client '{client_name}' is not an RSA key",
                                 hint="Chef clients sign with RSA keys")
    return key


def signed_headers(key: rsa.RSAPrivateKey, user_id: str, method: str, path: str, body: bytes,
                   *, now: datetime | None = None,
                   api_version: str = API_VERSION) -> dict[str, str]:
    """The headers that authenticate one request of `user_id` (the client's name)."""
    hashed, when = content_hash(body), timestamp(now or datetime.now(UTC))
    signature = key.sign(message(method, path, hashed, when, user_id, api_version),
                         padding.PKCS1v15(), hashes.SHA256())
    encoded = base64.b64encode(signature).decode()
    headers = {"X-Ops-Sign": SIGN_HEADER, "X-Ops-Userid": user_id, "X-Ops-Timestamp": when,
               "X-Ops-Content-Hash": hashed, "X-Ops-Server-API-Version": api_version}
    for number, start in enumerate(range(0, len(encoded), LINE), 1):
        headers[f"X-Ops-Authorization-{number}"] = encoded[start:start + LINE]
    return headers


class Refused(Exception):
    """Why a server refuses a request's authentication."""


def verify(public_keys: Mapping[str, rsa.RSAPublicKey], method: str, path: str, body: bytes,
           headers: Mapping[str, str], *, now: datetime | None = None) -> str:
    """The client a request comes from, if it is signed as v1.3 by that client's key within
    the allowed clock skew; `Refused` saying why not. `headers` are read case-insensitively
    (an `email.message.Message` is)."""
    sign = headers.get("X-Ops-Sign") or ""
    if f"version={SIGN_VERSION}" not in sign.split(";"):
        raise Refused(f"X-Ops-Sign {sign!r}: only version {SIGN_VERSION} is accepted")
    user_id = headers.get("X-Ops-Userid") or ""
    if user_id not in public_keys:
        raise Refused(f"no client or user named {user_id!r}")
    when = headers.get("X-Ops-Timestamp") or ""
    try:
        sent = datetime.strptime(when, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise Refused(f"X-Ops-Timestamp {when!r} is not an ISO-8601 UTC time") from None
    if abs((now or datetime.now(UTC)) - sent) > ALLOWED_SKEW:
        raise Refused(f"X-Ops-Timestamp {when} is too far from the server's clock")
    hashed = headers.get("X-Ops-Content-Hash") or ""
    if hashed != content_hash(body):
        raise Refused("X-Ops-Content-Hash is not the hash of the body")
    lines, number = [], 1
    while (line := headers.get(f"X-Ops-Authorization-{number}")) is not None:
        lines.append(line)
        number += 1
    try:
        signature = base64.b64decode("".join(lines), validate=True)
        public_keys[user_id].verify(
            signature, message(method, path, hashed, when, user_id,
                               headers.get("X-Ops-Server-API-Version") or ""),
            padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        raise Refused(f"Invalid signature for user or client '{user_id}'") from None
    return user_id
