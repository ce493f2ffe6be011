"""What a node asks of the engine: its image, its container's name, labels, environment and
command, read from the node's `resource` section and its `docker` contextualisation.

The container is named after the node id, so that the engine itself refuses a
second container for a node (409), whoever asks and however often.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from occo.util.nodes import ResolvedNode

from ..base import INFRA_TAG, NODE_TAG, OWNER_TAG, PermanentError
from ..containerspec import spec_of

NAME_TAG = "occopus-node-name"
NAME_PREFIX = "occopus-"
# what the engine takes as a container name
VALID_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")
ORIGINS = "dockerhub, local, or the http(s) URL of an image tarball"


@dataclass(frozen=True)
class Launch:
    """One container to create, and the image it needs."""

    node_id: str
    name: str
    origin: str
    image: str
    tag: str
    labels: dict[str, str] = field(default_factory=dict)
    environment: list[str] = field(default_factory=list)
    command: str | list[str] | None = None      # None: the image's own

    @property
    def reference(self) -> str:
        return f"{self.image}:{self.tag}"


def container_name(node_id: str) -> str:
    """`occopus-<node id>`; a node id the engine would refuse in a name is made safe and
    given a digest of itself, so that two node ids never share a name."""
    name = f"{NAME_PREFIX}{node_id}"
    if VALID_NAME.fullmatch(name) and len(name) <= 128:
        return name
    safe = re.sub(r"[^a-zA-Z0-9_.-]+", "-", node_id)[:64]
    return f"{NAME_PREFIX}{safe}-{hashlib.sha256(node_id.encode()).hexdigest()[:16]}"


def launch_of(node: ResolvedNode) -> Launch:
    """The container a node asks for; a section the engine cannot use is a PermanentError."""
    resource = node.resource
    missing = [key for key in ("origin", "image", "tag") if resource.get(key) in (None, "")]
    if missing:
        raise PermanentError(f"node {node.node_id}: the docker resource section has no "
                             f"{', '.join(missing)}",
                             hint=f"set origin ({ORIGINS}), image and tag")
    spec = spec_of(node)
    return Launch(
        node_id=node.node_id, name=container_name(node.node_id),
        origin=str(resource["origin"]).strip(), image=str(resource["image"]).strip(),
        tag=str(resource["tag"]).strip(),
        labels={INFRA_TAG: node.infra_id, NODE_TAG: node.node_id, OWNER_TAG: node.user_id,
                NAME_TAG: node.name},
        environment=spec.environment, command=spec.command)

