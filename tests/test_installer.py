"""dist/install-occopus.py, run as a user would: a fresh HOME, the private index or a
wheelhouse, and nothing else.

The runs keep this machine's pip settings and add hostile ones (no index at
all), so an install that works proves the installer listens to its source only.
One packaged copy of the repository, its index and the bundled installer serve
every test here.
"""
import json
import os
import pty
import queue
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import unittest
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .support import BROKEN_SERVICE, REAL_ROOT, RepoCopy, free_port

sys.path.insert(0, str(REAL_ROOT / "dev"))
from occodev.machines import SSH_OPTIONS, Machines, share_image_cache, ssh_config  # noqa: E402
from occodev.repo import Repo  # noqa: E402
from occodev.tested import record  # noqa: E402

HOSTILE_PIP = {"PIP_NO_INDEX": "1", "PIP_INDEX_URL": "http://127.0.0.1:9/simple/"}
PYTHON = os.path.realpath(sys.executable)
# the console scripts occo-api declares: what the installer links
COMMANDS = len(tomllib.loads((REAL_ROOT / "api" / "pyproject.toml").read_text())["project"]
               ["scripts"])
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
    if MACHINES is not None:
        COPY.occo_dev("docker", "stop")
    COPY.cleanup()


MACHINES: "Machines | None" = None


def machines() -> Machines:
    """The copy's Docker engine with occopus/debian, started on first use for the module's
    fresh machines; the image's root file system comes from the checkout's cache when the
    tool tests built it there."""
    global MACHINES
    if MACHINES is None:
        if os.geteuid() != 0:
            reason = "a Docker engine and its Debian image need root"
            if os.environ.get("CI") == "true":
                raise AssertionError(f"{reason}; CI must run these tests")
            raise unittest.SkipTest(reason)
        share_image_cache(REAL_ROOT, COPY.root)
        for args in (["docker", "start"], ["docker", "image"]):
            result = COPY.occo_dev(*args)
            if result.returncode != 0:
                COPY.occo_dev("docker", "stop")
                raise AssertionError(f"occo-dev {' '.join(args)}:\n{result.stdout}{result.stderr}")
        MACHINES = Machines(COPY.root)
    return MACHINES


