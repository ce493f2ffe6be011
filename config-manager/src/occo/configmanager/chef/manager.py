"""`ChefManager`: an infrastructure's environment, roles and nodes on a Chef server
(see the package)."""
from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from occo.util.errors import ConfigurationError
from occo.util.nodes import NodeState, ResolvedNode

from ..base import ConfigManager, ConfigTarget
from ..schemas import CHEF
from .client import ChefError, ChefServer, Conflict, NotFound, name_in_path
from .signing import load_key

log = logging.getLogger("occo.configmanager.chef")

STATE_TIMEOUT = 10.0        # a poll asks hundreds of nodes: a slow server keeps none waiting long
CONNECT = "recipe[connect]"     # the cookbook that reads `connections` (mappings)


def role_name(infra_id: str, node_name: str) -> str:
    return f"{infra_id}_{node_name}"


def run_list(node: ResolvedNode) -> list[str]:
    """The role of the node, the `connect` recipe where the node has mappings to carry out,
    then the section's own run list."""
    connects = [CONNECT] if node.attributes.get("connections") else []
    return [f"role[{role_name(node.infra_id, node.name)}]", *connects,
            *(str(item) for item in node.config_management.get("run_list") or ())]


def nested(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Attributes with dotted keys (`wordpress.db.host`) made nested, as Chef reads them;
    mappings that meet are merged, and a value that would also hold attributes is refused,
    whatever the order of the keys."""
    result: dict[str, Any] = {}
    for key, value in attributes.items():
        *parents, last = str(key).split(".")
        place = result
        for part in parents:
            place = place.setdefault(part, {})
            if not isinstance(place, dict):
                raise _clash(key, part)
        value = nested(value) if isinstance(value, Mapping) else value
        if last in place and (isinstance(place[last], dict) or isinstance(value, dict)):
            if not (isinstance(place[last], dict) and isinstance(value, dict)):
                raise _clash(key, last)
            place[last] = nested({**place[last], **_dotted(value)})
        else:
            place[last] = value
    return result


def _dotted(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested mapping as dotted keys again (to merge two of them through `nested`)."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            flat.update(_dotted(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _clash(key: str, part: str) -> ConfigurationError:
    return ConfigurationError(f"attribute {key!r} and another both set {part!r}, one as a "
                              "value, one as a mapping of attributes",
                              hint="rename one of the two attributes")


def merged_attribute(node: Mapping[str, Any], name: str) -> Any:
    """A Chef node's attribute by dotted name, as Chef merges its levels (automatic over
    override over normal over default); None if no level has it."""
    for level in ("automatic", "override", "normal", "default"):
        value: Any = node.get(level) or {}
        for part in name.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
            if value is None:
                break
        if value is not None:
            return value
    return None


@dataclass
class _Connection:
    """A Chef server as one client reaches it, and the nodes whose chef-client run it has
    reported (they stay ready), shared by every manager of the process with the same
    endpoint and credentials: the engine builds managers for each pass, and a poll of
    hundreds of ready nodes must ask the server nothing."""

    server: ChefServer
    heard: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


_CONNECTIONS: dict[tuple[str, str, str], _Connection] = {}
_CONNECTIONS_LOCK = threading.Lock()


def _connection(endpoint: str, name: str, pem: str) -> _Connection:
    key = (endpoint, name, hashlib.sha256(pem.encode()).hexdigest())
    with _CONNECTIONS_LOCK:
        found = _CONNECTIONS.get(key)
        if found is None:
            found = _CONNECTIONS[key] = _Connection(ChefServer(endpoint, name,
                                                               load_key(pem, name)))
        return found


class ChefManager(ConfigManager):
    type_name = "chef"
    schema = CHEF

    @property
    def connection(self) -> _Connection:
        """The section's server as the auth file's client reaches it, made on first use
        (resolution builds managers without credentials, and never calls one)."""
        endpoint = str(self.section["endpoint"])
        name, pem = self.auth_data.get("client_name"), self.auth_data.get("client_key")
        if not name or not pem:
            raise ConfigurationError(
                f"no Chef client credentials for {endpoint} in the auth file",
                hint="add under config_management: - {type: chef, endpoint: " + endpoint
                     + ", auth_data: {client_name: NAME, client_key: !text_import "
                       "{url: file://NAME.pem}}}")
        return _connection(endpoint, str(name), str(pem))

    @property
    def server(self) -> ChefServer:
        return self.connection.server

    # --- infrastructures ---------------------------------------------------------------
    def create_infrastructure(self, infra_id: str) -> None:
        _create(self.server, "environments", {
            "name": infra_id, "description": f"Occopus infrastructure {infra_id}",
            "json_class": "Chef::Environment", "chef_type": "environment",
            "cookbook_versions": {}, "default_attributes": {}, "override_attributes": {}})

    def infrastructure_exists(self, infra_id: str) -> bool:
        try:
            self.server.get(f"environments/{name_in_path(infra_id)}")
        except NotFound:
            return False
        return True

    def drop_infrastructure(self, infra_id: str) -> None:
        """The environment, its nodes (and their clients) and the infrastructure's roles."""
        server = self.server
        environment = f"environments/{name_in_path(infra_id)}"
        try:
            left = server.get(f"{environment}/nodes") or {}
        except NotFound:
            left = {}
        for node_id in left:
            self.drop_node(infra_id, node_id)
        roles = server.get("roles") or {}
        for role in roles:
            if role.startswith(role_name(infra_id, "")):
                _delete(server, f"roles/{name_in_path(role)}")
        _delete(server, environment)

    # --- nodes -------------------------------------------------------------------------
    def register_node(self, node: ResolvedNode) -> None:
        """The node's role, then its Chef node (made again as it is now, if a create is
        retried), before the machine exists: its chef-client run reads them."""
        server = self.server
        role = role_name(node.infra_id, node.name)
        _create(server, "roles", {
            "name": role, "description": f"node {node.name} of Occopus infrastructure "
                                         f"{node.infra_id}",
            "json_class": "Chef::Role", "chef_type": "role", "run_list": [],
            "default_attributes": {}, "override_attributes": {}, "env_run_lists": {}})
        body = {"name": node.node_id, "chef_environment": node.infra_id,
                "json_class": "Chef::Node", "chef_type": "node", "run_list": run_list(node),
                "normal": nested(node.attributes), "default": {}, "override": {},
                "automatic": {}}
        try:
            server.post("nodes", body)
        except Conflict:
            server.put(f"nodes/{name_in_path(node.node_id)}", body)

    def drop_node(self, infra_id: str, node_id: str) -> None:
        """The Chef node and the client its chef-client registered. A server that cannot
        do it now leaves them behind, said in the log: the machine is gone either way."""
        connection = self.connection
        with connection.lock:
            connection.heard.discard(node_id)
        for kind in ("nodes", "clients"):
            try:
                _delete(connection.server, f"{kind}/{name_in_path(node_id)}")
            except ChefError as error:
                log.warning("node %s of %s: its Chef %s is left on the server: %s", node_id,
                            infra_id, kind[:-1], error.message)

    def get_node_state(self, target: ConfigTarget) -> NodeState:
        """READY once the node's chef-client has reported to the server (`ohai_time`);
        UNKNOWN if the server has no such node; PENDING otherwise, and while the server
        cannot be asked."""
        connection = self.connection
        with connection.lock:
            if target.node_id in connection.heard:
                return NodeState.READY
        try:
            node = connection.server.get(f"nodes/{name_in_path(target.node_id)}",
                                   timeout=STATE_TIMEOUT)
        except NotFound:
            return NodeState.UNKNOWN
        except ChefError as error:
            log.warning("node %s: cannot ask the Chef server: %s", target.node_id, error.message)
            return NodeState.PENDING
        if not (node.get("automatic") or {}).get("ohai_time"):
            return NodeState.PENDING
        with connection.lock:
            connection.heard.add(target.node_id)
        return NodeState.READY

    def get_node_attribute(self, target: ConfigTarget, attribute: str) -> Any:
        """The node's attribute as Chef merges it (`fqdn`, `wordpress.db.host`)."""
        try:
            node = self.server.get(f"nodes/{name_in_path(target.node_id)}")
        except NotFound:
            return None
        return merged_attribute(node, attribute)


def _create(server: ChefServer, kind: str, body: Mapping[str, Any]) -> None:
    """POST an object; one of that name there already is success (creates are retried)."""
    try:
        server.post(kind, body)
    except Conflict:
        pass


def _delete(server: ChefServer, path: str) -> None:
    try:
        server.delete(path)
    except NotFound:
        pass
