"""The nova-helloworld and nova-ping tutorials end to end, on a fake OpenStack.

There is no OpenStack account here: the cloud is `FakeOpenStack`
(`occo.resourcehandler.nova.testing`), a FAKE that speaks Keystone v3, Nova
v2.1 and Neutron v2.0 as their API references show them, on a free loopback
port in this test process. Each test copies a tutorial from
../shared/compat/occopus-tutorials, fills its placeholders as a user would
(Keystone's URL without a version, the project, image, network, flavor, key
pair, a security group, `floating_ip: yes` and the pool), writes
`~/.occopus/auth_data.yaml` with a username and password, and runs the real
commands (import, build, report, destroy); then it looks at the fake cloud.

Pinging the nodes. The tutorials' nodes have no `health_check`, so the
default ping applies to each node's first address, its floating IP. The fake
hands out fixed addresses from 127.78.0.0/16 and floating ones from
127.79.0.0/16, both on this machine's loopback range (Linux routes all of
127.0.0.0/8 to the loopback interface): the pings are answered here and reach
no other host.
"""
from __future__ import annotations

import base64
import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from occo.resourcehandler.base import INFRA_TAG, NODE_TAG, OWNER_TAG
from occo.resourcehandler.nova import testing as fake

from .support import FakeCloudCase

OWNER = "somebody@somewhere.com"          # the tutorials' user_id
FLOATING = ipaddress.ip_network(fake.FLOATING)
AUTH_DATA = f"""\
resource:
  -
    type: nova
    auth_data:
      username: {fake.USER["username"]}
      password: {fake.USER["password"]}
"""


class NovaTutorialCase(FakeCloudCase):
    """A fake OpenStack for the class; each test its credentials in HOME and a store."""

    AUTH_DATA = AUTH_DATA
    PASSWORD = fake.USER["password"]

    @classmethod
    def start_cloud(cls) -> Any:
        return fake.FakeOpenStack(boot_seconds=1.0).start()

    @staticmethod
    def fill(text: str, values: Mapping[str, Any]) -> str:
        return fake.fill_tutorial(text, values)

    def setUp(self) -> None:
        self.cloud.clear()
        super().setUp()

    # --- the fake cloud ------------------------------------------------------
    def servers(self, infra_id: str) -> list[dict[str, Any]]:
        return [server for server in self.cloud.live_servers()
                if server["metadata"].get(INFRA_TAG) == infra_id]

    def cloud_config(self, server: Mapping[str, Any]) -> dict[str, Any]:
        text = base64.b64decode(self.cloud.servers[server["id"]].body["user_data"]).decode()
        self.assertTrue(text.startswith("#cloud-config\n"), text)
        return dict(yaml.safe_load(text))

    def cloud_node_ids(self, infra_id: str) -> list[str]:
        return [server["metadata"][NODE_TAG] for server in self.servers(infra_id)]

    def floating_ips(self, infra_id: str) -> list[dict[str, Any]]:
        return [ip for ip in self.cloud.floating_ips.values()
                if ip["description"].startswith(f"occopus {infra_id} ")]

    def assert_made_as_asked(self, infra_id: str, rows: Iterable[Mapping[str, Any]],
                             names: Mapping[str, str]) -> dict[str, dict[str, Any]]:
        """One ACTIVE server per row, made with the tutorial's values and marked with the
        node, its floating IP first among the addresses the row shows; by node name."""
        rows = list(rows)
        found = {server["metadata"][NODE_TAG]: server for server in self.servers(infra_id)}
        self.assertEqual(sorted(found), sorted(row["node_id"] for row in rows))
        by_name = {}
        for row in rows:
            server = found[row["node_id"]]
            asked = self.cloud.servers[server["id"]].body
            self.assertEqual(server["status"], "ACTIVE")
            self.assertEqual(server["name"], names[row["node"]])
            self.assertEqual(
                (asked["imageRef"], asked["flavorRef"], asked["key_name"], asked["networks"],
                 asked["security_groups"]),
                (fake.IMAGE_ID, "1", fake.KEY_NAME, [{"uuid": fake.NETWORK_ID}],
                 [{"name": self.values["security_group"]}]))
            self.assertEqual({key: server["metadata"][key] for key in
                              (INFRA_TAG, NODE_TAG, OWNER_TAG)},
                             {INFRA_TAG: infra_id, NODE_TAG: row["node_id"], OWNER_TAG: OWNER})
            [floating] = [entry["addr"] for entry in server["addresses"]["private"]
                          if entry["OS-EXT-IPS:type"] == "floating"]
            self.assertIn(ipaddress.ip_address(floating), FLOATING)
            self.assertEqual(row["addresses"][0], floating)
            by_name[row["node"]] = server
        return by_name

    def assert_nothing_left(self, infra_id: str) -> None:
        self.assertEqual(self.servers(infra_id), [])
        self.assertEqual(self.floating_ips(infra_id), [], "a floating IP was left allocated")


