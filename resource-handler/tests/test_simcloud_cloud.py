"""simcloud's instances and state file, in-process with a clock the test turns."""
from __future__ import annotations

import asyncio
import json
import tempfile
import unittest
from pathlib import Path

from occo.resourcehandler.simcloud.cloud import (FORGET_AFTER, PRICE_PER_HOUR, Cloud, StateFile,
                                                 StateFileError)

from .support import Clock


class CloudTest(unittest.IsolatedAsyncioTestCase):
    def setUp(self) -> None:
        scratch = tempfile.TemporaryDirectory()
        self.addCleanup(scratch.cleanup)
        self.path = Path(scratch.name) / "state" / "simcloud.json"
        self.clock = Clock()
        self.cloud = Cloud(self.path, self.clock)

    async def create(self, token: str, boot_time: float = 10.0, **tags: str) -> dict:
        return (await self.cloud.create(token, tags, "img", "small", None, boot_time))[0]

    async def test_states_follow_the_clock(self):
        instance = await self.create("a")
        self.assertEqual(instance["state"], "pending")
        self.clock.now += 10
        self.assertEqual(self.cloud.get(instance["id"])["state"], "running")
        await self.cloud.delete(instance["id"])
        self.assertEqual(self.cloud.get(instance["id"])["state"], "terminated")

    async def test_cost_counts_running_time_until_termination(self):
        instance = await self.create("a", boot_time=10)
        self.clock.now += 5
        self.assertEqual(self.cloud.get(instance["id"])["cost"], 0)
        self.clock.now += 5 + 3600
        self.assertAlmostEqual(self.cloud.get(instance["id"])["cost"], PRICE_PER_HOUR)
        await self.cloud.delete(instance["id"])
        self.clock.now += 3600
        self.assertAlmostEqual(self.cloud.get(instance["id"])["cost"], PRICE_PER_HOUR)

    async def test_a_reopened_cloud_has_every_instance_and_its_token(self):
        first = await self.create("a", infra="i1")
        await self.cloud.delete((await self.create("b", infra="i1"))["id"])
        reopened = Cloud(self.path, self.clock)
        self.assertEqual(await reopened.create("a", {}, None, None, None, 0), (first, False))
        self.assertEqual([item["state"] for item in reopened.find({"infra": "i1"})],
                         ["pending", "terminated"])
        self.assertNotIn((await reopened.create("c", {}, None, None, None, 0))[0]["id"],
                         {first["id"], "i-00000002"}, "ids are never given out twice")

    async def test_find_by_ids_gives_the_known_ones_in_the_order_asked(self):
        web, db = await self.create("a", role="web"), await self.create("b", role="db")
        await self.cloud.delete(db["id"])
        found = self.cloud.find({}, [db["id"], "i-ffffffff", web["id"], db["id"]])
        self.assertEqual([(item["id"], item["state"]) for item in found],
                         [(db["id"], "terminated"), (web["id"], "pending")])
        self.assertEqual([item["id"] for item in self.cloud.find({"role": "web"},
                                                                   [db["id"], web["id"]])],
                         [web["id"]])
        self.assertEqual(self.cloud.find({}, []), [])

    async def test_terminated_instances_are_forgotten_with_their_tokens(self):
        old = await self.create("a")
        await self.cloud.delete(old["id"])
        self.clock.now += FORGET_AFTER / 2
        recent = await self.create("r")
        await self.cloud.delete(recent["id"])
        self.clock.now += FORGET_AFTER / 2 + 1
        await self.cloud.delete((await self.create("b"))["id"])
        self.assertIsNone(self.cloud.get(old["id"]))
        self.assertEqual(self.cloud.get(recent["id"])["state"], "terminated")
        again, made = await self.cloud.create("a", {}, None, None, None, 0)
        self.assertTrue(made)
        self.assertNotEqual(again["id"], old["id"])

    async def test_a_reopened_cloud_forgets_its_terminated_instances_in_time(self):
        recent, old = await self.create("a"), await self.create("b")
        await self.cloud.delete(old["id"])
        self.clock.now += 10
        await self.cloud.delete(recent["id"])
        reopened = Cloud(self.path, self.clock)
        self.clock.now += FORGET_AFTER - 5
        await reopened.create("c", {}, None, None, None, 0)
        self.assertIsNone(reopened.get(old["id"]))
        self.assertEqual(reopened.get(recent["id"])["state"], "terminated")

    async def test_concurrent_changes_are_all_in_the_file_when_answered(self):
        unsaved: list[str] = []

        async def create(index: int) -> str:
            instance = await self.create(f"t{index}")
            if instance["id"] not in json.loads(self.path.read_text())["instances"]:
                unsaved.append(instance["id"])
            return instance["id"]
        made = await asyncio.gather(*(create(index) for index in range(40)))
        self.assertEqual((len(set(made)), unsaved), (40, []))
        saved = json.loads(self.path.read_text())
        self.assertEqual(set(saved["instances"]), set(made))
        self.assertEqual(saved["next_seq"], 41)


class StateFileTest(unittest.IsolatedAsyncioTestCase):
    def setUp(self) -> None:
        scratch = tempfile.TemporaryDirectory()
        self.addCleanup(scratch.cleanup)
        self.path = Path(scratch.name) / "simcloud.json"

    async def test_changes_made_at_once_share_a_write(self):
        made = 0
        written: list[int] = []

        def snapshot() -> str:
            written.append(made)
            return f"{made} changes"
        state = StateFile(self.path, snapshot)

        async def change() -> None:
            nonlocal made
            made += 1
            state.changed()
            await state.saved()
        await asyncio.gather(*(change() for _ in range(40)))
        self.assertLessEqual(len(written), 2, written)
        self.assertEqual(self.path.read_text(), "40 changes")
        await state.saved()
        self.assertLessEqual(len(written), 2, "nothing new to save: no write")

    def test_a_missing_file_is_an_empty_cloud(self):
        self.assertIsNone(StateFile(self.path, str).load())

    def test_a_file_that_is_not_simcloud_state_is_refused(self):
        for text in ("{broken", "[]", '{"version": 99, "instances": {}}'):
            self.path.write_text(text)
            with self.subTest(text), self.assertRaises(StateFileError) as raised:
                StateFile(self.path, str).load()
            self.assertIn(str(self.path), str(raised.exception))

    async def test_a_failed_write_leaves_the_old_file_and_no_temporary_one(self):
        self.path.write_text("old")
        state = StateFile(self.path, lambda: None)     # fails as it is written
        state.changed()
        with self.assertRaises(TypeError):
            await state.saved()
        self.assertEqual(self.path.read_text(), "old")
        self.assertEqual(sorted(p.name for p in self.path.parent.iterdir()), ["simcloud.json"])
