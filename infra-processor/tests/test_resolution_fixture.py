"""A stored infrastructure for the resolution tests: a real SqliteStore and InfoRouter.

Not a test module itself; its name keeps it among the resolution tests.
"""
import random
import tempfile
from pathlib import Path

from occo.infobroker.broker import InfoRouter
from occo.infobroker.providers import StoreProvider
from occo.infobroker.store.sqlite import SqliteStore
from occo.infraprocessor.record import InstanceRecord, Phase
from occo.util.nodes import ResolvedNode

INFRA_ID = "3f2a9c1e-0000-4000-8000-000000000001"


def node_description(name, node_type, infra_id=INFRA_ID, **extra):
    """A compiled node description, as the compiler makes it."""
    return {"name": name, "type": node_type, "scaling": {"min": 1, "max": 1}, "filter": {},
            "variables": {}, "mappings": {"inbound": {}, "outbound": {}}, "create_timeout": None,
            "infra_id": infra_id, "infra_name": "shop", "user_id": "tester", **extra}


class StoredInfrastructure:
    """One infrastructure in a store on a temporary file, with a router over the store."""

    def __init__(self, case, node_definitions, nodes, infra_id=INFRA_ID, variables=None):
        scratch = tempfile.TemporaryDirectory()
        case.addCleanup(scratch.cleanup)
        self.store = SqliteStore(Path(scratch.name) / "state.db", "tester")
        case.addCleanup(self.store.close)
        self.store.put_node_definitions(node_definitions)
        self.store.add_infrastructure(infra_id, {
            "format": 1, "infra_id": infra_id, "name": "shop", "user_id": "tester",
            "variables": variables or {}, "nodes": nodes, "dependencies": [],
            "levels": [[node["name"] for node in nodes]]})
        self.infra_id = infra_id
        self.router = InfoRouter([StoreProvider(self.store, None, random.Random(0))])

    def add_instance(self, name, node_id, addresses=(), private_ip=None):
        """An instance record as the engine stores it."""
        self.store.put_instance(self.infra_id, name, node_id,
                                stored_record(self.infra_id, name, node_id, addresses, private_ip))


def stored_record(infra_id, name, node_id, addresses=(), private_ip=None):
    """A ready instance's record, as the engine stores it."""
    node = ResolvedNode(infra_id, "shop", "tester", node_id, name, {"type": "simcloud"})
    return InstanceRecord(node, Phase.READY, 0.0, addresses=tuple(addresses),
                          private_ip=private_ip).to_dict()
