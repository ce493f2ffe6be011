import dataclasses
import json
import unittest

from occo.util.nodes import NodeState, ResolvedNode


class NodeStateTest(unittest.TestCase):
    def test_states_read_and_serialise_as_the_original_strings(self):
        self.assertEqual([str(s) for s in NodeState],
                         ["pending", "ready", "shutdown", "failed", "temp_failed", "unknown"])
        self.assertEqual(json.dumps({"state": NodeState.READY}), '{"state": "ready"}')
        self.assertIs(NodeState("temp_failed"), NodeState.TEMP_FAILED)


class ResolvedNodeTest(unittest.TestCase):
    def test_defaults_give_the_dummy_config_manager(self):
        node = ResolvedNode("i", "infra", "u", "n1", "web", {"type": "local"})
        self.assertEqual(node.resource_type, "local")
        self.assertEqual(node.config_management, {"type": "dummy"})

    def test_another_instance_of_a_definition_shares_its_sections(self):
        node = ResolvedNode("i", "infra", "u", "n1", "web", {"type": "local"},
                            contextualisation={"type": "basic"}, context="#cloud-config\n")
        other = node.with_node_id("n2")
        self.assertEqual(other, dataclasses.replace(node, node_id="n2"))
        self.assertIs(other.resource, node.resource)
        self.assertEqual(node.node_id, "n1")
