import os
import socket
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

from occo.api.cli import EXIT_ERROR, EXIT_INTERRUPTED, run_command
from occo.util.errors import OccoError, SourceLocation

COMMANDS = ["occopus-build", "occopus-destroy", "occopus-import", "occopus-maintain",
            "occopus-scale", "occopus-rest-service", "occopus-events", "occopus-run"]


def run_script(name, *args):
    """Run an installed console script from this environment."""
    script = Path(sys.executable).with_name(name)
    return subprocess.run([str(script), *args], capture_output=True, text=True, timeout=60)


class ConsoleScriptTest(unittest.TestCase):
    def test_every_command_is_installed_and_answers_help(self):
        for name in COMMANDS:
            with self.subTest(name):
                result = run_script(name, "--help")
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertIn(f"usage: {name}", result.stdout)

    def test_missing_arguments_are_a_usage_error(self):
        result = run_script("occopus-destroy")
        self.assertEqual(result.returncode, 2)
        self.assertIn("-i/--infra_id", result.stderr)

    def test_scale_options_exclude_each_other(self):
        result = run_script("occopus-scale", "-i", "x", "-n", "app", "-c", "1", "-s", "2")
        self.assertEqual(result.returncode, 2)
        self.assertIn("not allowed with argument", result.stderr)

    def test_the_rest_service_refuses_a_port_in_use_in_one_line(self):
        with tempfile.TemporaryDirectory() as home, socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            result = subprocess.run([str(Path(sys.executable).with_name("occopus-rest-service")),
                                     "--port", str(port)], capture_output=True, text=True,
                                    timeout=60, env={**os.environ, "HOME": home}, cwd=home)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn(f"cannot listen on 127.0.0.1 port {port}", result.stderr)
        self.assertNotIn("Traceback", result.stderr)


class RunCommandTest(unittest.TestCase):
    def test_occo_error_is_one_line_on_stderr_with_exit_1(self):
        def body(argv):
            raise OccoError("bad key", location=SourceLocation("i.yaml", 2, 3))
        with tempfile.TemporaryFile("w+") as err:
            saved, sys.stderr = sys.stderr, err
            try:
                code = run_command("occopus-x", body, [])
            finally:
                sys.stderr = saved
            err.seek(0)
            self.assertEqual(code, EXIT_ERROR)
            self.assertEqual(err.read(), "occopus-x: error: i.yaml:2:3: bad key\n")

    def test_interrupt_exits_130(self):
        def body(argv):
            raise KeyboardInterrupt
        with open(os.devnull, "w") as null:
            saved, sys.stderr = sys.stderr, null
            try:
                self.assertEqual(run_command("occopus-x", body, []), EXIT_INTERRUPTED)
            finally:
                sys.stderr = saved

    def test_a_bug_goes_to_a_crash_log_not_to_the_terminal(self):
        def body(argv):
            raise ZeroDivisionError("oops")
        with tempfile.TemporaryDirectory() as logs, tempfile.TemporaryFile("w+") as err:
            os.environ["OCCOPUS_LOG_DIR"] = logs
            saved, sys.stderr = sys.stderr, err
            try:
                code = run_command("occopus-x", body, [])
            finally:
                sys.stderr = saved
                del os.environ["OCCOPUS_LOG_DIR"]
            err.seek(0)
            message = err.read()
            self.assertEqual(code, EXIT_ERROR)
            self.assertNotIn("Traceback", message)
            [log] = Path(logs).iterdir()
            self.assertIn(str(log), message)
            self.assertIn("ZeroDivisionError: oops", log.read_text())
