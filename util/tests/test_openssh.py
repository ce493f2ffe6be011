import os
import stat
import tempfile
import unittest
from pathlib import Path

from occo.util.ssh.openssh import key_file, openssh_options


class OpensshTest(unittest.TestCase):
    def test_the_key_is_private_and_ends_its_last_line_as_openssh_requires(self):
        with tempfile.TemporaryDirectory() as folder:
            for text in ("-----BEGIN KEY-----\nAAAA\n-----END KEY-----",
                         "-----BEGIN KEY-----\nAAAA\n-----END KEY-----\n\n"):
                with self.subTest(text=text):
                    key = key_file(Path(folder), text)
                    self.assertEqual(key.read_text(),
                                     "-----BEGIN KEY-----\nAAAA\n-----END KEY-----\n")
                    self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)

    def test_the_client_checks_host_keys_against_the_given_file_only(self):
        options = openssh_options(Path("/k/known"), 0.2)
        pairs = dict(zip(options[::2], options[1::2]))
        self.assertEqual(pairs["-F"], "/dev/null")
        said = [value for flag, value in zip(options[::2], options[1::2]) if flag == "-o"]
        for expected in ("UserKnownHostsFile=/k/known", "StrictHostKeyChecking=yes",
                         "GlobalKnownHostsFile=/dev/null", "IdentitiesOnly=yes",
                         "ConnectTimeout=1"):
            self.assertIn(expected, said)
