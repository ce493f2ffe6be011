"""The installer's modules, one job at a time, and the real package joined into one file."""
import glob
import io
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path
from unittest import mock

from occodev.bundle import join
from occodev.installer import INSTALLER_PYTHON, SOURCE
from occopus_installer.layout import Layout
from occopus_installer.links import (link_commands, refuse_foreign, unlink_commands,
                                     unlinked_commands)
from occopus_installer.proc import InstallError
from occopus_installer.pythons import find_python
from occopus_installer.releases import new_release, point, prune, release_of, remove_all
from occopus_installer.server import (answer_problem, config_text, first_token,
                                      interpreter_problem, unit_text)
from occopus_installer.source import Source, pip_env
from occopus_installer.supervisor import supervisor_text
from occopus_installer.ui import Console

DEV = Path(__file__).resolve().parents[1]


class ScratchCase(unittest.TestCase):
    def setUp(self):
        scratch = tempfile.TemporaryDirectory()
        self.addCleanup(scratch.cleanup)
        self.scratch = Path(scratch.name)


class SourceTest(ScratchCase):
    def test_an_index_url_is_given_its_simple_page_once(self):
        for url in ("http://h:8080", "http://h:8080/", "http://h:8080/simple", "http://h:8080/simple/"):
            self.assertEqual(Source.choose(url, None).pip_args(),
                             ["--index-url", "http://h:8080/simple/"])

    def test_a_wheelhouse_is_the_only_place_pip_looks(self):
        (self.scratch / "occo_api-1.0.0-py3-none-any.whl").write_bytes(b"")
        self.assertEqual(Source.choose(None, str(self.scratch)).pip_args(),
                         ["--no-index", "--find-links", str(self.scratch)])

    def test_a_wheelhouse_without_occo_api_is_refused(self):
        with self.assertRaisesRegex(InstallError, "has no occo_api wheel"):
            Source.choose(None, str(self.scratch))

    def test_two_sources_are_refused(self):
        with self.assertRaisesRegex(InstallError, "not both"):
            Source.choose("http://h/", str(self.scratch))

    def test_pip_sees_no_machine_configuration_but_how_to_reach_the_source(self):
        machine = {"PIP_FIND_LINKS": "/opt/wheels", "PIP_INDEX_URL": "http://elsewhere/",
                   "PIP_CERT": "/etc/ca.pem", "PATH": "/bin"}
        with mock.patch.dict(os.environ, machine, clear=True):
            env = pip_env()
        self.assertNotIn("PIP_FIND_LINKS", env)
        self.assertNotIn("PIP_INDEX_URL", env)
        self.assertEqual((env["PIP_CERT"], env["PIP_CONFIG_FILE"]), ("/etc/ca.pem", os.devnull))


class ConsoleTest(unittest.TestCase):
    def test_no_escape_codes_and_no_spinner_off_a_terminal(self):
        stream = io.StringIO()
        console = Console(stream)
        with console.working("installing"):
            pass
        console.done("installed")
        self.assertEqual(stream.getvalue(), "...   installing\nok    installed\n")


class LayoutTest(ScratchCase):
    def test_the_user_layout_follows_xdg_data_home(self):
        with mock.patch.dict(os.environ, {"XDG_DATA_HOME": str(self.scratch)}):
            self.assertEqual(Layout.user().venv, self.scratch / "occopus" / "current")

    def test_forgetting_removes_the_folder_once_empty(self):
        layout = Layout(self.scratch / "occopus", self.scratch / "bin", False)
        layout.write_state({"version": "1"})
        self.assertEqual(layout.read_state(), {"version": "1"})
        layout.forget()
        self.assertFalse(layout.home.exists())


class LinksTest(ScratchCase):
    def setUp(self):
        super().setUp()
        self.layout = Layout(self.scratch / "home", self.scratch / "bin", False)
        (self.layout.venv / "bin").mkdir(parents=True)
        for name in ("occopus-build", "occopus-scale"):
            self.layout.command(name).write_text("#!/bin/sh\n")

    def test_links_point_into_the_environment_and_only_ours_are_removed(self):
        self.assertEqual(link_commands(self.layout), ["occopus-build", "occopus-scale"])
        self.assertEqual(unlinked_commands(self.layout), [])
        foreign = self.layout.bin / "occopus-other"
        foreign.write_text("not ours")
        self.assertEqual(unlink_commands(self.layout), ["occopus-build", "occopus-scale"])
        self.assertEqual([p.name for p in self.layout.bin.iterdir()], ["occopus-other"])

    def test_a_file_that_is_not_ours_needs_force(self):
        self.layout.bin.mkdir()
        (self.layout.bin / "occopus-build").write_text("someone else's")
        with self.assertRaisesRegex(InstallError, "occopus-build exists and is not a link into "
                                                  ".* --force"):
            refuse_foreign(self.layout, force=False)
        refuse_foreign(self.layout, force=True)
        link_commands(self.layout)
        self.assertEqual(unlinked_commands(self.layout), [])


