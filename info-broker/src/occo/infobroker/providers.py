"""The queries answered from the state store and the authentication file.

These are the keys the original's UDS answered. None of them is cached: a
store read is cheap, and node definitions or instances must be seen as soon
as they change.
"""
from __future__ import annotations

import random

from occo.util.errors import OccoError
from occo.util.schema import did_you_mean

from .auth import AuthData
from .broker import InfoProvider, provides
from .selection import DEFAULT_STRATEGY, select_implementation
from .store.base import Store


class UnknownNodeType(OccoError):
    """No node definitions of this type were imported into the store."""


class NodeNotFound(OccoError):
    """No stored node instance fits the query."""


class StoreProvider(InfoProvider):
    """Node definitions, infrastructures, node instances and credentials.

    `auth_data` is None when there is no authentication file; `rng` drives
    the `random` selection strategy (inject a seeded one for reproducible runs).
    """

    def __init__(self, store: Store, auth_data: AuthData | None,
                 rng: random.Random | None = None) -> None:
        self.store = store
        self.auth_data = auth_data
        self.rng = rng or random.Random()

    @provides("node.definition.all")
    def node_definitions(self, node_type: str) -> list[dict]:
        """Every implementation of a node type, in file order."""
        implementations = self.store.get_node_definition(node_type)
        if implementations is None:
            raise UnknownNodeType(
                f"node type '{node_type}' has no node definitions in the store",
                hint=did_you_mean(node_type, self.store.list_node_types())
                or "import its node definitions with occopus-import")
        return implementations

    @provides("node.definition")
    def node_definition(self, node_type: str, filter: dict | None = None,
                        strategy: str = DEFAULT_STRATEGY) -> dict:
        """The one implementation of a node type chosen for a node with this filter."""
        return select_implementation(node_type, self.node_definitions(node_type), filter,
                                     strategy, self.rng)

    @provides("backends.auth_data")
    def credentials(self, section: str, node_section: dict) -> dict | None:
        """The credentials for a node's `resource` or `config_management` section, if any."""
        return None if self.auth_data is None else self.auth_data.select(section, node_section)

    @provides("infrastructure.static_description")
    def static_description(self, infra_id: str) -> dict:
        """The compiled description; `InfrastructureNotFound` for an unknown id."""
        return self.store.get_infrastructure(infra_id)

    @provides("infrastructure.name")
    def infrastructure_name(self, infra_id: str) -> str:
        return self.static_description(infra_id)["name"]

    @provides("infrastructure.node_instances")
    def node_instances(self, infra_id: str, allow_default: bool = False
                       ) -> dict[str, dict[str, dict]]:
        """{node name: {node id: instance data}}; an unknown id is an error unless `allow_default`."""
        if not allow_default:
            self.store.get_infrastructure(infra_id)
        return self.store.get_instances(infra_id)

    @provides("node.find")
    def find(self, infra_id: str, name: str | None = None,
             node_id: str | None = None) -> list[dict]:
        """The instances of an infrastructure, of node `name` and with id `node_id` when given."""
        return [data
                for node_name, by_id in self.node_instances(infra_id).items()
                if name in (None, node_name)
                for instance_id, data in by_id.items()
                if node_id in (None, instance_id)]

    @provides("node.find_one")
    def find_one(self, infra_id: str, name: str | None = None,
                 node_id: str | None = None) -> dict:
        """The first instance `node.find` gives, in the store's order; `NodeNotFound` if none."""
        found = self.find(infra_id, name, node_id)
        if not found:
            what = " and ".join(f"{label} '{value}'" for label, value in
                                (("node name", name), ("node id", node_id)) if value is not None)
            raise NodeNotFound(f"infrastructure {infra_id} has no node instance"
                               + (f" with {what}" if what else ""),
                               hint="the node may not have been created yet")
        return found[0]
