"""dev/provision.sh on this machine, twice; then the install modes of what it made.

The first run makes every env/<comp> and starts a Redis of its own (there is
no systemd here) on a free port; the second must change nothing. The
environments it leaves are editable installs, which the commands and
`occo-dev doctor` must call so, and which they must refuse once a wheel is
mixed in.
"""
import os
import shutil
import signal
import socket
import subprocess
import unittest
from pathlib import Path

from .support import RepoCopy, free_port

COMPONENTS = 8


def redis_answers(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(b"PING\r\n")
        return connection.recv(64) == b"+PONG\r\n"


class ProvisionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.copy = RepoCopy()
        cls.port = free_port()
        cls.first = cls.provision()
        cls.after_first = cls.env_files()
        cls.second = cls.provision()
        cls.after_second = cls.env_files()

    @classmethod
    def tearDownClass(cls):
        pidfile = cls.copy.root / "env" / "redis" / "redis.pid"
        if pidfile.is_file():
            os.kill(int(pidfile.read_text()), signal.SIGTERM)
        cls.copy.cleanup()

    @classmethod
    def provision(cls) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", str(cls.copy.root / "dev" / "provision.sh")],
                              env=cls.copy.env(OCCO_REDIS_PORT=str(cls.port)),
                              capture_output=True, text=True, timeout=1200)

    @classmethod
    def env_files(cls) -> dict[Path, int]:
        return {path: path.lstat().st_mtime_ns for path in (cls.copy.root / "env").glob("*/*")}

    def occo_dev(self, *args: str) -> subprocess.CompletedProcess:
        return self.copy.occo_dev(*args)

    def test_the_first_run_makes_every_environment_and_starts_redis(self):
        self.assertEqual(self.first.returncode, 0, self.first.stdout + self.first.stderr)
        self.assertEqual(self.first.stdout.count(" is ready; "), COMPONENTS, self.first.stdout)
        self.assertIn(f"redis: started on 127.0.0.1:{self.port}", self.first.stdout)
        self.assertRegex(self.first.stdout,
                         r"provision: done: changed (packages )?environments redis\n$")
        self.assertTrue(redis_answers(self.port))

    def test_the_second_run_changes_nothing(self):
        self.assertEqual(self.second.returncode, 0, self.second.stdout + self.second.stderr)
        self.assertIn("provision: system packages: all installed\n", self.second.stdout)
        self.assertEqual(self.second.stdout.count(" is current; left as it is"), COMPONENTS)
        self.assertIn(f"provision: redis: answering on 127.0.0.1:{self.port}\n", self.second.stdout)
        self.assertTrue(self.second.stdout.endswith("provision: done: nothing changed\n"))
        self.assertEqual(self.after_second, self.after_first)

    def test_the_commands_of_a_component_environment_say_editable(self):
        result = subprocess.run([str(self.copy.root / "env/api/bin/occopus-validate"), "--version"],
                                capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, f"occopus-validate 0.1.0 (editable install from the "
                                        f"checkout {self.copy.root}; upgrade: git pull && "
                                        "./occo-dev reset-env api)\n")

    def test_doctor_lists_the_editable_environments(self):
        result = self.occo_dev("doctor")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn(f"env/util: editable, 1 occo-* distribution(s), from the checkout "
                      f"{self.copy.root}; upgrade: git pull && ./occo-dev reset-env util",
                      result.stdout)

    def test_a_wheel_mixed_into_a_component_environment_is_refused_until_reset(self):
        env = self.copy.root / "env" / "compiler"
        self.assertEqual(self.occo_dev("package", "util").returncode, 0)
        wheel = self.copy.root / "util/wheelhouse/occo_util-0.1.0-py3-none-any.whl"
        subprocess.run([str(env / "bin/python"), "-m", "pip", "install", "--quiet", "--no-deps",
                        "--force-reinstall", str(wheel)], check=True,
                       env=dict(os.environ, PIP_CONFIG_FILE=os.devnull))
        doctor = self.occo_dev("doctor")
        self.assertEqual(doctor.returncode, 1)
        self.assertIn("env/compiler: MIXED: editable occo-compiler and wheel occo-util; its "
                      "commands refuse to run; repair: ./occo-dev reset-env compiler", doctor.stdout)
        self.assertEqual(doctor.stderr, "occo-dev: error: 1 environment(s) mix editable and wheel "
                                        "installs; run the repair command printed for each\n")
        self.assertEqual(self.occo_dev("reset-env", "compiler").returncode, 0)
        self.assertEqual(self.occo_dev("doctor").returncode, 0)


@unittest.skipUnless(shutil.which("vagrant"), "Debian's vagrant package is not installed")
class VagrantfileTest(unittest.TestCase):
    def test_vagrant_validates_the_vagrantfile(self):
        copy = RepoCopy(share_wheels=False)
        self.addCleanup(copy.cleanup)
        result = subprocess.run(["vagrant", "validate", "--ignore-provider"], cwd=copy.root,
                                env=dict(os.environ, HOME=str(copy.root / "env")),
                                capture_output=True, text=True, timeout=300)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("Vagrantfile validated successfully.", result.stdout)