class ReleasesTest(ScratchCase):
    """Releases side by side; `current` and `previous` choose among them."""

    def setUp(self):
        super().setUp()
        self.layout = Layout(self.scratch / "home", self.scratch / "bin", False)

    def release(self, version: str, *commands: str) -> Path:
        folder = new_release(self.layout, version)
        (folder / "bin").mkdir()
        for name in commands:
            (folder / "bin" / name).write_text(f"#!/bin/sh\necho {version}\n")
        return folder

    def test_each_release_gets_a_folder_of_its_own_that_everyone_may_enter(self):
        first, second = self.release("1.0.0"), self.release("1.0.0")
        self.assertNotEqual(first, second)
        self.assertEqual(first.parent, self.layout.releases)
        self.assertTrue(first.name.startswith("1.0.0-"))
        self.assertEqual(first.stat().st_mode & 0o777, 0o755)

    def test_moving_current_moves_every_command_link_at_once(self):
        old = self.release("1.0.0", "occopus-build")
        point(self.layout.venv, old)
        link_commands(self.layout)
        new = self.release("1.1.0", "occopus-build")
        link = self.layout.bin / "occopus-build"
        made = link.lstat().st_ino
        point(self.layout.venv, new)
        self.assertEqual(link_commands(self.layout), ["occopus-build"])
        self.assertEqual(link.lstat().st_ino, made)      # the link itself was not replaced
        self.assertEqual(link.read_text(), "#!/bin/sh\necho 1.1.0\n")
        self.assertEqual(release_of(self.layout.venv), new)

    def test_pruning_keeps_current_and_previous_and_drops_the_pre_release_venv(self):
        old, kept, current = (self.release(v) for v in ("1.0.0", "1.1.0", "1.2.0"))
        self.layout.legacy_venv.mkdir(parents=True)
        point(self.layout.venv, current)
        point(self.layout.previous, kept)
        prune(self.layout)
        self.assertEqual(sorted(self.layout.releases.iterdir()), sorted([kept, current]))
        self.assertFalse(old.exists())
        self.assertFalse(self.layout.legacy_venv.exists())
        self.assertTrue(remove_all(self.layout))
        self.assertEqual(list(self.layout.home.iterdir()), [])
        self.assertFalse(remove_all(self.layout))

    def test_a_previous_link_to_a_removed_release_is_dropped(self):
        current = self.release("1.2.0")
        point(self.layout.venv, current)
        point(self.layout.previous, self.layout.releases / "gone")
        prune(self.layout)
        self.assertFalse(self.layout.previous.is_symlink())
        self.assertEqual(release_of(self.layout.venv), current)


