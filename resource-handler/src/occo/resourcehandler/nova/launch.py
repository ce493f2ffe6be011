"""A node's server: its name, its ownership metadata and the create request.

Ownership is Nova metadata set by the create request itself, never later, so
a server exists only with its infrastructure and node ids on it and
`list_owned` finds it after any crash. A floating IP the node asks for is
recorded there too (`FLOATING_KEY`), so that whoever polls the server,
whatever process it is, attaches one.

A boot volume (`volume_size`) is asked of Nova in the same request
(`block_device_mapping_v2`, from the image): Nova makes it and, unless
`volume_persist`, deletes it with the server; no separate volume call can be
left half-done.
"""
from __future__ import annotations

import base64
from typing import Any

from occo.util.nodes import ResolvedNode

from ..base import INFRA_TAG, NODE_TAG, OWNER_TAG, PermanentError
from ..schemas import flag

REQUIRED = ("image_id", "flavor_name")
FLOATING_KEY = "occopus-floating-ip-pool"   # metadata: the pool, "" for any external network
METADATA_LENGTH = 255                       # Nova's bound on a metadata key and value
# GB of a boot volume of `volume_size: 0` on a flavor with no disk: what the original's SDK made
DEFAULT_VOLUME_SIZE = 50


def server_name(node: ResolvedNode) -> str:
    """The section's `server_name`, else the original's unique name of the node."""
    given = node.resource.get("server_name")
    if given not in (None, ""):
        return str(given)
    return (f"occopus-{node.infra_name[:18]}-{node.infra_id[:8]}-{node.name[:18]}-"
            f"{node.node_id[:8]}")


def floating_pool(node: ResolvedNode) -> str | None:
    """The pool a node's floating IP comes from ("" for any external network), or None when it
    wants none. As the original, either key asks for one; `floating_ip: no` asks for none."""
    resource = node.resource
    pool = resource.get("floating_ip_pool")
    if pool not in (None, ""):
        return str(pool)
    if "floating_ip" in resource and flag(resource["floating_ip"]):
        return ""
    return None


def metadata(node: ResolvedNode) -> dict[str, str]:
    """The server's metadata: who owns it, and the floating IP it wants."""
    tags = {INFRA_TAG: node.infra_id, NODE_TAG: node.node_id, OWNER_TAG: node.user_id}
    pool = floating_pool(node)
    if pool is not None:
        tags[FLOATING_KEY] = pool
    return {key: str(value)[:METADATA_LENGTH] for key, value in tags.items()}


def check(node: ResolvedNode, where: str) -> None:
    """`PermanentError` for a section that cannot make a server, before anything is sent."""
    missing = [key for key in REQUIRED if node.resource.get(key) in (None, "")]
    if missing:
        raise PermanentError(f"{where}: the resource section has no {' and no '.join(missing)}",
                             hint="add them to the node definition's nova resource section")
    volume_size(node, where)


def volume_size(node: ResolvedNode, where: str) -> int | None:
    """The boot volume's size in GB (0: the flavor's disk, else 50 GB as the original's SDK
    made), or None to boot from the image."""
    value = node.resource.get("volume_size")
    if value in (None, ""):
        return None
    try:
        size = int(str(value).strip())
    except ValueError:
        size = -1
    if size < 0:
        raise PermanentError(f"{where}: volume_size must be a whole number of GB, not {value!r}",
                             hint="write volume_size: 10, or 0 for the flavor's disk size")
    return size


def server_request(node: ResolvedNode, flavor_id: str, flavor_disk: int,
                   where: str, *, networks_required: bool = False) -> dict[str, Any]:
    """The keyword arguments of openstacksdk's `compute.create_server` for `node`.
    `networks_required`: the negotiated microversion (2.37 on) makes Nova refuse a create
    that does not say `networks`; without a `network_id` it is then "auto" (the
    project's one network, or one Neutron allocates), what older Nova did unasked."""
    resource = node.resource
    request: dict[str, Any] = {"name": server_name(node), "flavor_id": flavor_id,
                               "metadata": metadata(node)}
    size = volume_size(node, where)
    if size is None:
        request["image_id"] = str(resource["image_id"])
    else:
        request["block_device_mapping"] = [{
            "boot_index": 0, "uuid": str(resource["image_id"]), "source_type": "image",
            "destination_type": "volume",
            "volume_size": size or flavor_disk or DEFAULT_VOLUME_SIZE,
            "delete_on_termination": not flag(resource.get("volume_persist"))}]
    if resource.get("network_id"):
        request["networks"] = [{"uuid": str(resource["network_id"])}]
    elif networks_required:
        request["networks"] = "auto"
    if resource.get("key_name"):
        request["key_name"] = str(resource["key_name"])
    groups = resource.get("security_groups")
    if groups:
        request["security_groups"] = [{"name": str(group)} for group in
                                      ([groups] if isinstance(groups, str) else groups)]
    if node.context is not None:
        request["user_data"] = base64.b64encode(node.context.encode()).decode()
    return request
