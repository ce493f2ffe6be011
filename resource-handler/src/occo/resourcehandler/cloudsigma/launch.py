"""What a node's server is made of: its name, its boot drive's name, and its definition.

The definition is the section's `description` (cpu, mem, vnc_password,
nics, pubkeys, ...) as the user wrote it, with:
- `name`: the description's, else occopus-<infra name>-<infra id>-<name>-<node id>
  (shortened), as the original named it;
- `vnc_password`: the description's, else a random one (the original used the
  node id, which the server's meta shows to anyone who can read it);
- `drives`: the cloned boot drive first (virtio, channel 0:0, booted first),
  then any drives the description lists (the original meant to, but tested
  for a `drivers` key and so always replaced them);
- `meta`: the description's, the boot drive's uuid (so that a drop deletes
  it and no drive of the user's), the node's cloud-init text for CloudSigma's
  cloud-init data source (`cloudinit-user-data`, named in `base64_fields`
  since it is sent in base64), and the Occopus tags (infra, node, owner) last,
  so that no key of the description replaces them. The server is made with
  its tags: `list_owned` finds it after any crash.
"""
from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping
from typing import Any

from occo.util.nodes import ResolvedNode

from ..base import INFRA_TAG, NODE_TAG, OWNER_TAG, Instance, PermanentError

USER_DATA = "cloudinit-user-data"
BOOT_DRIVE = "occopus-boot-drive"     # meta: the uuid of the drive cloned for the server
DRIVE_NAME = "occopus-boot-"            # + infra id + "-" + node id: a node's boot drive
CLONE_PREFIX = "drive:"                 # an instance id naming a clone, not a server
VNC_PASSWORD_BYTES = 12                 # of a default VNC password (16 characters)
BASE64_FIELDS = "base64_fields"


def description_of(node: ResolvedNode, where: str) -> Mapping[str, Any]:
    """The section's `description`; `PermanentError` when it is no mapping or the library
    drive is missing."""
    description = node.resource.get("description")
    if not isinstance(description, Mapping):
        raise PermanentError(f"{where}: the resource section's description is not a mapping",
                             hint="give description as keys and values: cpu, mem, "
                                  "vnc_password, nics, ...")
    if not str(node.resource.get("libdrive_id") or "").strip():
        raise PermanentError(f"{where}: the resource section has no libdrive_id",
                             hint="set libdrive_id to the uuid of a library drive of this "
                                  "CloudSigma location")
    return description


def server_name(node: ResolvedNode) -> str:
    """The original's unique name of a node's server."""
    return (f"occopus-{node.infra_name[:18]}-{node.infra_id[:8]}-{node.name[:18]}-"
            f"{node.node_id[:8]}")


def drive_name(node: ResolvedNode) -> str:
    """The name of a node's boot drive: its ids in full, so that a create retried after a
    crash finds the clone the first attempt made, and recovery the node it was made for."""
    return f"{DRIVE_NAME}{node.infra_id}-{node.node_id}"


def node_of_drive(name: str, infra_id: str) -> str | None:
    """The node id a drive named by `drive_name` was cloned for in `infra_id`, else None."""
    prefix = f"{DRIVE_NAME}{infra_id}-"
    return name[len(prefix):] or None if name.startswith(prefix) else None


def clone_of(instance: Instance) -> str | None:
    """The drive an instance `drive:<uuid>` names (a clone whose server was not made when
    recovery listed it); None for a server's instance."""
    if instance.instance_id.startswith(CLONE_PREFIX):
        return instance.instance_id[len(CLONE_PREFIX):]
    return None


def server_definition(node: ResolvedNode, description: Mapping[str, Any],
                      drive_id: str) -> dict[str, Any]:
    """The server to make for `node`, booting from the drive `drive_id`."""
    definition = {str(key): value for key, value in description.items()
                  if key not in ("drives", "meta")}
    definition.setdefault("name", server_name(node))
    definition.setdefault("vnc_password", secrets.token_urlsafe(VNC_PASSWORD_BYTES))
    extra = description.get("drives") or []
    definition["drives"] = [{"boot_order": 1, "dev_channel": "0:0", "device": "virtio",
                             "drive": drive_id},
                            *(extra if isinstance(extra, list) else [extra])]
    definition["meta"] = {**server_meta(node, description.get("meta")), BOOT_DRIVE: drive_id}
    return definition


def server_meta(node: ResolvedNode, given: Any) -> dict[str, str]:
    meta = {str(key): "" if value is None else str(value)
            for key, value in (given.items() if isinstance(given, Mapping) else ())}
    if node.context is not None:
        meta[USER_DATA] = base64.b64encode(node.context.encode()).decode()
        fields = [name for name in meta.get(BASE64_FIELDS, "").split(",") if name.strip()]
        meta[BASE64_FIELDS] = ",".join(dict.fromkeys([*fields, USER_DATA]))
    meta.update({INFRA_TAG: node.infra_id, NODE_TAG: node.node_id, OWNER_TAG: node.user_id})
    return meta


def owner_tags(server: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(infra id, node id) a server is tagged with, None where it has none."""
    meta = server.get("meta") if isinstance(server.get("meta"), Mapping) else {}
    infra, node = meta.get(INFRA_TAG), meta.get(NODE_TAG)
    return (str(infra) if infra else None, str(node) if node else None)


def addresses_of(server: Mapping[str, Any]) -> tuple[str, ...]:
    """The IPv4 addresses of a running server's NICs (an IP's uuid is the address), each
    once, in the NICs' order; a stopped server has none."""
    runtime = server.get("runtime") if isinstance(server.get("runtime"), Mapping) else {}
    found: list[str] = []
    for nic in runtime.get("nics") or ():
        ip = nic.get("ip_v4") if isinstance(nic, Mapping) else None
        if isinstance(ip, Mapping) and ip.get("uuid"):
            found.append(str(ip["uuid"]))
        elif isinstance(ip, str) and ip:
            found.append(ip)
    return tuple(dict.fromkeys(found))


def all_drives(server: Mapping[str, Any]) -> list[str]:
    """The uuids of a server's drives; a drive shows as a uuid, or as an object with one."""
    ids = []
    for attached in server.get("drives") or ():
        drive = attached.get("drive") if isinstance(attached, Mapping) else None
        drive = drive.get("uuid") if isinstance(drive, Mapping) else drive
        if drive:
            ids.append(str(drive))
    return ids


def attached_drives(server: Mapping[str, Any]) -> tuple[str | None, list[str]]:
    """(the boot drive cloned for a server, the uuids of its other drives)."""
    meta = server.get("meta") if isinstance(server.get("meta"), Mapping) else {}
    boot = str(meta.get(BOOT_DRIVE) or "") or None
    return boot, [drive for drive in all_drives(server) if drive != boot]
