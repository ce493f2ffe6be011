import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

from occodev.bundle import join
from occodev.errors import DevError

PINS = {"GREETING": "hello"}


class JoinCase(unittest.TestCase):
    def setUp(self):
        scratch = tempfile.TemporaryDirectory()
        self.addCleanup(scratch.cleanup)
        self.package = Path(scratch.name) / "pkg"
        self.package.mkdir()
        self.write("__init__", '"""A tiny tool.\n\nIt greets."""\n')
        self.write("pins", 'GREETING = "placeholder"\n')
        self.write("words", '"""Words."""\nimport os\n\nfrom .pins import GREETING\n\n\n'
                            'def line(name: str) -> str:\n    return f"{GREETING}, {name}{os.sep}"\n')
        self.write("main", '"""Entry."""\nimport os\nimport sys\n\nfrom .words import line\n\n\n'
                           'def main() -> int:\n    print(line(sys.argv[1]))\n    return 3\n')

    def write(self, name, text):
        (self.package / f"{name}.py").write_text(text)

    def joined(self, pins=PINS):
        return join(self.package, pins, entry="main", minimum=(3, 10), script="tool.py")

    def refused(self, module, text, *needles):
        """Writing `text` as `module` makes the join fail with a message holding `needles`."""
        self.write(module, text)
        with self.assertRaises(DevError) as caught:
            self.joined()
        for needle in needles:
            self.assertIn(needle, str(caught.exception))


class JoinTest(JoinCase):
    def test_the_joined_file_runs_with_the_pinned_values(self):
        path = self.package.parent / "tool.py"
        path.write_text(self.joined())
        result = subprocess.run([sys.executable, str(path), "you"], capture_output=True, text=True)
        self.assertEqual((result.returncode, result.stdout), (3, "hello, you/\n"))

    def test_modules_follow_their_imports_and_lose_them(self):
        text = self.joined()
        self.assertLess(text.index("# ---- pins.py"), text.index("# ---- words.py"))
        self.assertLess(text.index("# ---- words.py"), text.index("# ---- main.py"))
        self.assertNotIn("from .", text)
        self.assertEqual(text.count("\nimport os\n"), 1)

    def test_the_version_check_comes_first_and_the_docstring_is_the_package_s(self):
        lines = self.joined().splitlines()
        self.assertEqual(lines[:2], ["#!/usr/bin/env python3", '"""A tiny tool.'])
        first_code = lines.index("import sys")
        self.assertTrue(lines[first_code + 2].startswith("if sys.version_info < (3, 10):"))

    def test_an_old_python_is_told_the_version_it_needs(self):
        path = self.package.parent / "tool.py"
        path.write_text(self.joined())
        result = subprocess.run([sys.executable, "-c", "import sys, runpy; sys.version_info = "
                                 "(3, 6, 0); runpy.run_path(sys.argv[1], run_name='__main__')",
                                 str(path)], capture_output=True, text=True)
        self.assertEqual(result.returncode, 1)
        self.assertIn("tool.py needs Python >= 3.10 (this is 3.6)", result.stderr)


class RefusalTest(JoinCase):
    def test_a_third_party_import(self):
        self.refused("extra", "import yaml\n", "extra.py:1", "imports yaml",
                     "not in the standard library")

    def test_importing_a_module_object(self):
        self.refused("extra", "from . import words\n", "extra.py:1", "from .<module> import name")

    def test_a_future_import(self):
        self.refused("extra", "from __future__ import annotations\n", "no __future__ imports")

    def test_a_name_defined_in_two_modules(self):
        self.refused("extra", "def line():\n    return 1\n", "'line' is also defined in")

    def test_a_name_defined_and_imported(self):
        self.refused("extra", "from os import sep as line\n",
                     "line: both defined in words.py and imported")

    def test_syntax_an_old_python_cannot_parse(self):
        self.refused("extra", "if (n := 1):\n    pass\n", "extra.py:1", "must parse as Python 3.6")

    def test_pins_that_do_not_match_the_module(self):
        with self.assertRaises(DevError) as caught:
            self.joined({"OTHER": 1})
        self.assertIn("make them agree", str(caught.exception))

    def test_a_missing_entry_point(self):
        self.refused("main", "from .words import line\n", "defines main(), the entry point")

    def test_a_cycle(self):
        self.refused("pins", "from .main import main\nGREETING = 'x'\n", "cycle")

