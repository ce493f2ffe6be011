"""The libcloud plugin, driving Libcloud's OpenStack driver against the fake OpenStack
(`nova.testing.FakeOpenStack`), passes the conformance kit."""
from __future__ import annotations

from occo.util.nodes import ResolvedNode

from occo.resourcehandler.anydriver.handler import LibcloudHandler
from occo.resourcehandler.conformance import ResourceHandlerConformance

from .libcloud_support import LibcloudOpenStackCase


class LibcloudOpenStackConformanceTest(ResourceHandlerConformance, LibcloudOpenStackCase):
    READY_TIMEOUT = 10.0

    def make_handler(self) -> LibcloudHandler:
        return self.libcloud_handler()

    def make_node(self, infra_id: str, node_id: str) -> ResolvedNode:
        return self.libcloud_node(infra_id, node_id)

    def missing_instance_id(self) -> str:
        return "00000000-0000-4000-8000-000000000000"

    def inject_fault(self, kind: str) -> bool:
        if kind == "rate_limit":
            self.cloud.fail_next(429, "Rate limit exceeded", method="POST", path="/servers",
                                 retry_after=2)
        else:
            self.cloud.fail_next(400, "Invalid input for field/attribute name.", method="POST",
                                 path="/servers")
        return True
