import os
import tempfile
import textwrap
import unittest
from pathlib import Path
from unittest import mock

from occo.infobroker import auth
from occo.infobroker.auth import AmbiguousAuthData, AuthData
from occo.util.errors import ConfigurationError, SchemaError

TUTORIALS = Path(__file__).resolve().parents[2].parent / "shared" / "compat" / "occopus-tutorials"

TWO_EC2 = """\
resource:
    - type: ec2
      endpoint: https://a.example
      auth_data: {accesskey: key-a, secretkey: SECRET-A}
    - type: ec2
      endpoint: https://b.example
      auth_data: {accesskey: key-b, secretkey: SECRET-B}
    - type: nova
      auth_data: {username: u, password: SECRET-N}
config_management:
    - type: chef
      auth_data: {client_name: me, client_key: !text_import {url: file://client.pem}}
"""


class AuthFileTest(unittest.TestCase):
    def setUp(self):
        scratch = tempfile.TemporaryDirectory()
        self.addCleanup(scratch.cleanup)
        self.folder = Path(scratch.name)
        (self.folder / "client.pem").write_text("-----BEGIN RSA PRIVATE KEY-----\n")

    def auth(self, text):
        path = self.folder / "auth_data.yaml"
        path.write_text(textwrap.dedent(text))
        return AuthData(path)


class SelectTest(AuthFileTest):
    def test_the_tutorial_auth_file(self):
        path = TUTORIALS / ".occopus" / "auth_data.yaml"
        if not path.is_file():
            self.skipTest(f"the compatibility corpus is absent ({TUTORIALS})")
        data = AuthData(path)
        self.assertEqual(data.select("resource", {"type": "ec2", "endpoint": "e", "image_id": "i"}),
                         {"accesskey": "your_access_key", "secretkey": "your_secret_key"})
        self.assertEqual(data.select("resource", {"type": "nova"}),
                         {"username": "your_username", "password": "your_password"})
        self.assertIsNone(data.select("resource", {"type": "docker"}))
        self.assertIsNone(data.select("config_management", {"type": "chef"}))

    def test_the_filter_must_be_a_sub_dict_of_the_node_section(self):
        data = self.auth(TWO_EC2)
        self.assertEqual(data.select("resource", {"type": "ec2", "endpoint": "https://b.example",
                                                  "image_id": "ami-1"}),
                         {"accesskey": "key-b", "secretkey": "SECRET-B"})
        self.assertIsNone(data.select("resource", {"type": "ec2", "endpoint": "https://c.example"}))
        self.assertIsNone(data.select("resource", {"type": "ec2"}))     # endpoint missing
        self.assertIsNone(data.select("resource", {"endpoint": "https://a.example"}))

    def test_sections_are_separate_and_text_imports_are_read(self):
        data = self.auth(TWO_EC2)
        self.assertIsNone(data.select("resource", {"type": "chef"}))
        self.assertEqual(data.select("config_management", {"type": "chef", "endpoint": "x"}),
                         {"client_name": "me", "client_key": "-----BEGIN RSA PRIVATE KEY-----\n"})

    def test_an_entry_without_filter_fits_every_node(self):
        data = self.auth("resource:\n  - auth_data: {token: t}\n")
        self.assertEqual(data.select("resource", {"type": "docker"}), {"token": "t"})

    def test_more_than_one_fitting_entry_names_their_positions_but_not_the_secrets(self):
        data = self.auth("""\
            resource:
                - type: ec2
                  auth_data: {accesskey: key-a, secretkey: SECRET-A}
                - type: ec2
                  endpoint: https://b.example
                  auth_data: {accesskey: key-b, secretkey: SECRET-B}
            """)
        with self.assertRaises(AmbiguousAuthData) as raised:
            data.select("resource", {"type": "ec2", "endpoint": "https://b.example"})
        text = str(raised.exception)
        self.assertIn("auth_data.yaml:2:", text)
        self.assertIn("auth_data.yaml:4:", text)
        self.assertIn("endpoint=https://b.example", text)
        for secret in ("key-a", "key-b", "SECRET-A", "SECRET-B"):
            self.assertNotIn(secret, text)
        self.assertEqual(raised.exception.location.line, 2)

    def test_the_answer_is_a_copy(self):
        data = self.auth(TWO_EC2)
        node = {"type": "nova"}
        data.select("resource", node)["password"] = "changed"
        self.assertEqual(data.select("resource", node)["password"], "SECRET-N")

    def test_an_unknown_section_is_a_programming_error(self):
        with self.assertRaises(ValueError):
            self.auth(TWO_EC2).select("resources", {"type": "ec2"})

    def test_an_empty_file_has_no_credentials(self):
        self.assertIsNone(self.auth("").select("resource", {"type": "ec2"}))


