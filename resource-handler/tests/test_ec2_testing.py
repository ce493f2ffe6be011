"""The moto support other suites build the ec2 tutorials with: a server, and the values of
the tutorials' placeholders."""
from __future__ import annotations

import ipaddress
import uuid
from contextlib import closing

from occo.util.nodes import ResolvedNode

from occo.resourcehandler.base import Instance
from occo.resourcehandler.ec2.handler import EC2Handler
from occo.resourcehandler.ec2.testing import (CREDENTIALS, LOOPBACK, MotoServer, MotoTestCase,
                                              PLACEHOLDERS, REGION, fill_tutorial,
                                              tutorial_values)

# the resource section of the ec2-helloworld tutorial, as users have it
TUTORIAL = """\
      type: ec2
      endpoint: replace_with_endpoint_of_ec2_interface_of_your_cloud
      regionname: replace_with_regionname_of_your_ec2_interface
      image_id: replace_with_id_of_your_image_on_your_target_cloud
      instance_type: replace_with_instance_type_of_your_image_on_your_target_cloud
      key_name: replace_with_key_name_on_your_target_cloud
      security_group_ids:
        -
          replace_with_security_group_id1_on_your_target_cloud
        -
          replace_with_security_group_id2_on_your_target_cloud
      subnet_id: replace_with_subnet_id_on_your_target_cloud
"""


class MotoSupportTest(MotoTestCase):
    def test_tutorial_values_name_what_exists_in_the_server(self) -> None:
        values = tutorial_values(self.server.url)
        self.assertEqual((values["endpoint"], values["regionname"]), (self.server.url, REGION))
        with closing(self.server.client()) as cloud:
            [image] = cloud.describe_images(ImageIds=[values["image_id"]])["Images"]
            self.assertEqual(image["State"], "available")
            cloud.describe_key_pairs(KeyNames=[values["key_name"]])
            [subnet] = cloud.describe_subnets(SubnetIds=[values["subnet_id"]])["Subnets"]
            self.assertTrue(subnet["MapPublicIpOnLaunch"])
            groups = cloud.describe_security_groups(GroupIds=values["security_group_ids"])
            self.assertEqual({group["VpcId"] for group in groups["SecurityGroups"]},
                             {subnet["VpcId"]})
            self.assertEqual(len(values["security_group_ids"]), 2)

    def test_on_the_loopback_network_the_plugin_reports_one_loopback_address(self) -> None:
        values = tutorial_values(self.server.url, network=LOOPBACK)
        with closing(self.server.client()) as cloud:
            [subnet] = cloud.describe_subnets(SubnetIds=[values["subnet_id"]])["Subnets"]
        self.assertEqual(subnet["CidrBlock"], LOOPBACK.subnet_cidr)
        self.assertFalse(subnet["MapPublicIpOnLaunch"])
        handler = EC2Handler.for_section({"type": "ec2", **values}, CREDENTIALS)
        self.addCleanup(handler.close)
        infra_id = f"infra-{uuid.uuid4().hex[:8]}"
        [made] = handler.create_nodes([ResolvedNode(infra_id, "loopback", "tester", "node-1",
                                                    "web", {"type": "ec2", **values},
                                                    context="#cloud-config\n")])
        assert isinstance(made, Instance), made
        self.addCleanup(handler.drop_node, made)
        [status] = handler.get_states([made])
        [address] = status.addresses        # no public name or address: only the private one
        self.assertEqual(address, status.private_ip)
        self.assertTrue(ipaddress.ip_address(address).is_loopback, address)
        self.assertIn(ipaddress.ip_address(address), ipaddress.ip_network(LOOPBACK.subnet_cidr))

    def test_each_call_prepares_an_account_of_its_own(self) -> None:
        first, second = tutorial_values(self.server.url), tutorial_values(self.server.url)
        self.assertNotEqual(first["key_name"], second["key_name"])

    def test_fill_tutorial_replaces_every_placeholder(self) -> None:
        values = tutorial_values(self.server.url)
        filled = fill_tutorial(TUTORIAL, values)
        self.assertNotIn("replace_with", filled)
        for key in ("endpoint", "regionname", "image_id", "instance_type", "key_name",
                    "subnet_id"):
            self.assertIn(f"{key}: {values[key]}\n", filled)
        for group_id in values["security_group_ids"]:
            self.assertIn(f"          {group_id}\n", filled)
        self.assertEqual(set(PLACEHOLDERS), {word for line in TUTORIAL.splitlines()
                                             for word in line.split()
                                             if word.startswith("replace_with")})

    def test_a_stopped_server_answers_no_more(self) -> None:
        server = MotoServer().start()
        process = server._process
        server.stop()
        server.stop()
        assert process is not None
        self.assertIsNotNone(process.poll())
        with self.assertRaises(OSError):
            server.reset()
