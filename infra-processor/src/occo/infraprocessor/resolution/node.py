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

import copy
import logging
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from occo.configmanager.managers import Managers
from occo.configmanager.plugins import DEFAULT_SECTION, manager_class
from occo.infobroker.broker import InfoRouter
from occo.infobroker.selection import DEFAULT_STRATEGY, fitting, pick
from occo.util.config import Settings
from occo.util.errors import OccoError
from occo.util.nodes import ResolvedNode
from occo.util.redact import redact
from occo.util.urlsecrets import refuse_url_passwords

from ..templates import addresses_asked, has_templates
from .base import DEFAULT_TYPE, resolver_for
from .functions import template_functions
from .scope import TemplateScope

log = logging.getLogger("occo.infraprocessor.resolution")

ManagerAttributes = Callable[[ResolvedNode], Mapping[str, Any]]
# the sections of an implementation resolution renders
RENDERED = ("resource", "config_management", "contextualisation")


def resolve_node(node_description: Mapping[str, Any], node_id: str, *, router: InfoRouter,
                 settings: Settings, rng: random.Random, strategy: str = DEFAULT_STRATEGY,
                 attributes_of_manager: ManagerAttributes | None = None) -> ResolvedNode:
    """The node `node_id` of a compiled node description, ready for the plugins.

    `rng` drives the `random` strategy; `attributes_of_manager` gives the
    template data of the node's config manager (by default, from a manager
    built without credentials). To resolve many nodes, use one `NodeResolver`.
    """
    return NodeResolver(router, settings=settings, rng=rng, strategy=strategy,
                        attributes_of_manager=attributes_of_manager).resolve(node_description,
                                                                             node_id)


