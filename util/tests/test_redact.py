import unittest
from dataclasses import dataclass, field

from occo.util.redact import (REDACTED, hide, is_secret_key, redact, redact_url,
                              secret_values)
from occo.util.yamlload import load_text

SECRET_KEYS = [
    "password", "pass", "passwd", "pwd", "secret", "secretkey", "accesskey", "client_secret",
    "client_key", "api_key", "token", "access_token", "vnc_password", "admin_password",
    "aws_secret_key", "access_key", "private_key", "passphrase", "auth_data", "authData",
    "Client-Secret", "PASSWORD", "credentials",
]
HARMLESS_KEYS = [
    "key_name", "ssh_key_data", "public_key", "keypair", "username", "user", "email", "client_id",
    "tenant_id", "endpoint", "type", "name", "password_file", "token_url", "bypass", "tokens",
    "host", "id", 7, None,
]


class SecretKeyTableTest(unittest.TestCase):
    def test_secret_keys(self):
        for key in SECRET_KEYS:
            with self.subTest(key=key):
                self.assertTrue(is_secret_key(key))

    def test_harmless_keys(self):
        for key in HARMLESS_KEYS:
            with self.subTest(key=key):
                self.assertFalse(is_secret_key(key))


class RedactTest(unittest.TestCase):
    def test_each_secret_key_is_masked_and_each_harmless_key_kept(self):
        for key in SECRET_KEYS:
            with self.subTest(key=key):
                self.assertEqual(redact({key: "hunter2"}), {key: REDACTED})
        for key in HARMLESS_KEYS:
            with self.subTest(key=key):
                self.assertEqual(redact({key: "visible"}), {key: "visible"})

    def test_the_whole_auth_data_subtree_is_masked_but_keeps_its_shape(self):
        entry = {"type": "nova",
                 "auth_data": {"type": "application_credential", "id": "abc", "secret": "s",
                               "scopes": ["a", {"x": 1}]}}
        self.assertEqual(redact(entry), {
            "type": "nova",
            "auth_data": {"type": REDACTED, "id": REDACTED, "secret": REDACTED,
                          "scopes": [REDACTED, {"x": REDACTED}]}})

    def test_secrets_are_found_at_any_depth_and_in_lists(self):
        node = {"health_check": {"mysqldbs": [{"name": "db", "user": "u", "pass": "p"}]},
                "resource": {"type": "cloudsigma", "description": {"vnc_password": "v", "cpu": 2}}}
        self.assertEqual(redact(node), {
            "health_check": {"mysqldbs": [{"name": "db", "user": "u", "pass": REDACTED}]},
            "resource": {"type": "cloudsigma", "description": {"vnc_password": REDACTED, "cpu": 2}}})

    def test_a_missing_secret_stays_none(self):
        self.assertEqual(redact({"password": None, "token": ""}), {"password": None, "token": REDACTED})

    def test_the_input_is_not_changed_and_the_copy_shares_nothing(self):
        original = {"nodes": [{"auth_data": {"password": "p"}, "tags": {"a": "b"}}]}
        copy = redact(original)
        copy["nodes"][0]["tags"]["a"] = "changed"
        self.assertEqual(original, {"nodes": [{"auth_data": {"password": "p"}, "tags": {"a": "b"}}]})

    def test_collections_keep_their_type(self):
        result = redact({"values": ("a", "b"), "set": frozenset({"x"}), "secret": ("p", "q")})
        self.assertEqual(result, {"values": ("a", "b"), "set": frozenset({"x"}),
                                  "secret": (REDACTED, REDACTED)})

    def test_yaml_mappings_become_plain_dicts(self):
        data = load_text("resource:\n  - type: ec2\n    auth_data: {accesskey: a, secretkey: s}\n")
        result = redact(data)
        self.assertIs(type(result), dict)
        self.assertIs(type(result["resource"]), list)
        self.assertEqual(result["resource"][0]["auth_data"],
                         {"accesskey": REDACTED, "secretkey": REDACTED})

    def test_dataclass_fields_are_redacted_in_a_copy(self):
        @dataclass(frozen=True)
        class Conn:
            url: str
            password: str
            options: dict = field(default_factory=dict)

        conn = Conn("redis://u:pw@h:6379/0", "p", {"api_key": "k", "timeout": 3})
        self.assertEqual(redact(conn), Conn("redis://u:***@h:6379/0", REDACTED,
                                            {"api_key": REDACTED, "timeout": 3}))
        self.assertEqual(conn.password, "p")

    def test_strings_outside_secret_keys_have_their_urls_redacted(self):
        self.assertEqual(redact({"url": "mongodb://admin:pw@db:27017/occopus"}),
                         {"url": "mongodb://admin:***@db:27017/occopus"})

    def test_scalars_pass_through(self):
        for value in (3, 2.5, True, None, "plain text"):
            with self.subTest(value=value):
                self.assertEqual(redact(value), value)


class RedactUrlTest(unittest.TestCase):
    CASES = [
        ("redis://:pw@localhost:6379/0", "redis://:***@localhost:6379/0"),
        ("redis://user:pw@localhost:6379/0", "redis://user:***@localhost:6379/0"),
        ("mongodb://u:p%40ss@h1,h2/db?replicaSet=rs", "mongodb://u:***@h1,h2/db?replicaSet=rs"),
        ("https://h/api?token=abc&page=2", "https://h/api?token=***&page=2"),
        ("https://h/api?page=2&api_key=abc", "https://h/api?page=2&api_key=***"),
        ("redis://localhost:6379/0", "redis://localhost:6379/0"),
        ("https://user@host/path", "https://user@host/path"),
        ("http://host:8080/path@x", "http://host:8080/path@x"),
        ("cannot reach redis://a:b@h:1 (refused) and https://c:d@e/",
         "cannot reach redis://a:***@h:1 (refused) and https://c:***@e/"),
        ("not a url ?token=x", "not a url ?token=x"),
        ("redis://u:p@ss@host/0", "redis://u:***@host/0"),      # to the last @ before the host
        ("see https://u:pw@h/x, mail a@b.c", "see https://u:***@h/x, mail a@b.c"),
    ]

    def test_cases(self):
        for url, expected in self.CASES:
            with self.subTest(url=url):
                self.assertEqual(redact_url(url), expected)


class HideTest(unittest.TestCase):
    def test_the_values_redact_hides_are_found_for_free_text(self):
        found = secret_values({"auth_data": {"user": "alice", "password": "s3cr3t-pw"},
                               "endpoint": "https://cloud", "vnc_password": "vnc-pass",
                               "token": "abc", "ports": ["1234", None]})
        self.assertEqual(found, {"alice", "s3cr3t-pw", "vnc-pass"}, "too short to hide: abc")

    def test_masked_values_are_all_secret(self):
        self.assertEqual(secret_values({"accesskey": "AKIA1234", "region": "eu-west-1"},
                                       masked=True), {"AKIA1234", "eu-west-1"})

    def test_hide_replaces_the_longest_first_and_url_passwords(self):
        text = hide("login s3cr3t-pw-long with s3cr3t at https://bob:hunter22@cloud/",
                    {"s3cr3t", "s3cr3t-pw-long"})
        self.assertEqual(text, "login *** with *** at https://bob:***@cloud/")
