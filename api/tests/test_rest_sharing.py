"""Rendezvous hashing: which member of the REST service maintains which infrastructure."""
from __future__ import annotations

import random
import unittest
from collections import Counter

from occo.api.rest.daemon.membership import owner, score


class RendezvousTest(unittest.TestCase):

    def setUp(self) -> None:
        rng = random.Random(17)
        self.infras = [f"{rng.getrandbits(128):032x}" for _ in range(3000)]
        self.members = ["host-a:101:1f2e", "host-a:102:9c0d", "host-b:7:aa01"]

    def test_every_process_computes_the_same_owner_whatever_the_order_of_the_members(self):
        for infra_id in self.infras[:200]:
            answers = {owner(infra_id, order) for order in
                       (self.members, self.members[::-1], sorted(self.members))}
            self.assertEqual(len(answers), 1)
            self.assertIn(answers.pop(), self.members)

    def test_the_score_is_stable_and_depends_on_both_names(self):
        self.assertEqual(score("m1", "i1"), score("m1", "i1"))
        self.assertNotEqual(score("m1", "i1"), score("m2", "i1"))
        self.assertNotEqual(score("m1", "i1"), score("m1", "i2"))
        # the pair is not ambiguous: ("a", "bc") and ("ab", "c") are different pairs
        self.assertNotEqual(score("a", "bc"), score("ab", "c"))

    def test_each_member_gets_about_its_share(self):
        shares = Counter(owner(infra_id, self.members) for infra_id in self.infras)
        self.assertEqual(set(shares), set(self.members))
        for member, count in shares.items():
            self.assertGreater(count, len(self.infras) / 3 * 0.85, (member, shares))

    def test_when_a_member_leaves_only_its_own_infrastructures_move(self):
        before = {infra_id: owner(infra_id, self.members) for infra_id in self.infras}
        gone = self.members[1]
        survivors = [member for member in self.members if member != gone]
        after = {infra_id: owner(infra_id, survivors) for infra_id in self.infras}
        moved = {infra_id for infra_id in self.infras if before[infra_id] != after[infra_id]}
        self.assertEqual(moved, {infra_id for infra_id, member in before.items()
                                 if member == gone})
        # and they spread over the survivors rather than all going to one
        self.assertEqual({after[infra_id] for infra_id in moved}, set(survivors))

    def test_a_member_that_joins_takes_only_from_the_others_what_it_now_owns(self):
        before = {infra_id: owner(infra_id, self.members) for infra_id in self.infras}
        joined = [*self.members, "host-c:55:0b0b"]
        for infra_id in self.infras:
            now = owner(infra_id, joined)
            self.assertIn(now, (before[infra_id], "host-c:55:0b0b"))

    def test_no_members_no_owner(self):
        self.assertIsNone(owner("i1", []))
        self.assertEqual(owner("i1", ["only"]), "only")


if __name__ == "__main__":
    unittest.main()
