"""What an ec2 create sends (user data, tags, launch parameters, client token), and that it
stays idempotent under retries, against moto."""
from __future__ import annotations

import base64
import uuid
from typing import Any

from occo.util.nodes import ResolvedNode

from occo.resourcehandler.base import INFRA_TAG, NODE_TAG, OWNER_TAG, Instance, TransientError
from occo.resourcehandler.ec2.launch import client_token

from .ec2_support import MotoEC2Case


class EC2LaunchTest(MotoEC2Case):
    def setUp(self) -> None:
        super().setUp()
        self.handler = self.ec2_handler()
        self.infra_id = f"infra-{uuid.uuid4().hex[:8]}"

    def create(self, node: ResolvedNode) -> Instance:
        [made] = self.handler.create_nodes([node])
        if isinstance(made, Exception):
            raise made
        self.addCleanup(self.handler.drop_node, made)
        return made

    def node(self, **kwargs: Any) -> ResolvedNode:
        return self.ec2_node(self.infra_id, str(uuid.uuid4()), **kwargs)

    def tags(self, instance: Instance) -> dict[str, str]:
        return {tag["Key"]: tag["Value"] for tag in self.describe(instance.instance_id)["Tags"]}

    # --- what reaches the instance --------------------------------------------
    def test_the_user_data_reaches_the_instance_as_given(self) -> None:
        context = "#cloud-config\nwrite_files:\n  - path: /etc/motd\n    content: héllo ✓\n"
        instance = self.create(self.node(context=context))
        answer = self.cloud.describe_instance_attribute(InstanceId=instance.instance_id,
                                                        Attribute="userData")
        self.assertEqual(base64.b64decode(answer["UserData"]["Value"]).decode(), context)

    def test_a_node_without_context_is_launched_without_user_data(self) -> None:
        instance = self.create(self.node(context=None))
        answer = self.cloud.describe_instance_attribute(InstanceId=instance.instance_id,
                                                        Attribute="userData")
        self.assertNotIn("Value", answer.get("UserData", {}))

    def test_the_launch_parameters_of_the_section_are_used(self) -> None:
        instance = self.create(self.node())
        found = self.describe(instance.instance_id)
        self.assertEqual(found["ImageId"], self.account.image_id)
        self.assertEqual(found["InstanceType"], self.account.instance_type)
        self.assertEqual(found["KeyName"], self.account.key_name)
        self.assertEqual(found["SubnetId"], self.account.subnet_id)
        self.assertEqual(sorted(group["GroupId"] for group in found["SecurityGroups"]),
                         sorted(self.account.security_group_ids))

    def test_the_instance_is_made_in_the_sections_region(self) -> None:
        instance = self.create(self.node())
        elsewhere = self.server.client(region="us-east-1")
        self.addCleanup(elsewhere.close)
        found = elsewhere.describe_instances(Filters=[
            {"Name": "instance-id", "Values": [instance.instance_id]}])["Reservations"]
        self.assertEqual(found, [])
        self.assertEqual(self.describe(instance.instance_id)["InstanceId"], instance.instance_id)

    # --- tags ---------------------------------------------------------------
    def test_the_instance_is_tagged_as_it_is_made(self) -> None:
        node = self.node(name="db", user_id="alice", tags={"project": "occopus", "tier": 2})
        instance = self.create(node)
        self.assertEqual(self.tags(instance), {
            INFRA_TAG: self.infra_id, NODE_TAG: node.node_id, OWNER_TAG: "alice", "Name": "db",
            "project": "occopus", "tier": "2"})
        # tags set by a later CreateTags call would not be in RunInstances' own answer
        self.assertEqual(self.faults.seen["CreateTags"], 0)

    def test_a_name_tag_of_the_section_replaces_the_node_name(self) -> None:
        instance = self.create(self.node(name="db", tags={"Name": "my-database"}))
        self.assertEqual(self.tags(instance)["Name"], "my-database")

    def test_the_section_cannot_replace_the_occopus_tags(self) -> None:
        node = self.node(tags={INFRA_TAG: "other-infra", NODE_TAG: "other-node",
                               OWNER_TAG: "mallory"})
        instance = self.create(node)
        tags = self.tags(instance)
        self.assertEqual((tags[INFRA_TAG], tags[NODE_TAG], tags[OWNER_TAG]),
                         (self.infra_id, node.node_id, "tester"))

    # --- idempotency --------------------------------------------------------
    def test_the_request_carries_a_client_token_derived_from_the_node_id(self) -> None:
        node = self.node()
        instance = self.create(node)
        self.assertEqual(self.describe(instance.instance_id)["ClientToken"],
                         client_token(node.node_id))

    def test_moto_ignores_client_tokens_so_the_handler_looks_before_it_runs(self) -> None:
        # the fact the lookup exists for: a repeated token makes a second instance in moto
        node = self.node()
        first = self.create(node)
        self.assertNotEqual(self.create_directly(client_token(node.node_id)), first.instance_id,
                            "moto now honours client tokens: this test's premise changed")
        self.assertEqual(self.create(node).instance_id, first.instance_id)
        self.assertEqual(self.faults.seen["RunInstances"], 1)

    def create_directly(self, token: str) -> str:
        made = self.cloud.run_instances(ImageId=self.account.image_id, MinCount=1, MaxCount=1,
                                        InstanceType=self.account.instance_type,
                                        ClientToken=token)["Instances"][0]["InstanceId"]
        self.addCleanup(self.cloud.terminate_instances, InstanceIds=[made])
        return str(made)

    def test_a_retry_after_a_lost_answer_finds_the_instance_made(self) -> None:
        node = self.node()
        self.faults.lose_answer_next("RunInstances")
        [lost] = self.handler.create_nodes([node])
        self.assertIsInstance(lost, TransientError)
        [made] = self.instances_of_node(node.node_id)        # the cloud made it all the same
        self.addCleanup(self.cloud.terminate_instances, InstanceIds=[made])
        retried = self.create(node)                          # what the engine does next
        self.assertEqual(retried.instance_id, made)
        self.assertEqual(self.instances_of_node(node.node_id), [made])

    def test_a_new_handler_finds_the_instance_made_by_another(self) -> None:
        node = self.node()
        first = self.create(node)
        again = self.ec2_handler().create_nodes([node])
        self.assertEqual(again, [first])

    def test_a_node_made_and_terminated_is_answered_with_its_instance(self) -> None:
        # as EC2 answers a repeated client token: the engine then sees it SHUTDOWN
        node = self.node()
        first = self.create(node)
        self.handler.drop_node(first)
        self.assertEqual(self.create(node).instance_id, first.instance_id)
        self.assertEqual(self.instances_of_node(node.node_id), [first.instance_id])
