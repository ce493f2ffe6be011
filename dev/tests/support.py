"""Synthetic monorepos for the occo-dev unit tests."""
from __future__ import annotations

import tempfile
import unittest
from pathlib import Path

from occodev.repo import Repo


def write_component(root: Path, folder: str, deps: list[str] = (), third_party: list[str] = (),
                    version: str = "0.1.0", versions: dict[str, str] | None = None) -> Path:
    """A minimal component folder; sibling deps are pinned to `versions` (default 0.1.0)."""
    versions = versions or {}
    path = root / folder
    package = path / "src" / "occo" / folder.replace("-", "")
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(f'"""{folder}."""\n')
    (package / "py.typed").write_text("")
    (path / "tests").mkdir()
    requires = [f"occo-{d}=={versions.get(d, '0.1.0')}" for d in deps] + list(third_party)
    (path / "pyproject.toml").write_text(
        "[build-system]\nrequires = [\"hatchling>=1.26\"]\nbuild-backend = \"hatchling.build\"\n"
        f"[project]\nname = \"occo-{folder}\"\nversion = \"{version}\"\n"
        f"dependencies = {requires!r}\n".replace("'", '"')
        + "[dependency-groups]\ntest = [\"nose2\"]\n"
        + "[tool.hatch.build.targets.wheel]\npackages = [\"src/occo\"]\n")
    (path / "README.md").write_text(f"# occo-{folder}\n")
    return path


class TempRepoCase(unittest.TestCase):
    """A test with a fresh temporary folder to build a repository in."""

    def setUp(self) -> None:
        scratch = tempfile.TemporaryDirectory()
        self.addCleanup(scratch.cleanup)
        self.root = Path(scratch.name)

    def repo(self, layout: dict[str, list[str]]) -> Repo:
        for folder, deps in layout.items():
            write_component(self.root, folder, deps)
        return Repo.load(self.root)
