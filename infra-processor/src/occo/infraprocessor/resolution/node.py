"""Resolving a node: choosing its implementation and rendering it for the plugins.

The node's type may have several implementations (clouds); its `filter` and
the selection strategy choose one (`occo.infobroker.selection`). The chosen
`resource` and `config_management` sections are rendered first, so that
names such as `server_name: "{{name}}-{{cut(node_id,0,8)}}"` work, then the
`contextualisation` section by the resolver of its type. `health_check` is
passed on as written: its templates (`{{ip}}`) are rendered when the node is
checked, once its address is known.
"""
from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from occo.configmanager.plugins import DEFAULT_SECTION, make_manager
from occo.infobroker.broker import InfoRouter
from occo.infobroker.selection import DEFAULT_STRATEGY, select_implementation
from occo.util.config import Settings
from occo.util.nodes import ResolvedNode
from occo.util.redact import redact

from .base import DEFAULT_TYPE, resolver_for
from .functions import template_functions
from .scope import TemplateScope

log = logging.getLogger("occo.infraprocessor.resolution")

ManagerAttributes = Callable[[ResolvedNode], Mapping[str, Any]]


def manager_attributes(node: ResolvedNode) -> Mapping[str, Any]:
    """The template data the node's config manager adds (puppet_solo: `puppet.modules`, ...)."""
    return make_manager(node.config_management).resolve_attributes(node)


def resolve_node(node_description: Mapping[str, Any], node_id: str, *, router: InfoRouter,
                 settings: Settings, rng: random.Random, strategy: str = DEFAULT_STRATEGY,
                 attributes_of_manager: ManagerAttributes = manager_attributes,
                 implementations: Sequence[dict] | None = None) -> ResolvedNode:
    """The node `node_id` of a compiled node description, ready for the plugins.

    `rng` drives the `random` strategy; `attributes_of_manager` gives the
    template data of the node's config manager. `implementations` are its
    node type's (`node.definition.all`), if the caller has them already: one
    that resolves hundreds of nodes of a type reads them once.
    """
    node_type = node_description["type"]
    if implementations is None:
        implementations = router.get("node.definition.all", node_type=node_type)
    chosen = select_implementation(node_type, implementations, node_description.get("filter"),
                                   strategy, rng)
    label = f"node_def:{node_type}[{implementations.index(chosen)}]"
    section = chosen.get("contextualisation") or {"type": DEFAULT_TYPE}
    scope = TemplateScope(
        {**node_description, "node_id": node_id, "resource": chosen["resource"],
         "contextualisation": section,
         "config_management": chosen.get("config_management") or dict(DEFAULT_SECTION),
         "health_check": chosen.get("health_check") or {}},
        template_functions(router, node_description["infra_id"],
                           cmd_enabled=settings.cmd_enabled),
        label)
    node = ResolvedNode(
        infra_id=node_description["infra_id"], infra_name=node_description["infra_name"],
        user_id=node_description["user_id"], node_id=node_id, name=node_description["name"],
        resource=scope.render_data(scope.values["resource"], "resource"),
        config_management=scope.render_data(scope.values["config_management"],
                                            "config_management"),
        health_check=dict(scope.values["health_check"]),
        create_timeout=node_description.get("create_timeout"))
    scope = scope.with_values(**{**attributes_of_manager(node), "resource": node.resource,
                                 "config_management": node.config_management})
    result = resolver_for(section.get("type", DEFAULT_TYPE)).resolve(section, scope)
    node = replace(node, contextualisation=result.contextualisation, context=result.context,
                   attributes=result.attributes)
    if log.isEnabledFor(logging.DEBUG):
        log.debug("resolved node %s of %s with %s: %s", node_id, node.name, label, redact(node))
    return node
