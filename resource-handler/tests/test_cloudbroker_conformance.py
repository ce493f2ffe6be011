"""The cloudbroker plugin against the fake CloudBroker passes the conformance kit."""
from __future__ import annotations

import uuid

from occo.util.nodes import ResolvedNode

from occo.resourcehandler.cloudbroker.handler import CloudBrokerHandler
from occo.resourcehandler.conformance import ResourceHandlerConformance

from .cloudbroker_support import FakeCloudBrokerCase


class CloudBrokerConformanceTest(ResourceHandlerConformance, FakeCloudBrokerCase):
    READY_TIMEOUT = 10.0

    def make_handler(self) -> CloudBrokerHandler:
        return self.cloudbroker_handler()

    def make_node(self, infra_id: str, node_id: str) -> ResolvedNode:
        return self.cloudbroker_node(infra_id, node_id)

    def missing_instance_id(self) -> str:
        return str(uuid.uuid4())

    def inject_fault(self, kind: str) -> bool:
        if kind == "rate_limit":
            self.cloud.fail_next(429, retry_after=2)
        else:       # the instance refused, as CloudBroker refuses a description it cannot take
            self.cloud.fail_next(422, method="POST", path="/instances.xml",
                                 message="Instance type is not available in this region")
        return True
