"""dist/install-occopus.py, run as a user would: a fresh HOME, the private index or a
wheelhouse, and nothing else.

The runs keep this machine's pip settings and add hostile ones (no index at
all), so an install that works proves the installer listens to its source only.
One packaged copy of the repository, its index and the bundled installer serve
every test here.
"""
import os
import pty
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

from .support import RepoCopy, free_port

HOSTILE_PIP = {"PIP_NO_INDEX": "1", "PIP_INDEX_URL": "http://127.0.0.1:9/simple/"}
PYTHON = os.path.realpath(sys.executable)
COPY: RepoCopy


def setUpModule():
    global COPY, URL, INSTALLER, WHEELHOUSE
    COPY = RepoCopy()
    for args in (["package", "--all"], ["index", "serve", "--port", str(free_port())],
                 ["upload", "--all"], ["bundle-installer"]):
        result = COPY.occo_dev(*args)
        if result.returncode != 0:
            COPY.cleanup()
            raise AssertionError(f"occo-dev {' '.join(args)}:\n{result.stdout}{result.stderr}")
    URL = COPY.occo_dev("index", "status").stdout.split()[3]
    INSTALLER = COPY.root / "dist" / "install-occopus.py"
    # Tests that bump api rebuild its wheelhouse; the offline tests keep this one.
    WHEELHOUSE = COPY.root / "env" / "api-wheelhouse-0.1.0"
    shutil.copytree(COPY.root / "api" / "wheelhouse", WHEELHOUSE)


def tearDownModule():
    COPY.cleanup()


class HomeCase(unittest.TestCase):
    """A fresh HOME for each test class, and the installer run in it."""

    @classmethod
    def setUpClass(cls):
        cls._scratch = tempfile.TemporaryDirectory(prefix="occo-home-")
        cls.home = Path(cls._scratch.name)
        cls.bin = cls.home / ".local" / "bin"
        cls.venv = cls.home / ".local" / "share" / "occopus" / "venv"

    @classmethod
    def tearDownClass(cls):
        cls._scratch.cleanup()

    @classmethod
    def env(cls) -> dict[str, str]:
        return COPY.env(HOME=str(cls.home), **HOSTILE_PIP)

    @classmethod
    def install(cls, *args: str, **extra_env: str) -> subprocess.CompletedProcess:
        return subprocess.run([PYTHON, str(INSTALLER), *args], env=dict(cls.env(), **extra_env),
                              capture_output=True, text=True, stdin=subprocess.DEVNULL,
                              timeout=600)

    def ok(self, *args: str, **extra_env: str) -> str:
        result = self.install(*args, **extra_env)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        return result.stdout

    def command(self, name: str, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.bin / name), *args], env=self.env(), capture_output=True,
                              text=True, timeout=60)


