"""What openstacksdk and keystoneauth raise, as the contract's errors: one line, no secrets.

An error the user can fix (credentials, permissions, a quota, an unknown
image, flavor, network, key pair or security group) is permanent, its hint
saying what to fix. Throttling (429, or Nova's 413 over-limit with a
Retry-After), a 5xx, a conflict with an operation in progress (409) and a
connection lost or timed out are transient, with the cloud's Retry-After as
`retry_after`. A 409 answering a server create or a floating IP's allocation
is permanent unless it says the thing is busy: there it is Nova's "multiple
possible networks" or Neutron's floating IP quota, which waiting does not
change. Messages quote the cloud's own words, with every credential value and
URL password hidden.
"""
from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from keystoneauth1 import exceptions as ks
from openstack import exceptions as sdk

from ..base import PermanentError, ResourceError, TransientError
from ..httpanswers import CERTIFICATE_HINT, RETRY_HINT, THROTTLED_WAIT, one_line, retry_after

CREDENTIALS_HINT = ("check this resource's entry of auth_data.yaml (username and password, or "
                    "an application credential's id and secret), and project_id and "
                    "user_domain_name in the resource section")
PERMISSION_HINT = ("the credentials may not do this in the project: check the user's roles, "
                   "or the project's quota (openstack quota show)")
REQUEST_HINT = "check the nova resource section of the node definition"
# words of a 400 answer, and what to fix for them
BAD_REQUEST_HINTS: tuple[tuple[str, str], ...] = (
    ("imageref", "check image_id: it must be the id of an image of the project "
                 "(openstack image list)"),
    ("image", "check image_id: it must be the id of an image of the project "
              "(openstack image list)"),
    ("flavor", "check flavor_name: it must name a flavor of the cloud (openstack flavor list)"),
    ("key_name", "check key_name: it must name a key pair of the user (openstack keypair list)"),
    ("security_group", "check security_groups: each must name a security group of the "
                       "project (openstack security group list)"),
    ("network", "check network_id: it must be the id of a network of the project "
                "(openstack network list)"),
    ("volume", "check volume_size: a whole number of GB, at least the image's size"),
)
MOST_WORDS = 500
# operations whose 409 is the user's to fix (see the module's docstring)
CREATE_SERVER = "creating the server"
ATTACH_FLOATING_IP = "attaching a floating IP"
PERMANENT_CONFLICTS = frozenset({CREATE_SERVER, ATTACH_FLOATING_IP})
# words of a 409 saying the thing is busy with something else, which ends by itself
BUSY_WORDS = ("task_state", "in use", "inuse", "in progress", "busy")
CONFLICT_HINTS: tuple[tuple[str, str], ...] = (
    ("network", "the project has several networks: set network_id in the nova resource "
                "section (openstack network list)"),
    ("quota", "ask the cloud's administrators for more quota, or release what is unused "
              "(openstack quota show)"),
)


def classify(error: Exception, *, where: str, operation: str,
             secrets: Collection[str]) -> ResourceError | None:
    """`error` as a `TransientError` or `PermanentError`; None when it came neither from the
    cloud nor from the network (a bug, to be let through)."""
    if isinstance(error, sdk.HttpException) and error.status_code:
        said = str(error.details or error.message or "")
        return from_status(int(error.status_code), said, _headers(error.response),
                           where=where, operation=operation, secrets=secrets)
    if isinstance(error, ks.HttpError):
        return from_status(int(error.http_status or 0), str(error.message or ""),
                           _headers(error.response), where=where, operation=operation,
                           secrets=secrets)
    if isinstance(error, ks.EndpointNotFound):
        return PermanentError(one_line(f"{where}: {operation} failed: {error}", secrets),
                              hint="the cloud's service catalog has no such endpoint here: "
                                   "check region_name in the resource section")
    if isinstance(error, ks.SSLError):
        return PermanentError(one_line(f"{where}: {operation} failed: {error}", secrets),
                              hint=CERTIFICATE_HINT)
    if isinstance(error, (ks.ConnectionError, ks.DiscoveryFailure)):
        return TransientError(one_line(f"{where}: {operation} failed: {error}", secrets),
                              hint="is the endpoint reachable from here, and Keystone's? "
                                   "The engine retries")
    if isinstance(error, sdk.SDKException):
        return PermanentError(one_line(f"{where}: {operation} failed: {error}", secrets),
                              hint=REQUEST_HINT)
    return None


def from_status(status: int, said: str, headers: Mapping[str, str], *, where: str,
                operation: str, secrets: Collection[str]) -> ResourceError:
    """The error of an HTTP answer `status` whose body says `said`."""
    message = one_line(f"{where}: {operation} failed: {status}: "
                       f"{said[:MOST_WORDS] or '(no message)'}", secrets)
    wait = retry_after(headers.get("retry-after"))
    if status == 429 or (status == 413 and "retry-after" in headers):
        return TransientError(message, hint=RETRY_HINT, retry_after=wait or THROTTLED_WAIT)
    if status == 409 and operation in PERMANENT_CONFLICTS \
            and not any(word in said.lower() for word in BUSY_WORDS):
        return PermanentError(message, hint=_hint(said, CONFLICT_HINTS + BAD_REQUEST_HINTS))
    if status >= 500 or status == 409:
        return TransientError(message, hint=RETRY_HINT, retry_after=wait)
    if status == 401:
        return PermanentError(message, hint=CREDENTIALS_HINT)
    if status in (403, 413):
        return PermanentError(message, hint=PERMISSION_HINT)
    return PermanentError(message, hint=_hint(said, BAD_REQUEST_HINTS))


def _hint(said: str, hints: tuple[tuple[str, str], ...]) -> str:
    """The fix of the first of `hints` whose words the cloud's message has."""
    lowered = said.lower()
    return next((fix for word, fix in hints if word in lowered), REQUEST_HINT)


def _headers(response: Any) -> Mapping[str, str]:
    headers = getattr(response, "headers", None) or {}
    return {str(key).lower(): str(value) for key, value in headers.items()}
