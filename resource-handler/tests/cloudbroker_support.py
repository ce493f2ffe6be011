"""What the cloudbroker plugin's tests share: a fake CloudBroker per test, handlers and nodes
of it (no tests here)."""
from __future__ import annotations

import unittest
import uuid
from typing import Any

from occo.util.nodes import ResolvedNode

from occo.resourcehandler.base import Connection
from occo.resourcehandler.cloudbroker.handler import CloudBrokerHandler
from occo.resourcehandler.cloudbroker.testing import CREDENTIALS, OPENED_PORTS, FakeCloudBroker


class FakeCloudBrokerCase(unittest.TestCase):
    """A fake CloudBroker (`cloud`) for each test, slow enough to show its passing states."""

    FAKE: dict[str, float] = {"boot_time": 0.2, "stop_time": 0.1}

    def setUp(self) -> None:
        super().setUp()
        self.cloud = FakeCloudBroker(**self.FAKE).start()
        self.addCleanup(self.cloud.stop)

    def cloudbroker_handler(self, credentials: dict[str, str] | None = None
                            ) -> CloudBrokerHandler:
        handler = CloudBrokerHandler(Connection("cloudbroker", {"endpoint": self.cloud.url},
                                                credentials or dict(CREDENTIALS)))
        self.addCleanup(handler.close)
        return handler

    def description(self, **changes: Any) -> dict[str, Any]:
        """The tutorials' description, with the fake account's ids."""
        account = self.cloud.account
        return {"deployment_id": account.deployment_id,
                "instance_type_id": account.instance_type_id,
                "key_pair_id": account.key_pair_id, "opened_port": OPENED_PORTS, **changes}

    def cloudbroker_node(self, infra_id: str | None = None, node_id: str | None = None,
                         context: str | None = "#cloud-config\n", **description: Any
                         ) -> ResolvedNode:
        return ResolvedNode(infra_id or f"infra-{uuid.uuid4().hex[:12]}", "tests",
                            "tester@example.org", node_id or str(uuid.uuid4()), "node",
                            {"type": "cloudbroker", "endpoint": self.cloud.url,
                             "description": self.description(**description)},
                            context=context)
