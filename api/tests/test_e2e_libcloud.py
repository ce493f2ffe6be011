"""A small infrastructure on the `libcloud` resource type end to end, on a fake OpenStack.

No tutorial exists for the type, so the test writes its own files in the
tutorials' style: a `server` and a `client` that depends on it and pings it
(its cloud-init renders the server's address with `getip()`), both through
Libcloud's OpenStack driver. The cloud is `FakeOpenStack`
(`occo.resourcehandler.nova.testing`), a FAKE that speaks Keystone v3 and
Nova v2.1 as their API references show them, on a free loopback port in this
test process; its addresses are on 127.78.0.0/16, answered by this machine
only. The real commands import, build, report and destroy; the test looks at
the fake cloud between them. One build is SIGKILLed while the cloud boots its
first server, and one pass of `occopus-maintain` finishes it.
"""
from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from occo.resourcehandler.base import INFRA_TAG, NODE_TAG, OWNER_TAG
from occo.resourcehandler.nova import testing as fake

from .support import FakeCloudCase

OWNER = "somebody@somewhere.com"
AUTH_DATA = f"""\
resource:
  -
    type: libcloud
    driver: openstack
    auth_data:
      key: {fake.USER["username"]}
      secret: {fake.USER["password"]}
"""
INFRA = f"""\
infra_name: libcloud-infra
user_id: {OWNER}

nodes:
  - &S
    name: server
    type: libcloud_server_node
  - &C
    name: client
    type: libcloud_client_node

dependencies:
  - [ *C, *S ]
"""
CLOUD_INIT_SERVER = """\
#cloud-config
write_files:
- content: "Hello World! I am the server.\\n"
  path: /tmp/message.txt
  permissions: '0644'
"""
CLOUD_INIT_CLIENT = """\
#cloud-config
runcmd:
    - ping {{getip('server')}} -c 5 > /tmp/ping-result.txt 2>&1
"""
RESOURCE = """\
    resource:
      type: libcloud
      driver: openstack
      driver_args:
        ex_force_auth_url: {auth_url}
        ex_force_auth_version: 3.x_password
        ex_tenant_name: {project}
        ex_domain_name: Default
      image: {image}
      size: {size}
      create_args:
        ex_keyname: {key}
"""
NODE_DEFINITIONS = """\
'node_def:libcloud_server_node':
  -
{resource}    contextualisation:
      type: cloudinit
      context_template: !yaml_import
        url: file://cloud_init_server.yaml
'node_def:libcloud_client_node':
  -
{resource}    contextualisation:
      type: cloudinit
      context_template: !yaml_import
        url: file://cloud_init_client.yaml
"""


class LibcloudOpenStackCase(FakeCloudCase):
    """A fake OpenStack for the class, reached through Libcloud's OpenStack driver; each test
    its credentials in HOME, a store, and the server-and-client infrastructure's files."""

    AUTH_DATA = AUTH_DATA
    PASSWORD = fake.USER["password"]

    @classmethod
    def start_cloud(cls) -> fake.FakeOpenStack:
        return fake.FakeOpenStack(boot_seconds=1.0).start()

    def setUp(self) -> None:
        self.cloud.clear()
        super().setUp()

    def import_infra(self) -> Path:
        """The node definitions (filled for the fake) and cloud-inits written, the definitions
        imported; the infrastructure description."""
        resource = RESOURCE.format(auth_url=self.cloud.auth_url, project=fake.PROJECT_NAME,
                                   image=fake.IMAGE_ID, size=fake.FLAVORS["1"][0],
                                   key=fake.KEY_NAME)
        nodes = self.write("nodes/node_definitions.yaml",
                           NODE_DEFINITIONS.format(resource=resource))
        self.write("nodes/cloud_init_server.yaml", CLOUD_INIT_SERVER)
        self.write("nodes/cloud_init_client.yaml", CLOUD_INIT_CLIENT)
        imported = self.run_command("occopus-import", nodes, code=0)
        self.assertTrue(imported.stdout.startswith("Successfully imported nodes: "),
                        imported.stdout)
        return self.write("infra-libcloud.yaml", INFRA)

    def servers(self, infra_id: str) -> list[dict[str, Any]]:
        return [server for server in self.cloud.live_servers()
                if server["metadata"].get(INFRA_TAG) == infra_id]

    def cloud_node_ids(self, infra_id: str) -> list[str]:
        return [server["metadata"][NODE_TAG] for server in self.servers(infra_id)]

    def assert_nothing_left(self, infra_id: str) -> None:
        self.assertEqual(self.servers(infra_id), [])


class LibcloudOpenStackInfraTest(LibcloudOpenStackCase):

    def test_build_report_and_destroy(self) -> None:
        infra_id, rows = self.build_ready(self.import_infra())
        self.assertEqual(sorted(row["node"] for row in rows), ["client", "server"])
        by_node = {server["metadata"][NODE_TAG]: server for server in self.servers(infra_id)}
        self.assertEqual(sorted(by_node), sorted(row["node_id"] for row in rows))
        row_of = {row["node"]: row for row in rows}
        for row in rows:
            server = by_node[row["node_id"]]
            asked = self.cloud.servers[server["id"]].body
            self.assertEqual(server["status"], "ACTIVE")
            self.assertEqual((asked["imageRef"], asked["flavorRef"], asked["key_name"]),
                             (fake.IMAGE_ID, "1", fake.KEY_NAME))
            self.assertEqual(server["metadata"][OWNER_TAG], OWNER)
            self.assertEqual(server["name"], f"occopus-{infra_id}-{row['node_id']}")
        client = self.cloud.servers[by_node[row_of["client"]["node_id"]]["id"]].body
        # the client was made once the server was ready: getip() rendered its address
        self.assertIn(f"ping {row_of['server']['addresses'][0]} -c 5",
                      base64.b64decode(client["user_data"]).decode())
        self.report_and_destroy(infra_id, rows)



class LibcloudKilledBuildTest(LibcloudOpenStackCase):
    """`occopus-build` SIGKILLed while the cloud boots its first server (the server node's; the
    client waits for it); then one pass (`occopus-maintain -i ID`) finishes the build: the
    booting server adopted, no orphan, no duplicate."""

    def test_a_pass_after_a_kill_finishes_the_build_without_orphan_or_duplicate(self) -> None:
        infra = self.import_infra()
        before = {server["id"] for server in self.cloud.live_servers()}

        def adopted(infra_id: str, reported: list[dict[str, Any]],
                    made: list[dict[str, Any]]) -> None:
            [booting] = made
            self.assertEqual(booting["metadata"][INFRA_TAG], infra_id)
            self.assertIn(booting["id"], {server["id"] for server in self.servers(infra_id)},
                          "the server booting at the kill was not adopted")

        self.assert_a_pass_finishes_a_killed_build(
            infra, ["client", "server"],
            lambda: [s for s in self.cloud.live_servers() if s["id"] not in before],
            "the build made a server", also=adopted)
