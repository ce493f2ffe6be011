"""Crash logs: private, never written through a planted symlink, no secret in them."""
import io
import os
import stat
import tempfile
import unittest
from contextlib import redirect_stderr
from pathlib import Path
from unittest import mock

from occo.api.cli import EXIT_ERROR, run_command
from occo.util.redact import remember_secrets


def crash(message):
    def body(argv):
        raise RuntimeError(message)
    return body


class CrashLogCase(unittest.TestCase):
    def setUp(self):
        scratch = tempfile.TemporaryDirectory()
        self.addCleanup(scratch.cleanup)
        self.home = Path(scratch.name) / "home"
        self.home.mkdir()
        environ = {key: value for key, value in os.environ.items()
                   if key != "OCCOPUS_LOG_DIR"}
        patcher = mock.patch.dict(os.environ, {**environ, "HOME": str(self.home)}, clear=True)
        patcher.start()
        self.addCleanup(patcher.stop)
        self.folder = self.home / ".occopus" / "crash"

    def run_crash(self, message="oops"):
        err = io.StringIO()
        with redirect_stderr(err):
            code = run_command("occopus-x", crash(message), [])
        self.assertEqual(code, EXIT_ERROR)
        self.assertNotIn("Traceback", err.getvalue())
        return err.getvalue()


class CrashLogTest(CrashLogCase):
    def test_a_log_goes_to_a_private_folder_of_the_user_as_a_private_file(self):
        old = os.umask(0)       # a permissive umask changes nothing
        try:
            message = self.run_crash()
        finally:
            os.umask(old)
        [log] = self.folder.iterdir()
        self.assertIn(str(log), message)
        self.assertIn("RuntimeError: oops", log.read_text())
        self.assertEqual(stat.S_IMODE(self.folder.stat().st_mode), 0o700)
        self.assertEqual(stat.S_IMODE((self.home / ".occopus").stat().st_mode), 0o700)
        self.assertEqual(stat.S_IMODE(log.stat().st_mode), 0o600)

    def test_two_crashes_of_one_process_in_one_second_get_two_logs(self):
        with mock.patch("time.strftime", return_value="20260101-000000"):
            self.run_crash("first")
            self.run_crash("second")
        self.assertEqual(len(list(self.folder.iterdir())), 2)

    def test_a_folder_others_can_read_is_tightened(self):
        self.folder.mkdir(parents=True, mode=0o755)
        os.chmod(self.folder, 0o755)
        self.run_crash()
        self.assertEqual(stat.S_IMODE(self.folder.stat().st_mode), 0o700)

    def test_a_crash_folder_of_another_user_is_refused_and_nothing_is_written_there(self):
        (self.home / ".occopus").mkdir()
        self.folder.mkdir()
        with mock.patch("os.geteuid", return_value=os.geteuid() + 1):
            message = self.run_crash()
        self.assertIn("no crash log could be written", message)
        self.assertIn("belongs to another user", message)
        self.assertEqual(list(self.folder.iterdir()), [])

    def test_a_planted_symlink_at_a_predictable_name_is_never_followed(self):
        victim = self.home / "victim"
        victim.write_text("precious")
        self.folder.mkdir(parents=True)
        with mock.patch("time.strftime", return_value="20260101-000000"), \
                mock.patch("secrets.token_hex", side_effect=["planted", "fresh"]):
            (self.folder / f"occopus-x-crash-20260101-000000-{os.getpid()}-planted.log"
             ).symlink_to(victim)
            message = self.run_crash()
        self.assertEqual(victim.read_text(), "precious")
        written = self.folder / f"occopus-x-crash-20260101-000000-{os.getpid()}-fresh.log"
        self.assertIn(str(written), message)
        self.assertIn("RuntimeError", written.read_text())

    def test_url_passwords_and_credentials_read_are_hidden_in_the_log(self):
        remember_secrets({"auth_data": {"secretkey": "s3cr3t-key-value"}})
        self.run_crash("cannot reach https://admin:hunter22@cloud.example/ with s3cr3t-key-value")
        [log] = self.folder.iterdir()
        text = log.read_text()
        self.assertIn("https://admin:***@cloud.example/", text)
        self.assertNotIn("hunter22", text)
        self.assertNotIn("s3cr3t-key-value", text)

    def test_occopus_log_dir_is_used_when_set(self):
        chosen = self.home / "logs"
        with mock.patch.dict(os.environ, {"OCCOPUS_LOG_DIR": str(chosen)}):
            self.run_crash()
        self.assertEqual(len(list(chosen.iterdir())), 1)
        self.assertEqual(stat.S_IMODE(chosen.stat().st_mode), 0o700)


if __name__ == "__main__":
    unittest.main()
