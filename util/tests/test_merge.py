import unittest

from occo.util.merge import deep_merge, is_subdict


class DeepMergeTest(unittest.TestCase):
    def test_nested_values_merge_and_the_override_wins(self):
        base = {"a": 1, "db": {"host": "h", "port": 1}, "list": [1]}
        override = {"db": {"port": 2}, "list": [2], "new": True}
        self.assertEqual(deep_merge(base, override),
                         {"a": 1, "db": {"host": "h", "port": 2}, "list": [2], "new": True})

    def test_inputs_are_untouched_and_not_shared(self):
        base, override = {"db": {"host": "h"}}, {"x": {"y": 1}}
        merged = deep_merge(base, override)
        merged["db"]["host"] = "changed"
        merged["x"]["y"] = 2
        self.assertEqual((base, override), ({"db": {"host": "h"}}, {"x": {"y": 1}}))

    def test_a_mapping_replaces_a_scalar_and_back(self):
        self.assertEqual(deep_merge({"a": 1}, {"a": {"b": 2}}), {"a": {"b": 2}})
        self.assertEqual(deep_merge({"a": {"b": 2}}, {"a": 1}), {"a": 1})


class SubdictTest(unittest.TestCase):
    def test_every_key_must_match(self):
        self.assertTrue(is_subdict({"type": "ec2"}, {"type": "ec2", "endpoint": "e"}))
        self.assertTrue(is_subdict({}, {"type": "ec2"}))
        self.assertFalse(is_subdict({"type": "nova"}, {"type": "ec2"}))
        self.assertFalse(is_subdict({"name": "x"}, {"type": "ec2"}))
        self.assertFalse(is_subdict({"type": "ec2"}, None))
