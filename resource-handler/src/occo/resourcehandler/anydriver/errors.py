"""What Libcloud raises, as the contract's errors: one line, no secrets.

Libcloud tells HTTP failures by `BaseHTTPError` (its code), throttling by
`RateLimitReachedError` (with the cloud's Retry-After), refused credentials
by `InvalidCredsError`, other answers by `ProviderError` (its HTTP code).
Throttling, a 5xx, a conflict (409), a garbled answer and a lost or timed out
connection are transient; the rest are permanent, with a hint of what to fix.
"""
from __future__ import annotations

import ssl
from collections.abc import Collection, Mapping
from typing import Any

import requests
from libcloud.common.exceptions import BaseHTTPError, RateLimitReachedError
from libcloud.common.types import (InvalidCredsError, LibcloudError, MalformedResponseError,
                                   ProviderError, ServiceUnavailableError)

from .. import httpanswers
from ..base import PermanentError, ResourceError, TransientError
from ..httpanswers import RETRY_HINT, THROTTLED_WAIT, one_line, retry_after

CREDENTIALS_HINT = ("check this resource's entry of auth_data.yaml (key, secret and any other "
                    "credential the driver takes) and driver_args")
PERMISSION_HINT = "the credentials may not do this: check the account's rights and quota"
REQUEST_HINT = ("check the libcloud resource section (image, size, location, create_args) "
                "against the driver's documentation")
MOST_WORDS = 500


def classify(error: Exception, *, where: str, operation: str,
             secrets: Collection[str]) -> ResourceError | None:
    """`error` as a `TransientError` or `PermanentError`; None when it came neither from the
    cloud nor from the network (a bug, to be let through)."""
    said = _line(f"{where}: {operation} failed: {error}", secrets)
    if isinstance(error, RateLimitReachedError):
        return TransientError(said, hint=RETRY_HINT,
                              retry_after=float(error.retry_after or 0) or THROTTLED_WAIT)
    if isinstance(error, InvalidCredsError):
        return PermanentError(said, hint=CREDENTIALS_HINT)
    if isinstance(error, ServiceUnavailableError):
        return TransientError(said, hint=RETRY_HINT)
    if isinstance(error, BaseHTTPError):
        return from_status(int(error.code or 0), said, error.headers or {})
    if isinstance(error, ProviderError):
        return from_status(int(error.http_code or 0), said, {})
    if isinstance(error, MalformedResponseError):
        return TransientError(said, hint=RETRY_HINT)
    if isinstance(error, (ssl.SSLError, requests.exceptions.SSLError)):
        return PermanentError(said, hint="check the endpoint's URL and certificate (https "
                                         "needs a certificate this machine trusts)")
    if isinstance(error, (requests.ConnectionError, requests.Timeout, ConnectionError,
                          TimeoutError)):
        return TransientError(said, hint="is the cloud reachable from here? The engine retries")
    if isinstance(error, LibcloudError):
        return PermanentError(said, hint=REQUEST_HINT)
    return None


def from_status(status: int, message: str, headers: Mapping[str, Any]) -> ResourceError:
    """The error of an HTTP answer `status`."""
    lowered = {str(key).lower(): value for key, value in headers.items()}
    return httpanswers.from_status(status, message, wait=retry_after(lowered.get("retry-after")),
                                   hints={401: CREDENTIALS_HINT, 403: PERMISSION_HINT},
                                   default_hint=REQUEST_HINT)


def _line(text: str, secrets: Collection[str]) -> str:
    return one_line(text, secrets)[:MOST_WORDS]
