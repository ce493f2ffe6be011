"""A fake OpenStack (`FakeOpenStack`) per test class, with nova handlers and nodes for it."""
from __future__ import annotations

import unittest
from collections.abc import Mapping
from typing import Any, ClassVar

from occo.util.nodes import ResolvedNode

from occo.resourcehandler.nova import testing as fake
from occo.resourcehandler.nova.handler import NovaHandler

CONTEXT = "#cloud-config\nruncmd:\n  - echo hello\n"


class FakeOpenStackCase(unittest.TestCase):
    """`cloud`: the fake for the class, its faults cleared before each test."""

    cloud: ClassVar[fake.FakeOpenStack]
    BOOT_SECONDS: ClassVar[float] = 0.2

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.cloud = fake.FakeOpenStack(boot_seconds=cls.BOOT_SECONDS).start()
        cls.addClassCleanup(cls.cloud.stop)

    def setUp(self) -> None:
        super().setUp()
        self.cloud.clear()

    def resource(self, **overrides: Any) -> dict[str, Any]:
        """A resource section as the tutorials have it, filled for the fake."""
        values = self.cloud.tutorial_values()
        return {"type": "nova", "endpoint": values["endpoint"],
                "project_id": values["project_id"], "user_domain_name": "Default",
                "image_id": values["image_id"], "network_id": values["network_id"],
                "flavor_name": values["flavor_name"], "key_name": values["key_name"],
                "security_groups": [values["security_group"]], **overrides}

    def nova_handler(self, credentials: Mapping[str, Any] = fake.USER,
                     **resource: Any) -> NovaHandler:
        handler = NovaHandler.for_section(self.resource(**resource), credentials)
        self.addCleanup(handler.close)
        return handler

    def nova_node(self, infra_id: str, node_id: str, *, name: str = "web",
                  context: str | None = CONTEXT, **resource: Any) -> ResolvedNode:
        return ResolvedNode(infra_id, f"{infra_id}-name", "tester@example.org", node_id, name,
                            self.resource(**resource), context=context)

    def servers_of(self, node_id: str) -> list[dict[str, Any]]:
        """What the fake holds for a node id."""
        return [server for server in self.cloud.live_servers()
                if server["metadata"].get("occopus-node-id") == node_id]
