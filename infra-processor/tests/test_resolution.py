import random
import unittest
from dataclasses import replace
from unittest import mock

import yaml

from occo.infobroker.selection import NoMatchingNodeDefinition
from occo.infraprocessor.resolution import CommandError, NodeResolver, resolve_node
from occo.infraprocessor.resolution import node as resolution
from occo.infraprocessor.templates import TemplateError
from occo.util.config import Settings
from occo.util.errors import PluginNotAvailable

from .test_resolution_fixture import INFRA_ID, StoredInfrastructure, node_description

NODE_ID = "8c1e44d2-93b7-4a4e-9f55-0123456789ab"

CLOUD_INIT_TEXT = """\
#cloud-config
write_files:
- path: /etc/db
  content: "{{ getip('db') }}:{{ variables.port }}"
"""
EC2 = {"resource": {"type": "ec2", "endpoint": "https://ec2", "image_id": "ami-1",
                    "tags": {"Name": "{{ name }}-{{ cut(node_id, 0, 8) }}"}},
       "contextualisation": {"type": "cloudinit", "context_template": CLOUD_INIT_TEXT,
                             "attributes": {"db_host": "{{ getip('db') }}", "size": 3}},
       "config_management": {"type": "dummy", "name": "{{ infra_name }}"},
       "health_check": {"urls": ["http://{{ip}}/"], "timeout": 60}}
NOVA = {"resource": {"type": "nova", "endpoint": "https://nova", "image_id": "img",
                     "server_name": "{{name}}-{{cut(node_id,0,8)}}"},
        "contextualisation": {"type": "cloudinit", "context_template": {
            "write_files": [{"path": "/etc/key", "content": "{{ variables.key }}"}],
            "runcmd": ["echo {{ name }} > /tmp/name"]}}}
DOCKER = {"resource": {"type": "docker", "endpoint": "unix:///var/run/docker.sock",
                       "origin": "dockerhub", "image": "busybox", "tag": "latest"},
          "contextualisation": {
              "type": "docker",
              "env": ["target={{ getip('db') }}", "url={{ context_variables.url }}"],
              "command": ["sh", "-c", "ping {{ getip('db') }}"],
              "context_variables": "url: http://{{ getip('db') }}:{{ variables.port }}/\n"}}
PLAIN = {"resource": {"type": "simcloud", "endpoint": "http://127.0.0.1:8700"}}
BASIC = {"resource": {"type": "simcloud", "endpoint": "http://127.0.0.1:8700"},
         "contextualisation": {"type": "basic",
                               "attributes": {"db": {"host": "{{ getip('db') }}"}}}}
PLAYBOOK = [{"hosts": "all", "tasks": [{"ansible.builtin.copy": {
    "dest": "/etc/app.conf", "content": "{{ occopus.nodes.db[0] }}:{{ port }}"}}]}]
ANSIBLE = {"resource": {"type": "simcloud", "endpoint": "http://127.0.0.1:8700"},
           "config_management": {"type": "ansible", "playbook": PLAYBOOK,
                                 "extra_vars": {"db": "{{ getip('db') }}"}}}
DEFINITIONS = {"web_node": [EC2, NOVA], "app_node": [DOCKER], "plain_node": [PLAIN],
               "basic_node": [BASIC], "db_node": [PLAIN], "ansible_node": [ANSIBLE]}
# a multi-line value double-spaced, as 1.10's tutorials write keys for imported documents
VARIABLES = {"port": 3306, "key": "-----BEGIN KEY-----\n\nabc\n\n-----END KEY-----\n\n"}


