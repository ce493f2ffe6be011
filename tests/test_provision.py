"""dev/provision.sh as a developer meets it: in the Vagrant guest, on the docker provider.

`./occo-dev vagrant up` on a copy of the checkout owned by an ordinary user (as a
developer's is): the guest boots from occopus/debian on the copy's own engine and
runs the provision script as its `vagrant` user, which installs the system packages
through the host's proxy, makes every env/<comp> and starts a Redis of its own (there
is no systemd). Inside it the tests pass against the synced folder; the environments
are editable installs, which the commands and `occo-dev doctor` must call so, and
which they must refuse once a wheel is mixed in. A second provision changes nothing;
destroy leaves no container, no volume and no proxy behind.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import unittest
from pathlib import Path

from .support import REAL_ROOT, RepoCopy

sys.path.insert(0, str(REAL_ROOT / "dev"))
from occodev.docker_api import API_VERSION, EngineAPI  # noqa: E402
from occodev.machines import share_image_cache  # noqa: E402

COMPONENTS = 8
GUEST_UID = 1234            # the copy's owner, and so the guest's vagrant user
TIMEOUT = 1800              # a cold provision makes eight environments
ENV_FILES = "find /vagrant/env -mindepth 2 -maxdepth 2 -printf '%p %T@\\n' | sort"
# the proxy's answer, seen from the guest, for a registry it serves and for a host it does not
PROXY_PROBE = """python3 - <<'EOF'
import configparser, urllib.error, urllib.request
settings = configparser.ConfigParser()
settings.read("/etc/pip.conf")
opener = urllib.request.build_opener(urllib.request.ProxyHandler(
    {"http": settings["global"]["proxy"]}))
for url in ("http://deb.debian.org/debian/dists/bookworm/Release", "http://example.com/"):
    try:
        print(url, opener.open(urllib.request.Request(url, method="HEAD"), timeout=60).status)
    except urllib.error.HTTPError as error:
        print(url, error.code)
EOF"""
# a wheel of util mixed into the compiler's editable environment, then doctor, then repair
MIXED = """set -x
./occo-dev package util >/dev/null
env/compiler/bin/python -m pip install --quiet --no-deps --force-reinstall \\
    util/wheelhouse/occo_util-0.1.0-py3-none-any.whl
