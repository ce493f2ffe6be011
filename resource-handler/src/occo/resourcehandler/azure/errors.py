"""Azure's answers and the SDK's failures as the contract's errors: one line, no secrets.

Resource Manager answers an error as `{"error": {"code", "message"}}`; the
sign-in service as `{error, error_description}` with an AADSTS code, which
the SDK raises as `ClientAuthenticationError`. What a user can fix
(credentials, permissions, an image or size the location does not have, a
request the cloud refuses) is permanent, its hint saying what to fix. A
throttled call (429, with Retry-After), a conflict with an operation in
progress (409), a 5xx, and a connection lost or timed out are transient: the
engine retries them. A conflict that no retry ends (`FOR_GOOD`, or a quota
used up) is permanent.

An operation that fails after Azure took it (a long-running create or
delete) reaches the SDK as the answer to its poll, status 200 with the error
in the body: it is told by its Azure error code, not that status (a server
error, throttling or a preempted operation transient; anything else
permanent, hinted by its code).
"""
from __future__ import annotations

import re
from collections.abc import Collection, Mapping

from azure.core.exceptions import (ClientAuthenticationError, HttpResponseError,
                                   ServiceRequestError, ServiceResponseError)

from ..base import PermanentError, ResourceError, TransientError
from ..httpanswers import (CERTIFICATE_HINT, RETRY_HINT, UNREACHABLE_HINT, from_status, one_line,
                           retry_after)
from .credentials import CREDENTIALS_HINT

PERMISSION_HINT = ("the service principal may not do this: give it a role (e.g. Contributor) "
                   "on the subscription or the resource group")
REQUEST_HINT = "check the resource section of the node definition"
QUOTA_HINT = ("the subscription's quota (e.g. of cores in the location) is used up: delete what "
              "it no longer needs, ask for less (a smaller vm_size, fewer cpu_cores), or ask "
              "Azure for more quota")
# error codes Azure answers 409 with, though a retry cannot change them
FOR_GOOD = frozenset({"SkuNotAvailable", "PropertyChangeNotAllowed"})
# error codes of an operation that failed after it started, which a later attempt may not meet
OPERATION_TRANSIENT = frozenset({
    "InternalServerError", "InternalOperationError", "ServiceUnavailable", "RetryableError",
    "TooManyRequests", "AnotherOperationInProgress", "OperationPreempted", "OperationTimedOut",
    "GatewayTimeout", "RequestTimeout", "Conflict"})
NO_CODE = "OperationFailed"     # an operation's failure that names no code
MOST_WORDS = 500        # characters of the cloud's words quoted
# how the sign-in library (MSAL) words a server error of the sign-in service: no status is kept
_SIGN_IN_SERVER_ERROR = re.compile(r"HTTP Error: (5\d\d|429)\b")


def classify(error: Exception, *, where: str, operation: str, secrets: Collection[str],
             hints: Mapping[str, str] | None = None) -> ResourceError | None:
    """`error` as a `TransientError` or `PermanentError`; None when it came neither from the
    cloud nor from the network (a bug, to be let through).

    `where` starts the message (the cloud's label, and the node when there is one);
    `operation` names the call; `hints` are what to check for an error code of the
    cloud's (e.g. InvalidParameter, or "404" for any not-found).
    """
    hints = hints or {}
    failed = f"{where}: {operation} failed"
    if isinstance(error, ClientAuthenticationError) \
            and isinstance(error.__cause__, (ServiceRequestError, ServiceResponseError)):
        error = error.__cause__     # the sign-in service was not reached: no credential's fault
    if isinstance(error, ClientAuthenticationError) and error.status_code is None \
            and _SIGN_IN_SERVER_ERROR.search(str(error.__cause__ or "")):
        return TransientError(one_line(f"{failed}: {_words(error)}", secrets),
                              hint=UNREACHABLE_HINT)
    if isinstance(error, ClientAuthenticationError) and error.status_code in (None, 400, 401):
        return PermanentError(one_line(f"{failed}: {_words(error)}", secrets),
                              hint=CREDENTIALS_HINT)
    if isinstance(error, HttpResponseError) and error.status_code is not None \
            and 200 <= error.status_code < 300:
        return _failed_operation(error, failed, secrets, hints)
    if isinstance(error, HttpResponseError) and error.status_code is not None:
        code = _code(error)
        message = one_line(f"{failed}: {error.status_code} {code}: {_words(error)}", secrets)
        if error.status_code == 409 and code in FOR_GOOD:
            return PermanentError(message, hint=hints.get(code, REQUEST_HINT))
        if error.status_code == 409 and "quota" in f"{code} {_words(error)}".lower():
            return PermanentError(message, hint=hints.get(code, QUOTA_HINT))
        by_status: dict[int, str | None] = {401: CREDENTIALS_HINT, 403: PERMISSION_HINT,
                                            404: hints.get("404")}
        if code in hints:
            by_status[error.status_code] = hints[code]
        wait = (retry_after(error.response.headers.get("Retry-After"))
                if error.response is not None else None)
        return from_status(error.status_code, message, wait=wait, hints=by_status,
                           default_hint=REQUEST_HINT)
    if isinstance(error, ServiceRequestError):
        text = one_line(f"{failed}: {_words(error)}", secrets)
        if "CERTIFICATE" in str(error).upper():
            return PermanentError(text, hint=CERTIFICATE_HINT)
        return TransientError(text, hint=UNREACHABLE_HINT)
    if isinstance(error, ServiceResponseError):
        return TransientError(one_line(f"{failed}: {_words(error)}", secrets),
                              hint=UNREACHABLE_HINT)
    return None


def _failed_operation(error: HttpResponseError, failed: str, secrets: Collection[str],
                      hints: Mapping[str, str]) -> ResourceError:
    """An operation Azure took, then failed: its poll answered 2xx, the error by its code."""
    code = str(getattr(getattr(error, "error", None), "code", None) or NO_CODE)
    message = one_line(f"{failed}: the operation failed with {code}: {_words(error)}", secrets)
    if code in OPERATION_TRANSIENT:
        wait = (retry_after(error.response.headers.get("Retry-After"))
                if error.response is not None else None)
        return TransientError(message, hint=hints.get(code, RETRY_HINT), retry_after=wait)
    if code not in hints and "quota" in f"{code} {_words(error)}".lower():
        return PermanentError(message, hint=QUOTA_HINT)
    return PermanentError(message, hint=hints.get(code, REQUEST_HINT))


def error_code(error: HttpResponseError) -> str:
    """Azure's error code of a refusal or of an operation's failure, whatever the status."""
    return str(getattr(getattr(error, "error", None), "code", None) or "")


def _code(error: HttpResponseError) -> str:
    odata = getattr(error, "error", None)
    return str(getattr(odata, "code", None) or error.reason or "error")


def _words(error: Exception) -> str:
    """What the cloud said: the ARM error's message, else the exception's first line."""
    odata = getattr(error, "error", None)
    said = getattr(odata, "message", None) or str(getattr(error, "message", None) or error)
    return str(said).strip().splitlines()[0][:MOST_WORDS] if str(said).strip() else "(no message)"