class ResolveTest(unittest.TestCase):
    def setUp(self):
        self.descriptions = {name: node_description(name, node_type, variables=VARIABLES)
                             for name, node_type in (("web", "web_node"), ("app", "app_node"),
                                                     ("plain", "plain_node"),
                                                     ("basic", "basic_node"), ("db", "db_node"),
                                                     ("configured", "ansible_node"))}
        self.infra = StoredInfrastructure(self, DEFINITIONS, list(self.descriptions.values()))
        self.infra.add_instance("db", "d-1", ["127.0.0.5", "10.1.0.5"], "192.168.1.5")

    def resolve(self, name, settings=Settings(), rng=None, **description):
        """Node `name` resolved; with an `rng` by the random strategy, else the first that fits."""
        return resolve_node({**self.descriptions[name], **description}, NODE_ID,
                            router=self.infra.router, settings=settings,
                            rng=rng or random.Random(), strategy="random" if rng else "first")

    def test_a_playbook_is_passed_on_as_written_while_the_rest_is_rendered(self):
        node = self.resolve("configured")
        self.assertEqual(node.config_management["playbook"], PLAYBOOK)
        self.assertEqual(node.config_management["extra_vars"], {"db": "127.0.0.5"})

    def test_the_filter_chooses_among_the_implementations(self):
        node = self.resolve("web", filter={"type": "nova"})
        self.assertEqual(node.resource["type"], "nova")
        with self.assertRaises(NoMatchingNodeDefinition):
            self.resolve("web", filter={"type": "azure_vm"})

    def test_the_random_strategy_is_driven_by_the_rng_it_is_given(self):
        chosen = [self.resolve("web", rng=random.Random(seed)).resource["type"]
                  for seed in range(20)]
        self.assertEqual(set(chosen), {"ec2", "nova"})
        again = [self.resolve("web", rng=random.Random(seed)).resource["type"]
                 for seed in range(20)]
        self.assertEqual(chosen, again)

    def test_the_resolved_node_carries_the_node_and_its_rendered_sections(self):
        node = self.resolve("web", create_timeout=300)
        self.assertEqual((node.infra_id, node.infra_name, node.user_id, node.node_id, node.name),
                         (INFRA_ID, "shop", "tester", NODE_ID, "web"))
        self.assertEqual(node.resource["tags"], {"Name": "web-8c1e44d2"})
        self.assertEqual(node.config_management, {"type": "dummy", "name": "shop"})
        self.assertEqual(node.health_check, {"urls": ["http://{{ip}}/"], "timeout": 60})
        self.assertEqual(node.create_timeout, 300)

    def test_resource_names_are_rendered(self):
        node = self.resolve("web", filter={"type": "nova"})
        self.assertEqual(node.resource["server_name"], "web-8c1e44d2")

    def test_a_node_without_config_management_gets_the_dummy_one(self):
        self.assertEqual(self.resolve("plain").config_management, {"type": "dummy"})

    def test_cloudinit_renders_a_text_template_and_the_attributes(self):
        node = self.resolve("web")
        self.assertEqual(node.context, CLOUD_INIT_TEXT.replace(
            "{{ getip('db') }}:{{ variables.port }}", "127.0.0.5:3306"))
        self.assertEqual(node.attributes, {"db_host": "127.0.0.5", "size": 3})
        self.assertEqual(node.contextualisation,
                         {"type": "cloudinit", "attributes": {"db_host": "127.0.0.5", "size": 3}})

    def test_cloudinit_renders_an_imported_document_and_writes_it_out(self):
        node = self.resolve("web", filter={"type": "nova"})
        self.assertTrue(node.context.startswith("#cloud-config\nwrite_files:\n"))
        self.assertEqual(yaml.safe_load(node.context), {
            "write_files": [{"path": "/etc/key", "content": "-----BEGIN KEY-----\nabc\n"
                                                            "-----END KEY-----\n\n"}],
            "runcmd": ["echo web > /tmp/name"]})
        self.assertEqual(node.attributes, {})

    def test_an_error_names_the_implementation_the_template_and_the_line(self):
        self.descriptions["web"]["variables"] = {}
        with self.assertRaises(TemplateError) as raised:
            self.resolve("web")
        location = raised.exception.location
        self.assertEqual((location.file, location.line),
                         ("node_def:web_node[0] contextualisation.context_template", 4))
        self.assertIn("'port'", raised.exception.message)
        with self.assertRaises(TemplateError) as raised:
            self.resolve("web", filter={"type": "nova"})
        self.assertEqual((raised.exception.location.file, raised.exception.location.line),
                         ("node_def:web_node[1] contextualisation.context_template"
                          ".write_files[0].content", 1))

    def test_docker_renders_env_and_command_with_the_context_variables(self):
        node = self.resolve("app")
        self.assertEqual(node.contextualisation, {
            "type": "docker", "env": ["target=127.0.0.5", "url=http://127.0.0.5:3306/"],
            "command": ["sh", "-c", "ping 127.0.0.5"],
            "context_variables": {"url": "http://127.0.0.5:3306/"}})
        self.assertIsNone(node.context)
        self.assertEqual(node.attributes, {})

    def test_basic_renders_the_attributes(self):
        node = self.resolve("basic")
        self.assertEqual(node.attributes, {"db": {"host": "127.0.0.5"}})
        self.assertIsNone(node.context)

    def test_inbound_mappings_become_the_originals_connections_attribute(self):
        mappings = {"inbound": {"db": [{"attributes": ["fqdn", "wordpress.db.host"],
                                        "synch": False}]}, "outbound": {}}
        node = self.resolve("basic", mappings=mappings)
        self.assertEqual(node.attributes, {
            "db": {"host": "127.0.0.5"},
            "connections": [{"source_role": f"{node.infra_id}_db", "source_attribute": "fqdn",
                             "destination_attribute": "wordpress.db.host"}]})
        self.assertNotIn("connections", self.resolve("plain").attributes, "none without")

    def test_a_node_without_contextualisation_is_basic(self):
        node = self.resolve("plain")
        self.assertEqual((node.contextualisation, node.attributes, node.context),
                         ({"type": "basic"}, {}, None))

    def test_the_template_context_of_the_original(self):
        names = ("node_id", "name", "infra_id", "infra_name", "user_id", "variables", "mappings",
                 "resource", "contextualisation", "config_management", "health_check")
        everything = {**PLAIN, "contextualisation": {"type": "basic", "attributes": {
            name: f"{{{{ {name} }}}}" for name in names}}}
        self.infra.store.put_node_definitions({"plain_node": [everything]})
        seen = self.resolve("plain").attributes
        self.assertEqual(seen["node_id"], NODE_ID)
        self.assertEqual(seen["infra_name"], "shop")
        self.assertEqual(seen["resource"], str(PLAIN["resource"]))
        self.assertEqual(seen["config_management"], str({"type": "dummy"}))
        self.assertEqual(seen["variables"], str(VARIABLES))
        self.assertEqual(set(seen), set(names))

    def test_cmd_is_refused_by_default_and_runs_when_enabled(self):
        command = {**PLAIN, "resource": {**PLAIN["resource"], "name": "{{ cmd('echo host-1') }}"}}
        self.infra.store.put_node_definitions({"plain_node": [command]})
        with self.assertRaises(CommandError):
            self.resolve("plain")
        node = self.resolve("plain", settings=Settings(cmd_enabled=True))
        self.assertEqual(node.resource["name"], "host-1")

    def test_the_config_manager_adds_template_data(self):
        puppet = {**PLAIN, "contextualisation": {"type": "cloudinit",
                                                 "context_template": "{{ puppet.modules }}"}}
        self.infra.store.put_node_definitions({"plain_node": [puppet]})
        node = resolve_node(self.descriptions["plain"], NODE_ID, router=self.infra.router,
                            settings=Settings(), rng=random.Random(1),
                            attributes_of_manager=lambda node: {"puppet": {"modules": "a b"}})
        self.assertEqual(node.context, "a b")

    def test_an_unknown_contextualisation_type_is_not_available(self):
        other = {**PLAIN, "contextualisation": {"type": "cooked"}}
        self.infra.store.put_node_definitions({"plain_node": [other]})
        with self.assertRaises(PluginNotAvailable) as raised:
            self.resolve("plain")
        self.assertIn("cloudinit", raised.exception.hint)


