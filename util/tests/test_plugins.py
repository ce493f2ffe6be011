import unittest

from occo.util.errors import PluginNotAvailable
from occo.util.plugins import load_plugin, load_plugin_class, plugin_names


class LoadPluginTest(unittest.TestCase):
    # The standard library registers nothing; pip and setuptools are not ours either.
    # nose2, installed in every test environment, registers its console script.
    GROUP = "console_scripts"

    def test_a_registered_name_loads_its_object(self):
        self.assertIn("nose2", plugin_names(self.GROUP))
        self.assertTrue(callable(load_plugin(self.GROUP, "nose2", "console script")))

    def test_an_unknown_name_says_what_is_installed(self):
        with self.assertRaises(PluginNotAvailable) as caught:
            load_plugin(self.GROUP, "no-such-plugin", "console script")
        self.assertIn("no console script 'no-such-plugin' is installed", str(caught.exception))
        self.assertIn("nose2", caught.exception.hint)

    def test_an_empty_group_says_none(self):
        with self.assertRaises(PluginNotAvailable) as caught:
            load_plugin("occo.no_such_group", "x", "thing")
        self.assertIn("the installed ones are: none", caught.exception.hint)


class LoadPluginClassTest(unittest.TestCase):
    def test_the_class_must_subclass_the_base(self):
        with self.assertRaises(PluginNotAvailable) as caught:
            load_plugin_class("console_scripts", "nose2", "console script", Exception)
        self.assertIn("is not a Exception class", str(caught.exception))

    def test_a_name_declared_elsewhere_is_declared_but_not_available(self):
        with self.assertRaises(PluginNotAvailable) as caught:
            load_plugin_class("occo.no_such_group", "nose2", "tool", object,
                              declared_in="console_scripts")
        self.assertIn("tool 'nose2' is declared but not available in this release",
                      str(caught.exception))
