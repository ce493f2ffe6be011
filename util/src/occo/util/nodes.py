"""What every component says about a node: its state, and its resolved definition.

Resource-handler and config-manager plugins receive a `ResolvedNode` from the
infra-processor's node resolution; all of them report states from `NodeState`.
They live here, at the bottom of the dependency graph, so that no component
has to import a sibling to share them.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class NodeState(StrEnum):
    """The states of Occopus 1.10, as stored and shown."""

    PENDING = "pending"          # being created, booting, or not yet healthy
    READY = "ready"              # created, configured and healthy
    SHUTDOWN = "shutdown"        # stopped or gone
    FAILED = "failed"            # will not become ready: replace it
    TEMP_FAILED = "temp_failed"  # in trouble that may pass (a stopped VM, a cloud hiccup)
    UNKNOWN = "unknown"          # not asked yet, or the answer could not be had


@dataclass(frozen=True)
class ResolvedNode:
    """One node instance's definition, rendered and ready for the plugins.

    `resource`, `config_management` and `health_check` are the chosen
    implementation's sections with their templates rendered; `context` is the
    rendered contextualisation (cloud-init text, for example), and
    `attributes` the rendered attributes for config managers and containers.
    """

    infra_id: str
    infra_name: str
    user_id: str
    node_id: str
    name: str
    resource: dict[str, Any]
    contextualisation: dict[str, Any] = field(default_factory=dict)
    context: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    config_management: dict[str, Any] = field(default_factory=lambda: {"type": "dummy"})
    health_check: dict[str, Any] = field(default_factory=dict)
    create_timeout: float | None = None

    @property
    def resource_type(self) -> str:
        return self.resource["type"]

    def with_node_id(self, node_id: str) -> ResolvedNode:
        """The same definition for another instance, sharing its sections (read-only).

        A copy of the fields rather than `dataclasses.replace`, which runs the
        constructor: an engine resolves a level of thousands of nodes from one
        definition, in the thread every other step waits for.
        """
        node = object.__new__(ResolvedNode)
        node.__dict__.update(self.__dict__, node_id=node_id)
        return node


def section_key(section: Mapping[str, Any]) -> str:
    """One string per distinct `resource` or `config_management` section, to keep what is
    built for a backend (a handler, a manager) once per section."""
    return json.dumps(section, sort_keys=True, default=str)
