"""CloudSigma's answers and httpx's failures as the contract's errors: one line, no secrets.

CloudSigma answers an error with a JSON list of `{error_point, error_type,
error_message}` (API 2.0, "Errors"). What a user can fix (credentials,
permissions, a library drive that does not exist, a description the cloud
refuses, an account without funds) is permanent, its hint saying what to fix.
A throttled call (429, with Retry-After), a resource busy with another
operation (409), a 5xx, and a connection lost or timed out are transient:
the engine retries them.

Messages quote the cloud's own words, with every credential value and URL
password hidden.
"""
from __future__ import annotations

import email.utils
import time
from collections.abc import Collection, Mapping

import httpx

from occo.util.redact import hide

from ..base import PermanentError, ResourceError, TransientError

RETRY_HINT = "the engine retries it; if it lasts, check the cloud's status"
CREDENTIALS_HINT = ("check email and password in this resource's entry of auth_data.yaml: "
                    "they must log in to this CloudSigma location")
PERMISSION_HINT = ("the account may not do this: check its permissions, and that the drive "
                   "or server is its own")
FUNDS_HINT = "the account has no funds or subscription left for this: top it up"
REQUEST_HINT = "check the description in the resource section of the node definition"
LIBDRIVE_HINT = ("check libdrive_id in the resource section: it must be the uuid of a library "
                 "drive of this CloudSigma location")
NOT_CLOUDSIGMA_HINT = ("is the endpoint CloudSigma's API 2.0 (https://<location>.cloudsigma.com"
                       "/api/2.0)? The engine retries in case the answer came from a proxy in "
                       "trouble")
MOST_WORDS = 500        # characters of the cloud's words quoted
DEFAULT_THROTTLE_WAIT = 1.0


class CloudSigmaError(Exception):
    """An error answer of the API: its status, the cloud's words, and its Retry-After."""

    def __init__(self, status: int, said: str, error_type: str,
                 retry_after: float | None) -> None:
        super().__init__(f"{status} {error_type}: {said}")
        self.status = status
        self.said = said
        self.error_type = error_type
        self.retry_after = retry_after

    @classmethod
    def of(cls, response: httpx.Response) -> CloudSigmaError:
        said, error_type = cloud_words(response)
        return cls(response.status_code, said, error_type,
                   retry_after(response.headers.get("Retry-After")))


def cloud_words(response: httpx.Response) -> tuple[str, str]:
    """The cloud's message and error type from an error answer: its list of errors joined,
    or the start of its body when it is not CloudSigma's JSON."""
    try:
        body = response.json()
    except ValueError:
        body = None
    errors = body if isinstance(body, list) else [body] if isinstance(body, dict) else []
    errors = [item for item in errors if isinstance(item, Mapping)]
    if errors:
        said = "; ".join(
            str(item.get("error_message") or "(no message)")
            + (f" ({item['error_point']})" if item.get("error_point") else "")
            for item in errors)
        return said, str(errors[0].get("error_type") or "error")
    text = response.text.strip()
    return (text[:MOST_WORDS] or response.reason_phrase or "(no message)"), "error"


def retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (a number of seconds or an HTTP date), None if absent or bad."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def classify(error: Exception, *, where: str, operation: str, secrets: Collection[str],
             missing_hint: str | None = None) -> ResourceError | None:
    """`error` as a `TransientError` or `PermanentError`; None when it came neither from the
    cloud nor from the network (a bug, to be let through).

    `where` starts the message (the cloud's label, and the node when there is one);
    `operation` names the call; `missing_hint` is the hint of a 404 (what to check).
    """
    if isinstance(error, CloudSigmaError):
        return _from_cloud(error, where, operation, secrets, missing_hint)
    if isinstance(error, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return PermanentError(_line(f"{where}: {operation} failed: {error}", secrets),
                              hint="set endpoint to an https URL, e.g. "
                                   "https://zrh.cloudsigma.com/api/2.0")
    if isinstance(error, httpx.ConnectError) and "CERTIFICATE" in str(error).upper():
        return PermanentError(_line(f"{where}: {operation} failed: {error}", secrets),
                              hint="check the endpoint's URL and certificate (https needs a "
                                   "certificate this machine trusts)")
    if isinstance(error, httpx.TransportError):
        return TransientError(_line(f"{where}: {operation} failed: {type(error).__name__}: "
                                    f"{error}", secrets),
                              hint="is the endpoint reachable from here? The engine retries")
    if isinstance(error, ValueError):       # a 2xx answer that is not the API's JSON
        return TransientError(_line(f"{where}: {operation} failed: the answer is not "
                                    f"CloudSigma's: {error}", secrets), hint=NOT_CLOUDSIGMA_HINT)
    return None


def _from_cloud(error: CloudSigmaError, where: str, operation: str, secrets: Collection[str],
                missing_hint: str | None) -> ResourceError:
    message = _line(f"{where}: {operation} failed: {error.status} {error.error_type}: "
                    f"{error.said[:MOST_WORDS]}", secrets)
    status = error.status
    if status == 429:
        return TransientError(message, hint=RETRY_HINT,
                              retry_after=error.retry_after or DEFAULT_THROTTLE_WAIT)
    if status >= 500 or status == 409:
        return TransientError(message, hint=RETRY_HINT, retry_after=error.retry_after)
    hint = {401: CREDENTIALS_HINT, 402: FUNDS_HINT, 403: PERMISSION_HINT,
            404: missing_hint}.get(status)
    return PermanentError(message, hint=hint or REQUEST_HINT)


def _line(text: str, secrets: Collection[str]) -> str:
    """`text` on one line, with `secrets` and URL passwords hidden."""
    return " ".join(hide(text, secrets).split())