class HomeCase(unittest.TestCase):
    """A fresh HOME for each test class, and the installer run in it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._home = tempfile.TemporaryDirectory(prefix="occo-home-")
        cls.home = Path(cls._home.name)
        cls.bin = cls.home / ".local" / "bin"
        cls.venv = cls.home / ".local" / "share" / "occopus" / "current"

    @classmethod
    def tearDownClass(cls):
        cls._home.cleanup()
        super().tearDownClass()

    @classmethod
    def env(cls) -> dict[str, str]:
        # one pip cache for the module's installs (pip keeps its cache there): each HOME is
        # fresh, the downloads need not be
        return COPY.env(HOME=str(cls.home), XDG_CACHE_HOME=str(COPY.root / "env" / "cache"),
                        **HOSTILE_PIP)

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
        self.assertIn(f"occopus 0.1.0 is installed: {COMMANDS} commands in {self.bin}",
                      self.first.stdout)
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
        paths = [self.venv / "bin" / "python", self.venv.parent / "install.json",
                 *self.bin.iterdir()]
        before = {path: path.lstat().st_mtime_ns for path in paths}
        output = self.ok("--index-url", URL)
        self.assertIn(f"occopus 0.1.0 is already installed in {self.venv}", output)
        self.assertEqual({path: path.lstat().st_mtime_ns for path in paths}, before)

    def test_check_reports_what_is_installed_and_that_it_works(self):
        output = self.ok("--check")
        self.assertIn(f"ok    occo-api 0.1.0 in {self.venv}, from the index {URL}simple/", output)
        self.assertIn("ok    pip check: No broken requirements found.", output)
        self.assertIn(f"ok    {COMMANDS} of {COMMANDS} commands linked in {self.bin}", output)
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
        self.assertIn(b"\r\033[1m|\033[0m     loading every command", screen)
        self.assertIn(b"\033[32mok\033[0m    occopus works", screen)

    def test_doctor_names_the_wheel_install_that_runs(self):
        path = f"{self.bin}{os.pathsep}{os.environ['PATH']}"
        result = COPY.occo_dev("doctor", HOME=str(self.home), PATH=path)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertRegex(result.stdout, rf"running: {self.bin}/occopus-build from "
                                        rf"{self.venv.parent}/releases/0\.1\.0-\w+: wheel, 8 "
                                        r"occo-\* distribution\(s\), occo-api 0\.1\.0\n")
        self.assertIn(f"{self.venv}: wheel, 8 occo-* distribution(s), occo-api 0.1.0; upgrade: "
                      "python3 install-occopus.py --upgrade", result.stdout)


@unittest.skipUnless(subprocess.run(["unshare", "--net", "true"]).returncode == 0,
                     "needs unshare --net to run without a network")
class OfflineInstallTest(HomeCase):
    def test_piped_into_python_without_any_network_from_a_wheelhouse(self):
        with INSTALLER.open() as script:
            result = subprocess.run(["unshare", "--net", PYTHON, "-", "--wheelhouse",
                                     str(WHEELHOUSE)], stdin=script, env=self.env(),
                                    capture_output=True, text=True, timeout=600)
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
        self.assertEqual(os.readlink(self.bin / "occopus-build"),
                         str(self.venv / "bin/occopus-build"))
        self.assertIn(f"removed {self.venv.parent} and {COMMANDS} links from {self.bin}",
                      self.ok("--uninstall"))
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


class MachineCase(unittest.TestCase):
    """Tests on fresh machines: containers of occopus/debian (debootstrap, ./occo-dev docker
    image) on the copy's engine, reached over SSH as root with a key of the class's own. A
    machine's only way to the index is the SSH connection, which forwards the index's port
    to the machine's loopback."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._scratch = tempfile.TemporaryDirectory(prefix="occo-fresh-")
        cls.addClassCleanup(cls._scratch.cleanup)
        cls.scratch = Path(cls._scratch.name)
        cls.key = cls.scratch / "id_ed25519"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(cls.key)],
                       check=True, stdin=subprocess.DEVNULL)
        cls.port = urllib.parse.urlsplit(URL).port
        cls.config = cls.scratch / "ssh_config"
        cls.config.write_text(ssh_config(cls.key, f"Host closed\n  HostName 127.0.0.1\n"
                                                  f"  Port {free_port()}\n"))

    def deploy(self, *args: str) -> subprocess.CompletedProcess:
        return COPY.occo_dev("deploy", "--ssh-config", str(self.config), *args)

    def machine(self) -> str:
        """A fresh machine for this test (the engine starts on first use)."""
        engine = machines()
        made = engine.start(self.key.with_suffix(".pub").read_text())
        self.addCleanup(engine.remove, made.container)
        return made.address

    @classmethod
    def ssh(cls, address: str, command: str, stdin=subprocess.DEVNULL,
            forward: bool = False) -> subprocess.CompletedProcess:
        tunnel = ["-o", "ExitOnForwardFailure=yes",
                  "-R", f"127.0.0.1:{cls.port}:127.0.0.1:{cls.port}"] if forward else []
        return subprocess.run(["ssh", *SSH_OPTIONS, "-i", str(cls.key), *tunnel,
                               f"root@{address}", command], stdin=stdin, capture_output=True,
                              text=True, timeout=600)

    @classmethod
    def run_installer(cls, address: str, args: str,
                      forward: bool = False) -> subprocess.CompletedProcess:
        with INSTALLER.open() as script:
            return cls.ssh(address, f"python3 - {args}", stdin=script, forward=forward)

    def installer(self, address: str, args: str, forward: bool = False) -> str:
        result = self.run_installer(address, args, forward)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        return result.stdout


