import importlib.metadata
import unittest
from pathlib import Path

import occo.util


class PackageTest(unittest.TestCase):
    def test_version_is_the_installed_distribution_version(self):
        self.assertEqual(occo.util.__version__, importlib.metadata.version("occo-util"))

    def test_occo_is_an_implicit_namespace_package(self):
        import occo
        self.assertIsNone(getattr(occo, "__file__", None))
        self.assertTrue(Path(occo.util.__file__).parent.joinpath("py.typed").is_file())
