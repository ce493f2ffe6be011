import unittest

from occo.compiler.graph import CycleError, topological_levels


class TopologicalLevelsTest(unittest.TestCase):
    def test_independent_nodes_share_level_zero_in_given_order(self):
        self.assertEqual(topological_levels(["c", "a", "b"], {}), [["c", "a", "b"]])

    def test_a_node_comes_one_level_after_its_last_dependency(self):
        depends_on = {"app": ["db"], "lb": ["app", "cache"], "cache": []}
        self.assertEqual(topological_levels(["db", "app", "cache", "lb"], depends_on),
                         [["db", "cache"], ["app"], ["lb"]])

    def test_the_result_is_the_same_on_every_call(self):
        names = [f"n{i}" for i in range(200)]
        depends_on = {name: [names[j] for j in range(i % 7)] for i, name in enumerate(names)}
        first = topological_levels(names, depends_on)
        self.assertEqual([topological_levels(names, depends_on) for _ in range(3)], [first] * 3)

    def test_a_long_chain_does_not_recurse(self):
        names = [f"n{i}" for i in range(20000)]
        depends_on = {names[i]: [names[i - 1]] for i in range(1, len(names))}
        levels = topological_levels(names, depends_on)
        self.assertEqual(len(levels), 20000)
        self.assertEqual(levels[-1], ["n19999"])

    def test_a_cycle_names_its_nodes_each_waiting_for_the_next(self):
        depends_on = {"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}
        with self.assertRaises(CycleError) as caught:
            topological_levels(["d", "a", "b", "c"], depends_on)
        cycle = caught.exception.cycle
        self.assertEqual(cycle[0], cycle[-1])
        self.assertEqual(set(cycle), {"a", "b", "c"})
        for waiting, awaited in zip(cycle, cycle[1:]):
            self.assertIn(awaited, depends_on[waiting])

    def test_a_node_depending_on_itself_is_a_cycle_of_one(self):
        with self.assertRaises(CycleError) as caught:
            topological_levels(["a"], {"a": ["a"]})
        self.assertEqual(caught.exception.cycle, ["a", "a"])