class DeployTest(MachineCase):
    """occo-dev deploy onto fresh machines, over SSH with a configuration file of the test's."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.auth = cls.scratch / "auth_data.yaml"
        cls.auth.write_text("resource:\n  - type: ec2\n    auth_data:\n      accesskey: AKIDEPLOY\n"
                            "      secretkey: deploy-secret-not-to-be-shown\n")

    def publish_broken_older(self) -> str:
        """occo-api 0.0.9, whose service exits at start, on the index; the copy's api is 0.1.0
        again afterwards, its wheelhouse too."""
        pyproject, service = COPY.root / "api" / "pyproject.toml", COPY.root / BROKEN_SERVICE[0]
        saved = {path: path.read_text() for path in (pyproject, service)}
        version = "0.0.9"
        pyproject.write_text(saved[pyproject].replace('version = "0.1.0"',
                                                      f'version = "{version}"', 1))
        service.write_text(saved[service].replace(*BROKEN_SERVICE[1:]))
        try:
            for args in (["package", "api"], ["upload", "api"]):
                result = COPY.occo_dev(*args)
                self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        finally:
            for path, text in saved.items():
                path.write_text(text)
            restored = COPY.occo_dev("package", "api")
        self.assertEqual(restored.returncode, 0, restored.stdout + restored.stderr)
        return version

    def record_a_green_run(self) -> None:
        record(Repo.load(COPY.root))
        self.addCleanup((COPY.root / "env" / "tested.json").unlink, missing_ok=True)

    def test_what_no_green_test_run_tested_is_refused_before_any_host_is_touched(self):
        (COPY.root / "env" / "tested.json").unlink(missing_ok=True)
        refused = self.deploy("closed")
        self.assertEqual(refused.returncode, 1, refused.stdout + refused.stderr)
        self.assertEqual(refused.stderr, "occo-dev: error: refusing to deploy what the last green "
                                         "test run did not test: no green test run is recorded "
                                         "(env/tested.json): run ./occo-dev test; --force deploys "
                                         "it anyway\n")
        self.record_a_green_run()
        other = self.deploy("closed", "--version", "0.2.0")
        self.assertEqual(other.returncode, 1)
        self.assertIn("occo-api 0.2.0 was not tested (tested: 0.1.0)", other.stderr)

    def test_servers_in_parallel_then_again_with_nothing_to_change(self):
        self.record_a_green_run()
        first_host, second_host = self.machine(), self.machine()
        first = self.deploy(first_host, second_host, "closed", "--auth-data", str(self.auth))
        output = first.stdout + first.stderr
        self.assertEqual(first.returncode, 1, output)
        for host in (first_host, second_host):
            self.assertRegex(first.stdout, rf"\n{re.escape(host)}: installed occo-api 0\.1\.0; "
                                           r"/etc/occopus/auth_data\.yaml written; the service "
                                           r"answers \([\d.]+ s\)\n")
        self.assertRegex(first.stdout, r"\nclosed: FAILED \([\d.]+ s\): ssh closed: .*"
                                       r"Connection refused")
        self.assertTrue(first.stdout.endswith("3 host(s): 2 changed, 0 unchanged, 1 failed\n"))
        self.assertNotIn("deploy-secret", output)
        self.assertNotIn("deploy-secret", "".join(
            path.read_text() for path in (COPY.root / "env" / "deploy").iterdir()))
        files = self.ssh(first_host, "stat -c '%a %U %G %n' /etc/occopus/auth_data.yaml "
                                     "/etc/occopus/occopus_config.yaml; "
                                     "stat -c %U /proc/$(cat /run/occopus/rest-service.pid)")
        self.assertEqual(files.stdout.splitlines(),
                         ["640 root occopus /etc/occopus/auth_data.yaml",
                          "640 root occopus /etc/occopus/occopus_config.yaml", "occopus"])
        pid = self.ssh(first_host, "cat /run/occopus/rest-service.pid").stdout

        again = self.deploy(first_host, second_host, "--auth-data", str(self.auth))
        self.assertEqual(again.returncode, 0, again.stdout + again.stderr)
        for host in (first_host, second_host):
            self.assertIn(f"{host}: occo-api 0.1.0 was there already; nothing changed; "
                          "/etc/occopus/auth_data.yaml unchanged; the service answers",
                          again.stdout)
        self.assertTrue(again.stdout.endswith("2 host(s): 0 changed, 2 unchanged, 0 failed\n"))
        self.assertEqual(self.ssh(first_host, "cat /run/occopus/rest-service.pid").stdout, pid)

        # credentials are read when the service starts: new ones restart it
        self.auth.write_text(self.auth.read_text().replace("AKIDEPLOY", "AKIDOTHER"))
        changed = self.deploy(first_host, "--auth-data", str(self.auth))
        self.assertEqual(changed.returncode, 0, changed.stdout + changed.stderr)
        self.assertIn(f"{first_host}: occo-api 0.1.0 was there already; nothing changed; "
                      "/etc/occopus/auth_data.yaml written; the service answers", changed.stdout)
        started = self.ssh(first_host, "cat /run/occopus/rest-service.pid").stdout
        self.assertNotEqual(started, pid)
        written = self.ssh(first_host, "grep -c AKIDOTHER /etc/occopus/auth_data.yaml")
        self.assertEqual(written.stdout, "1\n", written.stderr)

        # a release whose service exits is rolled back; an older version number, which no
        # --upgrade picks, so the other tests' index is as it was
        broken = self.deploy(second_host, "--force", "--version", self.publish_broken_older())
        self.assertEqual(broken.returncode, 1, broken.stdout + broken.stderr)
        self.assertRegex(broken.stdout, rf"\n{re.escape(second_host)}: FAILED \([\d.]+ s\): "
                                        r"install: install-occopus: error: the REST service "
                                        r"exited instead of answering at http://127\.0\.0\.1:"
                                        r"5000/infrastructures/; see /var/log/occopus/rest-"
                                        r"service\.log; occo-api 0\.1\.0 is current again and "
                                        r"its service answers \(log: ")
        check = self.installer(second_host, "--server --check")
        self.assertIn("ok    occo-api 0.1.0 in /opt/occopus/current", check)
        self.assertIn("ok    the REST service answers", check)
        kept = self.ssh(second_host, "ls /opt/occopus/releases").stdout.split()
        self.assertEqual([name.split("-")[0] for name in kept], ["0.1.0"])

        removed = self.installer(first_host, "--server --uninstall")
        self.assertIn("stopped the supervisor and the REST service", removed)
        gone = self.ssh(first_host, f"test -e /proc/{started.strip()} || "
                                    "test -e /run/occopus/supervisor.pid || "
                                    "test -e /run/occopus/redis.pid || echo gone")
        self.assertEqual(gone.stdout, "gone\n")


class FreshMachineTest(MachineCase):
    """The installer on Debian machines that have never seen the project: one installs from
    the index through the SSH connection, the other from a wheelhouse copied over it, both
    at once."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        engine = machines()
        public = cls.key.with_suffix(".pub").read_text()
        cls.from_index, cls.from_wheelhouse = (engine.start(public) for _ in range(2))
        for made in (cls.from_index, cls.from_wheelhouse):
            cls.addClassCleanup(engine.remove, made.container)
        with ThreadPoolExecutor(2) as pool:
            index_run = pool.submit(cls.install_from_index, cls.from_index.address)
            wheelhouse_run = pool.submit(cls.install_from_wheelhouse,
                                         cls.from_wheelhouse.address)
            cls.index_run, cls.wheelhouse_run = index_run.result(), wheelhouse_run.result()

    @classmethod
    def install_from_index(cls, address: str) -> tuple[subprocess.CompletedProcess, ...]:
        outside = cls.ssh(address, f"python3 -c 'import socket; socket.create_connection("
                                   f"(\"127.0.0.1\", {cls.port}), timeout=5)'")
        return outside, cls.run_installer(address, f"--index-url http://127.0.0.1:{cls.port}/",
                                          forward=True)

    @classmethod
    def install_from_wheelhouse(cls, address: str) -> tuple[subprocess.CompletedProcess, ...]:
        with subprocess.Popen(["tar", "-C", str(WHEELHOUSE), "-c", "."],
                              stdout=subprocess.PIPE) as packed:
            copied = cls.ssh(address, "mkdir /tmp/wheelhouse && tar -C /tmp/wheelhouse -x",
                             stdin=packed.stdout)
        return copied, cls.run_installer(address, "--wheelhouse /tmp/wheelhouse")

    def assert_the_commands_work(self, address: str) -> None:
        said = self.ssh(address, "for c in /root/.local/bin/occopus-*; do $c --version; done")
        self.assertEqual(said.returncode, 0, said.stderr)
        self.assertEqual(len(said.stdout.splitlines()), COMMANDS)
        self.assertIn("occopus-build 0.1.0 (wheel install; upgrade: python3 install-occopus.py "
                      "--upgrade)\n", said.stdout)
        with (REAL_ROOT / "examples" / "three-tier" / "infra.yaml").open() as infra:
            valid = self.ssh(address, "cat > /tmp/infra.yaml && /root/.local/bin/occopus-validate "
                                      "/tmp/infra.yaml", stdin=infra)
        self.assertEqual(valid.returncode, 0, valid.stdout + valid.stderr)
        self.assertTrue(self.installer(address, "--check").endswith("ok    occopus works\n"))

    def test_from_the_index_through_the_ssh_connection_only(self):
        outside, installed = self.index_run
        self.assertNotEqual(outside.returncode, 0, "without the forward there is no index")
        self.assertEqual(installed.returncode, 0, installed.stdout + installed.stderr)
        self.assertIn(f"installing occo-api 0.1.0 and its pinned requirements from the index "
                      f"http://127.0.0.1:{self.port}/simple/", installed.stdout)
        self.assertIn(f"occopus 0.1.0 is installed: {COMMANDS} commands in /root/.local/bin",
                      installed.stdout)
        self.assert_the_commands_work(self.from_index.address)

    def test_from_a_wheelhouse_copied_over(self):
        copied, installed = self.wheelhouse_run
        self.assertEqual(copied.returncode, 0, copied.stderr)
        self.assertEqual(installed.returncode, 0, installed.stdout + installed.stderr)
        self.assertIn("from the wheelhouse /tmp/wheelhouse", installed.stdout)
        self.assert_the_commands_work(self.from_wheelhouse.address)


