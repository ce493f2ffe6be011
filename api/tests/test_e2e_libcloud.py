"""A small infrastructure on the `libcloud` resource type end to end, on a fake OpenStack.

No tutorial exists for the type, so the test writes its own files in the
tutorials' style: a `server` and a `client` that depends on it and pings it
(its cloud-init renders the server's address with `getip()`), both through
Libcloud's OpenStack driver. The cloud is `FakeOpenStack`
(`occo.resourcehandler.nova.testing`), a FAKE that speaks Keystone v3 and
Nova v2.1 as their API references show them, on a free loopback port in this
test process; its addresses are on 127.78.0.0/16, answered by this machine
only. The real commands import, build, report and destroy; the test looks at
the fake cloud between them.
"""
from __future__ import annotations

import base64
from typing import Any

from occo.resourcehandler.base import INFRA_TAG, NODE_TAG, OWNER_TAG
from occo.resourcehandler.nova import testing as fake

from .support import CommandCase

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


class LibcloudOpenStackInfraTest(CommandCase):
    cloud: fake.FakeOpenStack

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.cloud = fake.FakeOpenStack(boot_seconds=1.0).start()
        cls.addClassCleanup(cls.cloud.stop)

    def setUp(self) -> None:
        super().setUp()
        self.use_config()
        self.use_auth_data(AUTH_DATA)

    def run_command(self, name: str, *args: Any, code: int | None = None,
                    **kwargs: Any) -> Any:
        result = super().run_command(name, *args, code=code, **kwargs)
        self.assertNotIn(fake.USER["password"], result.stdout + result.stderr,
                         f"{name} printed the password")
        return result

    def servers(self, infra_id: str) -> list[dict[str, Any]]:
        return [server for server in self.cloud.live_servers()
                if server["metadata"].get(INFRA_TAG) == infra_id]

    def assert_nothing_left(self, infra_id: str) -> None:
        self.assertEqual(self.servers(infra_id), [])

    def test_build_report_and_destroy(self) -> None:
        resource = RESOURCE.format(auth_url=self.cloud.auth_url, project=fake.PROJECT_NAME,
                                   image=fake.IMAGE_ID, size=fake.FLAVORS["1"][0],
                                   key=fake.KEY_NAME)
        nodes = self.write("nodes/node_definitions.yaml",
                           NODE_DEFINITIONS.format(resource=resource))
        self.write("nodes/cloud_init_server.yaml", CLOUD_INIT_SERVER)
        self.write("nodes/cloud_init_client.yaml", CLOUD_INIT_CLIENT)
        infra = self.write("infra-libcloud.yaml", INFRA)
        imported = self.run_command("occopus-import", nodes, code=0)
        self.assertTrue(imported.stdout.startswith("Successfully imported nodes: "),
                        imported.stdout)
        infra_id, rows = self.build_ready(infra)
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

