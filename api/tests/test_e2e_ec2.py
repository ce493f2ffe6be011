"""The ec2-helloworld and ec2-ping tutorials end to end, on moto's EC2 server.

moto's server is a real HTTP server process on a free loopback port, one per
test class, with image, key-pair and instance-type validation on
(`occo.resourcehandler.ec2.testing`). Each test first makes in it what a user
has in their account before following a tutorial (a key pair, a VPC and a
subnet, two security groups, and an image), copies the tutorial from
../shared/compat/occopus-tutorials, fills its placeholders with those ids and
the server's endpoint, and writes `~/.occopus/auth_data.yaml` with the access
key pair, as a user does. Nothing else in the files changes. Then the real
commands (import, build, report, destroy), and a look at moto itself: the
instances, their tags and their user data.

Pinging the nodes. moto invents instance addresses, and nothing may ever
contact them; yet these tutorials' nodes have no `health_check`, so the
default `ping: true` applies and the engine pings each node's first address
before it counts as ready. So the account's VPC (127.77.0.0/16) and subnet
(127.77.1.0/24) are on this machine's loopback range, and the subnet maps no
public address (`testing.LOOPBACK`): moto hands out private addresses from the
subnet, and an instance then has no public IP or DNS name at all, so the only
address the plugin reports, the one the engine pings and `getip()` renders,
is a 127.77.1.x address, which this machine answers itself (Linux routes all
of 127.0.0.0/8 to the loopback interface). The tests check just that: each
instance has no public address or name, its private address is in the
loopback subnet, and it is the only address the commands report. No user file
changes for it: the subnet is the account's, as a user's would be.
"""
from __future__ import annotations

import base64
import ipaddress
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from occo.resourcehandler.base import INFRA_TAG, NODE_TAG, OWNER_TAG
from occo.resourcehandler.ec2.errors import PERMANENT_HINTS
from occo.resourcehandler.ec2.testing import (CREDENTIALS, LOOPBACK, MotoTestCase, fill_tutorial,
                                              tutorial_values)

from .support import DEADLINE, CloudFlows, table_rows

OWNER = "somebody@somewhere.com"          # the tutorials' user_id
LOOPBACK_SUBNET = ipaddress.ip_network(LOOPBACK.subnet_cidr)
UNKNOWN_IMAGE = "ami-0123456789abcdef0"
AUTH_DATA = f"""\
resource:
  -
    type: ec2
    auth_data:
      accesskey: {CREDENTIALS["accesskey"]}
      secretkey: {CREDENTIALS["secretkey"]}
"""


def tags_of(instance: Mapping[str, Any]) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in instance.get("Tags", ())}


class EC2TutorialCase(CloudFlows, MotoTestCase):
    """A moto server for the class; each test an account of its own in it, its credentials in
    the test's HOME, and a store of its own."""

    def setUp(self) -> None:
        super().setUp()
        self.use_config()
        self.use_auth_data(AUTH_DATA)
        self.cloud = self.server.client()
        self.addCleanup(self.cloud.close)
        self.values = tutorial_values(self.server.url, network=LOOPBACK)

    def run_command(self, name: str, *args: Any, code: int | None = None,
                    timeout: float = DEADLINE) -> subprocess.CompletedProcess[str]:
        """As `CommandCase.run_command`; no credential ever appears in what it prints."""
        result = super().run_command(name, *args, code=code, timeout=timeout)
        for secret in CREDENTIALS.values():
            self.assertNotIn(secret, result.stdout + result.stderr, f"{name} printed a secret")
        return result

    def import_tutorial(self, name: str, **values: Any) -> Path:
        """The tutorial filled with the test's account (and `values` instead of some), its
        node definitions imported; its folder."""
        filled = {**self.values, **values}
        tutorial = self.copy_tutorial(name, lambda text: fill_tutorial(text, filled))
        imported = self.run_command("occopus-import", tutorial / "nodes" / "node_definitions.yaml",
                                    code=0)
        self.assertTrue(imported.stdout.startswith("Successfully imported nodes: "),
                        imported.stdout)
        return tutorial

    # --- moto ------------------------------------------------------------------
    def instances(self, infra_id: str) -> list[dict[str, Any]]:
        """Every instance tagged with the infrastructure, whatever its state."""
        pages = self.cloud.get_paginator("describe_instances").paginate(
            Filters=[{"Name": f"tag:{INFRA_TAG}", "Values": [infra_id]}])
        return [item for page in pages for reservation in page["Reservations"]
                for item in reservation["Instances"]]

    def cloud_node_ids(self, infra_id: str) -> list[str]:
        return [tags_of(item)[NODE_TAG] for item in self.instances(infra_id)]

    def live(self, infra_id: str) -> list[dict[str, Any]]:
        return [item for item in self.instances(infra_id)
                if item["State"]["Name"] not in ("shutting-down", "terminated")]

    def user_data(self, instance: Mapping[str, Any]) -> str:
        answer = self.cloud.describe_instance_attribute(InstanceId=instance["InstanceId"],
                                                        Attribute="userData")
        return base64.b64decode(answer["UserData"]["Value"]).decode()

    def cloud_config(self, instance: Mapping[str, Any]) -> dict[str, Any]:
        text = self.user_data(instance)
        self.assertTrue(text.startswith("#cloud-config\n"), text)
        return dict(yaml.safe_load(text))

    # --- what every tutorial's build must show ----------------------------------
    def assert_made_as_asked(self, infra_id: str, rows: Iterable[Mapping[str, Any]]
                             ) -> dict[str, dict[str, Any]]:
        """One running instance per row, launched with the account's values and tagged with
        the node, its only address the loopback one the row shows; by node name."""
        rows = list(rows)
        found = {tags_of(item)[NODE_TAG]: item for item in self.live(infra_id)}
        self.assertEqual(sorted(found), sorted(row["node_id"] for row in rows))
        by_name = {}
        for row in rows:
            item = found[row["node_id"]]
            self.assertEqual(item["State"]["Name"], "running")
            self.assertEqual(tags_of(item), {"Name": row["node"], INFRA_TAG: infra_id,
                                             NODE_TAG: row["node_id"], OWNER_TAG: OWNER})
            self.assertEqual(
                (item["ImageId"], item["InstanceType"], item["KeyName"], item["SubnetId"],
                 sorted(group["GroupId"] for group in item["SecurityGroups"])),
                (self.values["image_id"], self.values["instance_type"], self.values["key_name"],
                 self.values["subnet_id"], sorted(self.values["security_group_ids"])))
            # no public address or name: the private one, on loopback, is all there is
            self.assertFalse(item.get("PublicIpAddress") or item.get("PublicDnsName"), item)
            self.assertIn(ipaddress.ip_address(item["PrivateIpAddress"]), LOOPBACK_SUBNET)
            self.assertEqual(row["addresses"], [item["PrivateIpAddress"]])
            by_name[row["node"]] = item
        return by_name

    def assert_nothing_left(self, infra_id: str) -> None:
        self.assertEqual(self.live(infra_id), [])
        self.assertEqual({item["State"]["Name"] for item in self.instances(infra_id)},
                         {"terminated"})



