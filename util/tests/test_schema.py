import unittest

from occo.util.schema import Field, Problems, Schema, check, did_you_mean, with_defaults
from occo.util.yamlload import load_text

PORT = Schema("server", {
    "host": Field("str", required=True, doc="where it listens"),
    "port": Field("int", default=80),
    "tags": Field("list", items="str"),
    "tls": Field("mapping", schema=Schema("tls", {"cert": Field("str", required=True)})),
    "password": Field("str"),
    "key": Field("str"),
}, one_of=(("password", "key"),))


def problems_of(text):
    problems = Problems()
    check(load_text(text, source="s.yaml"), PORT, "the server", problems)
    return [(str(p.location), p.message, p.hint) for p in problems]


class CheckTest(unittest.TestCase):
    def test_valid_data_has_no_problems(self):
        self.assertEqual(problems_of("host: h\nport: 8080\ntags: [a]\npassword: p\n"), [])

    def test_every_problem_is_collected_with_position_and_hint(self):
        found = problems_of("prot: 1\nport: eighty\ntags: [a, 3]\ntls: {}\n")
        self.assertEqual(found, [
            ("s.yaml:1:1", "unknown key 'prot' in the server", "did you mean 'port'?"),
            ("s.yaml:1:1", "missing key 'host' in the server", "where it listens"),
            ("s.yaml:2:7", "'port' in the server must be a whole number, not str 'eighty'", None),
            ("s.yaml:3:11", "item 2 of 'tags' in the server must be a string, not int 3", None),
            ("s.yaml:4:6", "missing key 'cert' in 'tls' in the server", None),
            ("s.yaml:1:1", "the server needs one of: password, key", None),
        ])

    def test_an_empty_optional_value_counts_as_unset(self):
        self.assertEqual(problems_of("host: h\ntags:\nkey: k\n"), [])

    def test_an_empty_required_value_is_a_problem(self):
        self.assertEqual(problems_of("host:\nkey: k\n"),
                         [("s.yaml:1:6", "'host' in the server has no value", "where it listens")])

    def test_unknown_keys_without_a_close_match_list_the_allowed_ones(self):
        [(_, _, hint)] = problems_of("host: h\nkey: k\nzzz: 1\n")
        self.assertEqual(hint, "the keys allowed here are: host, port, tags, tls, password, key")

    def test_open_schemas_allow_unknown_keys(self):
        problems = Problems()
        check({"anything": 1}, Schema("free", {}, open=True), "free", problems)
        self.assertEqual(problems, [])

    def test_booleans_are_not_numbers(self):
        self.assertIn("must be a whole number, not bool True",
                      problems_of("host: h\nport: true\nkey: k\n")[0][1])


class HelpersTest(unittest.TestCase):
    def test_did_you_mean_only_for_close_words(self):
        self.assertEqual(did_you_mean("scalng", ["scaling", "nodes"]), "did you mean 'scaling'?")
        self.assertIsNone(did_you_mean("xyz", ["scaling", "nodes"]))

    def test_defaults_fill_only_absent_keys(self):
        self.assertEqual(with_defaults({"host": "h"}, PORT), {"host": "h", "port": 80})
        self.assertEqual(with_defaults({"port": 1}, PORT), {"port": 1})


class ConnectionKeysTest(unittest.TestCase):
    def test_the_keys_marked_connection_in_their_order(self):
        schema = Schema("resource x", {"type": Field("str"),
                                       "endpoint": Field("scalar", connection=True),
                                       "image": Field("scalar"),
                                       "region": Field("scalar", connection=True)})
        self.assertEqual(schema.connection_keys, ("endpoint", "region"))
