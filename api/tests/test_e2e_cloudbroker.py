"""The cloudbroker-helloworld and cloudbroker-ping tutorials end to end, on a FAKE
CloudBroker.

There is no CloudBroker account here. `occo.resourcehandler.cloudbroker.testing.
FakeCloudBroker` is a fake of the CloudBroker platform's REST/XML API: a real HTTP
server on a free loopback port, run in a thread of this test process, that
implements the calls the plugin makes with the API's XML shapes and checks basic
authentication. Its account holds a deployment, an instance type and a key pair:
each test copies a tutorial from ../shared/compat/occopus-tutorials, fills its
placeholders with their ids, a list of ports and the fake's endpoint, and writes
`~/.occopus/auth_data.yaml` with the account's email and password, as a user
does. Nothing else in the files changes. Then the real commands (import, build,
report, destroy), and a look at the fake: the instances, their names and their
cloud-init text.

Pinging the nodes: the tutorials' nodes have no `health_check`, so the engine
pings each node's first address before it counts as ready. The fake gives a
running instance an external address on 127.89.0.0/16, which this machine answers
itself (Linux routes all of 127.0.0.0/8 to the loopback interface): the ping
succeeds and nothing else is ever contacted.
"""
from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import yaml

from occo.resourcehandler.cloudbroker.errors import REQUEST_HINT
from occo.resourcehandler.cloudbroker.testing import (ADDRESSES, CREDENTIALS, OPENED_PORTS,
                                                      FakeCloudBroker, fill_tutorial)

from .support import FakeCloudCase, wait_until

AUTH_DATA = f"""\
resource:
  -
    type: cloudbroker
    auth_data:
      email: {CREDENTIALS["email"]}
      password: {CREDENTIALS["password"]}
"""
LIVE = ("starting", "running")
EVER = (*LIVE, "stopping", "halted")


