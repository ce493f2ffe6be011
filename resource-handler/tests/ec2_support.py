"""A moto EC2 server and a fault injector in front of it per test class, with ec2 handlers
and nodes for them."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from botocore.client import BaseClient

from occo.util.nodes import ResolvedNode

from occo.resourcehandler.ec2.handler import EC2Handler
from occo.resourcehandler.ec2.testing import Account, CREDENTIALS, MotoTestCase, prepare_account

from .ec2_fault_injector import EC2FaultInjector

CONTEXT = "#cloud-config\nruncmd:\n  - echo hello\n"


class MotoEC2Case(MotoTestCase):
    """Handlers reach moto through `faults`; `cloud` reaches it directly, to look."""

    faults: ClassVar[EC2FaultInjector]
    cloud: ClassVar[BaseClient]
    account: ClassVar[Account]

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.faults = EC2FaultInjector(cls.server.url)
        cls.addClassCleanup(cls.faults.close)
        cls.cloud = cls.server.client()
        cls.addClassCleanup(cls.cloud.close)
        cls.account = prepare_account(cls.cloud)

    def setUp(self) -> None:
        super().setUp()
        self.faults.clear()

    def resource(self, **overrides: Any) -> dict[str, Any]:
        """A resource section of the class's account, reaching moto through the injector."""
        return {"type": "ec2", **self.account.tutorial_values(self.faults.url), **overrides}

    def ec2_handler(self, credentials: Mapping[str, Any] = CREDENTIALS,
                    handler_class: type[EC2Handler] = EC2Handler,
                    **resource: Any) -> EC2Handler:
        """A handler of `resource(**resource)`, closed when the test ends."""
        handler = handler_class.for_section(self.resource(**resource), credentials)
        self.addCleanup(handler.close)
        return handler

    def ec2_node(self, infra_id: str, node_id: str, *, name: str = "web",
                 context: str | None = CONTEXT, user_id: str = "tester",
                 **resource: Any) -> ResolvedNode:
        return ResolvedNode(infra_id, f"{infra_id}-name", user_id, node_id, name,
                            self.resource(**resource), context=context)

    def describe(self, instance_id: str) -> dict[str, Any]:
        """What moto itself says of an instance."""
        [reservation] = self.cloud.describe_instances(InstanceIds=[instance_id])["Reservations"]
        return reservation["Instances"][0]

    def instances_of_node(self, node_id: str) -> list[str]:
        """The ids of every instance moto has with this node id, whatever its state."""
        found = self.cloud.describe_instances(Filters=[
            {"Name": "tag:occopus-node-id", "Values": [node_id]}])["Reservations"]
        return sorted(item["InstanceId"] for reservation in found
                      for item in reservation["Instances"])
