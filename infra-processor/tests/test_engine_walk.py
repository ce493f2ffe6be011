"""The dependency walk per node type, without clouds."""
import unittest

from occo.infraprocessor.engine import DependencyWalk, StuckWalk
from occo.infraprocessor.engine.walk import with_address_waits
from occo.infraprocessor.instructions import CreateNodes


def create(name, count=1, *waits_for):
    return CreateNodes(name, count, frozenset(waits_for))


def names(creates):
    return sorted(create.node_name for create in creates)


class WalkTest(unittest.TestCase):
    def test_a_type_starts_once_all_instances_it_waits_for_are_ready(self):
        walk = DependencyWalk([create("slow"), create("after_slow", 1, "slow"),
                               create("fast", 2), create("after_fast", 1, "fast")])
        start, skip = walk.advance()
        self.assertEqual((names(start), skip), (["fast", "slow"], []))
        walk.ready("fast")
        self.assertEqual(walk.advance(), ([], []))
        walk.ready("fast")
        start, _ = walk.advance()
        self.assertEqual(names(start), ["after_fast"])       # slow is still booting
        self.assertEqual(names(walk.waiting), ["after_slow"])

    def test_a_chain_in_one_plan_waits_for_the_create_before_it(self):
        walk = DependencyWalk([create("db"), create("app", 1, "db")])
        self.assertEqual(names(walk.advance()[0]), ["db"])
        self.assertEqual(names(walk.waiting), ["app"])

    def test_existing_instances_being_polled_or_dropped_hold_their_dependents(self):
        walk = DependencyWalk([create("app", 1, "db", "cache")], dropping=["cache"])
        walk.watch("db")
        self.assertEqual(walk.advance(), ([], []))
        walk.ready("db")
        self.assertEqual(walk.advance(), ([], []))
        walk.dropped("cache")
        self.assertEqual(names(walk.advance()[0]), ["app"])

    def test_a_failure_skips_the_dependents_and_theirs_but_nothing_else(self):
        walk = DependencyWalk([create("db", 2), create("app", 1, "db"),
                               create("front", 1, "app"), create("other")])
        walk.advance()
        walk.ready("db")
        walk.failed("db")
        start, skip = walk.advance()
        self.assertEqual(start, [])
        self.assertEqual([(c.node_name, why) for c, why in skip],
                         [("app", "'db', which it depends on, failed"),
                          ("front", "'app', which it depends on, was skipped")])
        self.assertEqual(walk.waiting, ())

    def test_cancel_gives_up_what_waits(self):
        walk = DependencyWalk([create("db"), create("app", 1, "db")])
        walk.advance()
        self.assertEqual(names(walk.cancel()), ["app"])
        self.assertEqual(walk.waiting, ())

    def test_creates_that_wait_for_each_other_are_an_error(self):
        walk = DependencyWalk([create("a", 1, "b"), create("b", 1, "a")])
        self.assertEqual(walk.advance(), ([], []))
        with self.assertRaises(StuckWalk):
            walk.check_progress()


class AddressWaitsTest(unittest.TestCase):
    def test_a_create_waits_for_the_nodes_whose_addresses_it_asks_for(self):
        creates = [CreateNodes("db", 1, frozenset()), CreateNodes("web", 2, frozenset({"cache"}))]
        waited = with_address_waits(creates, {"web": frozenset({"db", "web"})})
        self.assertEqual([(c.node_name, c.count, c.waits_for) for c in waited],
                         [("db", 1, frozenset()), ("web", 2, frozenset({"cache", "db"}))])
        self.assertIs(waited[0], creates[0], "a create asking for nothing is kept as it is")

    def test_a_wait_that_would_close_a_cycle_is_left_out(self):
        creates = [CreateNodes("a", 1, frozenset()), CreateNodes("b", 1, frozenset({"a"})),
                   CreateNodes("c", 1, frozenset())]
        waited = with_address_waits(creates, {"a": frozenset({"b"}), "c": frozenset({"c"})})
        self.assertEqual({c.node_name: c.waits_for for c in waited},
                         {"a": frozenset(), "b": frozenset({"a"}), "c": frozenset()})
        walk = DependencyWalk(waited)
        start, _ = walk.advance()
        self.assertEqual({c.node_name for c in start}, {"a", "c"}, "nothing is stuck")
