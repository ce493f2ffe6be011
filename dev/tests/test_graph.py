import json

from occodev.errors import DevError
from occodev.graph import build_graph, check_sibling_pins
from occodev.repo import Repo

from .support import TempRepoCase, write_component

LAYOUT = {
    "util": [], "compiler": ["util"], "info-broker": ["util"],
    "resource-handler": ["util", "info-broker"], "config-manager": ["util", "info-broker"],
    "infra-processor": ["util", "info-broker", "resource-handler", "config-manager"],
    "enactor": ["util", "compiler", "info-broker", "infra-processor"],
    "api": ["util", "compiler", "info-broker", "resource-handler", "config-manager",
            "infra-processor", "enactor"],
}


class GraphTest(TempRepoCase):
    def test_levels_follow_dependencies_with_ties_sorted_by_name(self):
        graph = build_graph(self.repo(LAYOUT))
        self.assertEqual([list(level) for level in graph.levels], [
            ["util"], ["compiler", "info-broker"], ["config-manager", "resource-handler"],
            ["infra-processor"], ["enactor"], ["api"]])
        self.assertEqual(graph.order[0], "util")
        self.assertEqual(graph.order[-1], "api")

    def test_every_component_comes_after_its_dependencies(self):
        graph = build_graph(self.repo(LAYOUT))
        position = {name: i for i, name in enumerate(graph.order)}
        for name, deps in LAYOUT.items():
            for dep in deps:
                self.assertLess(position[dep], position[name], f"{dep} before {name}")

    def test_json_has_levels_and_edges(self):
        graph = build_graph(self.repo({"util": [], "compiler": ["util"]}))
        data = json.loads(json.dumps(graph.as_json()))
        self.assertEqual(data["levels"], [["util"], ["compiler"]])
        self.assertEqual(data["edges"], {"compiler": ["util"], "util": []})

    def test_closure_and_dependents_are_transitive(self):
        graph = build_graph(self.repo(LAYOUT))
        self.assertEqual(graph.closure("infra-processor"),
                         ["util", "info-broker", "config-manager", "resource-handler"])
        self.assertEqual(graph.dependents("resource-handler"), ["infra-processor", "enactor", "api"])

    def test_a_cycle_is_an_error_naming_the_cycle_in_dependency_order(self):
        with self.assertRaises(DevError) as caught:
            build_graph(self.repo({"util": ["api"], "compiler": ["util"], "api": ["compiler"]}))
        message = str(caught.exception)
        self.assertIn("dependency cycle", message)
        cycle = message.split(": ", 1)[1].split(" (")[0].split(" -> ")
        self.assertEqual(cycle[0], cycle[-1])
        self.assertEqual(len(cycle), 4)
        needs = {"util": "api", "compiler": "util", "api": "compiler"}
        for before, after in zip(cycle, cycle[1:]):
            self.assertEqual(needs[before], after, message)

    def test_sibling_pins_must_match_sibling_versions(self):
        write_component(self.root, "util", [], version="0.2.0")
        write_component(self.root, "compiler", ["util"], versions={"util": "0.1.0"})
        with self.assertRaises(DevError) as caught:
            check_sibling_pins(Repo.load(self.root))
        self.assertIn("expected 'occo-util==0.2.0'", str(caught.exception))

    def test_consistent_pins_pass(self):
        check_sibling_pins(self.repo(LAYOUT))
