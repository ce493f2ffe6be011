"""The boto3 client of one EC2 connection: its endpoint, region and credentials.

Retries: botocore makes one attempt per call (`total_max_attempts=1`). The
engine retries every `TransientError` itself, with backoff, under the
backend's rate and concurrency limits; retries inside botocore would hold an
engine thread and a limit slot through their own backoff, send requests the
limiter never counted, and multiply with the engine's attempts. A create is
safe to retry at the engine's level: it is idempotent by node id.

Timeouts: `CONNECT_TIMEOUT` is short, since an endpoint that is up accepts a
connection in milliseconds and one that is down is better retried later than
waited for; `READ_TIMEOUT` leaves RunInstances and a large DescribeInstances
(which answer within seconds) room, and gives up on a call stuck longer, which
the engine then retries.

The client's credentials, region and endpoint are the connection's alone: no
environment variable, AWS profile or instance role can lend it others.
"""
from __future__ import annotations

from urllib.parse import urlsplit

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import BotoCoreError

from occo.util.redact import redact_url

from ..base import Connection, PermanentError

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0
# the engine calls one handler from many threads; botocore's default pool of 10 would open and
# throw away a connection for every thread beyond that
POOL_CONNECTIONS = 32
CREDENTIAL_KEYS = ("accesskey", "secretkey")


def make_client(connection: Connection, *, connect_timeout: float = CONNECT_TIMEOUT,
                read_timeout: float = READ_TIMEOUT) -> BaseClient:
    """An EC2 client for the connection's endpoint and region with its credentials.

    `PermanentError` when the endpoint is not an http(s) URL, the region is missing, or the
    credentials lack `accesskey` or `secretkey`.
    """
    endpoint = _endpoint(connection)
    region = str(connection.settings.get("regionname") or "").strip()
    if not region:
        raise PermanentError(f"[{connection.label}] the ec2 resource has no regionname",
                             hint="set regionname in the resource section, e.g. eu-west-1")
    accesskey, secretkey = _credentials(connection)
    config = Config(retries={"mode": "standard", "total_max_attempts": 1},
                    connect_timeout=connect_timeout, read_timeout=read_timeout,
                    max_pool_connections=POOL_CONNECTIONS, user_agent_extra="occopus")
    try:
        # a Session of its own: boto3's default session is shared and not thread-safe
        session = boto3.session.Session(aws_access_key_id=accesskey,
                                        aws_secret_access_key=secretkey, region_name=region)
        return session.client("ec2", endpoint_url=endpoint, config=config)
    except (BotoCoreError, ValueError) as error:
        # boto3 reads AWS_PROFILE and ~/.aws/config even when given everything it needs
        raise PermanentError(f"[{connection.label}] cannot set up an EC2 client: "
                             + redact_url(" ".join(str(error).split())),
                             hint="unset AWS_PROFILE or correct ~/.aws/config: the ec2 plugin "
                                  "takes its settings from the resource section and "
                                  "auth_data.yaml") from None


def _endpoint(connection: Connection) -> str:
    endpoint = str(connection.settings.get("endpoint") or "").strip()
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        shown = redact_url(endpoint) or "nothing"
        raise PermanentError(f"[{connection.label}] the ec2 endpoint must be an http(s) URL, "
                             f"not {shown}",
                             hint="write it in full, e.g. https://ec2.eu-west-1.amazonaws.com")
    return endpoint


def _credentials(connection: Connection) -> tuple[str, str]:
    credentials = connection.credentials
    missing = [key for key in CREDENTIAL_KEYS if not str(credentials.get(key) or "").strip()]
    if missing:
        endpoint = redact_url(str(connection.settings.get("endpoint", "")))
        raise PermanentError(
            f"[{connection.label}] the credentials selected for this ec2 resource have no "
            + " and no ".join(missing),
            hint="add an entry for this resource to auth_data.yaml: resource: [{type: ec2, "
                 f"endpoint: {endpoint}, auth_data: {{accesskey: ..., secretkey: ...}}}}]")
    return str(credentials["accesskey"]), str(credentials["secretkey"])