class NovaHelloWorldTest(NovaTutorialCase):

    def test_build_report_and_destroy_the_tutorial(self) -> None:
        tutorial = self.import_tutorial("nova-helloworld")
        infra_id, rows = self.build_ready(tutorial / "infra-nova-helloworld.yaml")
        self.assertEqual([row["node"] for row in rows], ["helloworld"])
        server = self.assert_made_as_asked(infra_id, rows,
                                           {"helloworld": "myhelloworld"})["helloworld"]
        self.assertEqual(self.cloud_config(server), {"write_files": [{
            "content": "Hello World! I have been created by Occopus\n",
            "path": "/tmp/helloworld.txt", "permissions": "0644"}]})
        self.report_and_destroy(infra_id, rows)


class NovaPingTest(NovaTutorialCase):

    def test_build_report_and_destroy_the_tutorial(self) -> None:
        tutorial = self.import_tutorial("nova-ping")
        infra_id, rows = self.build_ready(tutorial / "infra-nova-ping.yaml")
        self.assertEqual(sorted(row["node"] for row in rows), ["ping-receiver", "ping-sender"])
        made = self.assert_made_as_asked(infra_id, rows, {"ping-receiver": "mypingreceiver",
                                                          "ping-sender": "mypingsender"})
        receiver = made["ping-receiver"]
        receiver_row = next(row for row in rows if row["node"] == "ping-receiver")
        self.assertEqual(self.cloud_config(receiver), {"write_files": [{
            "content": "Hello World! I am the receiver node created by Occopus.\n",
            "path": "/tmp/message.txt", "permissions": "0644"}]})
        # the sender was made once the receiver was ready: getip() rendered its address
        self.assertEqual(self.cloud_config(made["ping-sender"]), {
            "runcmd": [f"ping {receiver_row['addresses'][0]} -c 5 > /tmp/ping-result.txt 2>&1"],
            "write_files": [{
                "content": "Hello World! I am the sender node created by Occopus.\n",
                "path": "/tmp/message.txt", "permissions": "0644"}]})
        self.report_and_destroy(infra_id, rows)


class NovaUnknownImageTest(NovaTutorialCase):
    """An image the project does not have: the build fails, the node's reason naming it and
    quoting Nova, and leaves no server."""

    def test_the_build_fails_naming_the_node_and_the_clouds_words_and_leaves_nothing(self) -> None:
        tutorial = self.import_tutorial("nova-helloworld", image_id="no-such-image")
        self.assert_a_bad_value_fails_the_build(
            tutorial / "infra-nova-helloworld.yaml", "helloworld",
            "creating the server failed: 400: Invalid imageRef provided.", "check image_id")


class NovaKilledBuildTest(NovaTutorialCase):
    """`occopus-build` SIGKILLed while the cloud boots its first server; then one pass
    (`occopus-maintain -i ID`) finishes the build: no orphan, no duplicate."""

    def test_a_pass_after_a_kill_finishes_the_build_without_orphan_or_duplicate(self) -> None:
        tutorial = self.import_tutorial("nova-ping")
        before = {server["id"] for server in self.cloud.live_servers()}

        def floating_ips(infra_id: str, reported: list[dict[str, Any]], _: Any) -> None:
            self.assertEqual(len(self.floating_ips(infra_id)), 2)

        # the receiver's server is made and booting (the sender waits for it): kill then
        self.assert_a_pass_finishes_a_killed_build(
            tutorial / "infra-nova-ping.yaml", ["ping-receiver", "ping-sender"],
            lambda: {s["id"] for s in self.cloud.live_servers()} - before,
            "the build made a server", also=floating_ips)
