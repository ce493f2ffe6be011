import json
import subprocess

from occodev.package import (MIN_ZIP_EPOCH, STAMP, content_hash, own_wheel_name,
                             source_date_epoch, stamp_is_current, wheelhouse)

from .support import TempRepoCase


class ContentHashTest(TempRepoCase):
    def setUp(self):
        super().setUp()
        self.util = self.repo({"util": []}).components["util"]

    def hash(self, epoch=MIN_ZIP_EPOCH, siblings=()):
        return content_hash(self.util, epoch, list(siblings), [])

    def test_a_source_change_changes_the_hash(self):
        before = self.hash()
        (self.util.path / "src/occo/util/new.py").write_text("x = 1\n")
        self.assertNotEqual(self.hash(), before)

    def test_bytecode_and_tests_do_not_count(self):
        before = self.hash()
        cache = self.util.path / "src/occo/util/__pycache__"
        cache.mkdir()
        (cache / "x.cpython-311.pyc").write_bytes(b"\0")
        (self.util.path / "tests/test_x.py").write_text("pass\n")
        self.assertEqual(self.hash(), before)

    def test_epoch_and_sibling_hashes_count(self):
        self.assertNotEqual(self.hash(), self.hash(epoch=MIN_ZIP_EPOCH + 1))
        self.assertNotEqual(self.hash(siblings=["a"]), self.hash(siblings=["b"]))

    def test_stamp_must_match_and_wheels_be_intact(self):
        house = wheelhouse(self.util)
        house.mkdir()
        wheel = house / own_wheel_name(self.util)
        wheel.write_bytes(b"wheel")
        import hashlib
        stamp = {"hash": "h", "files": {wheel.name: hashlib.sha256(b"wheel").hexdigest()}}
        (house / STAMP).write_text(json.dumps(stamp))
        self.assertTrue(stamp_is_current(self.util, "h"))
        self.assertFalse(stamp_is_current(self.util, "other"))
        wheel.write_bytes(b"tampered")
        self.assertFalse(stamp_is_current(self.util, "h"))
        wheel.write_bytes(b"wheel")
        (house / "extra-1.0-py3-none-any.whl").write_bytes(b"")
        self.assertFalse(stamp_is_current(self.util, "h"))


class SourceDateEpochTest(TempRepoCase):
    def test_outside_git_it_is_1980(self):
        repo = self.repo({"util": []})
        self.assertEqual(source_date_epoch(repo, repo.components["util"]), MIN_ZIP_EPOCH)

    def test_it_is_the_last_commit_touching_the_component(self):
        repo = self.repo({"util": [], "api": ["util"]})
        git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]

        def commit(paths, when):
            env = {"GIT_AUTHOR_DATE": f"@{when} +0000", "GIT_COMMITTER_DATE": f"@{when} +0000",
                   "PATH": "/usr/bin:/bin"}
            subprocess.run(git + ["add", *paths], cwd=self.root, check=True)
            subprocess.run(git + ["commit", "-qm", "x"], cwd=self.root, check=True, env=env)

        subprocess.run(["git", "init", "-q"], cwd=self.root, check=True)
        commit(["util", "api"], 1_700_000_000)
        (self.root / "api" / "README.md").write_text("changed\n")
        commit(["api"], 1_700_000_500)
        self.assertEqual(source_date_epoch(repo, repo.components["util"]), 1_700_000_000)
        self.assertEqual(source_date_epoch(repo, repo.components["api"]), 1_700_000_500)
