"""A FakeAzure (`azure.aci.testing.fake_azure`) per test class (`azure_support`), with
azure_aci handlers and nodes for it."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from occo.util.nodes import ResolvedNode

from occo.resourcehandler.azure import testing as fake
from occo.resourcehandler.azure.aci import testing as acifake
from occo.resourcehandler.azure.aci.handler import AciHandler
from occo.resourcehandler.azure.testing import FakeAzure, Resource
from occo.resourcehandler.base import INFRA_TAG, NODE_TAG

from .azure_support import FakeAzureCase

OWNER = "tester@example.org"
ENVIRONMENT = ["message=Hello World! I have been created by Occopus"]
COMMAND = ["sh", "-c", 'echo "$message" > /tmp/message.txt; while true; do sleep 1000; done']


class FakeAciCase(FakeAzureCase):
    """`cloud`: a fake of container groups for the class."""

    @classmethod
    def make_cloud(cls) -> FakeAzure:
        return acifake.fake_azure(cls.BOOT_SECONDS, cls.DELETE_SECONDS)

    def clear_failure(self) -> None:
        acifake.groups(self.cloud).failure = None

    def resource(self, **overrides: Any) -> dict[str, Any]:
        """A resource section as the azure-aci-nginx tutorial has it, filled for the fake."""
        values = acifake.tutorial_values(self.cloud)
        return {"type": "azure_aci", "endpoint": values["endpoint"],
                "resource_group": values["resource_group"], "location": values["location"],
                "memory": values["memory"], "cpu_cores": values["cpu_cores"],
                "os_type": "linux", "image": "nginx:alpine", "network_type": "Public",
                "ports": [80], **overrides}

    def aci_handler(self, credentials: Mapping[str, Any] = fake.CREDENTIALS,
                    **resource: Any) -> AciHandler:
        handler = AciHandler.for_section(self.resource(**resource), credentials)
        self.addCleanup(handler.close)
        return handler

    def aci_node(self, infra_id: str, node_id: str, *, name: str = "web",
                 contextualisation: Mapping[str, Any] | None = None,
                 **resource: Any) -> ResolvedNode:
        section = {"type": "docker", "env": ENVIRONMENT, "command": COMMAND} \
            if contextualisation is None else dict(contextualisation)
        return ResolvedNode(infra_id, f"{infra_id}-name", OWNER, node_id, name,
                            self.resource(**resource), contextualisation=section)

    def groups_of(self, infra_id: str, node_id: str | None = None) -> list[Resource]:
        """The live container groups the fake holds for an infrastructure (and node)."""
        return [group for group in self.cloud.resources(acifake.GROUP_TYPE)
                if group.tags.get(INFRA_TAG) == infra_id
                and (node_id is None or group.tags.get(NODE_TAG) == node_id)]
