import tempfile
import unittest
from pathlib import Path

from occo.configmanager.provider import ConfigManagerProvider
from occo.infobroker.auth import AuthData
from occo.infobroker.broker import InfoRouter
from occo.util.errors import PluginNotAvailable
from occo.util.nodes import NodeState


class ServiceStateTest(unittest.TestCase):
    def setUp(self):
        scratch = tempfile.TemporaryDirectory()
        self.addCleanup(scratch.cleanup)
        auth = Path(scratch.name, "auth_data.yaml")
        auth.write_text("config_management:\n  - type: dummy\n    auth_data: {token: t}\n")
        self.router = InfoRouter([ConfigManagerProvider(AuthData(auth))])

    def test_a_node_without_a_manager_is_configured(self):
        state = self.router.get("node.service.state", infra_id="i", node_id="n")
        self.assertIs(state, NodeState.READY)

    def test_the_manager_the_section_names_is_asked(self):
        with self.assertRaises(PluginNotAvailable):
            self.router.get("node.service.state", infra_id="i", node_id="n", section={
                "type": "chef", "endpoint": "e", "run_list": []})
