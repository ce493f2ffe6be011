"""What boto3 raises, as the contract's errors: transient or permanent, one line, no secrets.

An error the user can fix (credentials, permissions, an unknown image,
instance type, subnet, key pair or security group, a quota) is permanent, and
its hint says what to fix. Throttling, a shortage of capacity, a 5xx, and a
connection lost or timed out are transient: the engine retries them. A code
listed nowhere is transient when the cloud answered 5xx, else permanent.

Messages quote the cloud's own code and words, with every credential value and
URL password hidden: some clouds echo the signed request, access key included.
"""
from __future__ import annotations

from collections.abc import Collection, Mapping

from botocore.exceptions import (ClientError, ConnectionError, HTTPClientError,
                                 ParamValidationError, SSLError)
from botocore.parsers import ResponseParserError

from occo.util.redact import hide

from ..base import PermanentError, ResourceError, TransientError

# gone already: success for a drop
GONE_CODES = frozenset({"InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed"})

RETRY_HINT = "the engine retries it; if it lasts, check the cloud's status"
# EC2 throttles an account's API calls with a token bucket that refills in about a second:
# an answer sooner is throttled again (AWS: "retry with exponential backoff")
THROTTLED = frozenset({"RequestLimitExceeded", "Throttling", "ThrottlingException"})
THROTTLED_WAIT = 1.0
TRANSIENT_HINTS: Mapping[str, str] = {
    "RequestLimitExceeded": RETRY_HINT,
    "Throttling": RETRY_HINT,
    "ThrottlingException": RETRY_HINT,
    "InternalError": RETRY_HINT,
    "InternalFailure": RETRY_HINT,
    "ServiceUnavailable": RETRY_HINT,
    "Unavailable": RETRY_HINT,
    **dict.fromkeys(("InsufficientInstanceCapacity", "InsufficientHostCapacity",
                     "InsufficientCapacity"),
                    "the cloud has no room for this instance type in this zone now: the engine "
                    "retries; if it lasts, choose another instance_type or subnet_id"),
}

CREDENTIALS_HINT = ("check accesskey and secretkey in this resource's entry of auth_data.yaml: "
                    "they must be a valid access key pair of this cloud's account")
PERMISSION_HINT = ("allow these credentials ec2:RunInstances, ec2:CreateTags, "
                   "ec2:DescribeInstances and ec2:TerminateInstances (an IAM policy)")
QUOTA_HINT = ("the account's limit is reached: drop nodes, choose a smaller instance_type, "
              "or ask the cloud for a higher limit (AWS: Service Quotas)")
GROUPS_HINT = ("check security_group_ids in the resource section: each must be the id (sg-...) "
               "of a security group in the subnet's VPC")
# keyed by code, or by its family (the text before the first '.', e.g. InvalidAMIID)
PERMANENT_HINTS: Mapping[str, str] = {
    **dict.fromkeys(("AuthFailure", "InvalidClientTokenId", "SignatureDoesNotMatch",
                     "IncompleteSignature", "InvalidAccessKeyId", "ExpiredToken"),
                    CREDENTIALS_HINT),
    **dict.fromkeys(("UnauthorizedOperation", "AccessDenied", "AccessDeniedException"),
                    PERMISSION_HINT),
    "OptInRequired": "the account may not use this service or region yet: subscribe to it, or "
                     "set another regionname",
    **dict.fromkeys(("InstanceLimitExceeded", "VcpuLimitExceeded",
                     "MaxSpotInstanceCountExceeded"), QUOTA_HINT),
    "InvalidAMIID": "check image_id in the resource section: it must name an image (AMI) of "
                    "this region that the account may use",
    "InvalidInstanceType": "check instance_type in the resource section: it must be a type "
                           "offered in this region, e.g. t3.small",
    "Unsupported": "this instance type is not offered where the node was placed: choose another "
                   "instance_type or subnet_id",
    "InvalidSubnetID": "check subnet_id in the resource section: it must name a subnet "
                       "(subnet-...) of this region",
    "InvalidSubnet": "check subnet_id in the resource section: it must name a subnet "
                     "(subnet-...) of this region",
    "InvalidKeyPair": "check key_name in the resource section: it must name a key pair of this "
                      "region",
    "InvalidGroup": GROUPS_HINT,
    "InvalidGroupId": GROUPS_HINT,
    "InvalidSecurityGroupID": GROUPS_HINT,
    "IdempotentParameterMismatch": "this node was created before with other parameters (its "
                                   "client token is its node id): destroy the node and build "
                                   "it again",
}
REQUEST_HINT = "check the resource section of the node definition"
NOT_EC2_HINT = ("is the endpoint an EC2 API? The engine retries in case the answer came from a "
                "proxy in trouble")
MOST_WORDS = 500        # characters of the cloud's message quoted; theirs are one sentence


def classify(error: Exception, *, where: str, operation: str,
             secrets: Collection[str]) -> ResourceError | None:
    """`error` as a `TransientError` or `PermanentError`; None when it came neither from the
    cloud nor from the network (a bug, to be let through).

    `where` starts the message (the cloud's label, and the node when there is one);
    `operation` names the call; `secrets` are hidden wherever they appear.
    """
    if isinstance(error, ClientError):
        return _from_cloud(error, where, operation, secrets)
    if isinstance(error, SSLError):
        return PermanentError(_line(f"{where}: {operation} failed: {error}", secrets),
                              hint="check the endpoint's URL and certificate (https needs a "
                                   "certificate this machine trusts)")
    if isinstance(error, ConnectionError | HTTPClientError):
        return TransientError(_line(f"{where}: {operation} failed: {error}", secrets),
                              hint="is the endpoint reachable from here? The engine retries")
    if isinstance(error, ResponseParserError):
        return TransientError(_line(f"{where}: {operation} failed: the answer is not EC2's XML",
                                    secrets), hint=NOT_EC2_HINT)
    if isinstance(error, ParamValidationError):
        return PermanentError(_line(f"{where}: {operation} refused before sending: {error}",
                                    secrets), hint=REQUEST_HINT)
    return None


def error_code(error: ClientError) -> str:
    """The cloud's error code, e.g. InvalidAMIID.NotFound."""
    return str(error.response.get("Error", {}).get("Code") or "")


def _from_cloud(error: ClientError, where: str, operation: str,
                secrets: Collection[str]) -> ResourceError:
    code = error_code(error) or "(no code)"
    said = str(error.response.get("Error", {}).get("Message") or "")[:MOST_WORDS]
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    message = _line(f"{where}: {operation} failed: {code}: {said or '(no message)'}", secrets)
    family = code.partition(".")[0]
    if code in TRANSIENT_HINTS:
        return TransientError(message, hint=TRANSIENT_HINTS[code],
                              retry_after=THROTTLED_WAIT if code in THROTTLED else None)
    hint = PERMANENT_HINTS.get(code) or PERMANENT_HINTS.get(family)
    if hint is None and (status >= 500 or status == 429):
        return TransientError(message, hint=RETRY_HINT)
    return PermanentError(message, hint=hint or REQUEST_HINT)


def _line(text: str, secrets: Collection[str]) -> str:
    """`text` on one line, with `secrets` and URL passwords hidden."""
    return " ".join(hide(text, secrets).split())
