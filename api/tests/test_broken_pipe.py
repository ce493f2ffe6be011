"""A reader that closes stdout early (`occopus-maintain -l | head -1`): a quiet exit."""
import os
import subprocess
import tempfile
import sys
import textwrap
import unittest
from pathlib import Path

from occo.api.cli import EXIT_BROKEN_PIPE

# a command whose output is far more than a pipe holds, so that it writes after the reader left
CHILD = textwrap.dedent("""
    import sys
    from occo.api.cli import run_command
    def body(argv):
        for index in range(200000):
            print(f"  infra-{index:06d}")
        return 0
    sys.exit(run_command("occopus-x", body, []))
""")


# a command whose own pipe to a child breaks while its stdout is fine
OTHER_PIPE = textwrap.dedent("""
    import os, sys
    from occo.api.cli import run_command
    def body(argv):
        read, write = os.pipe()
        os.close(read)
        os.write(write, b"x")
        return 0
    sys.exit(run_command("occopus-x", body, []))
""")


class BrokenPipeTest(unittest.TestCase):
    def test_a_closed_stdout_ends_the_command_quietly(self):
        child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
        first = child.stdout.readline()
        child.stdout.close()            # as `head -1` does
        stderr = child.stderr.read().decode()
        code = child.wait(timeout=60)
        self.assertEqual(first, b"  infra-000000\n")
        self.assertEqual(stderr, "")    # no traceback, no "Exception ignored" line
        self.assertEqual(code, EXIT_BROKEN_PIPE)

    def test_a_broken_pipe_other_than_stdout_is_a_failure_not_a_quiet_exit(self):
        env = {key: value for key, value in os.environ.items() if key != "OCCOPUS_LOG_DIR"}
        child = subprocess.run([sys.executable, "-c", OTHER_PIPE], capture_output=True,
                               text=True, timeout=60, env={**env, "HOME": self.home})
        self.assertEqual(child.returncode, 1, child.stderr)
        self.assertIn("occopus-x: internal error; the details are in", child.stderr)
        [log] = (Path(self.home) / ".occopus" / "crash").iterdir()
        self.assertIn("BrokenPipeError", log.read_text())

    def setUp(self):
        home = tempfile.TemporaryDirectory()
        self.addCleanup(home.cleanup)
        self.home = home.name


if __name__ == "__main__":
    unittest.main()
