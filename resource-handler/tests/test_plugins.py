"""Finding a handler class by resource type, and what is said when there is none."""
from __future__ import annotations

import subprocess
import sys
import unittest

from occo.util.errors import PluginNotAvailable
from occo.util.plugintesting import install_for_test

from occo.resourcehandler.plugins import handler_class
from occo.resourcehandler.simcloud.plugin import SimCloudHandler

EXTRA_ENTRY_POINTS = """\
[occo.resource_plugins]
broken = occo_test_registrations:BROKEN
unavailable = occo_test_registrations:UNAVAILABLE
not_a_handler = occo_test_registrations:NOT_A_HANDLER
not_declared = occo_test_registrations:NOT_DECLARED
"""
REGISTRATIONS = """\
from occo.util.plugins import Declared
from occo.util.schema import Schema

SCHEMA = Schema("resource test", {})
BROKEN = Declared(SCHEMA, "occo_no_such_module.plugin:Handler")
UNAVAILABLE = Declared(SCHEMA)
NOT_A_HANDLER = Declared(SCHEMA, "json:dumps")
NOT_DECLARED = SCHEMA
"""


class HandlerClassTest(unittest.TestCase):
    def test_an_installed_type_gives_its_class(self):
        self.assertIs(handler_class("simcloud"), SimCloudHandler)

    def test_an_unknown_type_lists_the_installed_ones(self):
        with self.assertRaises(PluginNotAvailable) as raised:
            handler_class("vmware")
        self.assertEqual(raised.exception.message, "no resource type 'vmware' is installed")
        self.assertIn("simcloud", raised.exception.hint)

    def test_a_schema_is_read_without_importing_its_plugin_or_sdk(self):
        """What the compiler does for every node definition: it must not pay for boto3."""
        code = ("import sys; from occo.util.plugins import registered\n"
                "schemas = [entry.load().schema for entry in "
                "registered('occo.resource_plugins').values()]\n"
                "print(sorted(name for name in ('boto3', 'docker', 'openstack', 'libcloud', "
                "'azure.identity', 'azure.mgmt.compute', 'azure.mgmt.containerinstance', "
                "'occo.resourcehandler.ec2.handler', 'occo.resourcehandler.docker.handler') "
                "if name in sys.modules))")
        loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                check=True)
        self.assertEqual(loaded.stdout.strip(), "[]")


class BrokenRegistrationTest(unittest.TestCase):
    """Entry points of a distribution made for the test, found on sys.path like any other."""

    def setUp(self) -> None:
        install_for_test(self, "occo-broken-plugins", EXTRA_ENTRY_POINTS,
                         {"occo_test_registrations": REGISTRATIONS})

    def test_a_declared_type_without_implementation_says_so(self):
        with self.assertRaises(PluginNotAvailable) as raised:
            handler_class("unavailable")
        self.assertEqual(raised.exception.message, "resource type 'unavailable' is declared but "
                                                   "not available in this release")
        self.assertIn("simcloud", raised.exception.hint)
        self.assertIn("azure_vm", raised.exception.hint)
        self.assertNotIn("unavailable", raised.exception.hint)

    def test_a_plugin_that_cannot_be_imported_says_why(self):
        with self.assertRaises(PluginNotAvailable) as raised:
            handler_class("broken")
        self.assertIn("resource type 'broken' cannot be loaded: No module named "
                      "'occo_no_such_module'", raised.exception.message)

    def test_an_implementation_that_is_not_a_handler_class_is_refused(self):
        with self.assertRaises(PluginNotAvailable) as raised:
            handler_class("not_a_handler")
        self.assertIn("is not a ResourceHandler class", raised.exception.message)

    def test_an_entry_that_is_not_a_declared_plugin_is_refused(self):
        with self.assertRaises(PluginNotAvailable) as raised:
            handler_class("not_declared")
        self.assertIn("is not registered as a Declared plugin", raised.exception.message)
