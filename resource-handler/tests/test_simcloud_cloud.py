"""simcloud's instances and state file, in-process with a clock the test turns."""
from __future__ import annotations

import json
import tempfile
import unittest
from functools import partial
from pathlib import Path

from occo.resourcehandler.simcloud.cloud import (FORGET_AFTER, PRICE_PER_HOUR, Cloud, StateFile,
                                                 StateFileError)

from .support import Clock, run_threads


class CloudTest(unittest.TestCase):
    def setUp(self) -> None:
        scratch = tempfile.TemporaryDirectory()
        self.addCleanup(scratch.cleanup)
        self.path = Path(scratch.name) / "state" / "simcloud.json"
        self.clock = Clock()
        self.cloud = Cloud(self.path, self.clock)

    def create(self, token: str, boot_time: float = 10.0, **tags: str) -> dict:
        return self.cloud.create(token, tags, "img", "small", None, boot_time)[0]

    def test_states_follow_the_clock(self):
        instance = self.create("a")
        self.assertEqual(instance["state"], "pending")
        self.clock.now += 10
        self.assertEqual(self.cloud.get(instance["id"])["state"], "running")
        self.cloud.delete(instance["id"])
        self.assertEqual(self.cloud.get(instance["id"])["state"], "terminated")

    def test_cost_counts_running_time_until_termination(self):
        instance = self.create("a", boot_time=10)
        self.clock.now += 5
        self.assertEqual(self.cloud.get(instance["id"])["cost"], 0)
        self.clock.now += 5 + 3600
        self.assertAlmostEqual(self.cloud.get(instance["id"])["cost"], PRICE_PER_HOUR)
        self.cloud.delete(instance["id"])
        self.clock.now += 3600
        self.assertAlmostEqual(self.cloud.get(instance["id"])["cost"], PRICE_PER_HOUR)

    def test_a_reopened_cloud_has_every_instance_and_its_token(self):
        first = self.create("a", infra="i1")
        self.cloud.delete(self.create("b", infra="i1")["id"])
        reopened = Cloud(self.path, self.clock)
        self.assertEqual(reopened.create("a", {}, None, None, None, 0), (first, False))
        self.assertEqual([item["state"] for item in reopened.find({"infra": "i1"})],
                         ["pending", "terminated"])
        self.assertNotIn(reopened.create("c", {}, None, None, None, 0)[0]["id"],
                         {first["id"], "i-00000002"}, "ids are never given out twice")

    def test_terminated_instances_are_forgotten_with_their_tokens(self):
        old = self.create("a")
        self.cloud.delete(old["id"])
        self.clock.now += FORGET_AFTER + 1
        self.cloud.delete(self.create("b")["id"])
        self.assertIsNone(self.cloud.get(old["id"]))
        again, made = self.cloud.create("a", {}, None, None, None, 0)
        self.assertTrue(made)
        self.assertNotEqual(again["id"], old["id"])

    def test_concurrent_changes_are_all_in_the_file_when_answered(self):
        made: list[str] = []
        unsaved: list[str] = []

        def create(index: int) -> None:
            instance = self.create(f"t{index}")
            made.append(instance["id"])
            if instance["id"] not in json.loads(self.path.read_text())["instances"]:
                unsaved.append(instance["id"])
        self.assertEqual(run_threads(partial(create, index) for index in range(40)), [])
        self.assertEqual((len(made), unsaved), (40, []))
        saved = json.loads(self.path.read_text())
        self.assertEqual(set(saved["instances"]), set(made))
        self.assertEqual(saved["next_seq"], 41)


class StateFileTest(unittest.TestCase):
    def setUp(self) -> None:
        scratch = tempfile.TemporaryDirectory()
        self.addCleanup(scratch.cleanup)
        self.path = Path(scratch.name) / "simcloud.json"

    def test_a_missing_file_is_an_empty_cloud(self):
        self.assertIsNone(StateFile(self.path, str).load())

    def test_a_file_that_is_not_simcloud_state_is_refused(self):
        for text in ("{broken", "[]", '{"version": 99, "instances": {}}'):
            self.path.write_text(text)
            with self.subTest(text), self.assertRaises(StateFileError) as raised:
                StateFile(self.path, str).load()
            self.assertIn(str(self.path), str(raised.exception))

    def test_a_failed_write_leaves_the_old_file_and_no_temporary_one(self):
        self.path.write_text("old")
        state = StateFile(self.path, lambda: None)     # fails as it is written
        state.changed()
        with self.assertRaises(TypeError):
            state.sync()
        self.assertEqual(self.path.read_text(), "old")
        self.assertEqual(sorted(p.name for p in self.path.parent.iterdir()), ["simcloud.json"])
