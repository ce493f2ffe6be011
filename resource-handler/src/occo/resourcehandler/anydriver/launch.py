"""What a driver's create_node can carry, and a node's name, ownership marks and arguments.

Drivers differ in what create_node takes, so the handler reads its signature:
user data goes in the first of `USERDATA_ARGS` it has (OpenStack and EC2:
`ex_userdata`), ownership marks in `ex_metadata` (OpenStack metadata, EC2
tags) or `ex_tags` (Azure). A driver with neither (the Dummy driver) marks
ownership by the node's name only, `occopus-<infra id>-<node id>`.
"""
from __future__ import annotations

import hashlib
import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from libcloud.compute.base import Node, NodeDriver

from occo.util.nodes import ResolvedNode

from ..base import INFRA_TAG, NODE_TAG, OWNER_TAG, PermanentError

USERDATA_ARGS = ("ex_userdata", "ex_user_data", "ex_customdata")
MARK_ARGS = ("ex_metadata", "ex_tags")
# create_node arguments the handler sets itself
OWN_ARGS = frozenset({"name", "size", "image", "location", *USERDATA_ARGS, *MARK_ARGS})
NAME_PREFIX = "occopus"
CLIENT_TOKEN_ARG = "ex_clienttoken"     # EC2's idempotency token of a create
CLIENT_TOKEN_LENGTH = 64                # the most characters EC2 takes


@dataclass(frozen=True)
class Abilities:
    """What a driver's create_node takes: the argument for user data and the one for marks."""

    userdata: str | None
    marks: str | None
    arguments: frozenset[str]
    any_keyword: bool            # it takes **kwargs: any create_args is passed on unchecked

    @classmethod
    def of(cls, driver: NodeDriver) -> Abilities:
        parameters = inspect.signature(driver.create_node).parameters
        names = frozenset(parameters)
        return cls(next((arg for arg in USERDATA_ARGS if arg in names), None),
                   next((arg for arg in MARK_ARGS if arg in names), None), names,
                   any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()))


def client_token(node: ResolvedNode) -> str:
    """The create's idempotency token: the same for every attempt to make the node, at most
    `CLIENT_TOKEN_LENGTH` characters (a digest when the ids are longer)."""
    token = f"occo-{node.infra_id}-{node.node_id}"
    if len(token) <= CLIENT_TOKEN_LENGTH:
        return token
    return "occo-" + hashlib.sha256(f"{node.infra_id}\0{node.node_id}".encode()).hexdigest()[:59]


def default_name(infra_id: str, node_id: str) -> str:
    return f"{NAME_PREFIX}-{infra_id}-{node_id}"


def node_name(node: ResolvedNode, abilities: Abilities, where: str) -> str:
    """The node's name: the section's `server_name`, else the default one. A driver that marks
    no ownership must keep the ids in the name, so it takes no `server_name`."""
    given = node.resource.get("server_name")
    if given in (None, ""):
        return default_name(node.infra_id, node.node_id)
    if abilities.marks is None:
        raise PermanentError(f"{where}: this Libcloud driver cannot mark a node's owner but by "
                             "its name, so server_name cannot be set",
                             hint="remove server_name: the node is named "
                                  "occopus-<infra id>-<node id>")
    return str(given)


def marks(node: ResolvedNode) -> dict[str, str]:
    return {INFRA_TAG: node.infra_id, NODE_TAG: node.node_id, OWNER_TAG: node.user_id}


def create_arguments(node: ResolvedNode, abilities: Abilities, where: str) -> dict[str, Any]:
    """The keyword arguments of create_node besides name, size, image and location."""
    given = node.resource.get("create_args") or {}
    if not isinstance(given, Mapping):
        raise PermanentError(f"{where}: create_args must be a mapping",
                             hint="write create_args as key: value lines, e.g. ex_keyname: mykey")
    arguments = {str(key): value for key, value in given.items()}
    for key in arguments:
        if key in OWN_ARGS:
            raise PermanentError(f"{where}: create_args may not set {key!r}: Occopus sets it",
                                 hint="use image, size, location and server_name, and the "
                                      "node's contextualisation for user data")
        if key not in abilities.arguments and not abilities.any_keyword:
            takes = ", ".join(sorted(abilities.arguments - OWN_ARGS - {"self"})) or "nothing more"
            raise PermanentError(f"{where}: this driver's create_node takes no {key!r}",
                                 hint=f"it takes: {takes}")
    if node.context:
        if abilities.userdata is None:
            raise PermanentError(f"{where}: this Libcloud driver takes no user data, and the "
                                 "node has a contextualisation",
                                 hint="use contextualisation type none for this node, or a "
                                      "driver whose create_node takes ex_userdata")
        arguments[abilities.userdata] = node.context
    if abilities.marks is not None:
        arguments[abilities.marks] = marks(node)
    return arguments


def marks_of(node: Node) -> Mapping[str, Any]:
    """The ownership marks a listed node carries: its metadata or tags (GCE's item list too)."""
    extra = node.extra or {}
    for key in ("metadata", "tags"):
        found = extra.get(key)
        if isinstance(found, Mapping) and isinstance(found.get("items"), list):
            return {item.get("key"): item.get("value") for item in found["items"]
                    if isinstance(item, Mapping)}
        if isinstance(found, Mapping):
            return found
    return {}


def owner_of(node: Node, infra_id: str, by_name: bool) -> str | None:
    """The node id a listed node was made for in `infra_id`: by its marks, or (`by_name`, a
    driver that marks nothing) by its name."""
    if not by_name:
        found = marks_of(node)
        if found.get(INFRA_TAG) != infra_id or not found.get(NODE_TAG):
            return None
        return str(found[NODE_TAG])
    prefix = f"{NAME_PREFIX}-{infra_id}-"
    name = str(node.name or "")
    if not name.startswith(prefix):
        return None
    return name[len(prefix):] or None
