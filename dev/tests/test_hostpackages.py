"""occo-dev test installs the Debian packages the suites read from the host, where missing."""
from __future__ import annotations

import tempfile
import unittest
from pathlib import Path
from unittest import mock

from occodev import hostpackages
from occodev.errors import DevError


class EnsureTest(unittest.TestCase):
    def setUp(self):
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        self.present = Path(folder.name) / "present.json"
        self.present.write_text("{}")
        self.absent = Path(folder.name) / "absent.json"
        packages = (hostpackages.HostPackage("pkg-here", self.present, ("infra-processor",)),
                    hostpackages.HostPackage("pkg-missing", self.absent, ("infra-processor",)))
        patcher = mock.patch.object(hostpackages, "PACKAGES", packages)
        patcher.start()
        self.addCleanup(patcher.stop)

    def test_root_installs_only_what_is_missing_for_the_suites_run(self):
        with mock.patch("os.geteuid", return_value=0), \
                mock.patch.object(hostpackages, "apt_get") as apt_get:
            hostpackages.ensure(["util", "api"])
            apt_get.assert_not_called()
            hostpackages.ensure(["infra-processor"])
        apt_get.assert_called_once_with(["install", "-y", "--no-install-recommends",
                                         "pkg-missing"])

    def test_another_user_is_told_what_to_install(self):
        with mock.patch("os.geteuid", return_value=1000), \
                mock.patch.object(hostpackages, "apt_get") as apt_get:
            with self.assertRaises(DevError) as caught:
                hostpackages.ensure(["infra-processor"])
        apt_get.assert_not_called()
        self.assertIn("apt-get install -y --no-install-recommends pkg-missing",
                      str(caught.exception))


if __name__ == "__main__":
    unittest.main()
