"""The cloudsigma-helloworld and cloudsigma-ping tutorials end to end, on a FAKE CloudSigma.

There is no CloudSigma account here. `occo.resourcehandler.cloudsigma.testing.FakeCloudSigma`
is a fake of CloudSigma's API 2.0: a real HTTP server on a free loopback port, run
in a thread of this test process, that implements the calls the plugin makes
with the API reference's shapes and checks basic authentication. Its account
holds a library drive, a public key and a firewall policy: each test copies a
tutorial from ../shared/compat/occopus-tutorials, fills its placeholders with
their uuids and the fake's endpoint, and writes `~/.occopus/auth_data.yaml`
with the account's email and password, as a user does. Nothing else in the
files changes. Then the real commands (import, build, report, destroy), and a
look at the fake: the servers, their drives, their meta and their cloud-init text.

Pinging the nodes: the tutorials' nodes have no `health_check`, so the engine
pings each node's first address before it counts as ready. The fake gives a
running server an address on 127.88.0.0/16, which this machine answers itself
(Linux routes all of 127.0.0.0/8 to the loopback interface): the ping succeeds
and nothing else is ever contacted.
"""
from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import yaml

from occo.resourcehandler.base import INFRA_TAG, NODE_TAG, OWNER_TAG
from occo.resourcehandler.cloudsigma.errors import LIBDRIVE_HINT
from occo.resourcehandler.cloudsigma.testing import (ADDRESSES, CREDENTIALS, FakeCloudSigma,
                                                     fill_tutorial)

from .support import FakeCloudCase

OWNER = "somebody@somewhere.com"          # the tutorials' user_id
AUTH_DATA = f"""\
resource:
  -
    type: cloudsigma
    auth_data:
      email: {CREDENTIALS["email"]}
      password: {CREDENTIALS["password"]}
"""


