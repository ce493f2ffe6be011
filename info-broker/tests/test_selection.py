import random
import unittest

from occo.infobroker.selection import (STRATEGIES, NoMatchingNodeDefinition, UnknownStrategy,
                                       choose_implementation, matching,
                                       select_implementation)

EC2_A = {"resource": {"type": "ec2", "endpoint": "https://a", "image_id": "ami-1"},
         "contextualisation": {"type": "cloudinit"}}
EC2_B = {"resource": {"type": "ec2", "endpoint": "https://b", "image_id": "ami-2"}}
NOVA = {"resource": {"type": "nova", "endpoint": "https://n", "image_id": "img"}}
IMPLEMENTATIONS = [EC2_A, EC2_B, NOVA]


class MatchingTest(unittest.TestCase):
    def test_no_filter_keeps_every_implementation(self):
        self.assertEqual(matching(IMPLEMENTATIONS, None), IMPLEMENTATIONS)
        self.assertEqual(matching(IMPLEMENTATIONS, {}), IMPLEMENTATIONS)

    def test_the_resource_must_hold_every_filter_key_with_an_equal_value(self):
        self.assertEqual(matching(IMPLEMENTATIONS, {"type": "ec2"}), [EC2_A, EC2_B])
        self.assertEqual(matching(IMPLEMENTATIONS, {"type": "ec2", "endpoint": "https://b"}), [EC2_B])
        self.assertEqual(matching(IMPLEMENTATIONS, {"type": "ec2", "endpoint": "https://n"}), [])
        self.assertEqual(matching(IMPLEMENTATIONS, {"region": "eu"}), [])

    def test_an_implementation_without_resource_never_fits_a_filter(self):
        self.assertEqual(matching([{"contextualisation": {}}], {"type": "ec2"}), [])


class SelectImplementationTest(unittest.TestCase):
    def test_first_picks_the_first_fitting_one_in_file_order(self):
        self.assertEqual(select_implementation("web", IMPLEMENTATIONS, {"type": "ec2"}, "first"), EC2_A)
        self.assertEqual(select_implementation("web", IMPLEMENTATIONS, None, "first"), EC2_A)

    def test_random_picks_with_the_given_generator(self):
        candidates = [EC2_A, EC2_B]
        for seed in range(5):
            with self.subTest(seed=seed):
                expected = random.Random(seed).choice(candidates)
                self.assertEqual(select_implementation("web", IMPLEMENTATIONS, {"type": "ec2"},
                                                       "random", random.Random(seed)), expected)

    def test_random_picks_only_and_eventually_every_fitting_one(self):
        rng = random.Random(1)
        picked = {select_implementation("web", IMPLEMENTATIONS, {"type": "ec2"}, rng=rng)
                  ["resource"]["endpoint"] for _ in range(60)}
        self.assertEqual(picked, {"https://a", "https://b"})

    def test_the_answer_is_a_copy(self):
        chosen = select_implementation("web", IMPLEMENTATIONS, {"type": "nova"}, "first")
        chosen["resource"]["image_id"] = "changed"
        self.assertEqual(NOVA["resource"]["image_id"], "img")

    def test_choosing_gives_the_index_of_what_selecting_copies(self):
        for seed in range(5):
            with self.subTest(seed=seed):
                index = choose_implementation("web", IMPLEMENTATIONS, {"type": "ec2"}, "random",
                                              random.Random(seed))
                self.assertEqual(IMPLEMENTATIONS[index],
                                 select_implementation("web", IMPLEMENTATIONS, {"type": "ec2"},
                                                       "random", random.Random(seed)))
        self.assertEqual(choose_implementation("web", IMPLEMENTATIONS, {"type": "nova"}, "first"),
                         2)

    def test_an_unknown_strategy_suggests_a_known_one(self):
        with self.assertRaises(UnknownStrategy) as raised:
            select_implementation("web", IMPLEMENTATIONS, None, "frist")
        self.assertEqual(raised.exception.hint, "did you mean 'first'?")
        with self.assertRaises(UnknownStrategy) as raised:
            select_implementation("web", IMPLEMENTATIONS, None, "cheapest")
        self.assertEqual(raised.exception.hint, "use one of: " + ", ".join(STRATEGIES))

    def test_no_fitting_implementation_names_the_type_filter_and_what_exists(self):
        with self.assertRaises(NoMatchingNodeDefinition) as raised:
            select_implementation("web", IMPLEMENTATIONS, {"type": "ec2", "endpoint": "https://c"})
        error = raised.exception
        self.assertIn("'web'", error.message)
        self.assertIn("'endpoint': 'https://c'", error.message)
        self.assertIn("type: ec2, nova", error.hint)
        self.assertIn("endpoint: https://a, https://b, https://n", error.hint)

    def test_secrets_in_a_filter_are_not_shown(self):
        implementations = [{"resource": {"type": "azure_vm", "password": "hunter2"}}]
        with self.assertRaises(NoMatchingNodeDefinition) as raised:
            select_implementation("vm", implementations, {"password": "guess"})
        self.assertNotIn("hunter2", str(raised.exception))
        self.assertNotIn("guess", str(raised.exception))

    def test_a_type_without_implementations(self):
        with self.assertRaises(NoMatchingNodeDefinition) as raised:
            select_implementation("web", [], None)
        self.assertIn("no implementations", raised.exception.hint)
