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

from collections.abc import Collection, Mapping

import httpx

from ..base import ResourceError, TransientError
from ..httpanswers import from_status, from_transport, one_line, retry_after

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
URL_HINT = "set endpoint to an https URL, e.g. https://zrh.cloudsigma.com/api/2.0"
MOST_WORDS = 500        # characters of the cloud's words quoted


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


def classify(error: Exception, *, where: str, operation: str, secrets: Collection[str],
             missing_hint: str | None = None) -> ResourceError | None:
    """`error` as a `TransientError` or `PermanentError`; None when it came neither from the
    cloud nor from the network (a bug, to be let through).

    `where` starts the message (the cloud's label, and the node when there is one);
    `operation` names the call; `missing_hint` is the hint of a 404 (what to check).
    """
    if isinstance(error, CloudSigmaError):
        return _from_cloud(error, where, operation, secrets, missing_hint)
    failed = f"{where}: {operation} failed"
    if (classified := from_transport(error, failed, secrets, url_hint=URL_HINT)) is not None:
        return classified
    if isinstance(error, ValueError):       # a 2xx answer that is not the API's JSON
        return TransientError(one_line(f"{failed}: the answer is not CloudSigma's: {error}",
                                       secrets), hint=NOT_CLOUDSIGMA_HINT)
    return None


def _from_cloud(error: CloudSigmaError, where: str, operation: str, secrets: Collection[str],
                missing_hint: str | None) -> ResourceError:
    message = one_line(f"{where}: {operation} failed: {error.status} {error.error_type}: "
                       f"{error.said[:MOST_WORDS]}", secrets)
    return from_status(error.status, message, wait=error.retry_after, default_hint=REQUEST_HINT,
                       hints={401: CREDENTIALS_HINT, 402: FUNDS_HINT, 403: PERMISSION_HINT,
                              404: missing_hint})
