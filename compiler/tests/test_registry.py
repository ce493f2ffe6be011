import sys
import tempfile
import unittest
from pathlib import Path

from occo.compiler import SchemaRegistry, check_node_definitions
from occo.util.schema import Problems
from occo.util.yamlload import load_text


def _install_broken_plugin(site: Path) -> None:
    """A distribution whose resource plugin entry names a module that does not import."""
    info = site / "occo_broken_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: occo-broken-plugin\n"
                                   "Version: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[occo.resource_plugins]\nbrokencloud = occo_broken_plugin_module:SCHEMA\n")
    (site / "occo_broken_plugin_module.py").write_text("raise ImportError('no SDK here')\n")


class BrokenPluginTest(unittest.TestCase):
    def setUp(self):
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        _install_broken_plugin(Path(folder.name))
        sys.path.insert(0, folder.name)
        self.addCleanup(sys.path.remove, folder.name)

    def test_a_plugin_that_fails_to_load_costs_only_its_own_type(self):
        registry = SchemaRegistry.from_entry_points()
        self.assertNotIn("brokencloud", registry.types("resource"))
        self.assertIsNone(registry.get("resource", "brokencloud"))
        self.assertIn("no SDK here", registry.broken("resource", "brokencloud"))

    def test_a_definition_naming_it_is_told_why_at_its_type(self):
        registry = SchemaRegistry.from_entry_points()
        data = load_text("node_def:web:\n  - resource:\n      type: brokencloud\n",
                         source="nodes.yaml")
        problems = Problems()
        check_node_definitions(data, registry, problems)
        [problem] = problems
        self.assertIn("fails to load: ImportError: no SDK here", problem.message)
        self.assertIn("occo-broken-plugin", problem.message)
        self.assertEqual((problem.location.file, problem.location.line), ("nodes.yaml", 3))
        self.assertIn("reinstall", problem.hint)


if __name__ == "__main__":
    unittest.main()
