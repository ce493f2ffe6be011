"""The ec2 plugin's small parts on their own: client tokens, tags, per-node locks."""
from __future__ import annotations

import threading
import time
import unittest

from occo.util.nodes import ResolvedNode

from occo.resourcehandler.base import INFRA_TAG, NODE_TAG, OWNER_TAG
from occo.resourcehandler.ec2.launch import client_token, instance_tags
from occo.resourcehandler.locks import KeyedLocks


class ClientTokenTest(unittest.TestCase):
    def test_a_node_id_that_fits_is_the_token(self) -> None:
        node_id = "0b4f6f0e-2b8c-4f36-9d0a-3f3b1c2d4e5f"
        self.assertEqual(client_token(node_id), node_id)

    def test_a_long_or_non_ascii_node_id_becomes_a_digest_of_64_characters(self) -> None:
        for node_id in ("n" * 65, "nöde"):
            with self.subTest(node_id=node_id):
                token = client_token(node_id)
                self.assertEqual(len(token), 64)
                self.assertTrue(token.isascii())
                self.assertEqual(token, client_token(node_id))
        self.assertNotEqual(client_token("n" * 65), client_token("n" * 66))


class InstanceTagsTest(unittest.TestCase):
    def test_the_sections_tags_are_text_and_cannot_replace_occopus_tags(self) -> None:
        node = ResolvedNode("infra", "i", "owner", "node", "web", {
            "type": "ec2", "tags": {NODE_TAG: "forged", "team": None, "Name": "mine"}})
        tags = instance_tags(node)
        self.assertEqual({tag["Key"]: tag["Value"] for tag in tags}, {
            "Name": "mine", "team": "", INFRA_TAG: "infra", NODE_TAG: "node", OWNER_TAG: "owner"})


class KeyedLocksTest(unittest.TestCase):
    def test_a_second_holder_of_a_key_waits_for_the_first(self) -> None:
        locks = KeyedLocks()
        entered = threading.Event()

        def second() -> None:
            with locks.holding("node"):
                entered.set()
        with locks.holding("node"):
            thread = threading.Thread(target=second)
            thread.start()
            deadline = time.monotonic() + 5
            while locks._locks["node"][1] < 2:          # until the second one waits
                self.assertLess(time.monotonic(), deadline, "the second holder never came")
                time.sleep(0.01)
            self.assertFalse(entered.is_set())
        thread.join(5)
        self.assertTrue(entered.is_set())
        self.assertEqual(len(locks), 0, "a lock nobody holds or waits for is forgotten")

    def test_other_keys_do_not_wait(self) -> None:
        locks = KeyedLocks()
        with locks.holding("a"):
            entered = threading.Event()

            def other() -> None:
                with locks.holding("b"):
                    entered.set()
            thread = threading.Thread(target=other)
            thread.start()
            self.assertTrue(entered.wait(5), "a holder of 'a' kept 'b' waiting")
            thread.join()
            self.assertEqual(len(locks), 1)
