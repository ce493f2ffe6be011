"""A simcloud server as a real process: its state survives a restart or a kill."""
from __future__ import annotations

import socket
import tempfile
import unittest
import uuid
from pathlib import Path

from occo.util.nodes import NodeState, ResolvedNode

from occo.resourcehandler.simcloud.plugin import SimCloudHandler
from occo.resourcehandler.simcloud.process import SimCloudError, SimCloudProcess
from .support import create_one, state_of


class ProcessTest(unittest.TestCase):
    def setUp(self) -> None:
        self.cloud = SimCloudProcess(boot_time=0).start()
        self.addCleanup(self.cloud.close)
        self.handler = SimCloudHandler.for_section(self.cloud.resource())
        self.addCleanup(self.handler.close)
        self.infra_id = f"infra-{uuid.uuid4().hex[:8]}"

    def create(self, node_id: str):
        return create_one(self.handler, ResolvedNode(self.infra_id, "i", "u", node_id, "web",
                                                     self.cloud.resource()))

    def owned(self) -> list[tuple[str, str]]:
        return sorted((i.node_id, i.instance_id) for i in self.handler.list_owned(self.infra_id))

    def check_survives(self, bring_back) -> None:
        kept, dropped = self.create("kept"), self.create("dropped")
        self.handler.drop_node(dropped)
        before = self.owned()
        bring_back()
        self.assertEqual(self.owned(), before)
        self.assertEqual(self.create("kept").instance_id, kept.instance_id)
        self.assertIs(state_of(self.handler, dropped), NodeState.SHUTDOWN)
        self.assertNotIn(self.create("new").instance_id,
                         {kept.instance_id, dropped.instance_id}, "ids are never given out twice")

    def test_a_restart_keeps_every_instance_on_the_same_port(self):
        url = self.cloud.url
        self.check_survives(self.cloud.restart)
        self.assertEqual(self.cloud.url, url)

    def test_a_killed_server_kept_every_change_it_answered(self):
        self.check_survives(lambda: (self.cloud.kill(), self.cloud.start()))

    def test_a_stopped_server_is_gone_and_close_removes_its_scratch_folder(self):
        self.cloud.stop()
        self.assertFalse(self.cloud.running)
        with socket.socket() as probe:
            self.assertNotEqual(probe.connect_ex(("127.0.0.1", self.cloud.port)), 0)
        self.cloud.close()
        self.assertFalse(self.cloud.scratch.exists())


class StartFailureTest(unittest.TestCase):
    def test_a_corrupt_state_file_is_reported_with_the_servers_words(self):
        with tempfile.TemporaryDirectory() as scratch:
            state = Path(scratch, "state.json")
            state.write_text("{not json")
            cloud = SimCloudProcess(state)
            self.addCleanup(cloud.close)
            with self.assertRaises(SimCloudError) as raised:
                cloud.start()
            self.assertIn("not a simcloud state file", raised.exception.hint)
            self.assertFalse(cloud.running)

    def test_a_taken_port_is_reported(self):
        with socket.socket() as holder:
            holder.bind(("127.0.0.1", 0))
            holder.listen()
            cloud = SimCloudProcess(port=holder.getsockname()[1])
            self.addCleanup(cloud.close)
            with self.assertRaises(SimCloudError) as raised:
                cloud.start()
            self.assertIn("in use", raised.exception.hint)

    def test_a_given_state_file_outlives_the_process(self):
        with tempfile.TemporaryDirectory() as scratch:
            state = Path(scratch, "kept", "state.json")
            with SimCloudProcess(state) as cloud:
                handler = SimCloudHandler.for_section(cloud.resource())
                self.addCleanup(handler.close)
                instance = create_one(handler, ResolvedNode("i", "i", "u", "n", "web", {}))
            self.assertIn(instance.instance_id, state.read_text())
