import copy
import json
import tempfile
import unittest
from pathlib import Path

from occo.util.yamlload import (YamlError, YamlList, YamlMap, key_location, load_file, load_text,
                                location_of, to_plain)


class PositionsTest(unittest.TestCase):
    def setUp(self):
        self.data = load_text("a: 1\nb:\n  - x\n  - {c: 2}\n", source="f.yaml")

    def test_values_keys_and_items_know_their_line_and_column(self):
        self.assertEqual(str(location_of(self.data, "b")), "f.yaml:3:3")
        self.assertEqual(str(key_location(self.data, "b")), "f.yaml:2:1")
        self.assertEqual(str(location_of(self.data["b"], 1)), "f.yaml:4:5")
        self.assertEqual(str(location_of(self.data["b"][1])), "f.yaml:4:5")

    def test_loaded_data_is_plain_dicts_and_lists_to_everyone_else(self):
        self.assertIsInstance(self.data, dict)
        self.assertIsInstance(self.data["b"], list)
        self.assertEqual(self.data, {"a": 1, "b": ["x", {"c": 2}]})
        self.assertEqual(json.loads(json.dumps(self.data)), {"a": 1, "b": ["x", {"c": 2}]})
        self.assertIs(type(to_plain(self.data)), dict)

    def test_deep_copies_keep_positions(self):
        copied = copy.deepcopy(self.data)
        self.assertIsInstance(copied, YamlMap)
        self.assertIsInstance(copied["b"], YamlList)
        self.assertEqual(location_of(copied, "b"), location_of(self.data, "b"))

    def test_an_alias_is_the_same_object_as_its_anchor(self):
        data = load_text("nodes:\n  - &A {name: a}\ndeps:\n  - [*A]\n")
        self.assertIs(data["deps"][0][0], data["nodes"][0])


class SafetyTest(unittest.TestCase):
    def assert_error(self, text, fragment, where):
        with self.assertRaises(YamlError) as caught:
            load_text(text, source="f.yaml")
        self.assertIn(fragment, str(caught.exception))
        self.assertEqual(str(caught.exception.location), where)

    def test_python_object_tags_are_refused(self):
        self.assert_error("a: !!python/object/apply:os.system ['true']\n",
                          "unsupported tag '!!python/object/apply:os.system'", "f.yaml:1:4")

    def test_unknown_local_tags_are_refused(self):
        self.assert_error("a: !UDS {protocol: redis}\n", "unsupported tag '!UDS'", "f.yaml:1:4")

    def test_syntax_errors_have_a_position(self):
        self.assert_error("a: [1, 2\nb: 3\n", "not valid YAML", "f.yaml:2:2")

    def test_duplicate_keys_are_refused(self):
        self.assert_error("a: 1\nb: 2\na: 3\n", "duplicate key 'a' (first at f.yaml:1:1)", "f.yaml:3:1")

    def test_a_list_as_key_is_refused(self):
        self.assert_error("? [1]\n: x\n", "must be a plain value", "f.yaml:1:3")

    def test_a_missing_file_is_a_clear_error(self):
        with self.assertRaises(YamlError) as caught:
            load_file("/nonexistent/infra.yaml")
        self.assertIn("file not found: /nonexistent/infra.yaml", str(caught.exception))


class ImportTest(unittest.TestCase):
    def setUp(self):
        scratch = tempfile.TemporaryDirectory()
        self.addCleanup(scratch.cleanup)
        self.folder = Path(scratch.name)
        (self.folder / "nodes").mkdir()

    def write(self, name, text):
        path = self.folder / name
        path.write_text(text)
        return path

    def test_yaml_import_is_parsed_relative_to_the_including_file(self):
        self.write("nodes/init.yaml", "#cloud-config\nruncmd: [echo hi]\n")
        main = self.write("nodes/defs.yaml", "t: !yaml_import {url: file://init.yaml}\n")
        data = load_file(main)
        self.assertEqual(data["t"], {"runcmd": ["echo hi"]})
        self.assertTrue(str(location_of(data["t"], "runcmd")).endswith("nodes/init.yaml:2:9"))

    def test_text_import_is_the_raw_text(self):
        self.write("key.pem", "-----BEGIN KEY-----\nabc\n")
        data = load_file(self.write("auth.yaml", "key: !text_import\n  url: file://key.pem\n"))
        self.assertEqual(data["key"], "-----BEGIN KEY-----\nabc\n")

    def test_an_import_cycle_is_an_error(self):
        self.write("a.yaml", "x: !yaml_import {url: file://b.yaml}\n")
        self.write("b.yaml", "y: !yaml_import {url: file://a.yaml}\n")
        with self.assertRaises(YamlError) as caught:
            load_file(self.folder / "a.yaml")
        self.assertIn("!yaml_import cycle", str(caught.exception))

    def test_only_file_urls_and_existing_files(self):
        main = self.write("m.yaml", "a: !yaml_import {url: 'https://example.org/x.yaml'}\n")
        with self.assertRaises(YamlError) as caught:
            load_file(main)
        self.assertIn("only file:// URLs", str(caught.exception))
        main = self.write("n.yaml", "a: !text_import {url: 'file://missing.txt'}\n")
        with self.assertRaises(YamlError) as caught:
            load_file(main)
        self.assertIn("file not found", str(caught.exception))
        self.assertIn("relative to the file that imports it", str(caught.exception))

    def test_lenient_tags_read_the_original_config_format(self):
        path = self.write("cfg.yaml", "plugins: !python_import [occo.x]\n"
                                      "uds: !UDS {protocol: redis, port: 6379}\n")
        self.assertEqual(load_file(path, lenient_tags=True),
                         {"plugins": ["occo.x"], "uds": {"protocol": "redis", "port": 6379}})
