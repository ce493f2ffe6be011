"""What a node's `docker` contextualisation asks of a container: its environment and its
command, as the docker and azure_aci types both read them.

The section is rendered before a plugin sees it; these only check its shape,
refusing what no container can take with a PermanentError saying how to
write it.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from occo.util.nodes import ResolvedNode

from .base import PermanentError


@dataclass(frozen=True)
class ContainerSpec:
    """A container's environment (`K=V` entries) and command (None: the image's own)."""

    environment: list[str] = field(default_factory=list)
    command: str | list[str] | None = None


def spec_of(node: ResolvedNode) -> ContainerSpec:
    """What the node's contextualisation asks of its container: nothing unless it is of type
    docker (the default of a container's node)."""
    section = node.contextualisation or {}
    if section.get("type", "docker") != "docker":
        return ContainerSpec()
    return ContainerSpec(environment(node.node_id, section.get("env")),
                         command(node.node_id, section.get("command")))


def environment(node_id: str, env: Any) -> list[str]:
    """`K=V` entries; a mapping is taken as its items."""
    if env is None:
        return []
    if isinstance(env, Mapping):
        return [f"{key}={'' if value is None else value}" for key, value in env.items()]
    if isinstance(env, (list, tuple)):
        return [str(entry) for entry in env]
    raise PermanentError(f"node {node_id}: the docker contextualisation's env must be a list "
                         f"of K=V entries, not {type(env).__name__}",
                         hint='write it as env: ["NAME=value", ...]')


def command(node_id: str, given: Any) -> str | list[str] | None:
    """A string (for whoever runs it to split as a shell would), or a list of arguments;
    None when the section gives none (the image's own command runs)."""
    if given is None or given == "" or given == []:
        return None
    if isinstance(given, str):
        return given
    if isinstance(given, (list, tuple)):
        return [str(part) for part in given]
    raise PermanentError(f"node {node_id}: the docker contextualisation's command must be a "
                         f"string or a list, not {type(given).__name__}",
                         hint='write it as command: "sh -c /root/start.sh"')