class NodeResolverTest(unittest.TestCase):
    """Many nodes resolved by one resolver, as an engine execution resolves a level."""

    def setUp(self):
        self.descriptions = {name: node_description(name, node_type, variables=VARIABLES)
                             for name, node_type in (("web", "web_node"), ("plain", "plain_node"),
                                                     ("db", "db_node"))}
        self.infra = StoredInfrastructure(self, DEFINITIONS, list(self.descriptions.values()))
        self.infra.add_instance("db", "d-1", ["127.0.0.5", "10.1.0.5"], "192.168.1.5")
        self.resolver = NodeResolver(self.infra.router, settings=Settings(),
                                     rng=random.Random(3), strategy="first")
        self.rendered = mock.patch.object(resolution, "resolver_for",
                                          wraps=resolution.resolver_for).start()
        self.addCleanup(mock.patch.stopall)

    def test_a_node_types_implementations_are_read_once(self):
        with mock.patch.object(self.infra.router, "get", wraps=self.infra.router.get) as read:
            for index in range(3):
                self.resolver.resolve(self.descriptions["web"], f"n-{index}")
        self.assertEqual(read.call_args_list.count(
            mock.call("node.definition.all", node_type="web_node")), 1)

    def test_an_implementation_without_templates_is_resolved_once(self):
        nodes = [self.resolver.resolve(self.descriptions["plain"], f"n-{index}")
                 for index in range(3)]
        self.assertEqual(self.rendered.call_count, 1)
        self.assertEqual([node.node_id for node in nodes], ["n-0", "n-1", "n-2"])
        first = resolve_node(self.descriptions["plain"], "n-0", router=self.infra.router,
                             settings=Settings(), rng=random.Random(), strategy="first")
        for node in nodes:
            self.assertEqual(replace(node, node_id="n-0"), first)

    def test_an_implementation_with_templates_is_resolved_for_each_node(self):
        nodes = [self.resolver.resolve(self.descriptions["web"], f"node-{index}")
                 for index in range(2)]
        self.assertEqual(self.rendered.call_count, 2)
        self.assertEqual([node.resource["tags"]["Name"] for node in nodes],
                         ["web-node-0", "web-node-1"])

    def test_each_implementation_chosen_is_kept_apart(self):
        plain = {"resource": {**PLAIN["resource"], "image": "other"}}
        self.infra.store.put_node_definitions({"plain_node": [PLAIN, plain]})
        resolver = NodeResolver(self.infra.router, settings=Settings(), rng=random.Random(5),
                                strategy="random")
        images = {resolver.resolve(self.descriptions["plain"], f"n-{index}").resource.get("image")
                  for index in range(20)}
        self.assertEqual(images, {None, "other"})

    def test_a_template_never_changes_what_later_nodes_are_resolved_from(self):
        changing = {"resource": {**PLAIN["resource"], "image": "img",
                                 "note": "{{ resource.update({'image': 'changed'}) or 'x' }}"}}
        self.infra.store.put_node_definitions({"plain_node": [changing]})
        images = [self.resolver.resolve(self.descriptions["plain"], f"n-{index}").resource["image"]
                  for index in range(2)]
        self.assertEqual(images, ["img", "img"])

    def test_whether_a_node_type_renders_templates(self):
        self.assertTrue(self.resolver.renders_templates(self.descriptions["web"]))
        self.assertFalse(self.resolver.renders_templates(self.descriptions["plain"]))
        checked = {**PLAIN, "health_check": {"urls": ["http://{{ip}}/"]}}
        self.infra.store.put_node_definitions({"db_node": [checked]})
        self.assertFalse(self.resolver.renders_templates(self.descriptions["db"]),
                         "a health check is rendered when the node is checked")
        unknown = {**self.descriptions["plain"], "type": "ghost_node"}
        self.assertTrue(self.resolver.renders_templates(unknown))


if __name__ == "__main__":
    unittest.main()
