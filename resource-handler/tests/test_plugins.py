"""Finding a handler class by resource type, and what is said when there is none."""
from __future__ import annotations

import sys
import tempfile
import unittest
from pathlib import Path

from occo.util.errors import PluginNotAvailable

from occo.resourcehandler.plugins import handler_class
from occo.resourcehandler.simcloud.plugin import SimCloudHandler

EXTRA_ENTRY_POINTS = """\
[occo.resource_handlers]
broken = occo_no_such_module.plugin:Handler
not_a_handler = json:dumps
"""


class HandlerClassTest(unittest.TestCase):
    def test_an_installed_type_gives_its_class(self):
        self.assertIs(handler_class("simcloud"), SimCloudHandler)

    def test_a_declared_type_without_implementation_says_so(self):
        with self.assertRaises(PluginNotAvailable) as raised:
            handler_class("ec2")
        self.assertEqual(raised.exception.message,
                         "resource type 'ec2' is declared but not available in this release")
        self.assertIn("simcloud", raised.exception.hint)

    def test_an_unknown_type_lists_the_installed_ones(self):
        with self.assertRaises(PluginNotAvailable) as raised:
            handler_class("vmware")
        self.assertEqual(raised.exception.message, "no resource type 'vmware' is installed")
        self.assertIn("simcloud", raised.exception.hint)
        self.assertNotIn("ec2", raised.exception.hint)


class BrokenRegistrationTest(unittest.TestCase):
    """Entry points of a distribution made for the test, found on sys.path like any other."""

    def setUp(self) -> None:
        scratch = tempfile.TemporaryDirectory()
        self.addCleanup(scratch.cleanup)
        info = Path(scratch.name, "occo_broken_plugins-0.dist-info")
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: occo-broken-plugins\n"
                                       "Version: 0\n")
        (info / "entry_points.txt").write_text(EXTRA_ENTRY_POINTS)
        sys.path.append(scratch.name)
        self.addCleanup(sys.path.remove, scratch.name)

    def test_a_plugin_that_cannot_be_imported_says_why(self):
        with self.assertRaises(PluginNotAvailable) as raised:
            handler_class("broken")
        self.assertIn("resource type 'broken' cannot be loaded: No module named "
                      "'occo_no_such_module'", raised.exception.message)

    def test_an_entry_that_is_not_a_handler_class_is_refused(self):
        with self.assertRaises(PluginNotAvailable) as raised:
            handler_class("not_a_handler")
        self.assertIn("is not a ResourceHandler class", raised.exception.message)
