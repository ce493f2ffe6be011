"""A node's process group is recognised by its mark, so a stranger's group is never signalled."""
from __future__ import annotations

import os
import subprocess
import unittest

from occo.resourcehandler.local import processes

from .test_local_support import group_exists, wait_until


class ProcessGroupTest(unittest.TestCase):
    def start(self, environment: dict[str, str]) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(["sleep", "300"], start_new_session=True,
                                   env=os.environ | environment)
        self.addCleanup(process.wait)
        self.addCleanup(process.kill)
        return process

    def test_a_marked_group_is_stopped(self) -> None:
        process = self.start(processes.mark("local-test-1"))
        wait_until(lambda: processes.group_is_alive(process.pid, "local-test-1"), "the mark shows")
        processes.stop_group(process.pid, "local-test-1", grace=5)
        process.wait(timeout=10)
        wait_until(lambda: not group_exists(process.pid), "the group is gone")

    def test_a_group_without_the_nodes_mark_is_left_alone(self) -> None:
        for environment in ({}, processes.mark("local-someone-else")):
            with self.subTest(environment):
                process = self.start(environment)
                self.assertFalse(processes.group_is_alive(process.pid, "local-test-2"))
                processes.stop_group(process.pid, "local-test-2", grace=0)
                self.assertIsNone(process.poll(), "a stranger's process was signalled")
                self.assertFalse(processes.is_running(process.pid, "local-test-2"))

    def test_a_finished_process_is_not_running(self) -> None:
        process = self.start(processes.mark("local-test-3"))
        # until the child has exec'd, /proc shows the parent's environment, without the mark
        wait_until(lambda: processes.is_running(process.pid, "local-test-3"), "the mark shows")
        process.kill()
        process.wait(timeout=10)
        self.assertFalse(processes.is_running(process.pid, "local-test-3"))
