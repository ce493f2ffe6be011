import copy
import gc
import json
import os
import tempfile
import threading
import unittest
from pathlib import Path
from unittest import mock

from occo.util import yamlload
from occo.util.limits import LoadLimits
from occo.util.yamlload import (YamlError, YamlLimitError, YamlList, YamlMap, key_location,
                                load_file, load_text, location_of, to_plain)


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


def laughs(indent="  ", levels=9):
    """The billion-laughs shape: each level lists ten aliases of the one before."""
    lines = [f"{indent}l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, levels):
        aliases = ", ".join([f"*l{level - 1}"] * 10)
        lines.append(f"{indent}l{level}: &l{level} [{aliases}]")
    return "\n".join(lines) + "\n"


class BoundsTest(unittest.TestCase):
    def refused(self, text, limits=None):
        with self.assertRaises(YamlLimitError) as caught:
            load_text(text, source="f.yaml", limits=limits)
        return caught.exception

    def test_an_alias_bomb_under_variables_is_refused_at_the_alias_that_passes_the_bound(self):
        error = self.refused("infra_name: x\nvariables:\n" + laughs() + "nodes: []\n")
        # l4 holds 111,111 values: the eighth alias of it in l5 passes 1,000,000
        self.assertEqual(str(error.location), "f.yaml:8:47")
        self.assertIn("alias *l4 repeats 111,111 values", error.message)
        self.assertIn("more than 1,000,000 values", error.message)
        self.assertIn("max_values", error.hint)

    def test_an_alias_bomb_in_a_node_definition_template_is_refused(self):
        text = ("'node_def:web':\n  - resource: {type: cloud}\n    contextualisation:\n"
                "      type: cloudinit\n      context_template:\n" + laughs(" " * 8))
        error = self.refused(text)
        self.assertEqual(error.location.file, "f.yaml")
        self.assertIn("alias *l", error.message)

    def test_a_document_with_too_many_values_is_refused_without_aliases(self):
        text = "a: [" + ", ".join(["1"] * 50) + "]\n"
        error = self.refused(text, LoadLimits(max_values=20))
        self.assertEqual(str(error.location), "f.yaml:1:" + str(5 + 3 * 17))
        self.assertIn("more than 20 values", error.message)

    def test_a_text_larger_than_max_bytes_is_refused(self):
        error = self.refused("a: " + "x" * 100 + "\n", LoadLimits(max_bytes=50))
        self.assertIn("more than 50 bytes", error.message)

    def test_deep_nesting_is_an_error_not_a_crash(self):
        error = self.refused("a: " + "[" * 100_000)
        self.assertEqual(str(error.location), "f.yaml:1:103")
        self.assertIn("nested more than 100 deep", error.message)
        block = "".join("  " * level + f"k{level}:\n" for level in range(3000)) + "  " * 3000 + "x"
        self.assertIn("nested more than 100 deep", self.refused(block).message)

    def test_an_alias_inside_its_own_anchor_is_refused(self):
        with self.assertRaises(YamlError) as caught:
            load_text("a: &a [1, *a]\n", source="f.yaml")
        self.assertEqual(str(caught.exception.location), "f.yaml:1:11")
        self.assertIn("inside the value it names", str(caught.exception))

    def test_a_file_within_the_bounds_keeps_its_aliases_shared(self):
        data = load_text("nodes:\n" + laughs(levels=5))
        self.assertIs(data["nodes"]["l4"][0], data["nodes"]["l3"])


class BadValuesTest(unittest.TestCase):
    CASES = [("!!int abc", "!!int", "whole number"), ("!!int 0x", "!!int", "whole number"),
             ("!!float x", "!!float", "number"), ("!!float ''", "!!float", "number"),
             ("!!timestamp nope", "!!timestamp", "2024-01-31"),
             ("!!timestamp 2020-13-45", "!!timestamp", "2024-01-31"),
             ("!!bool maybe", "!!bool", "true or false"), ("9" * 5000, "!!int", "whole number")]

    def test_a_value_its_tag_cannot_read_is_a_positioned_error(self):
        for value, tag, hint in self.CASES:
            with self.subTest(value=value[:20]):
                with self.assertRaises(YamlError) as caught:
                    load_text(f"a:\n  b: {value}\n", source="f.yaml")
                self.assertEqual(str(caught.exception.location), "f.yaml:2:6")
                self.assertIn(f"is not a valid {tag} value", caught.exception.message)
                self.assertIn(hint, caught.exception.hint)


    def test_a_collection_under_a_scalar_tag_and_a_lone_merge_key_are_errors(self):
        for text, fragment in (("a: !!map [1]\n", "a list cannot be read as !!map"),
                               ("a: !!seq {b: 1}\n", "a mapping cannot be read as !!seq"),
                               ("a: <<\n", "'<<' is a merge key: it cannot stand as a value")):
            with self.subTest(text=text):
                with self.assertRaises(YamlError) as caught:
                    load_text(text, source="f.yaml")
                self.assertEqual(str(caught.exception.location), "f.yaml:1:4")
                self.assertIn(fragment, caught.exception.message)


class MergeKeyTest(unittest.TestCase):
    BASE = "base: &base {x: 1, y: 2}\nmore: &more {y: 3, z: 4}\n"

    def test_a_merge_key_is_not_a_duplicate_and_own_keys_win(self):
        data = load_text(self.BASE + "m:\n  <<: *base\n  x: 9\n", source="f.yaml")
        self.assertEqual(data["m"], {"x": 9, "y": 2})
        self.assertEqual(str(location_of(data["m"], "y")), "f.yaml:1:23")

    def test_of_several_merged_mappings_the_first_wins(self):
        data = load_text(self.BASE + "m:\n  <<: [*base, *more]\n")
        self.assertEqual(data["m"], {"x": 1, "y": 2, "z": 4})

    def test_of_two_merge_keys_the_later_wins_as_in_pyyaml(self):
        data = load_text(self.BASE + "m:\n  <<: *base\n  <<: *more\n  w: 0\n")
        self.assertEqual(data["m"], {"w": 0, "x": 1, "y": 3, "z": 4})

    def test_merges_of_merges_and_real_duplicates(self):
        data = load_text(self.BASE + "mid: &mid {<<: *more, m: 1}\nm: {<<: *mid}\n")
        self.assertEqual(data["m"], {"m": 1, "y": 3, "z": 4})
        with self.assertRaises(YamlError) as caught:
            load_text(self.BASE + "m:\n  <<: *base\n  x: 1\n  x: 2\n", source="f.yaml")
        self.assertIn("duplicate key 'x' (first at f.yaml:5:3)", str(caught.exception))

    def test_a_chain_of_merges_deeper_than_the_python_stack_loads(self):
        # a raised max_values (as the bound's hint suggests) lets the chain through the
        # value budget; the chain is then as deep as the file makes it
        links = 1_200
        text = "a0: &a0 {k: 0}\n" + "".join(f"a{i}: &a{i} {{<<: *a{i - 1}}}\n"
                                            for i in range(1, links))
        data = load_text(text, source="f.yaml", limits=LoadLimits(max_values=10_000_000))
        last = data[f"a{links - 1}"]
        self.assertEqual(last, {"k": 0})
        self.assertEqual(str(location_of(last, "k")), "f.yaml:1:13")

    def test_a_mapping_merged_along_two_paths_keeps_the_first_winner(self):
        data = load_text(self.BASE + "left: &left {<<: *base, y: 5}\n"
                         "m: {<<: [*left, *more, *base]}\n")
        self.assertEqual(data["m"], {"y": 5, "x": 1, "z": 4})

    def test_a_merge_of_a_scalar_is_an_error(self):
        with self.assertRaises(YamlError) as caught:
            load_text("a: &a 1\nm: {<<: *a}\n", source="f.yaml")
        self.assertEqual(str(caught.exception.location), "f.yaml:1:4")
        self.assertIn("merge key (<<) takes a mapping", str(caught.exception))


class ImportConfinementTest(unittest.TestCase):
    def setUp(self):
        scratch = tempfile.TemporaryDirectory()
        self.addCleanup(scratch.cleanup)
        self.root = Path(scratch.name)
        self.folder = self.root / "infra"
        (self.folder / "nodes").mkdir(parents=True)
        (self.root / "secret.txt").write_text("s3cret\n")
        (self.folder / "nodes" / "init.txt").write_text("#cloud-config\n")

    def load(self, url, tag="!text_import", limits=None, where="nodes/defs.yaml"):
        main = self.folder / where
        main.write_text(f"t: {tag} {{url: '{url}'}}\n")
        return load_file(main, limits=limits)

    def refused(self, url, fragment, **kwargs):
        with self.assertRaises(YamlError) as caught:
            self.load(url, **kwargs)
        self.assertIn(fragment, str(caught.exception))
        self.assertEqual(caught.exception.location.line, 1)
        return caught.exception

    def test_imports_next_to_and_below_the_file_work_as_in_the_tutorials(self):
        self.assertEqual(self.load("file://init.txt")["t"], "#cloud-config\n")
        self.assertEqual(self.load("file://nodes/init.txt", where="defs.yaml")["t"],
                         "#cloud-config\n")
        self.assertEqual(self.load(f"file://{self.folder}/nodes/init.txt")["t"], "#cloud-config\n")

    def test_imports_out_of_the_folder_tree_are_refused(self):
        for url in ("file://../../secret.txt", f"file://{self.root}/secret.txt",
                    "file:///etc/passwd"):
            with self.subTest(url=url):
                error = self.refused(url, "outside the folders imports may read")
                self.assertIn("import_paths", error.hint)

    def test_a_symlink_out_of_the_tree_is_no_escape(self):
        (self.folder / "nodes" / "link.txt").symlink_to(self.root / "secret.txt")
        self.refused("file://link.txt", f"(that is {self.root.resolve()}/secret.txt) is outside")
        (self.folder / "nodes" / "inside.txt").symlink_to(self.folder / "nodes" / "init.txt")
        self.assertEqual(self.load("file://inside.txt")["t"], "#cloud-config\n")

    def test_import_paths_widen_the_folders(self):
        limits = LoadLimits(import_paths=(self.root,))
        self.assertEqual(self.load("file://../../secret.txt", limits=limits)["t"], "s3cret\n")

    def test_a_fifo_a_device_and_a_folder_each_get_their_own_message(self):
        os.mkfifo(self.folder / "nodes" / "fifo")
        self.refused("file://fifo", "fifo is a FIFO (named pipe), not a regular file")
        self.refused("file:///dev/zero", "/dev/zero is a character device, not a regular file",
                     limits=LoadLimits(import_paths=(Path("/dev"),)))
        (self.folder / "nodes" / "sub").mkdir()
        self.refused("file://sub", "sub is a folder, not a regular file")
        self.refused("file://missing.txt", "file not found")

    def test_a_symlink_loop_and_a_nul_byte_are_errors_not_crashes(self):
        (self.folder / "nodes" / "one").symlink_to("two")
        (self.folder / "nodes" / "two").symlink_to("one")
        self.refused("file://one", "cannot follow the path")
        self.refused("file://a%00b", "cannot follow the path")

    def test_a_file_given_to_load_is_checked_the_same_way(self):
        os.mkfifo(self.root / "fifo")
        for path, fragment in ((self.root / "fifo", "is a FIFO"), ("/dev/zero", "character device"),
                               (self.root, "is a folder")):
            with self.subTest(path=path):
                with self.assertRaises(YamlError) as caught:
                    load_file(path)
                self.assertIn(fragment, str(caught.exception))

    def test_an_import_is_read_within_max_bytes_with_the_file(self):
        (self.folder / "nodes" / "big.txt").write_text("x" * 5000)
        with self.assertRaises(YamlLimitError) as caught:
            self.load("file://big.txt", limits=LoadLimits(max_bytes=4000))
        self.assertIn("more than 4,000 bytes to read for one file and its imports",
                      str(caught.exception))

    def test_imported_values_count_and_so_do_aliases_of_imports(self):
        nodes = self.folder / "nodes"
        (nodes / "list.yaml").write_text("[" + ", ".join(["1"] * 10) + "]\n")
        main = nodes / "main.yaml"
        main.write_text("a: &i !yaml_import {url: file://list.yaml}\nb: [*i, *i, *i]\n")
        self.assertEqual(load_file(main, limits=LoadLimits(max_values=100))["b"][2], [1] * 10)
        with self.assertRaises(YamlLimitError) as caught:
            load_file(main, limits=LoadLimits(max_values=40))
        self.assertEqual(str(caught.exception.location), f"{main}:2:9")

    def test_text_without_a_file_may_import_nothing_by_default(self):
        with self.assertRaises(YamlError) as caught:
            load_text("t: !text_import {url: 'file:///etc/hostname'}\n")
        self.assertIn("this text comes from no file", str(caught.exception))

    def test_imports_that_cannot_be_read_can_be_collected_to_report_the_rest(self):
        main = self.folder / "main.yaml"
        main.write_text("a: !yaml_import {url: file://missing.yaml}\n"
                        "b: !text_import {url: 'file:///etc/passwd'}\nc: 3\n")
        errors = []
        data = load_file(main, import_errors=errors)
        self.assertEqual(data, {"a": {}, "b": "", "c": 3})
        self.assertEqual([error.location.line for error in errors], [1, 2])
        self.assertIn("file not found", errors[0].message)


def _waited(event: threading.Event) -> None:
    """Wait for another thread to reach a point; a safety net, not a timing check."""
    if not event.wait(60):
        raise RuntimeError("the other load never got there")


class ConcurrentLoadTest(unittest.TestCase):
    """Loading pauses the process's garbage collector: loads in two threads must not leave
    it off, nor switch it back on while one of them still runs."""

    def setUp(self):
        if not gc.isenabled():
            self.skipTest("the collector is off in this process")
        self.addCleanup(gc.enable)
        scratch = tempfile.TemporaryDirectory()
        self.addCleanup(scratch.cleanup)
        self.folder = Path(scratch.name)

    def test_overlapping_loads_leave_the_collector_on_and_keep_it_off_until_both_end(self):
        for name in ("first", "second"):
            (self.folder / f"{name}.txt").write_text(name)
            (self.folder / f"{name}.yaml").write_text(
                f"a: !text_import {{url: file://{name}.txt}}\n")
        first_inside, second_inside, first_done = (threading.Event() for _ in range(3))
        seen, failures = {}, []
        real_read, real_disable = yamlload.read_text, gc.disable

        def read_text(path, max_bytes):     # the imports: a point inside each load
            if path.name == "first.txt":
                first_inside.set()
                _waited(second_inside)
            elif path.name == "second.txt":
                second_inside.set()
                seen["collecting while both load"] = gc.isenabled()
                _waited(first_done)
            return real_read(path, max_bytes)

        def disable():
            # the second load switching the collector off after seeing it off: a thread
            # switch here lets the first load end (switching it on) before this runs
            if threading.current_thread().name == "second":
                second_inside.set()
                _waited(first_done)
            real_disable()

        def load(name):
            try:
                load_file(self.folder / f"{name}.yaml")
            except Exception as error:      # told to the test below
                failures.append(error)

        with mock.patch.object(yamlload, "read_text", read_text), \
                mock.patch.object(gc, "disable", disable):
            first = threading.Thread(target=load, args=("first",), name="first")
            second = threading.Thread(target=load, args=("second",), name="second")
            first.start()
            _waited(first_inside)
            second.start()
            first.join()
            seen["collecting after the first ends"] = gc.isenabled()
            first_done.set()
            second.join()
        self.assertEqual(failures, [])
        self.assertTrue(gc.isenabled(), "the collector is left off")
        self.assertEqual(seen, {"collecting while both load": False,
                                "collecting after the first ends": False})
