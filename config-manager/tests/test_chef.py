"""The chef config manager against the fake Chef server (`occo.configmanager.chef.testing`,
a real HTTP server checking every request's signature): request signing against the
protocol's published example, the manager's conformance, what it makes on the server, when a
node counts as ready, and its errors."""
from __future__ import annotations

import unittest
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import yaml

from occo.configmanager.base import ConfigTarget
from occo.configmanager.chef.client import ChefError, ChefServer
from occo.configmanager.chef.manager import ChefManager, nested
from occo.configmanager.chef.signing import (Refused, canonical_path, load_key, signed_headers,
                                             verify)
from occo.configmanager.chef.testing import (FakeChefServer, fill_tutorial, new_key_pem,
                                              run_chef_client)
from occo.configmanager.conformance import ConfigManagerConformance
from occo.util.errors import ConfigurationError
from occo.util.nodes import NodeState, ResolvedNode

# The worked example of Chef's RFC 065 (signing protocol v1.3), a public-domain test key.
RFC_KEY = Path(__file__).parent / "data" / "chef-rfc065.pem"
RFC_SIGNATURE = ("FZOmXAyOBAZQV/uw188iBljBJXOm+m8xQ/8KTGLkgGwZNcRFxk1m953XjE3W"
                 "VGy1dFT76KeaNWmPCNtDmprfH2na5UZFtfLIKrPv7xm80V+lzEzTd9WBwsfP"
                 "42dZ9N+V9I5SVfcL/lWrrlpdybfceJC5jOcP5tzfJXWUITwb6Z3Erg3DU3Uh"
                 "H9h9E0qWlYGqmiNCVrBnpe6Si1gU/Jl+rXlRSNbLJ4GlArAPuL976iTYJTzE"
                 "MmbLUIm3JRYi00Yb01IUCCKdI90vUq1HHNtlTEu93YZfQaJwRxXlGkCNwIJe"
                 "fy49QzaCIEu1XiOx5Jn+4GmkrZch/RrK9VzQWXgs+w==")
RFC_TIME = datetime(2009, 1, 1, 12, 0, 0, tzinfo=UTC)