class UpgradeTest(HomeCase):
    """Releases side by side: an upgrade keeps the one it replaces for --rollback, and a
    release that does not work never becomes current."""

    BROKEN_IMPORT = ("api/src/occo/api/__init__.py", "\n",
                     'raise ImportError("this release is broken on purpose")\n')

    def publish_next_api(self, broken: tuple[str, str, str] | None = None) -> None:
        """Bump api, package and upload it; `broken` (file, text, replacement) breaks that
        release only. (The copy's api stays bumped: the index's newest is no longer 0.1.0.)"""
        path = COPY.root / (broken[0] if broken else "x")
        text = path.read_text() if broken else ""
        if broken:
            changed = (text + broken[2] if broken[1] == "\n"
                       else text.replace(broken[1], broken[2]))
            self.assertNotEqual(changed, text)
            path.write_text(changed)
        try:
            for args in (["bump", "api", "patch"], ["package", "api"], ["upload", "api"]):
                result = COPY.occo_dev(*args)
                self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        finally:
            if broken:
                path.write_text(text)

    def version(self) -> str:
        result = self.command("occopus-build", "--version")
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout.split()[1]

    def releases(self) -> list[str]:
        return sorted(path.name.split("-")[0] for path in (self.venv.parent / "releases").iterdir())

    def test_upgrade_rollback_force_and_a_broken_release(self):
        self.ok("--index-url", URL)
        self.assertIn("occopus 0.1.0 is the newest release", self.ok("--upgrade"))
        self.publish_next_api()
        self.assertIn("upgraded occopus 0.1.0 -> 0.1.1; --rollback returns to 0.1.0",
                      self.ok("--upgrade"))
        self.assertEqual(self.version(), "0.1.1")
        self.assertEqual(self.releases(), ["0.1.0", "0.1.1"])
        self.assertIn("note  occo-api 0.1.0 is kept for --rollback", self.ok("--check"))
        self.assertIn("occopus 0.1.1 is already installed", self.ok("--index-url", URL))

        self.assertIn("rolled back occopus 0.1.1 -> 0.1.0; --rollback again returns to 0.1.1",
                      self.ok("--rollback"))
        self.assertEqual(self.version(), "0.1.0")
        self.assertIn("rolled back occopus 0.1.0 -> 0.1.1", self.ok("--rollback"))
        self.assertEqual(self.version(), "0.1.1")

        forced = self.ok("--force")          # the installed release, not the bundled 0.1.0
        self.assertIn("installing occo-api 0.1.1 from the index", forced)
        self.assertIn("occopus 0.1.1 is installed", forced)
        self.assertEqual(self.releases(), ["0.1.1", "0.1.1"])

        self.publish_next_api(self.BROKEN_IMPORT)
        link = os.readlink(self.venv)
        refused = self.install("--upgrade")
        self.assertEqual(refused.returncode, 1, refused.stdout + refused.stderr)
        self.assertRegex(refused.stderr, r"^install-occopus: error: occo-api 0\.1\.2 from the "
                                         r"index \S+ does not work, so the installation was left "
                                         r"as it was: loading the occopus-\* commands failed "
                                         r"\(exit 1\):\noccopus-\S+: ImportError: this release "
                                         r"is broken on purpose")
        self.assertIn("this release is broken on purpose", refused.stderr)
        self.assertNotIn("Traceback", refused.stderr.splitlines()[0])
        self.assertEqual(os.readlink(self.venv), link)
        self.assertEqual(self.version(), "0.1.1")
        self.assertEqual(self.releases(), ["0.1.1", "0.1.1"])

        asked = self.ok(OCCOPUS_INDEX_URL=URL, OCCOPUS_VERSION="0.1.0")
        self.assertIn("installing occo-api 0.1.0 and its pinned requirements", asked)
        self.assertEqual(self.version(), "0.1.0")


    def test_rollback_without_an_earlier_release_says_so(self):
        refused = self.install("--rollback")
        self.assertEqual(refused.returncode, 1)
        self.assertEqual(refused.stderr, "install-occopus: error: no earlier release is kept in "
                                         f"{self.venv.parent} to roll back to; --occopus-version "
                                         "VERSION installs a given one\n")


