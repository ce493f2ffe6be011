"""States, addresses and ownership as the ec2 plugin reads them from moto."""
from __future__ import annotations

import time
import uuid
from typing import Any

from occo.util.nodes import NodeState

from occo.resourcehandler.base import GONE, INFRA_TAG, Instance, ResourceStatus
from occo.resourcehandler.ec2.handler import EC2Handler

from .ec2_support import MotoEC2Case


class EC2StatesTest(MotoEC2Case):
    def setUp(self) -> None:
        super().setUp()
        self.handler = self.ec2_handler()
        self.infra_id = f"infra-{uuid.uuid4().hex[:8]}"

    def create(self, infra_id: str | None = None, **resource: Any) -> Instance:
        node = self.ec2_node(infra_id or self.infra_id, str(uuid.uuid4()), **resource)
        [made] = self.handler.create_nodes([node])
        assert isinstance(made, Instance), made
        self.addCleanup(self.handler.drop_node, made)
        return made

    def status(self, instance: Instance) -> ResourceStatus:
        [status] = self.handler.get_states([instance])
        return status

    def owned(self, infra_id: str | None = None) -> list[str]:
        return sorted(instance.instance_id
                      for instance in self.handler.list_owned(infra_id or self.infra_id))

    # --- states -------------------------------------------------------------
    def test_the_cloud_states_map_as_the_original_mapped_them(self) -> None:
        self.assertEqual(dict(EC2Handler.STATE_MAP), {
            "pending": NodeState.PENDING, "running": NodeState.READY,
            "shutting-down": NodeState.SHUTDOWN, "terminated": NodeState.SHUTDOWN,
            "stopping": NodeState.TEMP_FAILED, "stopped": NodeState.TEMP_FAILED})

    def test_a_running_instance_is_ready_with_no_detail(self) -> None:
        status = self.status(self.create())
        self.assertIs(status.state, NodeState.READY)
        self.assertIsNone(status.detail)

    def test_a_stopped_instance_is_temp_failed_and_says_why(self) -> None:
        instance = self.create()
        self.cloud.stop_instances(InstanceIds=[instance.instance_id])
        status = self.status(instance)
        self.assertIs(status.state, NodeState.TEMP_FAILED)
        self.assertEqual(status.detail, "Client.UserInitiatedShutdown: User initiated shutdown")

    def test_a_terminated_instance_is_shutdown_and_says_why(self) -> None:
        instance = self.create()
        self.handler.drop_node(instance)
        status = self.status(instance)
        self.assertIs(status.state, NodeState.SHUTDOWN)
        self.assertIn("UserInitiatedShutdown", status.detail or "")

    def test_an_unknown_or_malformed_id_is_gone(self) -> None:
        for instance_id in ("i-0123456789abcdef0", "not-an-instance-id"):
            self.assertEqual(self.status(Instance(self.infra_id, "n", instance_id)), GONE)

    def test_an_instance_not_listed_yet_right_after_its_launch_is_pending_not_gone(self) -> None:
        """EC2 lists a new instance a moment after RunInstances answers (eventual
        consistency); moto lists it at once, so the instance here is one it never made."""
        launched = self.create()
        self.assertIsInstance(launched.data["launched_at"], float)
        unlisted = Instance(self.infra_id, "n", "i-0123456789abcdef0", dict(launched.data))
        status = self.status(unlisted)
        self.assertIs(status.state, NodeState.PENDING)
        self.assertIn("not listed yet", status.detail)
        long_ago = dict(launched.data, launched_at=time.time() - 3600)
        self.assertEqual(self.status(Instance(self.infra_id, "n", "i-0123456789abcdef0",
                                              long_ago)), GONE)

    def test_many_instances_are_asked_about_in_one_call_in_order(self) -> None:
        first, second = self.create(), self.create()
        self.handler.drop_node(second)
        missing = Instance(self.infra_id, "n", "i-0123456789abcdef0")
        self.faults.clear()
        statuses = self.handler.get_states([second, missing, first, second])
        self.assertEqual([status.state for status in statuses],
                         [NodeState.SHUTDOWN, NodeState.SHUTDOWN, NodeState.READY,
                          NodeState.SHUTDOWN])
        self.assertEqual(self.faults.seen["DescribeInstances"], 1)
        self.assertGreater(EC2Handler.capabilities.states_per_call, 1)

    def test_no_instances_ask_nothing(self) -> None:
        self.assertEqual(self.handler.get_states([]), [])
        self.assertEqual(self.faults.seen["DescribeInstances"], 0)

    # --- addresses ----------------------------------------------------------
    def test_an_instance_of_a_public_subnet_has_its_name_public_and_private_address(self) -> None:
        instance = self.create()
        found = self.describe(instance.instance_id)
        status = self.status(instance)
        self.assertEqual(status.addresses, (found["PublicDnsName"], found["PublicIpAddress"],
                                            found["PrivateIpAddress"]))
        self.assertTrue(all(status.addresses), status)
        self.assertEqual(status.private_ip, found["PrivateIpAddress"])

    def test_an_instance_of_a_private_subnet_has_only_its_private_address(self) -> None:
        subnet = self.cloud.create_subnet(VpcId=self.account.vpc_id,
                                          CidrBlock=f"10.10.{self.free_block()}.0/24")
        instance = self.create(subnet_id=subnet["Subnet"]["SubnetId"])
        private_ip = self.describe(instance.instance_id)["PrivateIpAddress"]
        status = self.status(instance)
        self.assertEqual(status.addresses, (private_ip,))
        self.assertEqual(status.private_ip, private_ip)

    def free_block(self) -> int:
        taken = {subnet["CidrBlock"] for subnet in self.cloud.describe_subnets(Filters=[
            {"Name": "vpc-id", "Values": [self.account.vpc_id]}])["Subnets"]}
        return next(block for block in range(2, 255) if f"10.10.{block}.0/24" not in taken)

    # --- ownership ----------------------------------------------------------
    def test_list_owned_finds_the_live_instances_of_one_infrastructure(self) -> None:
        kept, stopped, dropped = self.create(), self.create(), self.create()
        self.create(infra_id=f"other-{uuid.uuid4().hex[:8]}")
        self.cloud.stop_instances(InstanceIds=[stopped.instance_id])
        self.handler.drop_node(dropped)
        found = self.handler.list_owned(self.infra_id)
        self.assertEqual(sorted((i.node_id, i.instance_id) for i in found),
                         sorted((i.node_id, i.instance_id) for i in (kept, stopped)))
        self.assertTrue(all(i.infra_id == self.infra_id for i in found))

    def test_list_owned_leaves_alone_an_instance_without_a_node_tag(self) -> None:
        kept = self.create()
        stranger = self.cloud.run_instances(
            ImageId=self.account.image_id, InstanceType=self.account.instance_type,
            MinCount=1, MaxCount=1, TagSpecifications=[{"ResourceType": "instance", "Tags": [
                {"Key": INFRA_TAG, "Value": self.infra_id}]}])["Instances"][0]["InstanceId"]
        self.addCleanup(self.cloud.terminate_instances, InstanceIds=[stranger])
        with self.assertLogs("occo.resourcehandler.ec2", "WARNING") as logged:
            self.assertEqual(self.owned(), [kept.instance_id])
        self.assertIn(stranger, logged.output[0])
