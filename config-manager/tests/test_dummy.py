import unittest

from occo.configmanager.base import ConfigManager, ConfigTarget
from occo.configmanager.conformance import ConfigManagerConformance
from occo.configmanager.dummy import DummyConfigManager
from occo.configmanager.managers import Managers
from occo.configmanager.plugins import manager_class
from occo.util.errors import PluginNotAvailable


class DummyConformance(ConfigManagerConformance, unittest.TestCase):
    def make_manager(self):
        return DummyConfigManager({"type": "dummy"})

    def make_target(self, node):
        return ConfigTarget(node, "local-1", ("127.0.0.1",))


class PluginsTest(unittest.TestCase):
    def test_no_section_means_the_dummy_manager(self):
        for section in (None, {}, {"type": "dummy"}):
            with self.subTest(section=section):
                self.assertIsInstance(Managers(None).manager(section), DummyConfigManager)

    def test_registered_classes_keep_the_contract(self):
        self.assertTrue(issubclass(manager_class("dummy"), ConfigManager))

    def test_an_unknown_manager_lists_the_installed_ones(self):
        with self.assertRaises(PluginNotAvailable) as caught:
            Managers(None).manager({"type": "no-such-manager"})
        self.assertIn("no config manager 'no-such-manager' is installed", str(caught.exception))
        self.assertIn("dummy", caught.exception.hint)