class NodeResolver:
    """Resolves the nodes of one infrastructure's descriptions, as they stand while it is
    used (one engine execution): a node's description, and its type's implementations, are
    read once.

    An implementation with no template in the sections resolution renders is
    resolved once for each node description: its nodes differ in their ids
    only. A level of hundreds of nodes of one type, resolved in the thread
    every other step of the engine waits for, then costs one resolution
    rather than hundreds. Those nodes share their sections: the plugins and
    the engine read a resolved node, never change it.
    """

    def __init__(self, router: InfoRouter, *, settings: Settings, rng: random.Random,
                 strategy: str = DEFAULT_STRATEGY,
                 attributes_of_manager: ManagerAttributes | None = None) -> None:
        self.router = router
        self.settings = settings
        self.rng = rng
        self.strategy = strategy
        self.attributes_of_manager = attributes_of_manager or Managers(None).attributes
        self._implementations: dict[str, list[dict]] = {}       # node type -> its implementations
        self._templated: dict[str, bool] = {}                   # node type -> any template?
        self._needed: dict[str, frozenset[str]] = {}    # node type -> nodes whose address it asks
        self._resolved: dict[tuple[str, int], ResolvedNode] = {}   # (node, implementation)
        self._fitting: dict[str, list[int]] = {}        # node -> its fitting implementations

    def implementations(self, node_type: str) -> list[dict]:
        """The node type's implementations (`node.definition.all`), read once."""
        if node_type not in self._implementations:
            self._implementations[node_type] = self.router.get("node.definition.all",
                                                               node_type=node_type)
        return self._implementations[node_type]

    def renders_templates(self, node_description: Mapping[str, Any]) -> bool:
        """Whether resolving a node of it may render templates (which may read the records of
        the infrastructure's instances); also True when its implementations cannot be read:
        resolving it will say why."""
        node_type = node_description["type"]
        if node_type not in self._templated:
            try:
                implementations = self.implementations(node_type)
            except OccoError:
                return True
            self._templated[node_type] = any(map(_has_templates, implementations))
        return self._templated[node_type]

    def addresses_needed(self, node_type: str) -> frozenset[str]:
        """The nodes whose addresses the templates of the type's implementations ask for by
        name (`getip('db')`); none when they cannot be read (resolving says why)."""
        if node_type not in self._needed:
            try:
                self._needed[node_type] = addresses_asked(self.implementations(node_type))
            except OccoError:
                return frozenset()
        return self._needed[node_type]

    def resolve(self, node_description: Mapping[str, Any], node_id: str) -> ResolvedNode:
        """The node `node_id` of the description, ready for the plugins."""
        node_type, name = node_description["type"], node_description["name"]
        implementations = self.implementations(node_type)
        candidates = self._fitting.get(name)
        if candidates is None:
            candidates = self._fitting[name] = fitting(node_type, implementations,
                                                       node_description.get("filter"))
        index = pick(candidates, self.strategy, self.rng)
        key = (name, index)
        known = self._resolved.get(key)
        if known is not None:
            return known.with_node_id(node_id)
        chosen = implementations[index]
        templated = _has_templates(chosen)
        # a template may change what it is given: give it a copy, never what is kept here
        node = self._render(node_description, node_id,
                            copy.deepcopy(chosen) if templated else chosen,
                            f"node_def:{node_type}[{index}]")
        if not templated:
            self._resolved[key] = node
        return node

    def _render(self, node_description: Mapping[str, Any], node_id: str,
                chosen: Mapping[str, Any], label: str) -> ResolvedNode:
        section = chosen.get("contextualisation") or {"type": DEFAULT_TYPE}
        scope = TemplateScope(
            {**node_description, "node_id": node_id, "resource": chosen["resource"],
             "contextualisation": section,
             "config_management": chosen.get("config_management") or dict(DEFAULT_SECTION),
             "health_check": chosen.get("health_check") or {}},
            template_functions(self.router, node_description["infra_id"],
                               cmd_enabled=self.settings.cmd_enabled),
            label)
        node = ResolvedNode(
            infra_id=node_description["infra_id"], infra_name=node_description["infra_name"],
            user_id=node_description["user_id"], node_id=node_id, name=node_description["name"],
            resource=scope.render_data(scope.values["resource"], "resource"),
            config_management=_render_section(scope, scope.values["config_management"],
                                              "config_management"),
            health_check=dict(scope.values["health_check"]),
            create_timeout=node_description.get("create_timeout"))
        # a template may have put credentials in a URL: never stored nor shown, refused
        for connecting in ("resource", "config_management", "health_check"):
            refuse_url_passwords(getattr(node, connecting),
                                 f"{connecting} section of {label} (node '{node.name}')")
        scope = scope.with_values(**{**self.attributes_of_manager(node), "resource": node.resource,
                                     "config_management": node.config_management})
        result = resolver_for(section.get("type", DEFAULT_TYPE)).resolve(section, scope)
        attributes = result.attributes
        inbound = (node_description.get("mappings") or {}).get("inbound")
        if inbound and "connections" not in attributes:    # the user's own wins
            attributes = {**attributes,
                          "connections": connections(node_description["infra_id"], inbound)}
        node = replace(node, contextualisation=result.contextualisation, context=result.context,
                       attributes=attributes)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("resolved node %s of %s with %s: %s", node_id, node.name, label, redact(node))
        return node


def connections(infra_id: str, inbound: Mapping[str, Sequence[Mapping[str, Any]]]
                ) -> list[dict[str, str]]:
    """The original's `connections` attribute of a node with inbound mappings: for each,
    which attribute of the dependee's nodes goes into which of this node's. The dependee is
    named by its Chef role (`<infra_id>_<name>`), which the `connect` cookbook searches."""
    return [{"source_role": f"{infra_id}_{dependee}", "source_attribute": mapping["attributes"][0],
             "destination_attribute": mapping["attributes"][1]}
            for dependee, mappings in inbound.items() for mapping in mappings]


def _render_section(scope: TemplateScope, section: Mapping[str, Any], where: str) -> Any:
    """A `config_management` section rendered, but for the keys its manager's schema marks
    `verbatim` (an ansible playbook, whose templates ansible renders)."""
    kept = {key: section[key] for key in _verbatim_keys(section.get("type")) if key in section}
    rendered = scope.render_data({key: value for key, value in section.items()
                                  if key not in kept}, where)
    return {**rendered, **kept}


def _verbatim_keys(type_name: Any) -> tuple[str, ...]:
    """The keys of a manager type's section left as written; none for a type not installed
    (the node fails later, saying so)."""
    try:
        schema = manager_class(str(type_name or "dummy")).schema
    except OccoError:
        return ()
    return tuple(key for key, field in schema.fields.items() if field.verbatim)


def _has_templates(implementation: Mapping[str, Any]) -> bool:
    """Whether resolving a node of the implementation renders a template (its health check
    is rendered later, when the node is checked)."""
    return has_templates([implementation.get(key) for key in RENDERED])