./occo-dev doctor; echo "doctor exit $?"
./occo-dev reset-env compiler >/dev/null
./occo-dev doctor >/dev/null; echo "repaired doctor exit $?"
"""


class DockerProviderTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            reason = "the Docker engine and the guest's proxy need root"
            if os.environ.get("CI") == "true":
                raise AssertionError(f"{reason}; CI must run this test")
            raise unittest.SkipTest(reason)
        cls.copy = RepoCopy(share_wheels=False)
        cls.destroyed = False
        try:
            share_image_cache(REAL_ROOT, cls.copy.root)
            subprocess.run(["chown", "-R", f"{GUEST_UID}:{GUEST_UID}", str(cls.copy.root)],
                           check=True)
            cls.up = cls.vagrant("up")
            cls.after_first = cls.in_guest(ENV_FILES).stdout
            cls.inside = cls.in_guest("id -u && cd /vagrant && ./occo-dev test util "
                                      "&& touch made-in-guest")
            cls.version = cls.in_guest("/vagrant/env/api/bin/occopus-validate --version")
            cls.doctor = cls.in_guest("cd /vagrant && ./occo-dev doctor")
            cls.probe = cls.in_guest(PROXY_PROBE)
            cls.again = cls.vagrant("provision")
            cls.after_second = cls.in_guest(ENV_FILES).stdout
            cls.mixed = cls.in_guest(f"cd /vagrant && {MIXED}")
            cls.before_destroy = cls.engine_list("containers/json?all=1")
            cls.destroy = cls.vagrant("destroy", "-f")
            cls.destroyed = cls.destroy.returncode == 0
            cls.containers_after = cls.engine_list("containers/json?all=1")
            cls.volumes_after = cls.engine_list("volumes", key="Volumes")
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if not cls.destroyed:
            cls.vagrant("destroy", "-f")
        cls.copy.occo_dev("docker", "stop")
        cls.copy.cleanup()

    @classmethod
    def vagrant(cls, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(cls.copy.root / "occo-dev"), "vagrant", *args],
                              cwd=cls.copy.root, env=cls.copy.env(), capture_output=True,
                              text=True, stdin=subprocess.DEVNULL, timeout=TIMEOUT)

    @classmethod
    def in_guest(cls, command: str) -> subprocess.CompletedProcess:
        return cls.vagrant("ssh", "-c", command)

    @classmethod
    def engine_list(cls, what: str, key: str | None = None) -> list:
        status, body = EngineAPI(cls.copy.root / "env" / "docker" / "docker.sock").request(
            "GET", f"/v{API_VERSION}/{what}")
        if status != 200:
            raise AssertionError(f"the engine answered {status} to GET /{what}")
        answer = json.loads(body)
        return (answer.get(key) or []) if key else answer

    def said(self, result: subprocess.CompletedProcess) -> str:
        return f"exit {result.returncode}:\n{result.stdout[-4000:]}{result.stderr[-2000:]}"

    def test_up_makes_every_environment_and_starts_redis_through_the_proxy(self):
        self.assertEqual(self.up.returncode, 0, self.said(self.up))
        self.assertIn("provision: system packages: installing", self.up.stdout)
        self.assertEqual(self.up.stdout.count(" is ready; "), COMPONENTS, self.said(self.up))
        self.assertIn("provision: redis: started on 127.0.0.1:6379", self.up.stdout)
        self.assertIn("provision: done: changed packages environments redis", self.up.stdout)
        self.assertEqual(len(self.before_destroy), 1, self.before_destroy)

    def test_the_login_user_is_the_checkouts_owner_and_the_tests_pass_inside(self):
        self.assertEqual(self.inside.returncode, 0, self.said(self.inside))
        self.assertEqual(self.inside.stdout.splitlines()[0], str(GUEST_UID))
        self.assertRegex(self.inside.stdout, r"\n[1-9]\d* passed, 0 failed, \d+ skipped\n")
        made = self.copy.root / "made-in-guest"     # the synced folder is the checkout itself
        self.assertEqual(made.stat().st_uid, GUEST_UID)

    def test_the_guest_keeps_its_environments_off_the_checkout(self):
        self.assertEqual(sorted(path.name for path in (self.copy.root / "env").iterdir()
                                if path.name in ("util", "dev", "api")), [])

    def test_the_commands_of_a_component_environment_say_editable(self):
        self.assertEqual(self.version.returncode, 0, self.said(self.version))
        self.assertEqual(self.version.stdout.strip(), "occopus-validate 0.1.0 (editable install "
                         "from the checkout /vagrant; upgrade: git pull && ./occo-dev reset-env "
                         "api)")

    def test_doctor_lists_the_editable_environments(self):
        self.assertEqual(self.doctor.returncode, 0, self.said(self.doctor))
        self.assertIn("env/util: editable, 1 occo-* distribution(s), from the checkout "
                      "/vagrant; upgrade: git pull && ./occo-dev reset-env util",
                      self.doctor.stdout)

    def test_the_proxy_serves_the_registries_and_nothing_else(self):
        self.assertEqual(self.probe.returncode, 0, self.said(self.probe))
        answers = dict(line.rsplit(" ", 1) for line in self.probe.stdout.splitlines()
                       if line.startswith("http"))
        self.assertEqual(answers, {"http://deb.debian.org/debian/dists/bookworm/Release": "200",
                                   "http://example.com/": "403"})

    def test_a_second_provision_changes_nothing(self):
        self.assertEqual(self.again.returncode, 0, self.said(self.again))
        self.assertIn("provision: system packages: all installed\n", self.again.stdout)
        self.assertEqual(self.again.stdout.count(" is current; left as it is"), COMPONENTS)
        self.assertIn("provision: redis: answering on 127.0.0.1:6379\n", self.again.stdout)
        self.assertIn("provision: done: nothing changed\n", self.again.stdout)
        self.assertEqual(self.after_second, self.after_first)
        self.assertIn("/vagrant/env/util/pyvenv.cfg ", self.after_first)

    def test_a_wheel_mixed_into_a_component_environment_is_refused_until_reset(self):
        self.assertEqual(self.mixed.returncode, 0, self.said(self.mixed))
        self.assertIn("env/compiler: MIXED: editable occo-compiler and wheel occo-util; its "
                      "commands refuse to run; repair: ./occo-dev reset-env compiler",
                      self.mixed.stdout)
        self.assertIn("occo-dev: error: 1 environment(s) mix editable and wheel installs; run "
                      "the repair command printed for each", self.mixed.stdout + self.mixed.stderr)
        self.assertIn("doctor exit 1\n", self.mixed.stdout)
        self.assertIn("repaired doctor exit 0\n", self.mixed.stdout)

    def test_destroy_leaves_no_container_no_volume_and_no_proxy(self):
        self.assertEqual(self.destroy.returncode, 0, self.said(self.destroy))
        self.assertEqual(self.containers_after, [])
        self.assertEqual(self.volumes_after, [])
        self.assertFalse((self.copy.root / "env" / "vagrant" / "proxy.json").exists())
        self.assertEqual(self.proxy_pids(), [])

    def proxy_pids(self) -> list[int]:
        config = str(self.copy.root / "env" / "vagrant" / "proxy.conf")
        found = []
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                if config in cmdline.read_bytes().decode(errors="replace"):
                    found.append(int(cmdline.parent.name))
            except OSError:
                continue
        return found


class VagrantfileTest(unittest.TestCase):
    def test_vagrant_validates_the_vagrantfile_for_every_provider(self):
        if shutil.which("vagrant") is None and os.geteuid() != 0:
            reason = "Debian's vagrant package is not installed, and only root may install it"
            if os.environ.get("CI") == "true":
                raise AssertionError(f"{reason}; CI must run this test")
            self.skipTest(reason)
        copy = RepoCopy(share_wheels=False)
        self.addCleanup(copy.cleanup)
        result = copy.occo_dev("vagrant", "validate", "--ignore-provider",
                               HOME=str(copy.root / "env"))
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("Vagrantfile validated successfully.", result.stdout)
