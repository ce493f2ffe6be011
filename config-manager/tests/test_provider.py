import tempfile
import unittest
from pathlib import Path

from occo.configmanager.base import ConfigTarget
from occo.configmanager.provider import ConfigManagerProvider
from occo.infobroker.auth import AuthData
from occo.infobroker.broker import InfoRouter
from occo.util.errors import ConfigurationError, PluginNotAvailable
from occo.util.nodes import NodeState, ResolvedNode


def target(**sections):
    node = ResolvedNode("i", "shop", "u", "n", "web", {"type": "local"}, **sections)
    return ConfigTarget(node, "local-1", ("127.0.0.1",))


class ServiceStateTest(unittest.TestCase):
    def setUp(self):
        scratch = tempfile.TemporaryDirectory()
        self.addCleanup(scratch.cleanup)
        auth = Path(scratch.name, "auth_data.yaml")
        auth.write_text("config_management:\n  - type: dummy\n    auth_data: {token: t}\n")
        self.router = InfoRouter([ConfigManagerProvider(AuthData(auth))])

    def test_a_node_without_a_manager_is_configured(self):
        state = self.router.get("node.service.state", target=target(config_management={}))
        self.assertIs(state, NodeState.READY)

    def test_the_manager_the_section_names_is_asked(self):
        with self.assertRaises(PluginNotAvailable):
            self.router.get("node.service.state", target=target(config_management={
                "type": "no-such-manager"}))
        with self.assertRaises(ConfigurationError) as caught:     # chef, with no credentials
            self.router.get("node.service.state", target=target(config_management={
                "type": "chef", "endpoint": "https://chef.example.org", "run_list": []}))
        self.assertIn("no Chef client credentials", caught.exception.message)
