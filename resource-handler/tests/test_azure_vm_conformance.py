"""The azure_vm plugin against FakeAzure passes the conformance kit: VMs in the
infrastructure's network (as the tutorials make them), and with a public IP address."""
from __future__ import annotations

from occo.util.nodes import ResolvedNode

from occo.resourcehandler.azure import testing as fake
from occo.resourcehandler.azure.vm.handler import AzureVmHandler
from occo.resourcehandler.conformance import ResourceHandlerConformance

from .azure_vm_support import FakeAzureVmCase


class AzureVmConformanceTest(ResourceHandlerConformance, FakeAzureVmCase):
    READY_TIMEOUT = 10.0
    PUBLIC_IP: bool | None = None

    def make_handler(self) -> AzureVmHandler:
        return self.vm_handler()

    def make_node(self, infra_id: str, node_id: str) -> ResolvedNode:
        return self.vm_node(infra_id, node_id, public_ip_needed=self.PUBLIC_IP)

    def missing_instance_id(self) -> str:
        return fake.resource_id(fake.RESOURCE_GROUP, "Microsoft.Compute", "virtualMachines",
                                "occopus-missing-node")

    def inject_fault(self, kind: str) -> bool:
        # the VM's PUT: what it made before (a network interface, a public IP address) stays
        # for a retry after throttling, and is deleted when Azure refuses the VM for good;
        # a throttled create's first call fails here, so that it leaves nothing
        if kind == "rate_limit":
            self.cloud.fail_next(429, "The request is being throttled.", method="HEAD",
                                 path="*/resourcegroups/*", retry_after=2)
        else:
            self.cloud.fail_next(400, "The value of parameter imageReference is invalid.",
                                 code="InvalidParameter", method="PUT",
                                 path="*/virtualMachines/*")
        return True


class AzureVmPublicIpConformanceTest(AzureVmConformanceTest):
    PUBLIC_IP = True
