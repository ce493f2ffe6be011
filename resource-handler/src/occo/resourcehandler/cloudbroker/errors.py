"""CloudBroker's answers and httpx's failures as the contract's errors: one line, no secrets.

CloudBroker answers an error with an XML document `<errors><error>...</error>
</errors>` (a Rails application's error shape). What a user can fix
(credentials, permissions, a deployment, instance type or key pair the
account does not have, a description the platform refuses) is permanent,
its hint saying what to fix. A throttled call (429, with Retry-After), a
conflict (409), a 5xx, and a connection lost or timed out are transient:
the engine retries them.

Messages quote the cloud's own words, with every credential value and URL
password hidden.
"""
from __future__ import annotations

from collections.abc import Collection

import httpx
from defusedxml import ElementTree as SafeTree

from ..base import ResourceError, TransientError
from ..httpanswers import from_status, from_transport, one_line, retry_after

CREDENTIALS_HINT = ("check email and password in this resource's entry of auth_data.yaml: "
                    "they must log in to this CloudBroker platform")
PERMISSION_HINT = "the account may not do this: check its permissions, and that the instance " \
                  "is its own"
REQUEST_HINT = ("check the description in the resource section of the node definition: "
                "deployment_id, instance_type_id and key_pair_id must be the account's")
NOT_CLOUDBROKER_HINT = ("is the endpoint CloudBroker's API (https://<platform>.cloudbroker.com)?"
                        " The engine retries in case the answer came from a proxy in trouble")
URL_HINT = "set endpoint to an https URL, e.g. https://cola-prototype.cloudbroker.com"
MOST_WORDS = 500        # characters of the cloud's words quoted


class CloudBrokerError(Exception):
    """An error answer of the API: its status, the cloud's words, and its Retry-After."""

    def __init__(self, status: int, said: str, retry_after: float | None) -> None:
        super().__init__(f"{status}: {said}")
        self.status = status
        self.said = said
        self.retry_after = retry_after

    @classmethod
    def of(cls, response: httpx.Response) -> CloudBrokerError:
        return cls(response.status_code, cloud_words(response),
                   retry_after(response.headers.get("Retry-After")))


def cloud_words(response: httpx.Response) -> str:
    """The cloud's messages from an error answer, joined; the start of its body when it is
    not CloudBroker's XML."""
    try:
        root = SafeTree.fromstring(response.content)
    except Exception:       # not XML, or XML refused as unsafe: quote the text
        root = None
    if root is not None:
        words = [" ".join((item.text or "").split()) for item in root.iter("error")]
        words = [word for word in words if word]
        if words:
            return "; ".join(words)
    text = response.text.strip()
    return text[:MOST_WORDS] or response.reason_phrase or "(no message)"


def classify(error: Exception, *, where: str, operation: str, secrets: Collection[str],
             missing_hint: str | None = None) -> ResourceError | None:
    """`error` as a `TransientError` or `PermanentError`; None when it came neither from the
    cloud nor from the network (a bug, to be let through).

    `where` starts the message (the cloud's label, and the node when there is one);
    `operation` names the call; `missing_hint` is the hint of a 404 (what to check).
    """
    if isinstance(error, CloudBrokerError):
        return _from_cloud(error, where, operation, secrets, missing_hint)
    failed = f"{where}: {operation} failed"
    if (classified := from_transport(error, failed, secrets, url_hint=URL_HINT)) is not None:
        return classified
    if isinstance(error, ValueError):       # a 2xx answer that is not the API's XML
        return TransientError(one_line(f"{failed}: the answer is not CloudBroker's: {error}",
                                       secrets), hint=NOT_CLOUDBROKER_HINT)
    return None


def _from_cloud(error: CloudBrokerError, where: str, operation: str, secrets: Collection[str],
                missing_hint: str | None) -> ResourceError:
    message = one_line(f"{where}: {operation} failed: {error.status}: {error.said[:MOST_WORDS]}",
                       secrets)
    return from_status(error.status, message, wait=error.retry_after, default_hint=REQUEST_HINT,
                       hints={401: CREDENTIALS_HINT, 403: PERMISSION_HINT, 404: missing_hint})