class EC2HelloWorldTest(EC2TutorialCase):

    def test_build_report_and_destroy_the_tutorial(self) -> None:
        tutorial = self.import_tutorial("ec2-helloworld")
        infra_id, rows = self.build_ready(tutorial / "infra-ec2-helloworld.yaml")
        self.assertEqual([row["node"] for row in rows], ["helloworld"])
        instance = self.assert_made_as_asked(infra_id, rows)["helloworld"]
        # the node's cloud-init file, its message rendered from the infrastructure's variables
        self.assertEqual(self.cloud_config(instance), {"write_files": [{
            "content": "Hello World! I have been created by Occopus\n",
            "path": "/tmp/helloworld.txt", "permissions": "0644"}]})
        self.report_and_destroy(infra_id, rows)


class EC2PingTest(EC2TutorialCase):

    def test_build_report_and_destroy_the_tutorial(self) -> None:
        tutorial = self.import_tutorial("ec2-ping")
        infra_id, rows = self.build_ready(tutorial / "infra-ec2-ping.yaml")
        self.assertEqual(sorted(row["node"] for row in rows), ["ping-receiver", "ping-sender"])
        made = self.assert_made_as_asked(infra_id, rows)
        receiver, sender = made["ping-receiver"], made["ping-sender"]
        self.assertEqual(self.cloud_config(receiver), {"write_files": [{
            "content": "Hello World! I am the receiver node created by Occopus.\n",
            "path": "/tmp/message.txt", "permissions": "0644"}]})
        # the sender was launched once the receiver was ready, getip('ping-receiver') in its
        # runcmd rendered as the receiver's address
        self.assertEqual(self.cloud_config(sender), {
            "runcmd": [f"ping {receiver['PrivateIpAddress']} -c 5 > /tmp/ping-result.txt 2>&1"],
            "write_files": [{
                "content": "Hello World! I am the sender node created by Occopus.\n",
                "path": "/tmp/message.txt", "permissions": "0644"}]})
        self.report_and_destroy(infra_id, rows)


class EC2UnknownImageTest(EC2TutorialCase):
    """An image id the account does not have: the cloud refuses the node, and the build says
    so in one line a user can act on, and leaves no instance."""

    def fail_to_build(self) -> tuple[str, subprocess.CompletedProcess[str]]:
        tutorial = self.import_tutorial("ec2-helloworld", image_id=UNKNOWN_IMAGE)
        return self.fail_build(tutorial / "infra-ec2-helloworld.yaml")

    def test_the_build_fails_naming_the_node_and_the_clouds_words_and_leaves_nothing(self) -> None:
        tutorial = self.import_tutorial("ec2-helloworld", image_id=UNKNOWN_IMAGE)
        # no instance was made: `cloud_node_ids` sees none, and there is no terminated one
        # for `assert_nothing_left` to find
        _, _, failed = self.assert_a_bad_value_fails_the_build(
            tutorial / "infra-ec2-helloworld.yaml", "helloworld",
            f"RunInstances failed: InvalidAMIID.NotFound: The image id '[{UNKNOWN_IMAGE}]' "
            "does not exist", PERMANENT_HINTS["InvalidAMIID"], nothing_left=False)
        self.assertEqual((failed.stdout + failed.stderr).count("InvalidAMIID.NotFound"), 1,
                         "the reason is said once, in the node table")

    def test_the_failed_node_says_what_to_fix(self) -> None:
        infra_id, failed = self.fail_to_build()
        [row] = table_rows(failed.stdout)
        self.assertIn(PERMANENT_HINTS["InvalidAMIID"], row["reason"],
                      "the ec2 plugin's hint for an unknown image is not shown")

    def test_the_table_quotes_the_clouds_words_as_they_are(self) -> None:
        _, failed = self.fail_to_build()
        [row] = table_rows(failed.stdout)
        self.assertIn(f"The image id '[{UNKNOWN_IMAGE}]' does not exist", row["reason"])
        self.assertIn(f"[{self.values['endpoint']}] node {row['node_id']}", row["reason"])