class CloudSigmaTutorialCase(FakeCloudCase):
    """A fake CloudSigma for the class (servers boot in a moment), the account's credentials
    in each test's HOME, and a store of each test's own."""

    AUTH_DATA = AUTH_DATA
    PASSWORD = CREDENTIALS["password"]
    FAKE: ClassVar[dict[str, float]] = {"clone_time": 0.2, "boot_time": 0.5, "stop_time": 0.2}

    @classmethod
    def start_cloud(cls) -> Any:
        return FakeCloudSigma(**cls.FAKE).start()

    @staticmethod
    def fill(text: str, values: Mapping[str, Any]) -> str:
        return fill_tutorial(text, values)

    # --- the fake ----------------------------------------------------------------
    def servers(self, infra_id: str) -> list[dict[str, Any]]:
        return [server for server in self.cloud.servers()
                if server["meta"].get(INFRA_TAG) == infra_id]

    def cloud_node_ids(self, infra_id: str) -> list[str]:
        return [server["meta"][NODE_TAG] for server in self.servers(infra_id)]

    def cloud_config(self, server: Mapping[str, Any]) -> dict[str, Any]:
        text = self.cloud.user_data(server)
        assert text is not None
        self.assertTrue(text.startswith("#cloud-config\n"), text)
        return dict(yaml.safe_load(text))

    # --- what every tutorial's build must show ----------------------------------
    def assert_made_as_asked(self, infra_id: str, infra_name: str,
                             rows: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
        """One running server per row, made from the tutorial's description, booting a clone
        of the library drive, tagged with the node, its address the loopback one the row
        shows; by node name."""
        rows = list(rows)
        found = {server["meta"][NODE_TAG]: server for server in self.servers(infra_id)}
        self.assertEqual(sorted(found), sorted(row["node_id"] for row in rows))
        drives = {drive["uuid"]: drive for drive in self.cloud.drives()}
        by_name = {}
        for row in rows:
            server = found[row["node_id"]]
            self.assertEqual(server["status"], "running")
            self.assertEqual({key: server["meta"][key] for key in (INFRA_TAG, NODE_TAG,
                                                                   OWNER_TAG)},
                             {INFRA_TAG: infra_id, NODE_TAG: row["node_id"], OWNER_TAG: OWNER})
            self.assertEqual((server["cpu"], server["mem"], server["vnc_password"],
                              server["pubkeys"], server["nics"]),
                             (2000, 1073741824, "secret", [self.values["pubkey_id"]],
                              [{"firewall_policy": self.values["firewall_policy_id"],
                                "ip_v4_conf": {"conf": "dhcp"}}]))
            # named as the original named servers
            self.assertEqual(server["name"], f"occopus-{infra_name[:18]}-{infra_id[:8]}-"
                                             f"{row['node'][:18]}-{row['node_id'][:8]}")
            [boot] = server["drives"]
            self.assertEqual(drives[boot["drive"]]["mounted_on"], [{"uuid": server["uuid"]}])
            [address] = row["addresses"]
            self.assertIn(ipaddress.ip_address(address), ADDRESSES)
            self.assertEqual(server["runtime"]["nics"][0]["ip_v4"]["uuid"], address)
            by_name[row["node"]] = server
        return by_name

    def assert_nothing_left(self, infra_id: str) -> None:
        self.assertEqual(self.servers(infra_id), [])
        self.assertFalse([drive for drive in self.cloud.drives()
                          if infra_id in drive["name"]], "a node's cloned drive is left")


class CloudSigmaHelloWorldTest(CloudSigmaTutorialCase):

    def test_build_report_and_destroy_the_tutorial(self) -> None:
        tutorial = self.import_tutorial("cloudsigma-helloworld")
        infra_id, rows = self.build_ready(tutorial / "infra-cloudsigma-helloworld.yaml")
        self.assertEqual([row["node"] for row in rows], ["helloworld"])
        server = self.assert_made_as_asked(infra_id, "cloudsigma-helloworld-infra",
                                           rows)["helloworld"]
        # the node's cloud-init file, its message rendered from the infrastructure's variables
        self.assertEqual(self.cloud_config(server), {"write_files": [{
            "content": "Hello World! I have been created by Occopus\n",
            "path": "/tmp/helloworld.txt", "permissions": "0644"}]})
        self.report_and_destroy(infra_id, rows)


class CloudSigmaPingTest(CloudSigmaTutorialCase):

    def test_build_report_and_destroy_the_tutorial(self) -> None:
        tutorial = self.import_tutorial("cloudsigma-ping")
        infra_id, rows = self.build_ready(tutorial / "infra-cloudsigma-ping.yaml")
        self.assertEqual(sorted(row["node"] for row in rows), ["ping-receiver", "ping-sender"])
        made = self.assert_made_as_asked(infra_id, "cloudsigma-ping-infra", rows)
        receiver, sender = made["ping-receiver"], made["ping-sender"]
        receiver_ip = receiver["runtime"]["nics"][0]["ip_v4"]["uuid"]
        self.assertEqual(self.cloud_config(receiver), {"write_files": [{
            "content": "Hello World! I am the receiver node created by Occopus.\n",
            "path": "/tmp/message.txt", "permissions": "0644"}]})
        # the sender was made once the receiver was ready, getip('ping-receiver') in its
        # runcmd rendered as the receiver's address
        self.assertEqual(self.cloud_config(sender), {
            "runcmd": [f"ping {receiver_ip} -c 5 > /tmp/ping-result.txt 2>&1"],
            "write_files": [{
                "content": "Hello World! I am the sender node created by Occopus.\n",
                "path": "/tmp/message.txt", "permissions": "0644"}]})
        self.report_and_destroy(infra_id, rows)


class CloudSigmaUnknownLibraryDriveTest(CloudSigmaTutorialCase):
    """A library drive the location does not have: the cloud refuses the node, and the build
    says so in one line a user can act on, and leaves no server and no drive."""

    def test_the_build_fails_naming_the_node_and_the_clouds_words_and_leaves_nothing(self) -> None:
        unknown = str(uuid.uuid4())
        tutorial = self.import_tutorial("cloudsigma-helloworld", libdrive_id=unknown)
        # the table's reason: the node, the cloud's own words, and what to fix
        self.assert_a_bad_value_fails_the_build(
            tutorial / "infra-cloudsigma-helloworld.yaml", "helloworld",
            f"clone library drive {unknown} failed: 404 notexist: Object with uuid {unknown} "
            "does not exist", LIBDRIVE_HINT)


class CloudSigmaKilledBuildTest(CloudSigmaTutorialCase):
    """A build killed (SIGKILL) while the cloud clones a node's drive, then one pass: each node
    has one server, no drive or server is left over, and destroy removes everything."""

    FAKE = {"clone_time": 1.5, "boot_time": 0.5, "stop_time": 0.2}

    def cloning(self) -> bool:
        return any(method == "POST" and path.startswith("/libdrives/")
                   for method, path in list(self.cloud.calls))

    def one_drive_a_server(self, infra_id: str, reported: list[dict[str, Any]], _: Any) -> None:
        """The servers are made as the tutorial asks, each on a drive of its own, and no drive
        cloned before the kill is left over."""
        self.assert_made_as_asked(infra_id, "cloudsigma-ping-infra", reported)
        servers = self.servers(infra_id)
        self.assertEqual(len(servers), 2)
        drives = [drive for drive in self.cloud.drives() if infra_id in drive["name"]]
        self.assertEqual(sorted(drive["mounted_on"][0]["uuid"] for drive in drives
                                if drive["mounted_on"]),
                         sorted(server["uuid"] for server in servers))
        self.assertEqual(len(drives), 2, "a drive cloned before the kill is left over")

    def test_a_build_killed_while_cloning_is_finished_by_one_pass(self) -> None:
        tutorial = self.import_tutorial("cloudsigma-ping")
        self.assert_a_pass_finishes_a_killed_build(
            tutorial / "infra-cloudsigma-ping.yaml", ["ping-receiver", "ping-sender"],
            self.cloning, "the receiver's drive is being cloned", also=self.one_drive_a_server)
