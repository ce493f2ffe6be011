"""The cloudsigma plugin against the fake CloudSigma passes the conformance kit."""
from __future__ import annotations

import uuid

from occo.util.nodes import ResolvedNode

from occo.resourcehandler.cloudsigma.handler import CloudSigmaHandler
from occo.resourcehandler.conformance import ResourceHandlerConformance

from .cloudsigma_support import FakeCloudSigmaCase


class CloudSigmaConformanceTest(ResourceHandlerConformance, FakeCloudSigmaCase):
    READY_TIMEOUT = 10.0

    def make_handler(self) -> CloudSigmaHandler:
        return self.cloudsigma_handler()

    def make_node(self, infra_id: str, node_id: str) -> ResolvedNode:
        return self.cloudsigma_node(infra_id, node_id)

    def missing_instance_id(self) -> str:
        return str(uuid.uuid4())

    def inject_fault(self, kind: str) -> bool:
        if kind == "rate_limit":
            self.cloud.fail_next(429, retry_after=2)
        else:       # the server refused, as CloudSigma refuses a description it cannot take
            self.cloud.fail_next(400, method="POST", path="/servers/", error_type="validation",
                                 message="Ensure this value is greater than or equal to 250.")
        return True
