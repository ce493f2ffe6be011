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