SANDBOX = ('mount --bind "$1" /etc && mount --bind "$2" /opt && mount --bind "$3" /usr/local/bin '
           '&& mount --bind "$4" /var/lib && shift 4 && exec "$@"')
SANDBOX_FOLDERS = ("etc", "opt", "bin", "var-lib")     # on /etc, /opt, /usr/local/bin, /var/lib
IN_FOLDER = 'cd "$1" && shift && exec "$@"'
UNIT = "occopus-rest-service.service"
TOKEN = "/var/lib/occopus/rest-token"
REDIS = ("127.0.0.1", 6379)
NAMESPACE = "occo:occopus@"        # the store's default prefix and the service user's name
SERVING = re.compile(r"occopus-rest-service: serving on (http://127\.0\.0\.1:\d+)\n")
SERVICE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
NEVER_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


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


def service_python() -> str | None:
    """A Python >= 3.11 with venv that the occopus user may run (the unit's ProtectHome hides
    home folders, pyenv's under /root among them, and the sandbox hides /usr/local/bin):
    this one if it qualifies, else the system's."""
    names = ("python3.14", "python3.13", "python3.12", "python3.11", "python3")
    for candidate in (PYTHON, *(f"/usr/bin/{name}" for name in names)):
        real = Path(os.path.realpath(candidate))
        if any(real.is_relative_to(hidden) for hidden in ("/root", "/home", "/usr/local")):
            continue
        probe = [str(real), "-c",
                 "import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))"]
        if real.is_file() and subprocess.run(probe, capture_output=True).returncode == 0:
            return candidate
    return None