class RememberedSecretsTest(AuthFileTest):
    def test_only_values_under_secret_keys_are_hidden_everywhere(self):
        from occo.util.redact import known_secrets
        self.auth("""\
            resource:
                - type: nova
                  auth_data: {username: ubuntu-admin, password: SECRET-NOVA-42}
            """).select("resource", {"type": "nova"})
        self.assertIn("SECRET-NOVA-42", known_secrets())
        self.assertNotIn("ubuntu-admin", known_secrets())


class RereadTest(AuthFileTest):
    def test_the_file_is_read_once_and_again_only_when_it_changes(self):
        data = self.auth("resource:\n  - {type: nova, auth_data: {password: one}}\n")
        node = {"type": "nova"}
        with mock.patch.object(auth, "load_file", wraps=auth.load_file) as load:
            for _ in range(3):
                self.assertEqual(data.select("resource", node), {"password": "one"})
            self.assertEqual(load.call_count, 1)
            data.path.write_text("resource:\n  - {type: nova, auth_data: {password: three}}\n")
            self.assertEqual(data.select("resource", node), {"password": "three"})
            self.assertEqual(load.call_count, 2)
            # same size, only the modification time differs
            stat = data.path.stat()
            data.path.write_text("resource:\n  - {type: nova, auth_data: {password: other}}\n")
            os.utime(data.path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
            self.assertEqual(data.select("resource", node), {"password": "other"})
            self.assertEqual(load.call_count, 3)

    def test_a_vanished_file_is_a_configuration_error(self):
        data = self.auth(TWO_EC2)
        data.path.unlink()
        with self.assertRaises(ConfigurationError) as raised:
            data.select("resource", {"type": "ec2"})
        self.assertIn(str(data.path), str(raised.exception))


class FormatTest(AuthFileTest):
    def test_every_problem_is_reported_with_its_position_and_no_secret(self):
        data = self.auth("""\
            resources:
                - type: ec2
            resource:
                - type: ec2
                - just a string
                - type: nova
                  auth_data: hunter2
            config_management: {type: chef}
            """)
        with self.assertRaises(SchemaError) as raised:
            data.select("resource", {"type": "ec2"})
        problems = raised.exception.problems
        by_line = {problem.location.line: problem for problem in problems}
        self.assertEqual(sorted(by_line), [1, 4, 5, 7, 8], [str(p) for p in problems])
        self.assertEqual(by_line[1].hint, "did you mean 'resource'?")
        self.assertIn("missing key 'auth_data' in entry 1 of 'resource'", by_line[4].message)
        self.assertIn("entry 2 of 'resource' must be a mapping", by_line[5].message)
        self.assertIn("'auth_data' in entry 3 of 'resource' must be a mapping", by_line[7].message)
        self.assertIn("'config_management'", by_line[8].message)
        self.assertNotIn("hunter2", str(raised.exception))

    def test_a_broken_file_stays_an_error_until_it_is_fixed(self):
        data = self.auth("resource:\n  - {type: ec2}\n")
        for _ in range(2):
            with self.assertRaises(SchemaError):
                data.select("resource", {"type": "ec2"})
        data.path.write_text("resource:\n  - {type: ec2, auth_data: {accesskey: fixed}}\n")
        self.assertEqual(data.select("resource", {"type": "ec2"}), {"accesskey": "fixed"})
