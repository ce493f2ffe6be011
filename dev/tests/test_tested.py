"""The record of the last green test run, and what deploy makes of it before any host."""
import json
import subprocess
import unittest

from occodev import deploy, tested
from occodev.errors import DevError
from occodev.repo import Repo

from .support import TempRepoCase


class RepoCase(TempRepoCase):
    def setUp(self):
        super().setUp()
        self.repo = self.repo({"util": [], "api": ["util"]})
        lock = self.root / "dev" / "lock" / "requirements.lock"
        lock.parent.mkdir(parents=True)
        lock.write_text("nose2==0.15.1 --hash=sha256:00\n")


class TestedRecordTest(RepoCase):
    def test_a_record_names_each_version_and_the_lock_and_reads_back(self):
        path = tested.record(self.repo)
        written = json.loads(path.read_text())
        self.assertEqual(written["versions"], {c.dist: c.version
                                               for c in self.repo.components.values()})
        self.assertEqual(len(written["lock"]), 64)
        self.assertEqual(tested.read(self.repo), tested.Tested(**written))
        self.assertEqual(tested.read(self.repo).differences(tested.Tested.of(self.repo)), [])

    def test_a_bumped_component_and_a_changed_lock_are_named(self):
        tested.record(self.repo)
        component = next(iter(self.repo.components.values()))
        pyproject = component.path / "pyproject.toml"
        pyproject.write_text(pyproject.read_text().replace(f'version = "{component.version}"',
                                                           'version = "9.9.9"'))
        lock = self.repo.root / "dev" / "lock" / "requirements.lock"
        lock.write_text(lock.read_text() + "# changed\n")
        now = tested.Tested.of(Repo.load(self.repo.root))
        self.assertEqual(tested.read(self.repo).differences(now),
                         [f"{component.dist} 9.9.9 (tested: {component.version})",
                          "dev/lock/requirements.lock changed since the tests ran"])

    def test_nothing_is_recorded_when_the_checkout_changed_while_the_tests_ran(self):
        before = tested.Tested.of(self.repo)
        lock = self.repo.root / "dev" / "lock" / "requirements.lock"
        lock.write_text(lock.read_text() + "# changed\n")
        self.assertIsNone(tested.record(self.repo, before))
        self.assertIsNone(tested.read(self.repo))
        self.assertIsNotNone(tested.record(self.repo, tested.Tested.of(self.repo)))

    def test_an_unreadable_record_reads_as_none(self):
        (self.repo.root / "env").mkdir(exist_ok=True)
        (self.repo.root / tested.RECORD).write_text("{not json")
        self.assertIsNone(tested.read(self.repo))


class DeployCommandsTest(RepoCase):
    def test_a_remote_command_runs_as_root_or_through_sudo_and_keeps_its_quotes(self):
        command = deploy.as_root("echo \"it's quoted\"").replace("exec ", "")
        for uid in ("0", "1000"):
            with self.subTest(uid=uid):
                shell = f'id() {{ echo {uid}; }}; sudo() {{ shift; echo via sudo; "$@"; }}; '
                said = subprocess.run(["sh", "-c", shell + command], capture_output=True,
                                      text=True)
                self.assertEqual(said.stdout, ("via sudo\n" if uid != "0" else "")
                                 + "it's quoted\n", said.stderr)

    def test_each_outcome_has_its_line(self):
        line = deploy.HostResult
        self.assertEqual(line("h1", None, "0.1.0", 3.04).line(),
                         "h1: installed occo-api 0.1.0; the service answers (3.0 s)")
        self.assertEqual(line("h1", "0.1.0", "0.1.0", 1.0, auth_data="unchanged").line(),
                         "h1: occo-api 0.1.0 was there already; nothing changed; "
                         "/etc/occopus/auth_data.yaml unchanged; the service answers (1.0 s)")
        self.assertEqual(line("h1", "0.1.0", "0.1.1", 2.0).line(),
                         "h1: occo-api 0.1.0 -> 0.1.1; the installer's --rollback goes back; "
                         "the service answers (2.0 s)")
        self.assertEqual(line("h1", None, None, 0.5, "ssh h1: refused").line(),
                         "h1: FAILED (0.5 s): ssh h1: refused")

    def test_without_a_record_nothing_is_deployed_unless_forced(self):
        repo = self.repo
        with self.assertRaisesRegex(DevError, r"^refusing to deploy what the last green test "
                                              r"run did not test: no green test run"):
            deploy.plan(repo, None, False, None, None)
        with self.assertRaisesRegex(DevError, "the private index is not running"):
            deploy.plan(repo, None, True, None, None)


if __name__ == "__main__":
    unittest.main()