def unit_settings(text: str, section: str = "Service") -> dict[str, list[str]]:
    """One section of a unit file: each key's values, in order."""
    found: dict[str, list[str]] = {}
    current = None
    for line in map(str.strip, text.splitlines()):
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = line.strip("[]")
        elif current == section:
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


class RedisConnection:
    """Just enough of the Redis protocol to look at and remove keys (the dev environment has
    no Redis client)."""

    def __init__(self) -> None:
        self.socket = socket.create_connection(REDIS, timeout=10)
        self.replies = self.socket.makefile("rb")
        try:
            self.call("PING")
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self.replies.close()
        self.socket.close()

    def call(self, *words: str):
        request = [f"*{len(words)}\r\n".encode()]
        for word in map(str.encode, words):
            request += [f"${len(word)}\r\n".encode(), word, b"\r\n"]
        self.socket.sendall(b"".join(request))
        return self.reply()

    def reply(self):
        line = self.replies.readline()
        kind, rest = line[:1], line[1:-2].decode()
        if kind == b"+":
            return rest
        if kind == b":":
            return int(rest)
        if kind == b"$":
            return None if int(rest) < 0 else self.replies.read(int(rest) + 2)[:-2].decode()
        if kind == b"*":
            return [self.reply() for _ in range(max(int(rest), 0))]
        raise AssertionError(f"Redis answered {line!r}")

    def keys(self, namespace: str) -> list[str]:
        """The keys of a namespace (it holds no glob character)."""
        found, cursor = set(), "0"
        while True:
            cursor, batch = self.call("SCAN", cursor, "MATCH", f"{namespace}*", "COUNT", "1000")
            found.update(batch)
            if cursor == "0":
                return sorted(found)


@dataclass
class Served:
    """What the unit's own command did, run as the unit runs it."""

    unavailable: str = ""           # why it was not run
    prefix: str = ""                # a store prefix the test had to add; '' for the config as is
    url: str = ""                   # from its serving line
    token: str = ""
    token_mode: int = 0
    token_owner: int = -1
    with_token: tuple[int, str] = (0, "")
    without_token: tuple[int, str] = (0, "")
    exit_code: int | None = None
    stderr: str = ""
    keys_left: list[str] = field(default_factory=list)


