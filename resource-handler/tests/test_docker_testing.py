"""The test engine's policy: fail in CI when no engine can be had, skip only where none can."""
from __future__ import annotations

import os
import stat
import tarfile
import tempfile
import unittest
import urllib.request
from pathlib import Path
from unittest import mock

from occo.resourcehandler.docker import testing as docker_testing


class EnginePolicyTest(unittest.TestCase):
    def with_occo_dev(self, exit_code: int, said: str) -> None:
        """A checkout whose occo-dev only says `said` and exits with `exit_code`."""
        scratch = tempfile.TemporaryDirectory()
        self.addCleanup(scratch.cleanup)
        script = Path(scratch.name, "occo-dev")
        script.write_text(f"#!/bin/sh\necho 'occo-dev: error: {said}' >&2\nexit {exit_code}\n")
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
        patcher = mock.patch.object(docker_testing, "REPO", Path(scratch.name))
        patcher.start()
        self.addCleanup(patcher.stop)

    def test_outside_ci_a_machine_that_cannot_have_docker_skips_saying_why(self):
        self.with_occo_dev(docker_testing.UNAVAILABLE, "dockerd needs root")
        with mock.patch.dict(os.environ, {"CI": ""}), \
                self.assertRaises(unittest.SkipTest) as skip:
            docker_testing._start()
        self.assertEqual(str(skip.exception),
                         "no Docker engine for the tests: occo-dev: error: dockerd needs root")

    def test_in_ci_no_engine_is_a_failure_with_the_reason(self):
        self.with_occo_dev(docker_testing.UNAVAILABLE, "dockerd needs root")
        with mock.patch.dict(os.environ, {"CI": "true"}), \
                self.assertRaises(docker_testing.EngineUnavailable) as caught:
            docker_testing._start()
        self.assertIn("dockerd needs root", str(caught.exception))

    def test_an_engine_that_fails_to_start_is_a_failure_outside_ci_too(self):
        self.with_occo_dev(1, "dockerd exited at start (exit 1): no space left on device")
        with mock.patch.dict(os.environ, {"CI": ""}), \
                self.assertRaises(docker_testing.EngineUnavailable) as caught:
            docker_testing._start()
        self.assertIn("no space left on device", str(caught.exception))

    def test_a_module_not_installed_from_a_checkout_is_a_failure_saying_what_to_do(self):
        with mock.patch.object(docker_testing, "REPO", None), \
                mock.patch.dict(os.environ, {"CI": ""}), \
                self.assertRaises(docker_testing.EngineUnavailable) as caught:
            docker_testing._start()
        self.assertIn("not installed from an Occopus checkout", str(caught.exception))
        self.assertIn("./occo-dev reset-env", str(caught.exception))

    def test_the_checkout_is_the_one_the_module_is_installed_from(self):
        self.assertEqual(docker_testing.REPO, Path(__file__).resolve().parents[2])


class TutorialImageTest(unittest.TestCase):
    def test_a_tutorial_image_is_the_base_root_filesystem_and_its_start_script(self):
        tarball = docker_testing.image_tarball("busybox_helloworld")
        base_tarball = docker_testing.engine().base_tarball
        with tarfile.open(tarball) as tar, tarfile.open(base_tarball) as base:
            names = set(tar.getnames())
            self.assertLessEqual(set(base.getnames()), names)
            script = tar.getmember("root/start.sh")
            self.assertEqual(script.mode & 0o777, 0o755)
            self.assertEqual(tar.extractfile(script).read().decode(),
                             docker_testing.HELLOWORLD_SH)

    def test_the_url_of_a_tutorial_image_serves_it(self):
        url = docker_testing.tutorial_image_url("busybox_ping")
        self.assertRegex(url, r"^http://127\.0\.0\.1:\d+/busybox_ping\.tar$")
        with urllib.request.urlopen(url, timeout=10) as answer:
            self.assertEqual(answer.read(),
                             docker_testing.image_tarball("busybox_ping").read_bytes())
