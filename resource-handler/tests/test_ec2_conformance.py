"""The ec2 plugin against moto's EC2 server passes the conformance kit.

Faults come from the test fault injector in front of moto, which answers the
next RunInstances as EC2 answers a throttled or a malformed request.
"""
from __future__ import annotations

from occo.util.nodes import ResolvedNode

from occo.resourcehandler.conformance import ResourceHandlerConformance
from occo.resourcehandler.ec2.handler import EC2Handler

from .ec2_support import MotoEC2Case

FAULTS = {
    "rate_limit": ("RequestLimitExceeded", "Request limit exceeded.", 503),
    "bad_request": ("InvalidParameterValue", "Value (x) for parameter userData is invalid.", 400),
}


class EC2ConformanceTest(ResourceHandlerConformance, MotoEC2Case):
    READY_TIMEOUT = 10.0

    def make_handler(self) -> EC2Handler:
        return self.ec2_handler()

    def make_node(self, infra_id: str, node_id: str) -> ResolvedNode:
        return self.ec2_node(infra_id, node_id)

    def missing_instance_id(self) -> str:
        return "i-0123456789abcdef0"

    def inject_fault(self, kind: str) -> bool:
        code, message, status = FAULTS[kind]
        self.faults.fail_next(code, message, status, action="RunInstances")
        return True
