"""The azure_aci plugin against FakeAzure passes the conformance kit, with public container
groups (as the azure-aci-nginx tutorial) and private ones (as azure-aci-helloworld: in the
infrastructure's network, made and deleted with its nodes)."""
from __future__ import annotations

from occo.util.nodes import ResolvedNode

from occo.resourcehandler.azure import testing as fake
from occo.resourcehandler.azure.aci.handler import AciHandler
from occo.resourcehandler.conformance import ResourceHandlerConformance

from .azure_aci_support import FakeAciCase


class AciPublicConformanceTest(ResourceHandlerConformance, FakeAciCase):
    READY_TIMEOUT = 10.0
    NETWORK_TYPE = "Public"

    def make_handler(self) -> AciHandler:
        return self.aci_handler()

    def make_node(self, infra_id: str, node_id: str) -> ResolvedNode:
        return self.aci_node(infra_id, node_id, network_type=self.NETWORK_TYPE)

    def missing_instance_id(self) -> str:
        return fake.resource_id(fake.RESOURCE_GROUP, "Microsoft.ContainerInstance",
                                "containerGroups", "occopus-missing-node")

    def inject_fault(self, kind: str) -> bool:
        if kind == "rate_limit":
            self.cloud.fail_next(429, "Too many requests to create container groups",
                                 method="PUT", path="*/containerGroups/*", retry_after=2)
        else:
            self.cloud.fail_next(400, "The container group's definition is not valid.",
                                 code="InvalidContainerGroupSpec", method="PUT",
                                 path="*/containerGroups/*")
        return True


class AciPrivateConformanceTest(AciPublicConformanceTest):
    NETWORK_TYPE = "Private"
