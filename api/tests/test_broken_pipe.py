"""A reader that closes stdout early (`occopus-maintain -l | head -1`): a quiet exit."""
import subprocess
import sys
import textwrap
import unittest

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


if __name__ == "__main__":
    unittest.main()