class IndexInstallTest(HomeCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.first = cls.install("--index-url", URL)

    def test_the_commands_are_installed_and_linked(self):
        self.assertEqual(self.first.returncode, 0, self.first.stdout + self.first.stderr)
        self.assertIn(f"occopus 0.1.0 is installed: 7 commands in {self.bin}", self.first.stdout)
        self.assertEqual(sorted(p.name for p in self.bin.iterdir()),
                         sorted(p.name for p in (self.venv / "bin").glob("occopus-*")))
        result = self.command("occopus-build", "--help")
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_off_a_terminal_there_are_no_escape_codes(self):
        self.assertNotIn("\033", self.first.stdout + self.first.stderr)
        self.assertIn(f"...   installing occo-api 0.1.0 and its pinned requirements from the index "
                      f"{URL}simple/", self.first.stdout)

    def test_every_command_says_it_is_a_wheel_install_and_how_to_upgrade(self):
        for name in ("occopus-validate", "occopus-rest-service"):
            result = self.command(name, "--version")
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(result.stdout, f"{name} 0.1.0 (wheel install; upgrade: python3 "
                                            "install-occopus.py --upgrade)\n")

    def test_a_second_run_says_it_is_installed_and_changes_nothing(self):
        paths = [self.venv / "bin" / "python", self.venv.parent / "install.json", *self.bin.iterdir()]
        before = {path: path.lstat().st_mtime_ns for path in paths}
        output = self.ok("--index-url", URL)
        self.assertIn(f"occopus 0.1.0 is already installed in {self.venv}", output)
        self.assertEqual({path: path.lstat().st_mtime_ns for path in paths}, before)

    def test_check_reports_what_is_installed_and_that_it_works(self):
        output = self.ok("--check")
        self.assertIn(f"ok    occo-api 0.1.0 in {self.venv}, from the index {URL}simple/", output)
        self.assertIn("ok    pip check: No broken requirements found.", output)
        self.assertIn(f"ok    7 of 7 commands linked in {self.bin}", output)
        self.assertTrue(output.endswith("ok    occopus works\n"), output)

    def test_on_a_terminal_check_is_coloured_and_shows_a_spinner(self):
        controller, terminal = pty.openpty()
        process = subprocess.Popen([PYTHON, str(INSTALLER), "--check"], env=self.env(),
                                   stdin=terminal, stdout=terminal, stderr=terminal)
        os.close(terminal)
        screen = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            screen += chunk
        os.close(controller)
        self.assertEqual(process.wait(timeout=60), 0, screen)
        self.assertIn(b"\r\033[1m|\033[0m     asking each command", screen)
        self.assertIn(b"\033[32mok\033[0m    occopus works", screen)

    def test_doctor_names_the_wheel_install_that_runs(self):
        path = f"{self.bin}{os.pathsep}{os.environ['PATH']}"
        result = COPY.occo_dev("doctor", HOME=str(self.home), PATH=path)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(f"running: {self.bin}/occopus-build from {self.venv}: wheel, 8 occo-* "
                      "distribution(s), occo-api 0.1.0", result.stdout)
        self.assertIn(f"{self.venv}: wheel, 8 occo-* distribution(s), occo-api 0.1.0; upgrade: "
                      "python3 install-occopus.py --upgrade", result.stdout)


@unittest.skipUnless(subprocess.run(["unshare", "--net", "true"]).returncode == 0,
                     "needs unshare --net to run without a network")
class OfflineInstallTest(HomeCase):
    def test_piped_into_python_without_any_network_from_a_wheelhouse(self):
        with INSTALLER.open() as script:
            result = subprocess.run(["unshare", "--net", PYTHON, "-", "--wheelhouse", str(WHEELHOUSE)],
                                    stdin=script, env=self.env(), capture_output=True, text=True,
                                    timeout=600)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn(f"from the wheelhouse {WHEELHOUSE}", result.stdout)
        self.assertEqual(self.command("occopus-scale", "--version").returncode, 0)


class ForceAndUninstallTest(HomeCase):
    def test_a_foreign_command_is_kept_unless_forced_and_uninstall_removes_only_ours(self):
        self.bin.mkdir(parents=True)
        (self.bin / "occopus-build").write_text("#!/bin/sh\necho someone else's\n")
        (self.bin / "unrelated").write_text("keep me\n")
        refused = self.install("--wheelhouse", str(WHEELHOUSE))
        self.assertEqual(refused.returncode, 1)
        self.assertEqual(refused.stderr, f"install-occopus: error: {self.bin}/occopus-build exists "
                                         f"and is not a link into {self.venv}; remove it, or run "
                                         "again with --force to replace it\n")
        self.assertFalse(self.venv.exists())
        self.ok("--wheelhouse", str(WHEELHOUSE), "--force")
        self.assertEqual(os.readlink(self.bin / "occopus-build"), str(self.venv / "bin/occopus-build"))
        self.assertIn(f"removed {self.venv} and 7 links from {self.bin}", self.ok("--uninstall"))
        self.assertEqual([p.name for p in self.bin.iterdir()], ["unrelated"])
        self.assertFalse(self.venv.parent.exists())
        self.assertIn("occopus is not installed", self.ok("--uninstall"))
        self.assertEqual(self.install("--check").returncode, 1)
        self.assertEqual(self.install().stderr, "install-occopus: error: name where to install "
                         "from: --index-url URL (or OCCOPUS_INDEX_URL), or --wheelhouse DIR\n")


class MixedModeTest(HomeCase):
    def test_an_editable_sibling_in_a_wheel_install_is_refused_and_force_repairs_it(self):
        self.ok("--wheelhouse", str(WHEELHOUSE))
        pip = [str(self.venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-index"]
        env = dict(self.env(), PIP_CONFIG_FILE=os.devnull)
        del env["PIP_NO_INDEX"], env["PIP_INDEX_URL"]
        subprocess.run([*pip, "--find-links", str(WHEELHOUSE), "hatchling", "editables"],
                       env=env, check=True)
        subprocess.run([*pip, "--no-deps", "--no-build-isolation", "-e", str(COPY.root / "util")],
                       env=env, check=True)
        refused = self.command("occopus-build", "--version")
        self.assertEqual(refused.returncode, 1)
        self.assertRegex(refused.stderr, r"^occopus-build: error: this environment mixes editable "
                                         r"\(occo-util\) and wheel \(occo-api, .*\) installs of "
                                         r"Occopus; use one mode: .*\n$")
        check = self.install("--check")
        self.assertEqual(check.returncode, 1)
        self.assertIn("`python3 install-occopus.py --force` reinstalls", check.stdout)
        self.ok("--wheelhouse", str(WHEELHOUSE), "--force")
        self.assertEqual(self.command("occopus-build", "--version").returncode, 0)


class UpgradeTest(HomeCase):
    def test_upgrade_moves_to_the_newest_release_on_the_index(self):
        self.ok("--index-url", URL)
        self.assertIn("occopus 0.1.0 is the newest release", self.ok("--upgrade"))
        for args in (["bump", "api", "patch"], ["package", "api"], ["upload", "api"]):
            result = COPY.occo_dev(*args)
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        output = self.ok("--upgrade")
        self.assertIn("upgraded occopus 0.1.0 -> 0.1.1", output)
        self.assertTrue(self.command("occopus-build", "--version").stdout.startswith(
            "occopus-build 0.1.1 (wheel install"))
        self.assertIn("occopus 0.1.1 is already installed", self.ok("--index-url", URL))
        asked = self.ok(OCCOPUS_INDEX_URL=URL, OCCOPUS_VERSION="0.1.0")
        self.assertIn("installing occo-api 0.1.0 and its pinned requirements", asked)
        self.assertTrue(self.command("occopus-build", "--version").stdout.startswith(
            "occopus-build 0.1.0 (wheel install"))


SANDBOX = ('mount --bind "$1" /etc && mount --bind "$2" /opt && mount --bind "$3" /usr/local/bin '
           '&& shift 3 && exec "$@"')
UNIT = "occopus-rest-service.service"


def can_sandbox() -> bool:
    """Root, no running systemd (the installer would start a real service), and mount namespaces."""
    return (os.geteuid() == 0 and not Path("/run/systemd/system").exists()
            and shutil.which("systemd-analyze") is not None
            and subprocess.run(["unshare", "--mount", "true"]).returncode == 0)


def redis_unit() -> str | None:
    for folder in ("/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system"):
        for name in ("redis-server.service", "redis.service"):
            if Path(folder, name).exists():
                return name
    return None


@unittest.skipUnless(can_sandbox() and redis_unit(),
                     "needs root, mount namespaces, systemd-analyze, Redis installed and no systemd")
class ServerInstallTest(unittest.TestCase):
    """--server as root, in a mount namespace: /etc is a copy, /opt and /usr/local/bin are empty."""

    @classmethod
    def setUpClass(cls):
        cls._scratch = tempfile.TemporaryDirectory(prefix="occo-server-")
        cls.root = Path(cls._scratch.name)
        subprocess.run(["cp", "-a", "/etc", str(cls.root / "etc")], check=True)
        for folder in ("opt", "bin", "home"):
            (cls.root / folder).mkdir()
        cls.host_passwd = Path("/etc/passwd").read_text()
        cls.first = cls.server("--index-url", URL)
        if cls.first.returncode != 0:
            cls._scratch.cleanup()
            raise AssertionError(f"--server failed:\n{cls.first.stdout}{cls.first.stderr}")
        etc = cls.root / "etc"
        cls.passwd = (etc / "passwd").read_text()
        cls.config_mode = (etc / "occopus" / "occopus_config.yaml").stat().st_mode & 0o777
        cls.unit = (etc / "systemd" / "system" / UNIT).read_text()
        cls.link = os.readlink(cls.root / "bin" / "occopus-rest-service")

    @classmethod
    def tearDownClass(cls):
        cls._scratch.cleanup()

    @classmethod
    def server(cls, *args: str) -> subprocess.CompletedProcess:
        sandbox = [str(cls.root / folder) for folder in ("etc", "opt", "bin")]
        return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", SANDBOX,
                               "sh", *sandbox, PYTHON, str(INSTALLER), "--server", *args],
                              env=COPY.env(HOME=str(cls.root / "home"), **HOSTILE_PIP),
                              capture_output=True, text=True, timeout=600)

    def ok(self, *args: str) -> str:
        result = self.server(*args)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        return result.stdout

    def test_the_user_the_config_and_a_unit_requiring_redis_are_written_not_started(self):
        self.assertEqual(self.first.returncode, 0, self.first.stdout + self.first.stderr)
        user = next(line for line in self.passwd.splitlines() if line.startswith("occopus:"))
        self.assertTrue(user.endswith(":/var/lib/occopus:/usr/sbin/nologin"), user)
        self.assertEqual(self.config_mode, 0o640)
        self.assertRegex(self.unit, r"\nRequires=redis(-server)?\.service\n")
        self.assertIn("ExecStart=/opt/occopus/venv/bin/occopus-rest-service --cfg "
                      "/etc/occopus/occopus_config.yaml\n", self.unit)
        self.assertEqual(self.link, "/opt/occopus/venv/bin/occopus-rest-service")
        self.assertIn(f"systemd is not running here: {UNIT} is written and verified, not started",
                      self.first.stdout)
        self.assertEqual(Path("/etc/passwd").read_text(), self.host_passwd)

    def test_a_second_run_check_and_uninstall_in_turn(self):
        unit = self.root / "etc" / "systemd" / "system" / UNIT
        written = unit.stat().st_mtime_ns
        self.assertIn("occopus 0.1.0 is already installed in /opt/occopus/venv",
                      self.ok("--index-url", URL))
        self.assertEqual(unit.stat().st_mtime_ns, written)
        check = self.ok("--check")
        self.assertIn("ok    system user occopus", check)
        self.assertIn(f"ok    /etc/systemd/system/{UNIT} passes systemd-analyze verify", check)
        self.assertIn("ok    /etc/occopus/occopus_config.yaml: ok", check)
        removed = self.ok("--uninstall")
        self.assertIn(f"removed /etc/systemd/system/{UNIT}", removed)
        self.assertIn("kept /etc/occopus and the occopus user", removed)
        self.assertFalse(unit.exists())
        self.assertEqual(list((self.root / "bin").iterdir()), [])
        self.assertTrue((self.root / "etc" / "occopus" / "occopus_config.yaml").exists())
