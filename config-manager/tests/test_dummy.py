import unittest

from occo.configmanager.base import ConfigManager
from occo.configmanager.dummy import DummyConfigManager
from occo.configmanager.plugins import make_manager, manager_class
from occo.util.errors import PluginNotAvailable
from occo.util.nodes import NodeState, ResolvedNode

NODE = ResolvedNode("infra-1", "shop", "u", "node-1", "web", {"type": "local"})


class DummyTest(unittest.TestCase):
    def test_every_node_counts_as_configured(self):
        manager = DummyConfigManager({"type": "dummy"})
        manager.create_infrastructure("infra-1")
        manager.register_node(NODE)
        self.assertTrue(manager.infrastructure_exists("infra-1"))
        self.assertIs(manager.get_node_state("infra-1", "node-1"), NodeState.READY)
        self.assertIsNone(manager.get_node_attribute("infra-1", "node-1", "fqdn"))
        self.assertEqual(manager.resolve_attributes(NODE), {})

    def test_dropping_is_always_fine(self):
        manager = DummyConfigManager({"type": "dummy"})
        manager.drop_node("infra-1", "never-registered")
        manager.drop_infrastructure("never-created")


class PluginsTest(unittest.TestCase):
    def test_no_section_means_the_dummy_manager(self):
        for section in (None, {}, {"type": "dummy"}):
            with self.subTest(section=section):
                self.assertIsInstance(make_manager(section), DummyConfigManager)

    def test_registered_classes_keep_the_contract(self):
        self.assertTrue(issubclass(manager_class("dummy"), ConfigManager))

    def test_a_declared_manager_without_implementation_says_so(self):
        with self.assertRaises(PluginNotAvailable) as caught:
            manager_class("chef")
        self.assertIn("'chef' is declared but not available in this release", str(caught.exception))

    def test_an_unknown_manager_lists_the_installed_ones(self):
        with self.assertRaises(PluginNotAvailable) as caught:
            make_manager({"type": "ansible"})
        self.assertIn("no config manager 'ansible' is installed", str(caught.exception))
        self.assertIn("dummy", caught.exception.hint)
