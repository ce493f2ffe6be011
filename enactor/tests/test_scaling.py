"""The original scaling semantics, as a table of cases."""
import unittest

from occo.enactor.scaling import LiveInstance, choose_drops, decide_target, queue_limit
from occo.infobroker.store import PendingScaling

EXISTING = [LiveInstance("n1", ("10.0.0.1", "n1.example"), 100.0),
            LiveInstance("n2", ("10.0.0.2",), 200.0),
            LiveInstance("n3", ("10.0.0.3",), 300.0)]
NONE = PendingScaling()


def creates(count):
    return PendingScaling(create=count)


def destroys(count=0, *named):
    return PendingScaling(destroy=count, named=named)


# (case, min, max, stored target, pending, expected target, handled, named drops, messages)
CASES = [
    ("no target stored: min", 2, 5, None, NONE, 2, NONE, (), 0),
    ("stored target kept", 1, 5, 3, NONE, 3, NONE, (), 0),
    ("stored target clamped to max", 1, 5, 9, NONE, 5, NONE, (), 0),
    ("stored target clamped to min", 2, 5, 1, NONE, 2, NONE, (), 0),
    ("create requests add", 1, 5, 3, creates(2), 5, creates(2), (), 0),
    ("create beyond max stops at max", 1, 4, 3, creates(2), 4, creates(2), (), 1),
    ("a million creates stop at max", 1, 4, 3, creates(10**6), 4, creates(10**6), (), 1),
    ("creates first, destroys wait", 1, 5, 3, PendingScaling(1, 1, ("n1",)), 4, creates(1),
     (), 0),
    ("destroy by node id", 1, 5, 3, destroys(0, "n2"), 2, destroys(0, "n2"), ("n2",), 0),
    ("destroy by any address", 1, 5, 3, destroys(0, "n1.example"), 2,
     destroys(0, "n1.example"), ("n1",), 0),
    ("destroy of an unknown node is dropped", 1, 5, 3, destroys(0, "10.9.9.9"), 3,
     destroys(0, "10.9.9.9"), (), 1),
    ("one node named twice counts once", 1, 5, 3, destroys(0, "n2", "10.0.0.2"),
     2, destroys(0, "n2", "10.0.0.2"), ("n2",), 0),
    ("named destroys stop at min", 2, 5, 3, destroys(0, "n1", "n2"),
     2, destroys(0, "n1", "n2"), ("n1",), 1),
    ("named before anonymous", 1, 5, 3, destroys(1, "n3"), 2, destroys(0, "n3"), ("n3",), 0),
    ("anonymous destroys", 1, 5, 3, destroys(2), 1, destroys(2), (), 0),
    ("anonymous destroys stop at min", 1, 5, 2, destroys(2), 1, destroys(2), (), 1),
    ("a million anonymous destroys stop at min", 1, 5, 2, destroys(10**6), 1, destroys(10**6),
     (), 1),
]


class DecideTargetTest(unittest.TestCase):
    def test_cases(self):
        for name, low, high, stored, pending, target, handled, named, messages in CASES:
            with self.subTest(name):
                decision = decide_target("app", low, high, stored, pending, EXISTING)
                self.assertEqual(decision.target, target)
                self.assertEqual(decision.handled, handled)
                self.assertEqual(decision.named_drops, named)
                self.assertEqual(len(decision.messages), messages, decision.messages)

    def test_messages_name_the_node_and_the_limit(self):
        decision = decide_target("app", 1, 4, 4, creates(1), EXISTING)
        self.assertEqual(decision.messages,
                         ("scaling: 1 create request(s) ignored, node 'app' is at its maximum of 4",))


class QueueLimitTest(unittest.TestCase):
    """As many requests may wait as a pass can carry out: no more."""

    def test_creates_may_fill_the_node_up_to_its_maximum(self):
        self.assertEqual(queue_limit("create", 1, 10, 3, NONE), 7)
        self.assertEqual(queue_limit("create", 1, 10, None, NONE), 9)    # from min
        self.assertEqual(queue_limit("create", 1, 10, 99, NONE), 0)      # clamped to max
        self.assertEqual(queue_limit("create", 1, 10, 3, destroys(2)), 7)

    def test_destroys_may_empty_it_down_to_its_minimum_after_the_pending_creates(self):
        self.assertEqual(queue_limit("destroy", 2, 10, 5, NONE), 3)
        self.assertEqual(queue_limit("destroy", 2, 10, 5, creates(3)), 6)
        self.assertEqual(queue_limit("destroy", 2, 10, 5, creates(30)), 8)   # creates stop at max
        self.assertEqual(queue_limit("destroy", 2, 10, None, NONE), 0)

    def test_what_the_limit_allows_a_pass_carries_out_in_full(self):
        for low, high, stored in ((1, 10, 3), (0, 4, None), (2, 2, 2), (1, 100, 100)):
            with self.subTest(low=low, high=high, stored=stored):
                grow = queue_limit("create", low, high, stored, NONE)
                decision = decide_target("app", low, high, stored, creates(grow), EXISTING) \
                    if grow else None
                self.assertEqual(decision.messages if decision else (), ())
                shrink = queue_limit("destroy", low, high, stored, NONE)
                decision = decide_target("app", low, high, stored, destroys(shrink), EXISTING) \
                    if shrink else None
                self.assertEqual(decision.messages if decision else (), ())


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
