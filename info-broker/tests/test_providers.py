import random
import tempfile
import unittest
from pathlib import Path

from occo.infobroker.auth import AuthData
from occo.infobroker.broker import InfoRouter, load_providers
from occo.infobroker.providers import NodeNotFound, StoreProvider, UnknownNodeType
from occo.infobroker.selection import NoMatchingNodeDefinition
from occo.infobroker.store.base import InfrastructureNotFound
from occo.infobroker.store.sqlite import SqliteStore

EC2_A = {"resource": {"type": "ec2", "endpoint": "https://a", "image_id": "ami-1"}}
EC2_B = {"resource": {"type": "ec2", "endpoint": "https://b", "image_id": "ami-2"}}
NOVA = {"resource": {"type": "nova", "endpoint": "https://n", "image_id": "img"}}
DESCRIPTION = {"format": 1, "infra_id": "i1", "name": "web-infra", "user_id": "u", "variables": {},
               "nodes": [{"name": "web", "type": "web_node"}, {"name": "db", "type": "db_node"}],
               "dependencies": [["web", "db"]], "levels": [["db"], ["web"]]}
AUTH = """\
resource:
    - type: ec2
      endpoint: https://a
      auth_data: {accesskey: key-a, secretkey: secret-a}
"""


class StoreProviderTest(unittest.TestCase):
    def setUp(self):
        scratch = tempfile.TemporaryDirectory()
        self.addCleanup(scratch.cleanup)
        folder = Path(scratch.name)
        self.store = SqliteStore(folder / "state.db", "tester")
        self.addCleanup(self.store.close)
        self.store.put_node_definitions({"web_node": [EC2_A, EC2_B, NOVA], "db_node": [NOVA]})
        self.store.add_infrastructure("i1", DESCRIPTION)
        for name, node_id in (("web", "w1"), ("web", "w2"), ("db", "d1")):
            self.store.put_instance("i1", name, node_id, {"node_id": node_id, "name": name})
        (folder / "auth_data.yaml").write_text(AUTH)
        self.auth = AuthData(folder / "auth_data.yaml")
        self.router = InfoRouter([StoreProvider(self.store, self.auth, random.Random(3))])

    def test_the_keys_of_the_original_uds(self):
        self.assertEqual(self.router.keys(), [
            "backends.auth_data", "infrastructure.name", "infrastructure.node_instances",
            "infrastructure.static_description", "node.definition", "node.definition.all",
            "node.find", "node.find_one"])

    def test_all_definitions_of_a_node_type(self):
        self.assertEqual(self.router.get("node.definition.all", node_type="web_node"),
                         [EC2_A, EC2_B, NOVA])

    def test_an_unknown_node_type_is_a_clear_error(self):
        with self.assertRaises(UnknownNodeType) as raised:
            self.router.get("node.definition.all", node_type="web_nod")
        self.assertIn("'web_nod'", raised.exception.message)
        self.assertEqual(raised.exception.hint, "did you mean 'web_node'?")
        with self.assertRaises(UnknownNodeType) as raised:
            self.router.get("node.definition", node_type="zzz")
        self.assertIn("occopus-import", raised.exception.hint)

    def test_one_definition_by_filter_and_strategy(self):
        self.assertEqual(self.router.get("node.definition", node_type="web_node",
                                         filter={"type": "ec2"}, strategy="first"), EC2_A)
        self.assertEqual(self.router.get("node.definition", node_type="web_node",
                                         filter={"endpoint": "https://b"}), EC2_B)
        self.assertEqual(self.router.get("node.definition", node_type="web_node",
                                         filter={"type": "ec2"}),
                         random.Random(3).choice([EC2_A, EC2_B]))

    def test_no_definition_fits_the_filter(self):
        with self.assertRaises(NoMatchingNodeDefinition) as raised:
            self.router.get("node.definition", node_type="db_node", filter={"type": "ec2"})
        self.assertIn("'db_node'", raised.exception.message)
        self.assertIn("'type': 'ec2'", raised.exception.message)

    def test_credentials_come_from_the_auth_file(self):
        node_resource = {"type": "ec2", "endpoint": "https://a", "image_id": "ami-1"}
        self.assertEqual(self.router.get("backends.auth_data", section="resource",
                                         node_section=node_resource),
                         {"accesskey": "key-a", "secretkey": "secret-a"})
        self.assertIsNone(self.router.get("backends.auth_data", section="resource",
                                          node_section={"type": "nova"}))

    def test_without_an_auth_file_there_are_no_credentials(self):
        router = InfoRouter([StoreProvider(self.store, None)])
        self.assertIsNone(router.get("backends.auth_data", section="resource",
                                     node_section={"type": "ec2", "endpoint": "https://a"}))

    def test_infrastructure_description_and_name(self):
        self.assertEqual(self.router.get("infrastructure.static_description", infra_id="i1"),
                         DESCRIPTION)
        self.assertEqual(self.router.get("infrastructure.name", infra_id="i1"), "web-infra")
        for key in ("infrastructure.static_description", "infrastructure.name",
                    "infrastructure.node_instances", "node.find"):
            with self.subTest(key=key), self.assertRaises(InfrastructureNotFound):
                self.router.get(key, infra_id="nope")

    def test_node_instances(self):
        instances = self.router.get("infrastructure.node_instances", infra_id="i1")
        self.assertEqual({name: sorted(by_id) for name, by_id in instances.items()},
                         {"web": ["w1", "w2"], "db": ["d1"]})
        self.assertEqual(self.router.get("infrastructure.node_instances", infra_id="nope",
                                         allow_default=True), {})

    def test_find_by_name_and_id(self):
        def ids(**query):
            return sorted(data["node_id"] for data in self.router.get("node.find", infra_id="i1", **query))

        self.assertEqual(ids(), ["d1", "w1", "w2"])
        self.assertEqual(ids(name="web"), ["w1", "w2"])
        self.assertEqual(ids(node_id="d1"), ["d1"])
        self.assertEqual(ids(name="web", node_id="w2"), ["w2"])
        self.assertEqual(ids(name="web", node_id="d1"), [])
        self.assertEqual(ids(name="cache"), [])

    def test_find_one_is_the_first_found_or_an_error(self):
        found = self.router.get("node.find", infra_id="i1", name="web")
        self.assertEqual(self.router.get("node.find_one", infra_id="i1", name="web"), found[0])
        self.assertEqual(self.router.get("node.find_one", infra_id="i1", node_id="d1"),
                         {"node_id": "d1", "name": "db"})
        with self.assertRaises(NodeNotFound) as raised:
            self.router.get("node.find_one", infra_id="i1", name="cache")
        self.assertIn("node name 'cache'", raised.exception.message)
        self.assertIn("i1", raised.exception.message)

    def test_load_providers_builds_the_store_provider_from_its_entry_point(self):
        providers = load_providers(store=self.store, auth_data=self.auth)
        self.assertEqual([type(p) for p in providers], [StoreProvider])
        router = InfoRouter(providers)
        self.assertEqual(router.get("infrastructure.name", infra_id="i1"), "web-infra")
