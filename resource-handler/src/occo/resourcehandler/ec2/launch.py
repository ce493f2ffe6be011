"""The RunInstances request of one node: its launch parameters, user data, tags and token.

Tags are set by the request itself (`TagSpecifications`), never afterwards, so
an instance exists only with its infrastructure and node ids on it and
`list_owned` finds it after any crash. The node's name is the default `Name`,
which a `Name` among the section's `tags` replaces; the Occopus tags (infra,
node, owner) are set last, so that no tag of the section replaces them.
"""
from __future__ import annotations

import hashlib
from typing import Any

from occo.util.nodes import ResolvedNode

from ..base import INFRA_TAG, NODE_TAG, OWNER_TAG, PermanentError

REQUIRED = ("image_id", "instance_type")
TOKEN_LENGTH = 64       # EC2 takes client tokens of up to 64 ASCII characters


def run_request(node: ResolvedNode, where: str) -> dict[str, Any]:
    """The keyword arguments of `run_instances` that launch `node` (one instance).

    `where` starts the message of a `PermanentError` for a missing required key.
    """
    resource = node.resource
    missing = [key for key in REQUIRED if resource.get(key) in (None, "")]
    if missing:
        raise PermanentError(f"{where}: the resource section has no {' and no '.join(missing)}",
                             hint="add them to the node definition's ec2 resource section")
    request: dict[str, Any] = {
        "ImageId": str(resource["image_id"]),
        "InstanceType": str(resource["instance_type"]),
        "MinCount": 1,
        "MaxCount": 1,
        "ClientToken": client_token(node.node_id),
        "TagSpecifications": [{"ResourceType": "instance", "Tags": instance_tags(node)}],
    }
    if resource.get("key_name"):
        request["KeyName"] = str(resource["key_name"])
    if resource.get("subnet_id"):
        request["SubnetId"] = str(resource["subnet_id"])
    groups = resource.get("security_group_ids")
    if groups:
        request["SecurityGroupIds"] = [str(group) for group in
                                       ([groups] if isinstance(groups, str) else groups)]
    if node.context is not None:
        request["UserData"] = node.context      # boto3 encodes it in base64
    return request


def instance_tags(node: ResolvedNode) -> list[dict[str, str]]:
    """The tags an instance of `node` is created with."""
    tags = {"Name": node.name}
    tags.update({str(key): "" if value is None else str(value)
                 for key, value in (node.resource.get("tags") or {}).items()})
    tags.update({INFRA_TAG: node.infra_id, NODE_TAG: node.node_id, OWNER_TAG: node.user_id})
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def client_token(node_id: str) -> str:
    """EC2's idempotency token for a node: its id, or a digest of it when the id is no token
    (longer than 64 characters, or not printable ASCII)."""
    if len(node_id) <= TOKEN_LENGTH and node_id.isascii() and node_id.isprintable():
        return node_id
    return hashlib.sha256(node_id.encode()).hexdigest()[:TOKEN_LENGTH]
