"""A simcloud server per test class, and nodes to create on it."""
from __future__ import annotations

from occo.util.nodes import ResolvedNode

from occo.resourcehandler.simcloud.plugin import SimCloudHandler
from occo.resourcehandler.simcloud.testing import SimCloudTestCase


class SimCloudCase(SimCloudTestCase):
    """A simcloud server for the class, with handlers and nodes to create on it."""

    def simcloud_handler(self) -> SimCloudHandler:
        handler = SimCloudHandler.for_section(self.cloud.resource(image="debian-12", flavor="small"))
        self.addCleanup(handler.close)
        return handler

    def node(self, infra_id: str, node_id: str, name: str = "web") -> ResolvedNode:
        return ResolvedNode(infra_id, f"{infra_id}-name", "tester", node_id, name,
                            self.cloud.resource(), context="#cloud-config\n")
