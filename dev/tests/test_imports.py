import os
from pathlib import Path

from occodev.imports import check_repo
from occodev.repo import Repo

from .support import TempRepoCase


class ImportBoundaryTest(TempRepoCase):
    def setUp(self):
        super().setUp()
        self.repo({"util": [], "compiler": ["util"], "api": ["util", "compiler"]})

    def write(self, relative, text):
        path = self.root / relative
        path.write_text(text)

    def test_declared_imports_pass(self):
        self.write("api/src/occo/api/main.py", "import occo.compiler\nfrom occo.util import x\n")
        self.assertEqual(check_repo(Repo.load(self.root)), [])

    def test_an_upward_import_is_reported_with_its_line(self):
        self.write("compiler/src/occo/compiler/bad.py", "import json\n\nfrom occo.api import cli\n")
        [violation] = check_repo(Repo.load(self.root))
        self.assertEqual((violation.path, violation.line),
                         (Path("compiler/src/occo/compiler/bad.py"), 3))
        self.assertIn("does not declare occo-api", violation.message)

    def test_every_import_form_is_seen(self):
        self.write("util/src/occo/util/a.py", "import occo.compiler.x as y\n")
        self.write("util/src/occo/util/b.py", "from occo import api\n")
        self.write("util/tests/test_c.py", "from occo.compiler import z\n")
        self.assertEqual(len(check_repo(Repo.load(self.root))), 3)

    def test_relative_and_unrelated_imports_are_ignored(self):
        self.write("util/src/occo/util/a.py", "from . import b\nimport occopus\nimport os.path\n")
        self.assertEqual(check_repo(Repo.load(self.root)), [])

    def test_a_namespace_init_is_reported(self):
        self.write("util/src/occo/__init__.py", "")
        [violation] = check_repo(Repo.load(self.root))
        self.assertIn("implicit namespace", violation.message)


    def test_a_missing_py_typed_marker_is_reported(self):
        (self.root / "util/src/occo/util/py.typed").unlink()
        [violation] = check_repo(Repo.load(self.root))
        self.assertIn("no py.typed marker", violation.message)


class RealRepositoryTest(TempRepoCase):
    def test_this_repository_respects_its_declared_boundaries(self):
        root = Path(os.environ.get("OCCO_DEV_ROOT", Path(__file__).resolve().parents[2]))
        repo = Repo.load(root)
        self.assertEqual(len(repo.components), 8)
        self.assertEqual([str(v) for v in check_repo(repo)], [])
