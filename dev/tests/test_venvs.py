import os
import sys
from unittest import mock

from occodev.errors import DevError
from occodev.repo import Repo
from occodev.venvs import components_python

from .support import TempRepoCase


class ComponentsPythonTest(TempRepoCase):
    def set_requires_python(self, spec):
        path = self.root / "util" / "pyproject.toml"
        path.write_text(path.read_text().replace('version = "0.1.0"\n',
                                                 f'version = "0.1.0"\nrequires-python = "{spec}"\n'))
        return Repo.load(self.root)

    def test_the_tools_own_python_serves_when_it_is_new_enough(self):
        self.repo({"util": []})
        repo = self.set_requires_python(f">={sys.version_info[0]}.{sys.version_info[1]}")
        with mock.patch.dict(os.environ, {"OCCO_PYTHON": ""}):
            self.assertEqual(components_python(repo), sys.executable)

    def test_no_suitable_python_is_a_clear_error(self):
        self.repo({"util": []})
        repo = self.set_requires_python(">=99")
        with self.assertRaises(DevError) as caught:
            components_python(repo)
        self.assertIn("requires-python (>=99)", str(caught.exception))
        self.assertIn("OCCO_PYTHON", str(caught.exception))
