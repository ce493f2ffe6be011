"""The original scaling semantics, as a table of cases."""
import unittest

from occo.enactor.scaling import LiveInstance, choose_drops, decide_target
from occo.infobroker.store import ScalingRequest

EXISTING = [LiveInstance("n1", ("10.0.0.1", "n1.example"), 100.0),
            LiveInstance("n2", ("10.0.0.2",), 200.0),
            LiveInstance("n3", ("10.0.0.3",), 300.0)]


def create(i):
    return ScalingRequest(f"c{i}", "create")


def destroy(i, value=None):
    return ScalingRequest(f"d{i}", "destroy", value)


# (case, min, max, stored target, requests, expected target, handled ids, named drops, messages)
CASES = [
    ("no target stored: min", 2, 5, None, [], 2, (), (), 0),
    ("stored target kept", 1, 5, 3, [], 3, (), (), 0),
    ("stored target clamped to max", 1, 5, 9, [], 5, (), (), 0),
    ("stored target clamped to min", 2, 5, 1, [], 2, (), (), 0),
    ("create requests add", 1, 5, 3, [create(1), create(2)], 5, ("c1", "c2"), (), 0),
    ("create beyond max stops at max", 1, 4, 3, [create(1), create(2)], 4, ("c1", "c2"), (), 1),
    ("creates first, destroys wait", 1, 5, 3, [destroy(1), create(1)], 4, ("c1",), (), 0),
    ("destroy by node id", 1, 5, 3, [destroy(1, "n2")], 2, ("d1",), ("n2",), 0),
    ("destroy by any address", 1, 5, 3, [destroy(1, "n1.example")], 2, ("d1",), ("n1",), 0),
    ("destroy of an unknown node is dropped", 1, 5, 3, [destroy(1, "10.9.9.9")], 3, ("d1",), (), 1),
    ("one node named twice counts once", 1, 5, 3, [destroy(1, "n2"), destroy(2, "10.0.0.2")],
     2, ("d1", "d2"), ("n2",), 0),
    ("named destroys stop at min", 2, 5, 3, [destroy(1, "n1"), destroy(2, "n2")],
     2, ("d1", "d2"), ("n1",), 1),
    ("named before anonymous", 1, 5, 3, [destroy(1), destroy(2, "n3")], 2, ("d2",), ("n3",), 0),
    ("anonymous destroys", 1, 5, 3, [destroy(1), destroy(2)], 1, ("d1", "d2"), (), 0),
    ("anonymous destroys stop at min", 1, 5, 2, [destroy(1), destroy(2)], 1, ("d1", "d2"), (), 1),
]


class DecideTargetTest(unittest.TestCase):
    def test_cases(self):
        for name, low, high, stored, requests, target, handled, named, messages in CASES:
            with self.subTest(name):
                decision = decide_target("app", low, high, stored, requests, EXISTING)
                self.assertEqual(decision.target, target)
                self.assertEqual(decision.handled, handled)
                self.assertEqual(decision.named_drops, named)
                self.assertEqual(len(decision.messages), messages, decision.messages)

    def test_messages_name_the_node_and_the_limit(self):
        decision = decide_target("app", 1, 4, 4, [create(1)], EXISTING)
        self.assertEqual(decision.messages,
                         ("scaling: 1 create request(s) ignored, node 'app' is at its maximum of 4",))


class ChooseDropsTest(unittest.TestCase):
    def test_youngest_first_when_none_is_named(self):
        self.assertEqual(choose_drops(EXISTING, 2), ["n3", "n2"])

    def test_named_first_then_youngest(self):
        self.assertEqual(choose_drops(EXISTING, 2, ["n1"]), ["n1", "n3"])

    def test_never_more_than_asked_or_than_there_are(self):
        self.assertEqual(choose_drops(EXISTING, 1, ["n1", "n2"]), ["n1"])
        self.assertEqual(sorted(choose_drops(EXISTING, 9)), ["n1", "n2", "n3"])
        self.assertEqual(choose_drops(EXISTING, 0), [])

    def test_a_named_node_that_is_gone_is_skipped(self):
        self.assertEqual(choose_drops(EXISTING, 1, ["gone"]), ["n3"])