class HealthTest(unittest.TestCase):
    def test_the_first_token_of_a_token_file_is_sent(self):
        text = "# tokens of the REST service\n\n  abc123 read  # the dashboard\ndef456\n"
        self.assertEqual(first_token(text), "abc123")
        self.assertIsNone(first_token("# none yet\n\n"))

    def test_a_service_that_is_not_there_is_a_problem_named_without_the_token(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            url = f"http://127.0.0.1:{probe.getsockname()[1]}/infrastructures/"
        with tempfile.NamedTemporaryFile("w", suffix=".token") as tokens:
            tokens.write("secret-one\nsecret-two read\n")
            tokens.flush()
            problem = answer_problem(url, tokens.name)
        self.assertIn("refused", problem)
        self.assertNotIn("secret", problem)


class SupervisorTest(unittest.TestCase):
    def test_the_program_it_writes_is_python_naming_the_service_through_current(self):
        text = supervisor_text(Layout.system(), True, "occopus", Path("/var/lib/occopus"),
                               Path("/etc/occopus"), Path("/etc/occopus/occopus_config.yaml"))
        compile(text, "supervise.py", "exec")
        self.assertIn("SERVICE = ['/opt/occopus/current/bin/occopus-rest-service', '--cfg', "
                      "'/etc/occopus/occopus_config.yaml']\n", text)
        self.assertIn("REDIS = ['redis-server', '/etc/redis/redis.conf', '--daemonize', 'no']\n",
                      text)
        self.assertIn('"--pdeathsig=TERM"', text)


class LegacyLayoutTest(ScratchCase):
    def test_a_pre_release_venv_becomes_current_and_is_kept_while_named(self):
        layout = Layout(self.scratch / "home", self.scratch / "bin", False)
        (layout.legacy_venv / "bin").mkdir(parents=True)
        (layout.legacy_venv / "bin" / "python").symlink_to(sys.executable)
        layout.adopt_legacy()
        self.assertEqual(release_of(layout.venv), layout.legacy_venv)
        prune(layout)
        self.assertTrue(layout.legacy_venv.is_dir())
        newer = new_release(layout, "2.0.0")
        point(layout.previous, layout.legacy_venv)
        point(layout.venv, newer)
        prune(layout)
        self.assertTrue(layout.legacy_venv.is_dir(), "kept for --rollback")
        point(layout.previous, newer)
        prune(layout)
        self.assertFalse(layout.legacy_venv.exists())


class PythonTest(unittest.TestCase):
    def test_a_named_interpreter_that_is_too_old_is_refused(self):
        with mock.patch("occopus_installer.pythons.PYTHON_MIN", (99, 0)):
            with self.assertRaisesRegex(InstallError, r"--python .* is not Python >= 99.0"):
                find_python(sys.executable, sys.executable)

    def test_this_interpreter_serves_when_it_is_new_enough(self):
        self.assertEqual(find_python(sys.executable), sys.executable)


class UnitTest(unittest.TestCase):
    def test_the_unit_requires_redis_and_runs_the_environment_s_service(self):
        text = unit_text(Layout.system(), "redis-server.service")
        self.assertIn("Requires=redis-server.service\n", text)
        self.assertIn("After=network.target redis-server.service\n", text)
        self.assertIn("ExecStart=/opt/occopus/current/bin/occopus-rest-service --cfg "
                      "/etc/occopus/occopus_config.yaml\n", text)
        self.assertIn("User=occopus\n", text)

    def test_the_service_s_home_is_its_private_state_folder(self):
        text = unit_text(Layout.system(), "redis-server.service")
        self.assertIn("Environment=HOME=/var/lib/occopus\n", text)
        self.assertIn("StateDirectory=occopus\nStateDirectoryMode=0700\n", text)
        self.assertIn("ProtectHome=true\n", text)

    def test_the_config_keeps_the_token_in_the_state_folder(self):
        self.assertIn("rest:\n  host: 127.0.0.1\n  port: 5000\n"
                      "  token_file: /var/lib/occopus/rest-token\n", config_text())


class InterpreterTest(ScratchCase):
    """Whether the unit's user could run the environment's Python (a venv links to it)."""

    def setUp(self):
        super().setUp()
        self.layout = Layout(self.scratch / "opt", self.scratch / "bin", True)
        (self.layout.venv / "bin").mkdir(parents=True)
        self.layout.command("occopus-rest-service").write_text("#!/bin/sh\n")
        account = pwd.struct_passwd(("occopus", "x", 4242, 4242, "", "/var/lib/occopus",
                                     "/usr/sbin/nologin"))
        for patch in (mock.patch("occopus_installer.server.pwd.getpwnam", return_value=account),
                      mock.patch("occopus_installer.server.grp.getgrall", return_value=[])):
            patch.start()
            self.addCleanup(patch.stop)

    def test_a_python_in_a_home_folder_is_refused_with_the_way_out(self):
        self.layout.python.symlink_to("/root/.pyenv/versions/3.11.7/bin/python3.11")
        self.assertRegex(interpreter_problem(self.layout.venv),
                         r"^the environment's Python is /root/.pyenv/\S+, under /root, which the "
                         r"unit hides from the service \(ProtectHome=true\); run the installer "
                         r"again with --server --force --python PYTHON")

    def test_a_folder_closed_to_the_user_is_named(self):
        self.layout.python.symlink_to("/bin/sh")
        self.scratch.chmod(0o700)
        self.assertRegex(interpreter_problem(self.layout.venv),
                         rf"^the user occopus cannot run {self.layout.venv}/bin/occopus-rest-"
                         rf"service: {self.scratch} is closed to it; ")

    def test_a_python_and_commands_open_to_everyone_pass(self):
        self.layout.python.symlink_to("/bin/sh")
        for folder in (self.scratch, self.layout.home, self.layout.venv, self.layout.venv / "bin"):
            folder.chmod(0o755)
        self.layout.command("occopus-rest-service").chmod(0o755)
        self.assertIsNone(interpreter_problem(self.layout.venv))


def old_pythons() -> list[str]:
    """Pythons 3.6 to 3.9 found on PATH or in pyenv's folder, if this machine has any."""
    found = []
    for minor in range(6, 10):
        candidates = [shutil.which(f"python3.{minor}"), *sorted(glob.glob(os.path.expanduser(
            f"~/.pyenv/versions/3.{minor}.*/bin/python3.{minor}")))]
        for candidate in filter(None, candidates):
            if subprocess.run([candidate, "-V"], capture_output=True).returncode == 0:
                found.append(candidate)
                break
    return found


class RealInstallerTest(ScratchCase):
    def setUp(self):
        super().setUp()
        pins = {"VERSION": "1.2.3", "PYTHON_MIN": (3, 11), "REQUIREMENTS": ("occo-api==1.2.3",)}
        self.script = self.scratch / "install-occopus.py"
        self.script.write_text(join(DEV.parent / SOURCE, pins, entry="main",
                                    minimum=INSTALLER_PYTHON, script=self.script.name))

    def test_it_answers_help_with_its_pinned_version(self):
        result = subprocess.run([sys.executable, str(self.script), "--help"],
                                capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("(occo-api 1.2.3)", " ".join(result.stdout.split()))

    def test_old_pythons_get_the_version_message_not_a_syntax_error(self):
        pythons = old_pythons()
        if not pythons:
            self.skipTest("no Python 3.6 to 3.9 on this machine")
        for python in pythons:
            with self.subTest(python):
                result = subprocess.run([python, str(self.script), "--help"],
                                        capture_output=True, text=True)
                self.assertEqual(result.returncode, 1)
                self.assertRegex(result.stderr, r"^install-occopus.py needs Python >= 3.10 "
                                                r"\(this is 3\.[6-9]\); run it with python3.10")
