"""occo-dev test installs the Debian packages the suites read from the host, where missing."""
from __future__ import annotations

import tempfile
import unittest
from pathlib import Path
from unittest import mock

from occodev import apt, hostpackages
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
                mock.patch.object(hostpackages, "install_without_services") as install:
            hostpackages.ensure(["util", "api"])
            install.assert_not_called()
            hostpackages.ensure(["infra-processor"])
        install.assert_called_once_with(["pkg-missing"], [])

    def test_another_user_is_told_what_to_install(self):
        with mock.patch("os.geteuid", return_value=1000), \
                mock.patch.object(hostpackages, "install_without_services") as install:
            with self.assertRaises(DevError) as caught:
                hostpackages.ensure(["infra-processor"])
        install.assert_not_called()
        self.assertIn("apt-get install -y --no-install-recommends pkg-missing",
                      str(caught.exception))


class InstallWithoutServicesTest(unittest.TestCase):
    def setUp(self):
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        self.policy = Path(folder.name) / "policy-rc.d"
        patcher = mock.patch.object(apt, "POLICY", self.policy)
        patcher.start()
        self.addCleanup(patcher.stop)

    def test_no_service_may_start_while_installing_and_the_policy_goes_after(self):
        seen = []

        def apt_get(args, exit_code=1):
            seen.append((args, self.policy.read_text(), self.policy.stat().st_mode & 0o777))
            raise DevError("apt-get install failed")

        with mock.patch.object(apt, "apt_get", side_effect=apt_get):
            with self.assertRaises(DevError):
                apt.install_without_services(["mariadb-server"], ["mariadb"])
        self.assertEqual(seen, [(["install", "-y", "--no-install-recommends", "mariadb-server"],
                                 "#!/bin/sh\nexit 101\n", 0o755)])
        self.assertFalse(self.policy.exists())

    def test_on_a_systemd_machine_the_services_it_enabled_are_disabled(self):
        for systemd, expected in ((True, [["systemctl", "disable", "--now", "mariadb"]]),
                                  (False, [])):
            folder = Path(self.policy.parent, "systemd" if systemd else "absent")
            if systemd:
                folder.mkdir()
            with self.subTest(systemd=systemd), mock.patch.object(apt, "SYSTEMD", folder), \
                    mock.patch.object(apt, "apt_get"), \
                    mock.patch.object(apt.subprocess, "run") as run:
                apt.install_without_services(["mariadb-server"], ["mariadb"])
                self.assertEqual([call.args[0] for call in run.call_args_list], expected)

    def test_a_policy_of_the_machine_s_own_is_kept(self):
        self.policy.write_text("#!/bin/sh\nexit 0\n")
        with mock.patch.object(apt, "apt_get") as apt_get:
            apt.install_without_services(["chromium"])
        apt_get.assert_called_once()
        self.assertEqual(self.policy.read_text(), "#!/bin/sh\nexit 0\n")


if __name__ == "__main__":
    unittest.main()
