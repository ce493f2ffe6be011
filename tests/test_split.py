"""occo-dev split: the polyrepo, cloned with its submodules, works as the monorepo does."""
import os
import subprocess
import tempfile
import unittest
from pathlib import Path

from .support import COMMIT_TIME, RepoCopy, git

# file:// submodules are refused by default since git 2.38; these clones are local on purpose.
FILE_PROTOCOL = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "protocol.file.allow",
                 "GIT_CONFIG_VALUE_0": "always"}


class PolyrepoTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.copy = RepoCopy()
        cls._scratch = tempfile.TemporaryDirectory(prefix="occo-poly-")
        cls.scratch = Path(cls._scratch.name)
        cls.out = cls.scratch / "published"
        # The root files move on after util: util's gitlink keeps util's own commit time.
        readme = cls.copy.root / "README.md"
        readme.write_text(readme.read_text() + "\nLater.\n")
        git(cls.copy.root, "commit", "-qam", "root readme", when=COMMIT_TIME + 50)
        cls.first = cls.run_ok(cls.copy.root, "split", str(cls.out))
        cls.clone = cls.scratch / "clone"
        cls.git("clone", "-q", "--recursive", f"file://{cls.out}/occopus.git", str(cls.clone))
        cls.git("submodule", "foreach", "-q", "git checkout -q devel", cwd=cls.clone)
        (cls.clone / "env").mkdir()
        (cls.clone / "env" / "wheels").symlink_to(cls.copy.root / "env" / "wheels")

    @classmethod
    def tearDownClass(cls):
        cls.copy.cleanup()
        cls._scratch.cleanup()

    @classmethod
    def git(cls, *args: str, cwd: Path | None = None) -> str:
        return subprocess.run(["git", *args], cwd=cwd or cls.scratch, check=True,
                              env=dict(os.environ, **FILE_PROTOCOL), capture_output=True,
                              text=True).stdout

    @classmethod
    def run_ok(cls, where: Path, *args: str) -> str:
        result = subprocess.run([str(where / "occo-dev"), *args], cwd=where, env=cls.copy.env(),
                                capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            raise AssertionError(f"occo-dev {' '.join(args)} in {where}:\n"
                                 f"{result.stdout}{result.stderr}")
        return result.stdout

    def test_every_component_is_a_submodule_on_devel(self):
        branches = self.git("submodule", "foreach", "-q", "git rev-parse --abbrev-ref HEAD",
                            cwd=self.clone).split()
        self.assertEqual(branches, ["devel"] * 8)
        self.assertTrue((self.clone / "init_dev.sh").stat().st_mode & 0o111)

    def test_order_is_the_monorepo_s(self):
        self.assertEqual(self.run_ok(self.clone, "order"), self.run_ok(self.copy.root, "order"))

    def test_package_util_builds_the_monorepo_s_wheel_byte_for_byte(self):
        self.run_ok(self.copy.root, "package", "util")
        self.run_ok(self.clone, "package", "util")
        wheel = "util/wheelhouse/occo_util-0.1.0-py3-none-any.whl"
        self.assertEqual((self.clone / wheel).read_bytes(), (self.copy.root / wheel).read_bytes())

    def test_init_dev_checks_out_every_component_of_a_plain_clone(self):
        plain = self.scratch / "plain"
        self.git("clone", "-q", f"file://{self.out}/occopus.git", str(plain))
        result = subprocess.run(["./init_dev.sh"], cwd=plain, env=dict(os.environ, **FILE_PROTOCOL),
                                capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("util: devel at ", result.stdout)
        self.assertTrue((plain / "util" / "pyproject.toml").is_file())

    def test_a_second_split_is_incremental(self):
        self.assertIn("occopus: ", self.first)
        again = self.run_ok(self.copy.root, "split", str(self.out))
        self.assertEqual(again.count("up to date"), 9, again)
        api = self.copy.root / "api" / "README.md"
        api.write_text(api.read_text() + "\nChanged.\n")
        git(self.copy.root, "commit", "-qam", "api readme", when=COMMIT_TIME + 100)
        moved = self.run_ok(self.copy.root, "split", str(self.out))
        self.assertIn("api: 1 new commit(s)", moved)
        self.assertIn("util: up to date", moved)
        self.assertIn("occopus: 1 new commit(s)", moved)
        result = subprocess.run(["./init_dev.sh"], cwd=self.clone, capture_output=True, text=True,
                                env=dict(os.environ, **FILE_PROTOCOL))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("Changed.", (self.clone / "api" / "README.md").read_text())