class CloudBrokerTutorialCase(FakeCloudCase):
    """A fake CloudBroker for the class (instances boot in a moment), the account's
    credentials in each test's HOME, and a store of each test's own."""

    AUTH_DATA = AUTH_DATA
    PASSWORD = CREDENTIALS["password"]
    FAKE: ClassVar[dict[str, float]] = {"boot_time": 0.5, "stop_time": 0.2}

    @classmethod
    def start_cloud(cls) -> Any:
        return FakeCloudBroker(**cls.FAKE).start()

    @staticmethod
    def fill(text: str, values: Mapping[str, Any]) -> str:
        return fill_tutorial(text, values)

    # --- the fake ----------------------------------------------------------------
    def instances(self, infra_id: str, statuses: Iterable[str] = LIVE) -> list[dict[str, Any]]:
        """The instances named for a node of `infra_id`, in one of `statuses`."""
        statuses = tuple(statuses)
        return [instance for instance in self.cloud.instances()
                if instance["name"].startswith(f"occopus-{infra_id}-")
                and instance["status"] in statuses]

    def cloud_node_ids(self, infra_id: str) -> list[str]:
        """Every instance ever made for the infrastructure, whatever its status."""
        prefix = f"occopus-{infra_id}-"
        return [instance["name"].removeprefix(prefix)
                for instance in self.instances(infra_id, EVER)]

    def cloud_config(self, instance: Mapping[str, Any]) -> dict[str, Any]:
        text = self.cloud.user_data(instance)
        assert text is not None
        self.assertTrue(text.startswith("#cloud-config\n"), text)
        return dict(yaml.safe_load(text))

    # --- what every tutorial's build must show ----------------------------------
    def assert_made_as_asked(self, infra_id: str,
                             rows: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
        """One running instance per row, made from the tutorial's description, named for its
        node, its address the loopback one the row shows first; by node name."""
        rows = list(rows)
        found = {instance["name"]: instance for instance in self.instances(infra_id)}
        self.assertEqual(sorted(found), sorted(f"occopus-{infra_id}-{row['node_id']}"
                                               for row in rows))
        by_name = {}
        for row in rows:
            instance = found[f"occopus-{infra_id}-{row['node_id']}"]
            self.assertEqual(instance["status"], "running")
            self.assertEqual((instance["deployment-id"], instance["instance-type-id"],
                              instance["key-pair-id"], instance["opened-port"]),
                             (self.values["deployment_id"], self.values["instance_type_id"],
                              self.values["key_pair_id"], OPENED_PORTS))
            self.assertEqual(row["addresses"][0], instance["external-ip-address"])
            self.assertIn(ipaddress.ip_address(row["addresses"][0]), ADDRESSES)
            by_name[row["node"]] = instance
        return by_name

    def assert_nothing_left(self, infra_id: str) -> None:
        """Every instance of the infrastructure was asked to stop: none is live, and each
        halts (CloudBroker keeps a halted instance listed)."""
        self.assertEqual(self.instances(infra_id), [], "an instance was not stopped")
        wait_until(lambda: not self.instances(infra_id, ("stopping",)),
                   "the stopped instances halt")


class CloudBrokerHelloWorldTest(CloudBrokerTutorialCase):

    def test_build_report_and_destroy_the_tutorial(self) -> None:
        tutorial = self.import_tutorial("cloudbroker-helloworld")
        infra_id, rows = self.build_ready(tutorial / "infra-cloudbroker-helloworld.yaml")
        self.assertEqual([row["node"] for row in rows], ["helloworld"])
        instance = self.assert_made_as_asked(infra_id, rows)["helloworld"]
        # the node's cloud-init file, its message rendered from the infrastructure's variables
        self.assertEqual(self.cloud_config(instance), {"write_files": [{
            "content": "Hello World! I have been created by Occopus\n",
            "path": "/tmp/helloworld.txt", "permissions": "0644"}]})
        self.report_and_destroy(infra_id, rows)


class CloudBrokerPingTest(CloudBrokerTutorialCase):

    def test_build_report_and_destroy_the_tutorial(self) -> None:
        tutorial = self.import_tutorial("cloudbroker-ping")
        infra_id, rows = self.build_ready(tutorial / "infra-cloudbroker-ping.yaml")
        self.assertEqual(sorted(row["node"] for row in rows), ["ping-receiver", "ping-sender"])
        made = self.assert_made_as_asked(infra_id, rows)
        receiver, sender = made["ping-receiver"], made["ping-sender"]
        self.assertEqual(self.cloud_config(receiver), {"write_files": [{
            "content": "Hello World! I am the receiver node created by Occopus.\n",
            "path": "/tmp/message.txt", "permissions": "0644"}]})
        # the sender was made once the receiver was ready, getip('ping-receiver') in its
        # runcmd rendered as the receiver's address
        self.assertEqual(self.cloud_config(sender), {
            "runcmd": [f"ping {receiver['external-ip-address']} -c 5 > /tmp/ping-result.txt "
                       "2>&1"],
            "write_files": [{
                "content": "Hello World! I am the sender node created by Occopus.\n",
                "path": "/tmp/message.txt", "permissions": "0644"}]})
        self.report_and_destroy(infra_id, rows)


class CloudBrokerUnknownDeploymentTest(CloudBrokerTutorialCase):
    """A deployment the account does not have: the platform refuses the node, and the build
    says so in one line a user can act on, and leaves no instance."""

    def test_the_build_fails_naming_the_node_and_the_clouds_words(self) -> None:
        unknown = str(uuid.uuid4())
        tutorial = self.import_tutorial("cloudbroker-helloworld", deployment_id=unknown)
        self.assert_a_bad_value_fails_the_build(
            tutorial / "infra-cloudbroker-helloworld.yaml", "helloworld",
            f"create instance failed: 422: Deployment {unknown} does not exist or is not yours",
            REQUEST_HINT)


class CloudBrokerKilledBuildTest(CloudBrokerTutorialCase):
    """A build killed (SIGKILL) while the platform boots a node's instance, then one pass:
    each node has one live instance, none is left over, and destroy stops them all."""

    FAKE = {"boot_time": 1.5, "stop_time": 0.2}

    def creating(self) -> bool:
        return ("POST", "/instances.xml") in list(self.cloud.calls)

    def test_a_build_killed_while_booting_is_finished_by_one_pass(self) -> None:
        tutorial = self.import_tutorial("cloudbroker-ping")
        self.assert_a_pass_finishes_a_killed_build(
            tutorial / "infra-cloudbroker-ping.yaml", ["ping-receiver", "ping-sender"],
            self.creating, "the receiver's instance is being made",
            also=lambda infra_id, reported, _: self.assert_made_as_asked(infra_id, reported))
