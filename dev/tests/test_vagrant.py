"""`./occo-dev vagrant`: what it sets up before Vagrant runs, with a stand-in vagrant on PATH.

The real guest (boot, provision, destroy) is the integration suite's test_provision.
"""
from __future__ import annotations

import ipaddress
import json
import os
import tempfile
import time
import unittest
from pathlib import Path
from unittest import mock

from occodev import guestproxy, vagrant
from occodev.errors import DevError

URL = "http://172.18.0.1:3128"


class VagrantCommandTest(unittest.TestCase):
    def setUp(self) -> None:
        scratch = tempfile.TemporaryDirectory()
        self.addCleanup(scratch.cleanup)
        self.root = Path(scratch.name)
        self.record = self.root / "ran.json"
        fake = self.root / "bin" / "vagrant"
        fake.parent.mkdir()
        fake.write_text(f"""#!/usr/bin/env python3
import json, os, sys
keys = ("DOCKER_HOST", "VAGRANT_DEFAULT_PROVIDER", "OCCO_GUEST_PROXY")
with open({str(self.record)!r}, "w") as out:
    json.dump({{"args": sys.argv[1:], "cwd": os.getcwd(),
               **{{key: os.environ.get(key) for key in keys}}}}, out)
sys.exit(int(os.environ.get("FAKE_EXIT", "0")))
""")
        fake.chmod(0o755)
        path = f"{fake.parent}:{os.environ['PATH']}"
        mock.patch.dict(os.environ, {"PATH": path}).start()
        mock.patch.object(vagrant.docker, "start", side_effect=AssertionError("engine")).start()
        mock.patch.object(vagrant.debianimage, "ensure", side_effect=AssertionError("made")).start()
        mock.patch.object(vagrant.guestproxy, "start", side_effect=AssertionError("proxy")).start()
        self.stopped = mock.patch.object(vagrant.guestproxy, "stop").start()
        self.addCleanup(mock.patch.stopall)

    def ran(self) -> dict:
        return json.loads(self.record.read_text())

    def running_engine(self):
        return mock.patch.object(vagrant.docker, "running_state", return_value={"pid": 1})

    def test_without_a_command_it_says_what_to_run(self):
        with self.assertRaises(DevError) as caught:
            vagrant.run(self.root, [])
        self.assertEqual(caught.exception.exit_code, 2)
        self.assertIn("./occo-dev vagrant up", str(caught.exception))

    def test_options_alone_run_without_an_engine(self):
        self.assertEqual(vagrant.run(self.root, ["--version"]), 0)
        self.assertEqual(self.ran()["args"], ["--version"])

    def test_validate_runs_in_the_checkout_without_an_engine(self):
        self.assertEqual(vagrant.run(self.root, ["validate", "--ignore-provider"]), 0)
        ran = self.ran()
        self.assertEqual(ran["args"], ["validate", "--ignore-provider"])
        self.assertEqual(ran["cwd"], str(self.root))
        self.assertEqual(ran["DOCKER_HOST"], f"unix://{self.root}/env/docker/docker.sock")
        self.assertEqual(ran["VAGRANT_DEFAULT_PROVIDER"], "docker")
        self.assertIsNone(ran["OCCO_GUEST_PROXY"])

    def test_up_gets_the_image_and_the_proxy_first(self):
        with self.running_engine(), \
                mock.patch.object(vagrant.debianimage, "ensure", return_value="sha256:1") as made, \
                mock.patch.object(vagrant.guestproxy, "start", return_value=URL):
            self.assertEqual(vagrant.run(self.root, ["--debug", "up"]), 0)
        made.assert_called_once_with(self.root)
        self.assertEqual(self.ran()["args"], ["--debug", "up"])
        self.assertEqual(self.ran()["OCCO_GUEST_PROXY"], URL)
        self.stopped.assert_not_called()

    def test_destroy_needs_no_image_and_stops_the_proxy_once_it_succeeded(self):
        with self.running_engine():
            with mock.patch.dict(os.environ, {"FAKE_EXIT": "1"}):
                self.assertEqual(vagrant.run(self.root, ["destroy", "-f"]), 1)
            self.stopped.assert_not_called()
            self.assertEqual(vagrant.run(self.root, ["destroy", "-f"]), 0)
        self.stopped.assert_called_once_with(self.root)
        self.assertEqual(self.ran()["args"], ["destroy", "-f"])


class ProxyConfigTest(unittest.TestCase):
    def test_it_listens_on_the_bridge_for_the_bridge_and_forwards_only_to_the_registries(self):
        text = guestproxy.config_text(ipaddress.IPv4Interface("172.18.0.1/16"), Path("/a/allowed"))
        lines = text.splitlines()
        for line in ("Listen 172.18.0.1", "Allow 172.18.0.0/16", "ConnectPort 443",
                     'Filter "/a/allowed"', "FilterDefaultDeny Yes", "User nobody"):
            self.assertIn(line, lines)
        self.assertFalse([line for line in lines if line.startswith("Allow ") and
                          line != "Allow 172.18.0.0/16"])

    def test_the_allowed_hosts_are_the_image_mirror_and_pypi(self):
        with mock.patch.dict(os.environ, {"OCCO_DEBIAN_MIRROR": "http://mirror.example:8080/d"}):
            self.assertEqual(guestproxy.allowed_hosts(),
                             ["mirror.example", "pypi.org", "files.pythonhosted.org"])

    def test_stop_without_a_running_proxy_says_so(self):
        with tempfile.TemporaryDirectory() as root:
            self.assertFalse(guestproxy.stop(Path(root)))


class ProxyLifeTest(unittest.TestCase):
    """The real tinyproxy, on loopback in place of the engine's bridge."""

    def setUp(self) -> None:
        if os.geteuid() != 0:
            reason = "tinyproxy is installed with apt-get and drops to nobody: root only"
            if os.environ.get("CI") == "true":
                raise AssertionError(f"{reason}; CI must run this test")
            self.skipTest(reason)
        scratch = tempfile.TemporaryDirectory()
        self.addCleanup(scratch.cleanup)
        self.root = Path(scratch.name)
        loopback = ipaddress.IPv4Interface("127.0.0.1/8")
        patcher = mock.patch.object(guestproxy, "bridge_network", return_value=loopback)
        patcher.start()
        self.addCleanup(patcher.stop)
        self.addCleanup(guestproxy.stop, self.root)

    def state(self) -> dict:
        return json.loads(guestproxy.ProxyPaths.of(self.root).state.read_text())

    def test_it_starts_once_is_reused_and_stops(self):
        url = guestproxy.start(self.root)
        self.assertEqual(url, f"http://127.0.0.1:{guestproxy.PORT}")
        pid = self.state()["pid"]
        self.assertEqual(guestproxy.start(self.root), url)
        self.assertEqual(self.state()["pid"], pid, "a running proxy is reused")
        self.assertTrue(guestproxy.stop(self.root))
        self.assertFalse(Path(f"/proc/{pid}/cmdline").exists()
                         and b"tinyproxy" in Path(f"/proc/{pid}/cmdline").read_bytes())
        self.assertFalse(guestproxy.ProxyPaths.of(self.root).state.exists())
        self.assertFalse(guestproxy.stop(self.root))

    def test_a_proxy_killed_behind_its_back_is_started_again(self):
        guestproxy.start(self.root)
        pid = self.state()["pid"]
        os.kill(pid, 9)
        deadline = time.monotonic() + 30
        while guestproxy._is_ours(guestproxy.ProxyPaths.of(self.root), pid):     # until it died
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.05)
        guestproxy.start(self.root)
        self.assertNotEqual(self.state()["pid"], pid)
