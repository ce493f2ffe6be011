import unittest

from occo.compiler import compile_description
from occo.util.errors import SchemaError
from occo.util.limits import InstanceLimits
from occo.util.yamlload import load_text

from .casefiles import problem_lines


def description(*scalings: str) -> object:
    nodes = "\n".join(f"  - {{name: n{index}, type: t, scaling: {scaling}}}"
                      for index, scaling in enumerate(scalings))
    return load_text(f"infra_name: x\nnodes:\n{nodes}\n", source="input.yaml")


class InstanceLimitsTest(unittest.TestCase):
    """The limits a configuration gives replace the defaults, both ways."""

    LIMITS = InstanceLimits(node_instances=5, infrastructure_instances=8)

    def test_counts_up_to_the_limits_compile(self):
        static = compile_description(description("{min: 5}", "{min: 3, max: 5}"),
                                     limits=self.LIMITS)
        self.assertEqual([node["scaling"] for node in static.nodes.values()],
                         [{"min": 5, "max": 5}, {"min": 3, "max": 5}])

    def test_a_node_over_its_limit_is_refused_at_the_count(self):
        with self.assertRaises(SchemaError) as caught:
            compile_description(description("{min: 2, max: 6}"), limits=self.LIMITS)
        self.assertEqual(problem_lines(caught.exception),
                         ["3:48: scaling max of node 'n0' is 6, more than the 5 instances a "
                          "node may have"])

    def test_nodes_over_the_total_are_refused_at_the_nodes(self):
        with self.assertRaises(SchemaError) as caught:
            compile_description(description("{min: 5}", "{min: 4}"), limits=self.LIMITS)
        self.assertEqual(problem_lines(caught.exception),
                         ["3:3: the nodes ask for 9 instances at least (the sum of their "
                          "scaling mins), more than the 8 an infrastructure may have"])

    def test_raised_limits_let_a_larger_infrastructure_compile(self):
        data = description("{min: 15000}", "{min: 1, max: 20000}")
        with self.assertRaises(SchemaError):
            compile_description(data)
        raised = InstanceLimits(node_instances=20_000, infrastructure_instances=15_001)
        static = compile_description(data, limits=raised)
        self.assertEqual(static.nodes["n0"]["scaling"], {"min": 15000, "max": 15000})


if __name__ == "__main__":
    unittest.main()
