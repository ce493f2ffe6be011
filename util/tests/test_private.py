"""Private folders and files: 0700 and 0600 whatever the umask; files never through a symlink."""
import os
import stat
import tempfile
import unittest
from pathlib import Path
from unittest import mock

from occo.util.private import (PrivacyError, create_private, open_private, private_folder)


class PrivateCase(unittest.TestCase):
    def setUp(self):
        scratch = tempfile.TemporaryDirectory(prefix="occo-private-")
        self.addCleanup(scratch.cleanup)
        self.root = Path(scratch.name)
        self.addCleanup(os.umask, os.umask(0))       # the most permissive umask


class PrivateFolderTest(PrivateCase):
    def mode(self, path):
        return stat.S_IMODE(os.lstat(path).st_mode)

    def test_missing_folders_are_made_0700(self):
        folder = private_folder(self.root / "a" / "b")
        self.assertEqual((self.mode(folder), self.mode(folder.parent)), (0o700, 0o700))

    def test_a_folder_under_occopus_home_is_tightened_one_chosen_elsewhere_is_not(self):
        home = self.root / "home"
        (home / ".occopus").mkdir(parents=True, mode=0o755)
        elsewhere = self.root / "shared"
        elsewhere.mkdir(mode=0o755)
        with mock.patch.dict(os.environ, {"HOME": str(home)}):
            private_folder(home / ".occopus")
            private_folder(elsewhere)
        self.assertEqual(self.mode(home / ".occopus"), 0o700)
        self.assertEqual(self.mode(elsewhere), 0o755)

    def test_an_own_folder_may_be_a_symlink_to_a_folder_of_the_user_which_is_tightened(self):
        home = self.root / "home"
        home.mkdir()
        real = self.root / "disk" / "occopus"
        real.mkdir(parents=True, mode=0o755)
        (home / ".occopus").symlink_to(real)
        with mock.patch.dict(os.environ, {"HOME": str(home)}):
            private_folder(home / ".occopus")
        self.assertEqual(self.mode(real), 0o700)

    def test_an_own_folder_of_another_user_is_refused(self):
        home = self.root / "home"
        (home / ".occopus").mkdir(parents=True)
        with mock.patch.dict(os.environ, {"HOME": str(home)}), \
                mock.patch("os.geteuid", return_value=os.geteuid() + 1):
            with self.assertRaises(PrivacyError) as caught:
                private_folder(home / ".occopus")
        self.assertIn("belongs to another user", str(caught.exception))

    def test_a_folder_chosen_elsewhere_may_belong_to_another_user(self):
        shared = self.root / "shared"
        shared.mkdir(mode=0o1777)
        os.chmod(shared, 0o1777)
        with mock.patch("os.geteuid", return_value=os.geteuid() + 1):
            self.assertEqual(private_folder(shared), shared)
        self.assertEqual(self.mode(shared), 0o1777)

    def test_a_file_in_place_of_a_folder_is_refused(self):
        (self.root / "file").write_text("x")
        with self.assertRaises(PrivacyError) as caught:
            private_folder(self.root / "file")
        self.assertIn("is not a folder", str(caught.exception))


class PrivateFileTest(PrivateCase):
    def test_a_new_file_is_0600_and_an_existing_one_is_made_so(self):
        os.close(open_private(self.root / "new"))
        existing = self.root / "old"
        existing.write_text("x")
        os.chmod(existing, 0o644)
        os.close(open_private(existing))
        for name in ("new", "old"):
            self.assertEqual(stat.S_IMODE((self.root / name).stat().st_mode), 0o600, name)

    def test_a_symlink_is_never_opened_through(self):
        victim = self.root / "victim"
        victim.write_text("precious")
        os.chmod(victim, 0o644)
        (self.root / "link").symlink_to(victim)
        with self.assertRaises(PrivacyError):
            open_private(self.root / "link")
        with self.assertRaises(FileExistsError):
            create_private(self.root / "link")
        self.assertEqual((victim.read_text(), stat.S_IMODE(victim.stat().st_mode)),
                         ("precious", 0o644))


if __name__ == "__main__":
    unittest.main()
