"""What the cloudsigma plugin's tests share: a fake CloudSigma per test, handlers and nodes of
it (no tests here)."""
from __future__ import annotations

import unittest
import uuid
from typing import Any

from occo.util.nodes import ResolvedNode

from occo.resourcehandler.base import Connection
from occo.resourcehandler.cloudsigma.handler import CloudSigmaHandler
from occo.resourcehandler.cloudsigma.testing import CREDENTIALS, FakeCloudSigma


class FakeCloudSigmaCase(unittest.TestCase):
    """A fake CloudSigma (`cloud`) for each test, slow enough to show its passing states."""

    FAKE: dict[str, float] = {"clone_time": 0.1, "boot_time": 0.2, "stop_time": 0.1}

    def setUp(self) -> None:
        super().setUp()
        self.cloud = FakeCloudSigma(**self.FAKE).start()
        self.addCleanup(self.cloud.stop)

    def cloudsigma_handler(self, credentials: dict[str, str] | None = None) -> CloudSigmaHandler:
        handler = CloudSigmaHandler(Connection("cloudsigma", {"endpoint": self.cloud.url},
                                               credentials or dict(CREDENTIALS)))
        self.addCleanup(handler.close)
        return handler

    def description(self, **changes: Any) -> dict[str, Any]:
        """The tutorials' description, with the fake account's ids."""
        account = self.cloud.account
        return {"cpu": 2000, "mem": 1073741824, "vnc_password": "secret",
                "pubkeys": [account.pubkey_id],
                "nics": [{"firewall_policy": account.firewall_policy_id,
                          "ip_v4_conf": {"conf": "dhcp"}}], **changes}

    def cloudsigma_node(self, infra_id: str | None = None, node_id: str | None = None,
                        context: str | None = "#cloud-config\n", **description: Any
                        ) -> ResolvedNode:
        return ResolvedNode(infra_id or f"infra-{uuid.uuid4().hex[:12]}", "tests",
                            "tester@example.org", node_id or str(uuid.uuid4()), "node",
                            {"type": "cloudsigma", "endpoint": self.cloud.url,
                             "libdrive_id": self.cloud.account.libdrive_id,
                             "description": self.description(**description)},
                            context=context)