class SigningTest(unittest.TestCase):
    def setUp(self):
        self.key = load_key(RFC_KEY.read_text(), "spec-user")

    def test_the_protocols_published_example_is_signed_alike(self):
        headers = signed_headers(self.key, "spec-user", "post", "/organizations/clownco",
                                 b"Spec Body", now=RFC_TIME)
        self.assertEqual(headers["X-Ops-Content-Hash"],
                         "hDlKNZhIhgso3Fs0S0pZwJ0xyBWtR1RBaeHs1DrzOho=")
        self.assertEqual(headers["X-Ops-Timestamp"], "2009-01-01T12:00:00Z")
        self.assertEqual(headers["X-Ops-Sign"], "algorithm=sha256;version=1.3")
        lines = [headers[f"X-Ops-Authorization-{n}"] for n in range(1, 7)]
        self.assertNotIn("X-Ops-Authorization-7", headers)
        self.assertEqual("".join(lines), RFC_SIGNATURE)
        self.assertTrue(all(len(line) <= 60 for line in lines))

    def test_the_signed_path_has_no_query_repeated_or_trailing_slash(self):
        self.assertEqual(canonical_path("//organizations//acme/nodes/?x=1"),
                         "/organizations/acme/nodes")
        self.assertEqual(canonical_path("/"), "/")

    def test_a_server_takes_what_is_signed_and_refuses_any_change(self):
        keys = {"spec-user": self.key.public_key()}
        now = datetime.now(UTC)
        headers = signed_headers(self.key, "spec-user", "PUT", "/organizations/o/nodes/a",
                                 b'{"a": 1}', now=now)
        self.assertEqual(verify(keys, "PUT", "/organizations/o/nodes/a", b'{"a": 1}', headers,
                                now=now), "spec-user")
        changes = {
            "another body": ("PUT", "/organizations/o/nodes/a", b'{"a": 2}', headers, now),
            "another path": ("PUT", "/organizations/o/nodes/b", b'{"a": 1}', headers, now),
            "another method": ("POST", "/organizations/o/nodes/a", b'{"a": 1}', headers, now),
            "a clock 16 minutes on": ("PUT", "/organizations/o/nodes/a", b'{"a": 1}', headers,
                                      now + timedelta(minutes=16)),
            "another API version": ("PUT", "/organizations/o/nodes/a", b'{"a": 1}',
                                    {**headers, "X-Ops-Server-API-Version": "0"}, now),
            "protocol 1.0": ("PUT", "/organizations/o/nodes/a", b'{"a": 1}',
                             {**headers, "X-Ops-Sign": "algorithm=sha1;version=1.0"}, now),
            "an unknown client": ("PUT", "/organizations/o/nodes/a", b'{"a": 1}',
                                  {**headers, "X-Ops-Userid": "mallory"}, now),
        }
        for what, (method, path, body, sent, when) in changes.items():
            with self.subTest(what), self.assertRaises(Refused):
                verify(keys, method, path, body, sent, now=when)

    def test_a_key_that_is_not_a_pem_private_key_says_what_to_give(self):
        for text in ("not a key", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"):
            with self.subTest(text), self.assertRaises(ConfigurationError) as caught:
                load_key(text, "occopus")
            self.assertIn("client_key of Chef client 'occopus'", caught.exception.message)
            self.assertIn("!text_import", caught.exception.hint)


class FakeChefCase(unittest.TestCase):
    """A fake Chef server for the class, knowing Occopus's client and the validator."""

    chef: FakeChefServer

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.chef = FakeChefServer().start()
        cls.addClassCleanup(cls.chef.stop)
        cls.client_key = cls.chef.add_client("occopus")
        cls.validator_key = cls.chef.add_client("occopus-validator")
        cls.SECTION = {"type": "chef", "endpoint": cls.chef.endpoint,
                       "run_list": ["recipe[apache2]"]}

    def credentials(self):
        return {"client_name": "occopus", "client_key": self.client_key}

    def chef_client_runs(self, node: ResolvedNode, **facts) -> None:
        """The machine's chef-client reports to the server, as it does once booted."""
        run_chef_client(self.chef.endpoint, "occopus-validator", self.validator_key,
                        node.node_id, {"fqdn": f"{node.name}.example", **facts})

    def target(self, node: ResolvedNode) -> ConfigTarget:
        return ConfigTarget(node, f"i-{node.node_id[:8]}", ("127.0.0.1",))


class ChefConformance(ConfigManagerConformance, FakeChefCase):
    def make_manager(self) -> ChefManager:
        return ChefManager(self.SECTION, self.credentials())

    def make_target(self, node: ResolvedNode) -> ConfigTarget:
        self.chef_client_runs(node)
        return self.target(node)


class ChefManagerTest(FakeChefCase):
    def setUp(self):
        self.manager = ChefManager(self.SECTION, self.credentials())
        self.infra_id = f"infra-{uuid.uuid4().hex[:8]}"
        self.manager.create_infrastructure(self.infra_id)
        self.addCleanup(self.manager.drop_infrastructure, self.infra_id)

    def node(self, name="web", **attributes) -> ResolvedNode:
        return ResolvedNode(self.infra_id, "shop", "tester", str(uuid.uuid4()), name,
                            {"type": "ec2"}, attributes=attributes,
                            config_management=dict(self.SECTION))

    def test_an_infrastructure_is_an_environment_and_a_node_a_role_and_a_chef_node(self):
        node = self.node(**{"wordpress.db.host": "db.example", "mysql": {"port": 3306}})
        before = len(self.chef.calls)
        self.manager.register_node(node)
        self.assertIn(self.infra_id, self.chef.names("environments"))
        self.assertIn(f"{self.infra_id}_web", self.chef.names("roles"))
        made = self.chef.node(node.node_id)
        self.assertEqual(made["chef_environment"], self.infra_id)
        self.assertEqual(made["run_list"], [f"role[{self.infra_id}_web]", "recipe[apache2]"])
        self.assertEqual(made["normal"], {"wordpress": {"db": {"host": "db.example"}},
                                          "mysql": {"port": 3306}})
        self.assertEqual({client for _, _, client in self.chef.calls[before:]}, {"occopus"},
                         "signed as Occopus")

    def test_a_node_with_mappings_runs_the_connect_recipe_with_its_connections(self):
        connections = [{"source_role": f"{self.infra_id}_db", "source_attribute": "fqdn",
                        "destination_attribute": "wordpress.db.host"}]
        node = self.node(connections=connections)
        self.manager.register_node(node)
        made = self.chef.node(node.node_id)
        self.assertEqual(made["run_list"], [f"role[{self.infra_id}_web]", "recipe[connect]",
                                            "recipe[apache2]"])
        self.assertEqual(made["normal"]["connections"], connections)

    def test_registering_again_makes_the_node_anew(self):
        node = self.node(greeting="hello")
        self.manager.register_node(node)
        self.manager.register_node(ResolvedNode(**{**node.__dict__,
                                                   "attributes": {"greeting": "hi"}}))
        self.assertEqual(self.chef.node(node.node_id)["normal"], {"greeting": "hi"})

    def test_a_node_is_ready_once_its_chef_client_reported_and_then_asks_no_more(self):
        node = self.node()
        target = self.target(node)
        self.assertEqual(self.manager.get_node_state(target), NodeState.UNKNOWN)
        self.manager.register_node(node)
        self.assertEqual(self.manager.get_node_state(target), NodeState.PENDING)
        self.chef_client_runs(node, ipaddress="127.0.0.1")
        self.assertEqual(self.manager.get_node_state(target), NodeState.READY)
        asked = len(self.chef.calls)
        self.assertEqual(self.manager.get_node_state(target), NodeState.READY)
        self.assertEqual(len(self.chef.calls), asked, "a node heard from is not asked again")
        self.assertEqual(self.manager.get_node_attribute(target, "fqdn"), "web.example")
        self.assertEqual(self.manager.get_node_attribute(target, "ipaddress"), "127.0.0.1")
        self.assertIsNone(self.manager.get_node_attribute(target, "fqdn.nothing"))

    def test_dropping_the_infrastructure_takes_only_its_own_objects(self):
        other = ChefManager(self.SECTION, self.credentials())
        other_id = f"other-{uuid.uuid4().hex[:8]}"
        other.create_infrastructure(other_id)
        self.addCleanup(other.drop_infrastructure, other_id)
        kept = ResolvedNode(**{**self.node("web").__dict__, "infra_id": other_id})
        other.register_node(kept)
        gone = [self.node("web"), self.node("db")]
        for node in gone:
            self.manager.register_node(node)
        self.chef_client_runs(gone[0])
        self.manager.drop_infrastructure(self.infra_id)
        self.assertNotIn(self.infra_id, self.chef.names("environments"))
        self.assertEqual([role for role in self.chef.names("roles")
                          if role.startswith(self.infra_id)], [])
        for node in gone:
            self.assertIsNone(self.chef.node(node.node_id))
        self.assertNotIn(gone[0].node_id, self.chef.names("clients"), "its client went too")
        self.assertIn(other_id, self.chef.names("environments"))
        self.assertIn(f"{other_id}_web", self.chef.names("roles"))
        self.assertIsNotNone(self.chef.node(kept.node_id))
        self.assertFalse(self.manager.infrastructure_exists(self.infra_id))

    def test_a_server_error_says_the_call_and_the_servers_words(self):
        self.chef.fail_next(500, method="POST", path="nodes", message="database is down")
        with self.assertRaises(ChefError) as caught:
            self.manager.register_node(self.node())
        self.assertIn("POST nodes", caught.exception.message)
        self.assertIn("database is down", caught.exception.message)

    def test_a_server_that_cannot_be_asked_leaves_the_node_pending(self):
        node = self.node()
        self.manager.register_node(node)
        self.chef.fail_next(503, method="GET", path=f"nodes/{node.node_id}")
        with self.assertLogs("occo.configmanager.chef", "WARNING"):
            self.assertEqual(self.manager.get_node_state(self.target(node)), NodeState.PENDING)

    def test_a_wrong_key_is_refused_and_said_so_without_the_key(self):
        pem = new_key_pem()         # a key the server never saw
        manager = ChefManager(self.SECTION, {"client_name": "occopus", "client_key": pem})
        with self.assertRaises(ChefError) as caught:
            manager.register_node(self.node())
        message = caught.exception.message
        self.assertIn("refused client 'occopus'", message)
        self.assertIn("check client_name and client_key", message)
        self.assertIn("Invalid signature", message)
        self.assertNotIn(pem.splitlines()[1], message)

    def test_missing_credentials_say_what_to_add_to_the_auth_file(self):
        manager = ChefManager(self.SECTION, {})
        with self.assertRaises(ConfigurationError) as caught:
            manager.create_infrastructure("x")
        self.assertIn(f"no Chef client credentials for {self.chef.endpoint}",
                      caught.exception.message)
        self.assertIn("client_name", caught.exception.hint)

    def test_an_unsigned_request_is_refused_by_the_fake(self):
        answer = httpx.get(f"{self.chef.endpoint}/nodes", headers={"Accept": "application/json"})
        self.assertEqual(answer.status_code, 401)
        self.assertIn("only version 1.3", answer.json()["error"][0])

    def test_dotted_attributes_merge_with_mappings_in_either_order(self):
        self.assertEqual(nested({"a.b": 1, "a": {"c": 2}}), {"a": {"b": 1, "c": 2}})
        self.assertEqual(nested({"a": {"c": 2}, "a.b": 1}), {"a": {"c": 2, "b": 1}})

    def test_a_value_that_would_also_hold_attributes_is_refused_in_either_order(self):
        for clash in ({"db": "x", "db.host": "y"}, {"db.host": "y", "db": "x"},
                      {"db": {"host": "y"}, "db.host.port": 1}):
            with self.subTest(clash), self.assertRaises(ConfigurationError):
                nested(clash)

    def test_an_answer_that_is_not_json_says_the_endpoint_may_be_wrong(self):
        page = httpx.MockTransport(lambda request: httpx.Response(
            200, text="<html>Chef Manage</html>", headers={"Content-Type": "text/html"}))
        server = ChefServer("https://chef.example.org", "occopus",
                            load_key(self.client_key, "occopus"), transport=page)
        self.addCleanup(server.close)
        with self.assertRaises(ChefError) as caught:
            server.get("nodes/x")
        self.assertIn("is not JSON", caught.exception.message)
        self.assertIn("/organizations/NAME", caught.exception.message)


class TutorialFillTest(unittest.TestCase):
    def test_the_validation_key_is_filled_as_a_block_under_its_key(self):
        text = ("chef:\n    server_url: \"replace_with_your_chef_server_url\"\n"
                "    validation_name: \"replace_with_chef_validation_client_name\"\n"
                "    validation_key: |\n        replace_with_chef_validation_client_key\n"
                "runcmd: []\n")
        pem = "-----BEGIN KEY-----\nAAAA\n-----END KEY-----\n"
        filled = yaml.safe_load(fill_tutorial(text, {"endpoint": "http://chef",
                                                     "validation_name": "v",
                                                     "validation_key": pem}))
        self.assertEqual(filled["chef"], {"server_url": "http://chef", "validation_name": "v",
                                          "validation_key": pem})
        self.assertEqual(filled["runcmd"], [])
