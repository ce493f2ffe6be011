"""occopus-events: an infrastructure's event log printed from the store, as lines or JSON, and
followed until Ctrl+C or until the infrastructure is removed."""
from __future__ import annotations

import json
import signal
import time
from typing import Any

import yaml

from occo.api.eventlog import PAGE, last_seq, read_events
from occo.compiler import compile_description
from occo.infobroker.store import Event

from .support import CommandCase, wait_until

SHOP = """\
infra_name: shop
nodes:
  - {name: app, type: plain, scaling: {min: 1, max: 5}}
"""
T0 = 1_700_000_000.0        # 2023-11-14 22:13:20 UTC


class EventsCommandTest(CommandCase):
    def setUp(self) -> None:
        super().setUp()
        self.infra_id = self.store_only(SHOP)
        self.append("infrastart", T0)
        self.append("nodefailed", T0 + 5, node_id="n1", name="app",
                    reason="the cloud said no\nat all", password="hunter2-secret")

    def append(self, event: str, at: float, /, **data: Any) -> None:
        self.store.append_event(Event(self.infra_id, event, at, data))

    def test_events_are_printed_one_a_line_secrets_hidden(self) -> None:
        printed = self.run_command("occopus-events", "-i", self.infra_id, code=0).stdout
        lines = printed.splitlines()
        self.assertEqual(len(lines), 2, printed)
        self.assertTrue(lines[0].startswith("2023-11-14 22:13:20  infrastart"), lines[0])
        self.assertRegex(lines[1], r"^2023-11-14 22:13:25  nodefailed +app +node_id=n1 "
                                   r"reason=the cloud said no at all password=\*\*\*$")
        self.assertNotIn("hunter2-secret", printed)

    def test_json_prints_one_object_a_line(self) -> None:
        printed = self.run_command("occopus-events", "-i", self.infra_id, "--json", code=0).stdout
        records = [json.loads(line) for line in printed.splitlines()]
        self.assertEqual([record["name"] for record in records], ["infrastart", "nodefailed"])
        self.assertLess(records[0]["seq"], records[1]["seq"])
        self.assertEqual(records[1]["time"], T0 + 5)
        self.assertEqual(records[1]["data"]["password"], "***")

    def test_follow_prints_new_events_until_ctrl_c(self) -> None:
        running = self.start("occopus-events", "-i", self.infra_id, "--follow", "--json")
        wait_until(lambda: len(running.stdout.splitlines()) == 2, "the log so far is printed")
        self.append("nodecreated", time.time(), node_id="n2", name="app")
        wait_until(lambda: len(running.stdout.splitlines()) == 3, "the new event is printed")
        self.assertEqual(json.loads(running.stdout.splitlines()[2])["name"], "nodecreated")
        running.process.send_signal(signal.SIGINT)
        self.assertEqual(running.wait(), 130)
        self.assertNotIn("interrupted", running.stderr)
        self.assert_clean(running.stderr, "occopus-events")

    def test_follow_ends_when_the_infrastructure_is_removed(self) -> None:
        running = self.start("occopus-events", "-i", self.infra_id, "--follow")
        wait_until(lambda: len(running.stdout.splitlines()) == 2, "the log so far is printed")
        self.store.remove_infrastructure(self.infra_id)
        self.assertEqual(running.wait(), 0)
        self.assertIn(f"infrastructure {self.infra_id} was removed", running.stderr)

    def test_an_unknown_infrastructure_is_an_error(self) -> None:
        failed = self.run_command("occopus-events", "-i", "no-such-id", code=1)
        self.assertIn("occopus-events: error: no infrastructure no-such-id", failed.stderr)
        self.assertEqual(failed.stdout, "")


class EventLogTest(CommandCase):
    """The shared helpers of `occo.api.eventlog`, on a log longer than a page."""

    def test_the_newest_seq_and_pages_past_one(self) -> None:
        store = self.open_store()
        static = compile_description(yaml.safe_load(SHOP))
        store.add_infrastructure(static.infra_id, static.to_dict())
        self.assertEqual(last_seq(store, static.infra_id), 0)
        store.append_events([Event(static.infra_id, f"e{index}", T0 + index, {})
                             for index in range(PAGE + 5)])
        events = read_events(store, static.infra_id)
        self.assertEqual(len(events), PAGE + 5)
        self.assertEqual(last_seq(store, static.infra_id), events[-1].seq)
        later = read_events(store, static.infra_id, since=T0 + PAGE, limit=3)
        self.assertEqual([event.name for event in later], [f"e{PAGE}", f"e{PAGE + 1}",
                                                           f"e{PAGE + 2}"])