def get(url: str, token: str | None = None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with NEVER_PROXY.open(urllib.request.Request(url, headers=headers), timeout=30) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


class StderrLines:
    """A process's stderr, read by a thread so that a wait for one line can time out."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self.thread = threading.Thread(target=self._pump, args=(process.stderr,), daemon=True)
        self.thread.start()

    def _pump(self, stream) -> None:
        for line in stream:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, pattern: re.Pattern, seconds: float) -> re.Match | None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                return None
            if line is None:
                return None
            self.seen.append(line)
            if found := pattern.fullmatch(line):
                return found
        return None

    def text(self) -> str:
        """Everything, once the process has ended."""
        self.thread.join(timeout=30)
        while not self.lines.empty():
            line = self.lines.get_nowait()
            if line is not None:
                self.seen.append(line)
        return "".join(self.seen)


@unittest.skipUnless(can_sandbox() and redis_unit(), "needs root, mount namespaces, "
                     "systemd-analyze, Redis installed and no systemd")
class ServerInstallTest(unittest.TestCase):
    """--server as root, in a mount namespace: /etc is a copy, /opt, /usr/local/bin and
    /var/lib are empty. Then the unit's own command runs there as the unit would run it."""

    @classmethod
    def setUpClass(cls):
        cls.python = service_python()
        if cls.python is None:
            raise AssertionError("no Python >= 3.11 with venv that the occopus user may run (in "
                                 "/usr/bin, outside home folders); install python3-venv")
        cls._scratch = tempfile.TemporaryDirectory(prefix="occo-server-")
        cls.root = Path(cls._scratch.name)
        try:
            cls.install_and_serve()
        except BaseException:
            cls._scratch.cleanup()
            raise

    @classmethod
    def install_and_serve(cls):
        subprocess.run(["cp", "-a", "/etc", str(cls.root / "etc")], check=True)
        for folder in ("opt", "bin", "var-lib", "home"):
            (cls.root / folder).mkdir()
        cls.host_passwd = Path("/etc/passwd").read_text()
        cls.host_state = Path("/var/lib/occopus").exists()
        cls.first = cls.server("--index-url", URL, "--python", cls.python)
        if cls.first.returncode != 0:
            raise AssertionError(f"--server failed:\n{cls.first.stdout}{cls.first.stderr}")
        etc = cls.root / "etc"
        cls.passwd = (etc / "passwd").read_text()
        user = next(line for line in cls.passwd.splitlines() if line.startswith("occopus:"))
        cls.user = user.split(":")
        cls.config = etc / "occopus" / "occopus_config.yaml"
        cls.config_text = cls.config.read_text()
        cls.config_mode = cls.config.stat().st_mode & 0o777
        state = (cls.root / "var-lib" / "occopus").stat()
        cls.state = (state.st_mode & 0o7777, state.st_uid, state.st_gid)
        cls.unit = (etc / "systemd" / "system" / UNIT).read_text()
        cls.link = os.readlink(cls.root / "bin" / "occopus-rest-service")
        cls.served = cls.serve()

    @classmethod
    def tearDownClass(cls):
        cls._scratch.cleanup()

    @classmethod
    def sandboxed(cls, *command: str) -> list[str]:
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c", SANDBOX, "sh",
                *(str(cls.root / folder) for folder in SANDBOX_FOLDERS), *command]

    @classmethod
    def server(cls, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(cls.sandboxed(PYTHON, str(INSTALLER), "--server", *args),
                              env=COPY.env(HOME=str(cls.root / "home"), **HOSTILE_PIP),
                              capture_output=True, text=True, timeout=600)

    @classmethod
    def serve(cls) -> Served:
        """Run the unit's ExecStart, with --port 0, against this machine's Redis; remove the
        keys it wrote there."""
        try:
            redis = RedisConnection()
        except OSError as error:
            return Served(unavailable=f"no Redis answers at {REDIS[0]}:{REDIS[1]}: {error}")
        try:
            namespace, prefix = NAMESPACE, ""
            if redis.keys(NAMESPACE):      # someone's real service: leave its keys alone
                prefix = f"occo-test-{os.getpid()}:"
                namespace = f"{prefix}occopus@"
                cls.config.write_text(cls.config_text.replace(
                    "store:\n", f"store:\n  prefix: '{prefix}'\n", 1))
            try:
                served = cls.run_the_unit()
            finally:
                keys = redis.keys(namespace)
                if keys:
                    redis.call("DEL", *keys)
            served.prefix = prefix
            served.keys_left = redis.keys(namespace)
            return served
        finally:
            redis.close()

    @classmethod
    def run_the_unit(cls) -> Served:
        """As systemd would: its user and group, no new privileges, its working folder, its
        environment on top of what User= sets."""
        service = unit_settings(cls.unit)
        user, group = service["User"][0], service["Group"][0]
        env = {"PATH": SERVICE_PATH, "USER": user, "LOGNAME": user, "SHELL": cls.user[6]}
        for assignments in service.get("Environment", []):
            env.update(word.split("=", 1) for word in shlex.split(assignments))
        command = cls.sandboxed("sh", "-c", IN_FOLDER, "sh", service["WorkingDirectory"][0],
                                "setpriv", f"--reuid={user}", f"--regid={group}",
                                "--init-groups", "--no-new-privs",
                                *shlex.split(service["ExecStart"][0]), "--port", "0")
        served = Served()
        process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        stderr = StderrLines(process)
        try:
            serving = stderr.wait_for(SERVING, 120)
            if serving:
                served.url = serving.group(1)
                token = cls.root / "var-lib" / "occopus" / "rest-token"
                info = token.stat()
                served.token_mode, served.token_owner = info.st_mode & 0o7777, info.st_uid
                served.token = token.read_text().strip()
                served.with_token = get(f"{served.url}/infrastructures/", served.token)
                served.without_token = get(f"{served.url}/infrastructures/")
            process.send_signal(signal.SIGTERM)   # unshare, sh and setpriv exec: the service
            served.exit_code = process.wait(timeout=90)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            served.stderr = stderr.text()
        return served

    def ok(self, *args: str) -> str:
        result = self.server(*args)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        return result.stdout

    def test_the_user_the_config_and_a_unit_requiring_redis_are_written_not_started(self):
        self.assertEqual(self.first.returncode, 0, self.first.stdout + self.first.stderr)
        self.assertEqual(self.user[5:], ["/var/lib/occopus", "/usr/sbin/nologin"])
        self.assertEqual(self.config_mode, 0o640)
        self.assertIn("store:\n  backend: redis\n  url: redis://127.0.0.1:6379/0\n",
                      self.config_text)
        self.assertIn(f"rest:\n  host: 127.0.0.1\n  port: 5000\n  token_file: {TOKEN}\n",
                      self.config_text)
        self.assertEqual(self.state, (0o700, int(self.user[2]), int(self.user[3])))
        self.assertRegex(self.unit, r"\nRequires=redis(-server)?\.service\n")
        service = unit_settings(self.unit)
        self.assertEqual(service["ExecStart"], ["/opt/occopus/current/bin/occopus-rest-service "
                                                "--cfg /etc/occopus/occopus_config.yaml"])
        self.assertEqual(service["Environment"], ["HOME=/var/lib/occopus"])
        self.assertEqual((service["StateDirectory"], service["StateDirectoryMode"]),
                         (["occopus"], ["0700"]))
        self.assertEqual(self.link, "/opt/occopus/current/bin/occopus-rest-service")
        self.assertIn(f"systemd is not running here: {UNIT} is written and verified, not started",
                      self.first.stdout)
        self.assertIn(f"ok    the REST API's token is in {TOKEN} (made on the service's first "
                      f"start, mode 0600, owner occopus); read it as root: sudo cat {TOKEN}\n",
                      self.first.stdout)
        self.assertEqual(Path("/etc/passwd").read_text(), self.host_passwd)
        self.assertEqual(Path("/var/lib/occopus").exists(), self.host_state)

    def test_the_unit_s_own_command_serves_as_its_user_and_stops_on_sigterm(self):
        served = self.served
        if served.unavailable:
            if os.environ.get("CI") == "true":
                self.fail(f"{served.unavailable}; the test needs Redis there in CI")
            self.skipTest(served.unavailable)
        self.assertTrue(served.url, f"no serving line:\n{served.stderr}")
        self.assertEqual(served.token_mode, 0o600)
        self.assertEqual(served.token_owner, int(self.user[2]))
        self.assertIn(f"occopus-rest-service: made a token for the REST API in {TOKEN} ",
                      served.stderr)
        self.assertNotIn(served.token, served.stderr)
        status, body = served.with_token
        self.assertEqual(status, 200, body)
        self.assertIn("infrastructures", json.loads(body))
        self.assertEqual(served.without_token[0], 401, served.without_token[1])
        self.assertEqual(served.exit_code, 0, served.stderr)
        self.assertEqual(served.keys_left, [])

    def test_a_second_run_check_and_uninstall_in_turn(self):
        unit = self.root / "etc" / "systemd" / "system" / UNIT
        written = unit.stat().st_mtime_ns
        self.assertIn("occopus 0.1.0 is already installed in /opt/occopus/current",
                      self.ok("--index-url", URL))
        self.assertIn("occopus 0.1.0 is the newest release in the index", self.ok("--upgrade"))
        self.assertEqual(unit.stat().st_mtime_ns, written)
        check = self.ok("--check")
        self.assertIn("ok    system user occopus", check)
        self.assertIn("ok    /var/lib/occopus, the service's state folder: mode 0700, owner "
                      "occopus", check)
        self.assertIn("ok    occopus may run the environment's commands", check)
        self.assertIn(f"ok    /etc/systemd/system/{UNIT} passes systemd-analyze verify", check)
        self.assertIn("ok    /etc/occopus/occopus_config.yaml: ok", check)
        removed = self.ok("--uninstall")
        self.assertIn(f"removed /etc/systemd/system/{UNIT}", removed)
        self.assertIn("kept /etc/occopus, /var/lib/occopus (the token) and the occopus user",
                      removed)
        self.assertFalse(unit.exists())
        self.assertEqual(list((self.root / "bin").iterdir()), [])
        self.assertTrue((self.root / "etc" / "occopus" / "occopus_config.yaml").exists())
        self.assertTrue((self.root / "var-lib" / "occopus").is_dir())
