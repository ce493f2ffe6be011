import importlib
import unittest

from occo.util.errors import PluginNotAvailable
from occo.util.plugins import load_declared, load_plugin, plugin_names
from occo.util.plugintesting import install_for_test


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


ENTRY_POINTS = """\
[occo.test_plugins]
ready = occo_util_test_plugins:READY
declared = occo_util_test_plugins:DECLARED
broken = occo_util_test_plugins:BROKEN
wrong = occo_util_test_plugins:WRONG
"""
PLUGINS = """\
from occo.util.plugins import Declared
from occo.util.schema import Schema

class Base:
    pass

class Ready(Base):
    pass

SCHEMA = Schema("thing", {})
READY = Declared(SCHEMA, "occo_util_test_plugins:Ready")
DECLARED = Declared(SCHEMA)
BROKEN = Declared(SCHEMA, "occo_util_no_such_module:Ready")
WRONG = Declared(SCHEMA, "occo_util_test_plugins:SCHEMA")
"""


class LoadDeclaredTest(unittest.TestCase):
    """Plugins of a distribution made for the test, found on sys.path like any other."""

    def setUp(self):
        install_for_test(self, "occo-util-test-plugins", ENTRY_POINTS,
                         {"occo_util_test_plugins": PLUGINS})
        self.module = importlib.import_module("occo_util_test_plugins")

    def load(self, name):
        return load_declared("occo.test_plugins", name, "thing", self.module.Base)

    def test_a_declared_plugin_loads_its_implementation(self):
        self.assertIs(self.load("ready"), self.module.Ready)

    def test_a_plugin_declared_without_implementation_names_the_available_ones(self):
        with self.assertRaises(PluginNotAvailable) as caught:
            self.load("declared")
        self.assertEqual(caught.exception.message,
                         "thing 'declared' is declared but not available in this release")
        self.assertEqual(caught.exception.hint, "the available ones are: broken, ready, wrong")

    def test_an_implementation_that_cannot_be_imported_says_why(self):
        with self.assertRaises(PluginNotAvailable) as caught:
            self.load("broken")
        self.assertIn("No module named 'occo_util_no_such_module'", caught.exception.message)

    def test_an_implementation_must_subclass_the_base(self):
        with self.assertRaises(PluginNotAvailable) as caught:
            self.load("wrong")
        self.assertIn("thing 'wrong' is not a Base class", caught.exception.message)
