"""A FakeAzure (`azure.aci.testing.fake_azure`) per test class, trusted through
REQUESTS_CA_BUNDLE, with azure_aci handlers and nodes for it."""
from __future__ import annotations

import unittest
from collections.abc import Mapping
from typing import Any, ClassVar

from occo.util.nodes import ResolvedNode

from occo.resourcehandler.azure import testing as fake
from occo.resourcehandler.azure.aci import testing as acifake
from occo.resourcehandler.azure.aci.handler import AciHandler
from occo.resourcehandler.azure.testing import FakeAzure, Resource
from occo.resourcehandler.base import INFRA_TAG, NODE_TAG

OWNER = "tester@example.org"
ENVIRONMENT = ["message=Hello World! I have been created by Occopus"]
COMMAND = ["sh", "-c", 'echo "$message" > /tmp/message.txt; while true; do sleep 1000; done']


class FakeAciCase(unittest.TestCase):
    """`cloud`: the fake for the class, cleared (resources, faults, a failure asked of its
    container groups) before each test."""

    cloud: ClassVar[FakeAzure]
    BOOT_SECONDS: ClassVar[float] = 0.2
    DELETE_SECONDS: ClassVar[float] = 0.0

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.cloud = acifake.fake_azure(cls.BOOT_SECONDS, cls.DELETE_SECONDS).start()
        cls.addClassCleanup(cls.cloud.stop)
        cls.enterClassContext(cls.cloud.trusting())

    def setUp(self) -> None:
        super().setUp()
        self.cloud.clear()
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

    def calls(self, method: str, pattern: str) -> int:
        """How many calls of `method` on a path ending in `pattern` the fake answered."""
        return sum(1 for made, path in self.cloud.calls
                   if made == method and path.endswith(pattern))
