"""The simcloud plugin against a real simcloud server passes the conformance kit."""
from __future__ import annotations

from occo.util.nodes import ResolvedNode

from occo.resourcehandler.simcloud.plugin import SimCloudHandler

from occo.resourcehandler.conformance import ResourceHandlerConformance
from .simcloud_support import SimCloudCase

FAULT_STATUS = {"rate_limit": 429, "bad_request": 400}


class SimCloudConformanceTest(ResourceHandlerConformance, SimCloudCase):
    READY_TIMEOUT = 10.0

    def make_handler(self) -> SimCloudHandler:
        return SimCloudHandler.for_section(self.cloud.resource(image="debian-12", flavor="small"))

    def make_node(self, infra_id: str, node_id: str) -> ResolvedNode:
        return self.node(infra_id, node_id)

    def inject_fault(self, kind: str) -> bool:
        self.cloud.fail_next(FAULT_STATUS[kind])
        return True
