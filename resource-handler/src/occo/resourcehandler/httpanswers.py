"""What an HTTP answer or failure means to the engine, the same for every cloud.

A throttled call (429) waits the cloud's Retry-After (a number of seconds or
an HTTP date) and is retried; so are a 5xx and a conflict with an operation in
progress (409); any other refusal is permanent, with the plugin's hint of
what to fix. Each plugin keeps its own reading of the cloud's words; this
module only says what kind of error an answer is, and writes it on one line
with the secrets hidden.
"""
from __future__ import annotations

import email.utils
import time
from collections.abc import Collection, Mapping

import httpx

from occo.util.redact import hide

from .base import PermanentError, ResourceError, TransientError

RETRY_HINT = "the engine retries it; if it lasts, check the cloud's status"
THROTTLED_WAIT = 1.0        # when a throttled answer says not how long to wait
CERTIFICATE_HINT = ("check the endpoint's URL and certificate (https needs a certificate this "
                    "machine trusts)")
UNREACHABLE_HINT = "is the endpoint reachable from here? The engine retries"
REDIRECT_HINT = ("the endpoint redirects (e.g. from http to https): set endpoint to the URL "
                 "it points to")


def retry_after(value: object) -> float | None:
    """Retry-After in seconds (a number of seconds or an HTTP date), None if absent or bad."""
    if value is None or value == "":
        return None
    try:
        return max(0.0, float(value))       # type: ignore[arg-type]
    except (TypeError, ValueError):
        pass
    if not isinstance(value, str):
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def from_status(status: int, message: str, *, wait: float | None,
                hints: Mapping[int, str | None], default_hint: str) -> ResourceError:
    """The error of an answer `status` told by `message`: transient when throttled (after
    `wait`, the cloud's Retry-After), a 5xx or a 409; else permanent, hinted by `hints` of
    its status or `default_hint`. A redirect (3xx, which the clients do not follow) is
    permanent: the endpoint is to be set to where it points."""
    if 300 <= status < 400:
        return PermanentError(message, hint=REDIRECT_HINT)
    if status == 429:
        return TransientError(message, hint=RETRY_HINT, retry_after=wait or THROTTLED_WAIT)
    if status >= 500 or status == 409:
        return TransientError(message, hint=RETRY_HINT, retry_after=wait)
    return PermanentError(message, hint=hints.get(status) or default_hint)


def from_transport(error: Exception, failed: str, secrets: Collection[str], *,
                   url_hint: str) -> ResourceError | None:
    """httpx's `error` when no answer came, `failed` starting its message ("where: operation
    failed"): a bad URL or certificate is permanent, a lost connection transient; None when
    `error` is not httpx's."""
    if isinstance(error, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return PermanentError(one_line(f"{failed}: {error}", secrets), hint=url_hint)
    if isinstance(error, httpx.ConnectError) and "CERTIFICATE" in str(error).upper():
        return PermanentError(one_line(f"{failed}: {error}", secrets), hint=CERTIFICATE_HINT)
    if isinstance(error, httpx.TransportError):
        return TransientError(one_line(f"{failed}: {type(error).__name__}: {error}", secrets),
                              hint=UNREACHABLE_HINT)
    return None


def one_line(text: str, secrets: Collection[str]) -> str:
    """`text` on one line, with `secrets` and URL passwords hidden."""
    return " ".join(hide(text, secrets).split())
