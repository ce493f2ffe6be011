"""What a node's instance is made of: its name (the ownership mark) and its fields.

CloudBroker instances carry no tags or metadata a client may set, but each
has a `name`: the plugin names an instance `occopus-<infra id>-<node id>`,
ids in full, when it makes it, so that a create retried after a crash finds
it, and `list_owned` the node it was made for.

The fields are the section's `description` (deployment_id, instance_type_id,
key_pair_id, opened_port, ...) as the user wrote it, with:
- `name`: the ownership mark above (a `name` in the description is replaced);
- `disable_autostop` and `isolated`: true unless the description says, as the
  original sent them;
- `start_in_vpc`: from the resource section (the original read it from the
  top of the node definition, where the schema does not allow it, and so
  never sent it);
- the node's cloud-init text as `cloud-init` in base64, with `cloud-init-b64`
  true, as the original sent it.
"""
from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from occo.util.nodes import ResolvedNode

from ..base import PermanentError

NAME_PREFIX = "occopus-"
USER_DATA = "cloud-init"
USER_DATA_B64 = "cloud-init-b64"
DEFAULTS: Mapping[str, Any] = {"disable_autostop": True, "isolated": True}
# the elements of an instance holding its addresses, preferred first
ADDRESS_FIELDS = ("external-hostname", "external-ip-address", "internal-hostname",
                  "internal-ip-address")
PRIVATE_FIELD = "internal-ip-address"


def description_of(node: ResolvedNode, where: str) -> Mapping[str, Any]:
    """The section's `description`; `PermanentError` when it is no mapping or lacks the
    deployment or the instance type."""
    description = node.resource.get("description")
    if not isinstance(description, Mapping):
        raise PermanentError(f"{where}: the resource section's description is not a mapping",
                             hint="give description as keys and values: deployment_id, "
                                  "instance_type_id, key_pair_id, opened_port, ...")
    missing = [key for key in ("deployment_id", "instance_type_id")
               if not str(description.get(key) or "").strip()]
    if missing:
        raise PermanentError(f"{where}: the resource section's description has no "
                             f"{' and no '.join(missing)}",
                             hint="set them to the ids of a deployment and an instance type "
                                  "of this CloudBroker platform")
    return description


def instance_name(node: ResolvedNode) -> str:
    return f"{NAME_PREFIX}{node.infra_id}-{node.node_id}"


def node_of(instance: Mapping[str, Any], infra_id: str) -> str | None:
    """The node id an instance named by `instance_name` was made for in `infra_id`, else
    None."""
    prefix = f"{NAME_PREFIX}{infra_id}-"
    name = str(instance.get("name") or "")
    return name[len(prefix):] or None if name.startswith(prefix) else None


def instance_fields(node: ResolvedNode, description: Mapping[str, Any]) -> dict[str, Any]:
    """The `<instance>` to make for `node`."""
    fields = {**DEFAULTS, **{str(key): value for key, value in description.items()}}
    if node.resource.get("start_in_vpc") is not None:
        fields["start_in_vpc"] = node.resource["start_in_vpc"]
    if node.context is not None:
        fields[USER_DATA] = base64.b64encode(node.context.encode()).decode()
        fields[USER_DATA_B64] = True
    fields["name"] = instance_name(node)
    return fields


def addresses_of(instance: Mapping[str, Any]) -> tuple[str, ...]:
    """An instance's host names and addresses, public first, each once."""
    found = (str(instance.get(key) or "").strip() for key in ADDRESS_FIELDS)
    return tuple(dict.fromkeys(value for value in found if value))


def private_ip_of(instance: Mapping[str, Any]) -> str | None:
    return str(instance.get(PRIVATE_FIELD) or "").strip() or None
