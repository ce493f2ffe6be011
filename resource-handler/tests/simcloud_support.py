"""A simcloud server per test class, and nodes to create on it."""
from __future__ import annotations

import unittest

from occo.util.nodes import ResolvedNode

from occo.resourcehandler.simcloud.plugin import SimCloudHandler
from occo.resourcehandler.simcloud.process import SimCloudProcess


class SimCloudCase(unittest.TestCase):
    """Starts one server for the class (`cloud`); the faults a test set are reset after it."""

    BOOT_TIME = 0.2
    cloud: SimCloudProcess

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.cloud = SimCloudProcess(boot_time=cls.BOOT_TIME).start()
        cls.addClassCleanup(cls.cloud.close)

    def tearDown(self) -> None:
        """Before the cleanups, which may drop what the test made."""
        defaults = {"latency": 0.0, "rate_limit": None, "error_rate": 0.0, "ghost_rate": 0.0,
                    "boot_time": self.BOOT_TIME}
        self.cloud.set_faults(**defaults)
        self.cloud.fail_next(500, 0)
        super().tearDown()

    def simcloud_handler(self) -> SimCloudHandler:
        handler = SimCloudHandler(self.cloud.resource(image="debian-12", flavor="small"))
        self.addCleanup(handler.close)
        return handler

    def node(self, infra_id: str, node_id: str, name: str = "web") -> ResolvedNode:
        return ResolvedNode(infra_id, f"{infra_id}-name", "tester", node_id, name,
                            self.cloud.resource(), context="#cloud-config\n")
