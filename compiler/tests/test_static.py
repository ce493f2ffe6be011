import json
import tempfile
import unittest
from pathlib import Path

from occo.compiler import StaticDescription, compile_description
from occo.util.errors import OccoError
from occo.util.yamlload import load_file, load_text

DESCRIPTION = """\
infra_name: shop
user_id: u
variables: {region: eu}
nodes:
  - &DB {name: db, type: mysql}
  - &APP {name: app, type: web, scaling: {min: 2, max: 5}}
  - &LB {name: lb, type: proxy}
dependencies:
  - [*APP, *DB]
  - [*LB, *APP]
"""


class StaticDescriptionTest(unittest.TestCase):
    def test_dependency_sets_name_what_each_node_waits_for(self):
        static = compile_description(load_text(DESCRIPTION))
        self.assertEqual(static.dependency_sets(),
                         {"db": frozenset(), "app": frozenset({"db"}), "lb": frozenset({"app"})})
        self.assertEqual(static.depends_on("lb"), frozenset({"app"}))

    def test_compiling_twice_gives_the_same_result_but_for_the_fresh_id(self):
        first = compile_description(load_text(DESCRIPTION)).to_dict()
        second = compile_description(load_text(DESCRIPTION)).to_dict()
        self.assertNotEqual(first["infra_id"], second["infra_id"])
        for data in (first, second):
            data.pop("infra_id")
            for node in data["nodes"]:
                node.pop("infra_id")
        self.assertEqual(json.dumps(first, sort_keys=True), json.dumps(second, sort_keys=True))

    def test_a_given_infra_id_is_kept_for_reconfiguration(self):
        static = compile_description(load_text(DESCRIPTION), infra_id="fixed-id")
        self.assertEqual(static.infra_id, "fixed-id")
        self.assertEqual(static.node("app")["infra_id"], "fixed-id")

    def test_json_round_trip(self):
        static = compile_description(load_text(DESCRIPTION))
        again = StaticDescription.from_dict(json.loads(json.dumps(static.to_dict())))
        self.assertEqual(again, static)

    def test_a_stored_description_of_another_format_is_refused(self):
        data = compile_description(load_text(DESCRIPTION)).to_dict()
        data["format"] = 99
        with self.assertRaises(OccoError):
            StaticDescription.from_dict(data)

    def test_unknown_node_is_a_clear_error(self):
        with self.assertRaises(OccoError) as caught:
            compile_description(load_text(DESCRIPTION)).node("cache")
        self.assertIn("no node 'cache'", str(caught.exception))

    def test_compiled_variables_do_not_share_objects_with_the_input(self):
        data = load_text(DESCRIPTION)
        static = compile_description(data)
        static.node("db")["variables"]["region"] = "us"
        self.assertEqual(data["variables"]["region"], "eu")
        self.assertEqual(static.node("app")["variables"]["region"], "eu")

    def test_a_description_may_import_its_nodes_from_another_file(self):
        with tempfile.TemporaryDirectory() as folder:
            Path(folder, "nodes.yaml").write_text("- {name: a, type: t}\n- {name: b, type: t}\n")
            main = Path(folder, "infra.yaml")
            main.write_text("infra_name: imp\nuser_id: u\n"
                            "nodes: !yaml_import {url: file://nodes.yaml}\n")
            static = compile_description(load_file(main))
        self.assertEqual(list(static.nodes), ["a", "b"])

    def test_missing_user_id_defaults_to_the_current_user(self):
        import getpass
        static = compile_description(load_text("infra_name: x\nnodes: [{name: a, type: t}]\n"))
        self.assertEqual(static.user_id, getpass.getuser())
